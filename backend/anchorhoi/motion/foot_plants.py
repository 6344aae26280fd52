"""Foot plants from the 2D keypoints alone: where a foot stands still on the ground, and where.

A point on the ground plane and its pixel determine each other (the camera is known): the
plane ``y = h`` maps to the image by a homography. So a planted foot joint keeps its pixel, and
a foot that slides or swings moves its pixel — but how many metres a pixel is depends on the
direction: across the image a pixel is ``depth / focal`` metres, along the camera ray on the
ground it is ``depth / height`` times more (``height``: the camera above the plane). A foot
walking towards the camera barely moves in the image. Converting its image speed with the one
factor ``depth / focal`` takes such a swing for a plant (and a plant that spans the swing drags
the body along the ray); the plane's own Jacobian does not.

1. **Velocity in the image** (``line_fits.image_velocity``): per frame and joint, a
   confidence-weighted straight-line fit of ``(u, v)`` over ``±window`` frames: the fitted
   pixel, its velocity and the confidence mass it rests on (robust to per-pixel noise; unseen
   frames weigh 0).
2. **Velocity on the ground** (``ground_velocity``): the fitted pixel's ray meets the joint's
   plane (``ground + rest height``) at ``p``; the plane's Jacobian ``∂(x, z)/∂(u, v)`` at the
   pixel turns the image velocity into metres per second on the ground. Where the ray meets the
   plane at a grazing angle (a camera near the floor) the factor along the ray is capped at
   ``max_stretch`` times the across factor (beyond that the noise rules).
3. **Plants** (``detect_plants``): a soft weight ``σ((τ − v)/(s·τ))`` per frame and joint; its
   runs above one half (gaps shorter than ``min_gap_frames`` closed, runs shorter than
   ``min_run_frames`` dropped; a closed gap's weight raised to ``gap_weight``) are the plants;
   a run whose pixels jump between two still levels is split there (``split_run``: a step
   along the camera ray, too slow in the image for the speed threshold), and a run starts up
   to ``landing_frames`` earlier where the fit over the frames after is slow (a fast landing);
   each plant's **footprint** is where the ray of its mean pixel (confidence-weighted over the
   run, the frames added at a landing left out) meets the plane — one point per plant, the
   pixel noise averaged over the run; with ``supports.py``, on the support the ray meets first
   (an object's top), and the ground beyond it as a second footprint where the ray only skims
   the top (``plant_loss`` holds the joint on the nearer). A hidden foot has no speed and no
   footprint here (the optimiser's contact, ``contact_weights``, fills it in from the frames
   around or from the estimate's own stillness, up to the plant weight of the same foot's other
   joint where that one is seen: ``swing_cap``).
4. **Raised joints** (``drop_raised``, in the stage's problem after the key pose's footprints):
   a footprint assumes its joint at rest height; where a foot's ankle and ball footprints lie
   further apart than the foot is long, the one standing raised (a heel up) pulls to none.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from ..nerf.cameras import Cameras
from .config import ContactConfig, FootPlantConfig
from .contact import fill_gaps, true_runs
from .line_fits import image_velocity, keypoint_noise_px
from .supports import Supports


@dataclass(frozen=True, eq=False)
class FootPlants:
    """The plants of ``F`` foot joints over ``T`` frames (see the module docstring)."""

    speed_mps: torch.Tensor
    """(T, F) speed on the ground (m/s); NaN where the fit rests on too little confidence."""
    weights: torch.Tensor
    """(T, F) soft plant weight in [0, 1]; 0 where the speed is unknown."""
    footprints: torch.Tensor
    """(T, F, 3) the footprint of the plant holding each frame (world); 0 outside plants."""
    footprint_weights: torch.Tensor
    """(T, F) weight of the footprint in each frame: the plant weight inside a plant with a
    footprint, times ``min(1, (sigma_m / footprint_sigma_m)²)`` (an uncertain footprint pulls
    less), else 0 (and 0 where ``drop_raised`` found the joint standing raised)."""
    footprint_sigma_m: torch.Tensor
    """(T, F) the footprint's standard error (m) along its worst direction: the keypoints'
    noise over the square root of the plant's seen frames, times the ground's most metres per
    pixel there; 0 outside plants."""
    plant_ids: torch.Tensor | None = None
    """(T, F) long: the index of the plant holding each frame, -1 outside plants."""
    plant_count: int = 0
    """How many plants (indices ``0 … plant_count − 1``)."""
    behind: torch.Tensor | None = None
    """(T, F, 3) where the footprint lies on an object's top (``supports.py``): the ground
    footprint further along the same ray, where it is not inside the object (the ray skims the
    top, and the foot may stand beyond it); None when no plant has one."""
    behind_weights: torch.Tensor | None = None
    """(T, F) its weight, like ``footprint_weights`` (0 where there is none)."""


def rays(camera: Cameras, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The camera centre ``(3,)`` and world directions ``(..., 3)`` (unnormalised: camera
    z = 1) of ``pixels (..., 2)``; also the matrix ``M`` with ``direction = M·(u, v, 1)``."""
    m = camera.R[0].T @ torch.linalg.inv(camera.K[0])
    uv1 = torch.cat([pixels, torch.ones_like(pixels[..., :1])], -1)
    return uv1 @ m.T, m


def on_plane(camera: Cameras, pixels: torch.Tensor, height: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Where the rays of ``pixels (..., 2)`` meet the planes ``y = height (...)``: points
    ``(..., 3)``, the Jacobian ``∂(x, z)/∂(u, v)`` there ``(..., 2, 2)``, and ``(...)`` bool
    where the plane lies in front of the camera."""
    centre = camera.centers[0]
    d, m = rays(camera, pixels)
    dy = d[..., 1]
    safe = torch.where(dy.abs() > 1e-9, dy, torch.full_like(dy, 1e-9))
    s = (height - centre[1]) / safe  # p = c + s·d
    points = centre + s[..., None] * d
    # ∂p/∂u_k = s·(m_k − d·m_yk / d_y) for the columns k = u, v of M
    cols = m[:, :2]  # (3, 2)
    dp = s[..., None, None] * (cols - d[..., :, None] * cols[1] / safe[..., None, None])
    return points, dp[..., [0, 2], :], s > 0


def ground_velocity(camera: Cameras, pixel: torch.Tensor, velocity: torch.Tensor,
                    height: torch.Tensor, max_stretch: float
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Speed ``(T, F)`` (``velocity``'s pixels turned into metres) on the planes ``height
    (F,)`` of joints at ``pixel (T, F, 2)`` moving by ``velocity (T, F, 2)``, and the most
    metres a pixel can be there ``(T, F)``. The factor along the ray is capped at
    ``max_stretch`` times the across-the-image factor ``depth / focal``; that factor alone where
    the plane lies behind the camera."""
    points, jac, front = on_plane(camera, pixel, height.expand(pixel.shape[:-1]))
    on_ground = (jac @ velocity[..., None])[..., 0].norm(dim=-1)
    depth = ((points - camera.centers[0]) @ camera.R[0][2]).abs()
    across_m = depth / camera.K[0, :2, :2].diagonal().mean()
    across = velocity.norm(dim=-1) * across_m
    most = torch.minimum(torch.linalg.matrix_norm(jac, ord=2), max_stretch * across_m)
    speed = torch.minimum(on_ground, max_stretch * across)
    return torch.where(front, speed, across), torch.where(front, most, across_m)


def split_run(keypoints: torch.Tensor, noise_px: torch.Tensor, sigmas: float,
              min_run: int) -> list[tuple[int, int]]:
    """The ``[start, end]`` parts of a plant whose keypoints ``(n, 3)`` (u, v, confidence)
    stand still: binary segmentation — where the confidence-weighted mean pixels before and
    after a frame differ by more than ``sigmas`` standard errors (``noise_px`` per image axis),
    the run holds two plants and the swing between them (or a plant and the start or end of a
    swing: either side at least ``min_run`` seen frames); the frames either side of the most
    significant change are dropped (the swing) and both parts are split again. A swing seen
    along the camera ray is too slow in the image for the speed threshold but moves the pixel
    between two still levels; parts shorter than ``min_run`` frames are dropped."""
    n = keypoints.shape[0]
    seen = torch.nonzero(keypoints[:, 2] > 0)[:, 0]
    if len(seen) < 2 * min_run:
        return [(0, n - 1)]
    c = keypoints[seen, 2]
    uv = keypoints[seen, :2] * c[:, None]
    w_left, uv_left = c.cumsum(0)[:-1], uv.cumsum(0)[:-1]  # the first k + 1 seen frames
    w_right, uv_right = c.sum() - w_left, uv.sum(0) - uv_left
    diff = uv_left / w_left[:, None] - uv_right / w_right[:, None]
    stat = (diff ** 2).sum(-1) / (noise_px.clamp_min(1e-6) ** 2 * (1 / w_left + 1 / w_right))
    k = torch.arange(1, len(seen), device=keypoints.device)  # seen frames on the left
    stat = torch.where((k >= min_run) & (len(seen) - k >= min_run), stat,
                       torch.zeros_like(stat))
    best = int(stat.argmax())
    if float(stat[best]) <= sigmas ** 2:
        return [(0, n - 1)]
    left_end, right_start = int(seen[best]) - 1, int(seen[best + 1]) + 1
    parts = [(a, b) for a, b in split_run(keypoints[:left_end + 1], noise_px, sigmas, min_run)]
    parts += [(a + right_start, b + right_start)
              for a, b in split_run(keypoints[right_start:], noise_px, sigmas, min_run)]
    return [(a, b) for a, b in parts if b - a + 1 >= min_run]


def _plant_weights(keypoints: torch.Tensor, camera: Cameras, heights: torch.Tensor, fps: float,
                   config: FootPlantConfig, before: int, after: int,
                   noise_px: torch.Tensor | None = None, supports: Supports | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Speed on the ground ``(T, F)`` (NaN unseen), plant weight ``(T, F)`` and the
    keypoints' noise (pixels per image axis; measured here unless given) from line fits over
    the frames ``t − before … t + after`` (on the support each fitted pixel's ray meets, with
    ``supports``)."""
    fits = image_velocity(keypoints, before, after)
    planes = heights if supports is None else _support_planes(supports, camera, fits.pixel,
                                                               heights)
    speed, metres_per_px = ground_velocity(camera, fits.pixel, fits.velocity * fps, planes,
                                           config.max_stretch)
    seen = fits.mass >= config.min_confidence
    # the keypoints' own noise sets how slow a speed the fit can tell from standing still
    if noise_px is None:
        noise_px = keypoint_noise_px(fits, seen)
    noise = config.noise_sigmas * noise_px / fits.spread.clamp_min(1.0).sqrt() \
        * metres_per_px * fps
    tau = torch.maximum(torch.full_like(speed, config.speed_mps), noise)
    weights = torch.where(seen, torch.sigmoid((tau - speed) / (config.softness * tau)),
                          torch.zeros_like(speed))
    return torch.where(seen, speed, torch.full_like(speed, float("nan"))), weights, noise_px


def _earlier_landings(runs: list[tuple[int, int]], weights: torch.Tensor, after: torch.Tensor,
                      most: int) -> list[tuple[int, int, int]]:
    """``runs`` as ``(start, first, end)``: each start moved up to ``most`` frames before the
    run's first frame while the plant weight ``after (T,)`` of the fit over the frames from
    there on is above one half (their weights ``(T,)`` raised to it in place), never into the
    run before (one frame apart at least). The centred fit's window reaches back into the
    landing's last fast frames and starts the plant late. (The footprint is the run's from
    ``first`` on: the frames added may still be landing.)

    Its window reaches forward into a lift-off's first fast frames too, and ends some plants
    early (step_onto-21-03, noise seed 3: its ball three frames before the truth's, and the
    estimate's foot slid 78 mm a frame while the true one still stood). Ends are not moved the
    same way: seen along the camera ray a swing's first frames barely move the keypoint, and a
    fit over the frames up to there held feet into their swings. Tried on the case family (noise
    seed 1), with up to 3 frames where the keypoint also kept its plant's pixel: the share of
    mid-swing joint-frames planted (``bench/foot_plants.py``) went from 16 % to 33 % for 1.1 %
    more of the still ones held; of 117 oracle runs 9 missed a target instead of 12, but 10 had
    the body's error 5–13 mm worse (four of them carries walking along the ray, the feet held
    into their swings: pick_up_carry-24-01 46 → 56 mm, its box 5.2 → 6.6 cm; three walks, two
    steps onto a box, a push) and 2 more than 5 mm better."""
    out: list[tuple[int, int, int]] = []
    for first, b in runs:
        a = first
        floor = out[-1][2] + 2 if out else 0
        while a - 1 >= max(floor, first - most) and float(after[a - 1]) > 0.5:
            a -= 1
            weights[a] = torch.maximum(weights[a], after[a])
        out.append((a, first, b))
    return out


def _support_planes(supports: Supports, camera: Cameras, pixels: torch.Tensor,
                    heights: torch.Tensor) -> torch.Tensor:
    """``(...)`` the height of the plane each foot joint seen at ``pixels (..., F, 2)`` moves
    in: its rest height (``heights (F,)`` over the ground) over the support its ray meets."""
    rest = heights - supports.ground_y
    return supports.levels(camera, pixels, rest.expand(pixels.shape[:-1])) + rest


def detect_plants(keypoints: torch.Tensor, camera: Cameras, heights: torch.Tensor,
                  fps: float, config: FootPlantConfig, supports: Supports | None = None
                  ) -> FootPlants:
    """The plants of foot joints seen at ``keypoints (T, F, 3)`` (u, v, confidence) whose soles
    put them at ``heights (F,)`` (world y) when planted on the ground; see the module
    docstring. With ``supports`` a foot may stand on an object's top instead
    (``supports.levels``): the plane of its speed and footprint is the one its ray meets
    first."""
    w = config.window
    speed, weights, noise_px = _plant_weights(keypoints, camera, heights, fps, config, w, w,
                                              supports=supports)
    _, after, _ = _plant_weights(keypoints, camera, heights, fps, config, 0, w, noise_px,
                                 supports=supports)
    footprints = torch.zeros(*keypoints.shape[:2], 3, dtype=keypoints.dtype,
                             device=keypoints.device)
    footprint_weights = torch.zeros_like(weights)
    sigma = torch.zeros_like(weights)
    behind, behind_weights = torch.zeros_like(footprints), torch.zeros_like(weights)
    plant_ids = torch.full(weights.shape, -1, dtype=torch.long, device=weights.device)
    count = 0
    for f in range(keypoints.shape[1]):
        runs = true_runs(weights[:, f] > 0.5, config.min_gap_frames, config.min_run_frames)
        if config.split_sigmas > 0:  # a run spanning a swing seen along the ray: split it
            kept = torch.zeros_like(weights[:, f], dtype=torch.bool)
            parts = []
            for a, b in runs:
                for p, q in split_run(keypoints[a:b + 1, f], noise_px, config.split_sigmas,
                                      config.min_run_frames):
                    parts.append((a + p, a + q))
                    kept[a + p:a + q + 1] = True
                in_run = torch.zeros_like(kept)
                in_run[a:b + 1] = True
                weights[in_run & ~kept, f] = 0.0
            runs = parts
        for a, first, b in _earlier_landings(runs, weights[:, f], after[:, f],
                                             config.landing_frames):
            # a closed gap is planted (one run: one footprint, held without skating)
            weights[a:b + 1, f] = weights[a:b + 1, f].clamp_min(config.gap_weight)
            c = keypoints[first:b + 1, f, 2]
            if float(c.sum()) < config.min_confidence:
                continue
            uv = (c[:, None] * keypoints[first:b + 1, f, :2]).sum(0) / c.sum()
            plant_ids[a:b + 1, f] = count
            count += 1
            plane = heights[f] if supports is None else _support_planes(
                supports, camera, uv[None], heights[f:f + 1])[0]
            point, jac, front = on_plane(camera, uv, plane)
            if bool(front):
                err = noise_px / c.sum().sqrt() * torch.linalg.matrix_norm(jac, ord=2)
                footprints[a:b + 1, f] = point
                sigma[a:b + 1, f] = err
                footprint_weights[a:b + 1, f] = weights[a:b + 1, f] \
                    * (config.sigma_m / err.clamp_min(1e-9)).clamp(max=1.0) ** 2
            if supports is None or not bool(plane > heights[f]):
                continue
            # the ray meets a top first; past it the ground may hold the foot (a ray skimming
            # the top), unless the object hides that point or its sole lies inside it
            rest = heights[f] - supports.ground_y
            point, jac, front = on_plane(camera, uv, heights[f])
            sole = point - torch.stack([rest * 0, rest, rest * 0])
            if bool(front) and not supports.hidden(camera.centers[0], point) \
                    and not bool(supports.inside(sole[None]).any()):
                err = noise_px / c.sum().sqrt() * torch.linalg.matrix_norm(jac, ord=2)
                behind[a:b + 1, f] = point
                behind_weights[a:b + 1, f] = weights[a:b + 1, f] \
                    * (config.sigma_m / err.clamp_min(1e-9)).clamp(max=1.0) ** 2
    has_behind = bool((behind_weights > 0).any())
    return FootPlants(speed_mps=speed, weights=weights, footprints=footprints,
                      footprint_weights=footprint_weights, footprint_sigma_m=sigma,
                      plant_ids=plant_ids, plant_count=count,
                      behind=behind if has_behind else None,
                      behind_weights=behind_weights if has_behind else None)


def key_footprints(plants: FootPlants, anchor: int, key_feet: torch.Tensor) -> FootPlants:
    """``plants`` with the footprint of each plant holding the ``anchor`` frame where the key
    pose puts that foot joint, ``key_feet (F, 3)`` (world), at full weight and with no
    footprint behind it. A ray's footprint assumes the joint at its rest height over the
    support; a kneel's raised heel holds its ankle 10 cm higher, which put the footprint 25 cm
    further along the ray and dragged the held kneel after it (kneel-3-02). The key pose
    knows where the foot stands."""
    if plants.plant_ids is None:
        return plants
    footprints, weights = plants.footprints.clone(), plants.footprint_weights.clone()
    sigma = plants.footprint_sigma_m.clone()
    behind_weights = None if plants.behind_weights is None else plants.behind_weights.clone()
    for f, plant in enumerate(plants.plant_ids[anchor].tolist()):
        if plant < 0:
            continue
        member = plants.plant_ids[:, f] == plant
        footprints[member, f] = key_feet[f]
        weights[member, f] = plants.weights[member, f]
        sigma[member, f] = 0.0
        if behind_weights is not None:
            behind_weights[member, f] = 0.0
    return replace(plants, footprints=footprints, footprint_weights=weights,
                   footprint_sigma_m=sigma, behind_weights=behind_weights)


def drop_raised(plants: FootPlants, camera: Cameras, foot_length: torch.Tensor,
                sigmas: float) -> FootPlants:
    """``plants`` of the foot joints (left / right ankle, left / right ball) without the
    footprints of joints that stand raised. A footprint is where the joint's ray meets the
    plane of its rest height: a joint standing higher (a heel up on the toes, a kneel's raised
    ankle) puts it further along the ray — by the height times the ray's run, half a metre for
    10 cm seen from chest height at 4 m (kneel-22-22: 67 cm). Where an ankle's and its ball's
    footprints (or those behind a top) lie further apart on the ground than the foot's length
    ``foot_length (2,)`` (ankle to ball, metres) plus ``sigmas`` of their standard errors, one
    of them is raised: the one farther from the camera (a raised joint's footprint moves away
    from it), unless the other is a key footprint (``key_footprints``: standard error 0, the
    key pose put it). Its plant keeps its weights (the foot is held still) but pulls to no
    footprint."""
    if plants.plant_ids is None or sigmas <= 0:
        return plants
    weights, behind_weights = plants.footprint_weights.clone(), None
    candidates = [(plants.footprints, plants.footprint_weights)]
    if plants.behind is not None and plants.behind_weights is not None:
        behind_weights = plants.behind_weights.clone()
        candidates.append((plants.behind, plants.behind_weights))
    centre = camera.centers[0][[0, 2]]
    sigma, ids = plants.footprint_sigma_m, plants.plant_ids
    for ankle, ball in ((0, 2), (1, 3)):
        inf = torch.full_like(weights[:, 0], float("inf"))
        apart = inf.clone()
        for points_a, weights_a in candidates:
            for points_b, weights_b in candidates:
                d = (points_a[:, ankle, [0, 2]] - points_b[:, ball, [0, 2]]).norm(dim=-1)
                ok = (weights_a[:, ankle] > 0) & (weights_b[:, ball] > 0)
                apart = torch.minimum(apart, torch.where(ok, d, inf))
        reach = foot_length[ankle] + sigmas * torch.sqrt(sigma[:, ankle] ** 2
                                                         + sigma[:, ball] ** 2)
        disagree = torch.nonzero(torch.isfinite(apart) & (apart > reach)).flatten()
        # one decision per pair of plants: their footprints and errors hold over their frames
        pairs = {(int(ids[t, ankle]), int(ids[t, ball])): int(t) for t in disagree.flip(0)}
        for t in pairs.values():
            key_ankle, key_ball = float(sigma[t, ankle]) == 0, float(sigma[t, ball]) == 0
            if key_ankle == key_ball:  # neither (or both) from the key pose: the farther
                far = [(plants.footprints[t, j, [0, 2]] - centre).norm() for j in (ankle, ball)]
                raised = ankle if bool(far[0] > far[1]) else ball
            else:
                raised = ball if key_ankle else ankle
            member = ids[:, raised] == ids[t, raised]
            weights[member, raised] = 0.0
            if behind_weights is not None:
                behind_weights[member, raised] = 0.0
    return replace(plants, footprint_weights=weights, behind_weights=behind_weights)


def plant_loss(feet: torch.Tensor, plants: FootPlants) -> torch.Tensor:
    """Planted foot joints ``feet (..., T, F, 3)`` on their footprints: weighted squared
    distance (m²), summed over joints, mean over frames (and leading dimensions). A plant with
    a footprint ``behind`` a top as well holds its joint on whichever of the two its frames
    are nearer to (their summed squared distance; the estimate's body size and the other
    keypoints decide what the ray alone cannot)."""
    sq = ((feet - plants.footprints) ** 2).sum(-1)
    if plants.behind is None or plants.behind_weights is None:
        return (plants.footprint_weights * sq).sum(-1).mean()
    sq_behind = ((feet - plants.behind) ** 2).sum(-1)
    use = _nearer_behind(sq.detach(), sq_behind.detach(), plants)
    return torch.where(use, plants.behind_weights * sq_behind,
                       plants.footprint_weights * sq).sum(-1).mean()


def _nearer_behind(sq: torch.Tensor, sq_behind: torch.Tensor, plants: FootPlants
                   ) -> torch.Tensor:
    """``(..., T, F)`` bool: the frames of the plants whose ``behind`` footprint the joints
    are nearer to (``sq_behind``, squared distances ``(..., T, F)``), summed over the plant's
    frames, than to the first (``sq``); a footprint of weight 0 over all its frames is never
    nearer."""
    assert plants.behind_weights is not None and plants.plant_ids is not None
    with torch.no_grad():
        ids = plants.plant_ids.clamp_min(0).flatten()
        member = (plants.plant_ids >= 0).to(sq.dtype).flatten()

        def per_plant(x: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
            cost = x.new_zeros(*x.shape[:-2], plants.plant_count)
            cost.index_add_(-1, ids, x.flatten(-2) * member)
            valid = x.new_zeros(plants.plant_count).index_add_(0, ids, ok.flatten() * member)
            return torch.where(valid > 0, cost, torch.full_like(cost, float("inf")))

        first = per_plant(sq, (plants.footprint_weights > 0).to(sq.dtype))
        past = per_plant(sq_behind, (plants.behind_weights > 0).to(sq.dtype))
        use = (past < first).gather(-1, ids.expand(*sq.shape[:-2], -1)).reshape(sq.shape)
        return use & (plants.plant_ids >= 0)


def contact_weights(plants: FootPlants, feet: torch.Tensor, rest_height: torch.Tensor,
                    ground_y: float | torch.Tensor, contact: ContactConfig, estimate: torch.Tensor,
                    use_height: bool, toe_off_frames: int = 0,
                    stance_weight: float = 0.0) -> torch.Tensor:
    """Soft foot contact ``(T, F)``: the plant weight, interpolated across the frames where a
    joint is unseen, times (with ``use_height``, where it is seen) the estimate's foot joints
    ``feet (T, F, 3)`` being low — within ``contact.foot_height_m`` of ``rest_height (F,)``
    over the ground (a soft threshold). Where a joint is unseen the larger of the interpolated
    weight and ``estimate (T, F)``, the contact from the estimate's own speeds and heights,
    counts (a still foot hidden for long is held still), up to what the same foot's other
    joint allows where that one is seen (``swing_cap``, with ``toe_off_frames``); a joint
    never seen takes ``estimate``. Where no foot joint is seen, one foot stays down
    (``one_foot_down``, with ``stance_weight``; 0: not)."""
    seen = torch.isfinite(plants.speed_mps)
    slow = fill_gaps(torch.where(seen, plants.weights, torch.full_like(plants.weights,
                                                                       float("nan"))))
    th, s = contact.foot_height_m, contact.softness
    low = torch.sigmoid((th - (feet[..., 1] - ground_y - rest_height)) / (s * th))
    if use_height:
        slow = slow * torch.where(seen, low, torch.ones_like(low))
    # where unseen, the frames around are one guess and the estimate's own speed another: a
    # foot hidden behind the object that is still in the estimate stays held
    hidden = torch.where(torch.isfinite(slow), torch.maximum(slow, estimate), estimate)
    weights = torch.where(seen, slow, swing_cap(hidden, plants, toe_off_frames))
    return one_foot_down(weights, estimate, seen, stance_weight)


def one_foot_down(weights: torch.Tensor, estimate: torch.Tensor, seen: torch.Tensor,
                  stance_weight: float) -> torch.Tensor:
    """Contact ``weights (T, 4)`` of the foot joints (left / right ankle, left / right ball)
    where no foot joint is ``seen (T, 4)`` and neither foot is in contact (both its joints'
    weights under one half): the foot whose joints the estimate's own contact ``estimate (T,
    4)`` rates slower is raised to at least ``stance_weight``. A body that stands or walks
    has a foot on the ground; with the legs hidden in every frame, the estimate's feet
    otherwise both drift while the torso leans or steps (reach_low-7-16: skating 20 mm per
    contact frame)."""
    if stance_weight <= 0:
        return weights

    def per_foot(x: torch.Tensor) -> torch.Tensor:
        return torch.maximum(x[:, [0, 1]], x[:, [2, 3]])  # (T, 2) left, right

    free = ~seen.any(1) & (per_foot(weights).amax(1) < 0.5)
    slower = per_foot(estimate)
    right = slower[:, 1] > slower[:, 0]
    stance = torch.stack([~right, right], 1) & free[:, None]  # (T, 2)
    return torch.where(stance.repeat(1, 2), weights.clamp_min(stance_weight), weights)


def swing_cap(weights: torch.Tensor, plants: FootPlants, toe_off_frames: int) -> torch.Tensor:
    """Contact ``weights (T, 4)`` of the foot joints (left / right ankle, left / right ball)
    capped by the plant weight of the same foot's other joint where that one is seen: a foot
    whose seen ankle swings does not keep its hidden ball planted. Otherwise a ball hidden
    behind the object is held where the estimate keeps it still — its contact comes from the
    estimate's own stillness — and one run spans the swing between two plants: the run's
    footprint (the anchor frame's, where the run holds it) drags the ankle's earlier plant
    along (step_onto-3-02: the left foot 28 cm off over 26 frames). The heel lifts and lands
    first: a ball is capped by its ankle's largest weight over the last ``toe_off_frames``
    frames and itself (it stays down while the heel rises), an ankle by its ball's over the
    next ``toe_off_frames`` (it is down before the ball lands)."""
    other = [2, 3, 0, 1]
    seen = torch.isfinite(plants.speed_mps[:, other])
    known = torch.where(seen, plants.weights[:, other], torch.ones_like(weights))
    k, t_count = toe_off_frames, weights.shape[0]
    pad = known.new_ones(k, 4)
    past = torch.cat([pad, known]).unfold(0, k + 1, 1).amax(-1)[:t_count]  # t − k … t
    ahead = torch.cat([known, pad]).unfold(0, k + 1, 1).amax(-1)[:t_count]  # t … t + k
    cap = torch.cat([ahead[:, :2], past[:, 2:]], 1)
    return torch.minimum(weights, cap)


def swinging_joints(plants: FootPlants) -> torch.Tensor:
    """``(T, F)`` bool: the foot joints seen swinging (a speed, plant weight under one half)."""
    return torch.isfinite(plants.speed_mps) & (plants.weights < 0.5)


def feet_swing(plants: FootPlants, min_seen: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Per frame ``(T,)`` bool: whether the feet are seen (at least ``min_seen`` foot joints
    with a speed) and whether a seen foot joint swings there (``swinging_joints``). A body
    whose seen feet stay planted does not walk: it travels no further than it leans."""
    seen = torch.isfinite(plants.speed_mps)
    return seen.sum(1) >= min_seen, swinging_joints(plants).any(1)
