"""Phase 1 of stage E: where the body is in every frame, and which pose to start each frame from.

Starting every frame from the key pose fails where the clip is far from it (the standing frames
of a sit-down start seated, and one camera cannot tell a standing body from a nearer, crouched
one). So phase 1 fits the global orientation and translation of a few whole-body **candidate
poses** — the key pose; the key pose with its legs' stride swapped; generic standing /
crouching / sitting / squatting legs under the key pose's arms; and two stances with arms of
their own, standing with the arms hanging (relaxed) or holding a load at the waist (carrying) —
to the torso and foot keypoints of every frame, standing on the ground (the support term;
one batched forward for all candidates and frames). Each frame then starts from the candidate
that reprojects best and stands on the ground, with a penalty for switching candidates between
frames and one for a torso that would move in depth between neighbouring frames faster than a
body does (a Viterbi pass; with the legs hidden behind a pushed table, the sitting candidate
fitted the first frames' torso best, sat on the table 0.5 m further along the camera ray than
the key pose stood at the next frame, and the fit ended 0.95 m off there: push_pull-22-00).
The sitting candidate pays for frames where nothing carries it — no seat under its pelvis and
its centre of mass not over its feet (one camera cannot tell a body leaning towards it from one
sitting back on nothing). The anchor frame keeps the key pose. The relaxed stance starts the
frames whose arms do not do the interaction yet (walking up to a table to lean on it); where
the hands hold the object in the air at the anchor frame it is left out, so that the carried
object follows the hands from the first frame (``hands_busy``). The carrying stance (upper
arms down, forearms forward at the waist) starts the frames of a lift or a carry far from a
key pose that holds the object elsewhere (overhead): from the key pose's arms, phase 2 brought
the elbows down in front of the body rather than by its sides, a mirror image one camera does
not tell apart, and the hands and the box rode 20–30 cm nearer the camera (lift_overhead-6-07:
MPJPE 50 → 24 mm).

The key pose with its legs' stride swapped left for right (``key_mirrored``: each hip, knee,
ankle and foot takes the other side's rotation mirrored through the body's midplane; the root,
spine, head and arms stay the key pose's) starts the frames of an interaction that keeps the
key pose's upper body while the legs walk (a push or a pull along the floor): a gait alternates
between the key pose's stride and its mirror image. Its trunk leans as the key pose's does and
its knees bend as far. A trunk leaning along the camera ray looks in the image much like an
upright one whose pelvis stands further along the ray, and a knee bent along the ray much like
a straight one on a nearer, higher pelvis; started upright or straight (the generic
candidates), phase 2 kept it so (push_pull-21-17, pulling a table backwards, the trunk
leaning 17° and the knees bent 30–40°: MPJPE 41 → 25 mm; push_pull-22-15, leaning 22° along
the ray: the pelvis 15–20 cm off along the ray and the trunk at 8–15°, MPJPE 135 → 82 mm, the
table 17 → 9 cm off).

Each candidate's translation starts from a per-frame linear least-squares fit to the torso
keypoints' rays; the standing, relaxed and carrying candidates start upright, turned to the
key pose's heading (``upright_root``), the others with the key pose's root orientation (a
squat or a seat leans its trunk as the key pose does; upright, they were measured worse on
the lean-on and kneel cases, and an upright crouching candidate on sit_stand-0-24 and
reach_low-7-05: 100 and 56 mm, 87 and 41 mm with the key pose's root).

The crouching candidate stands on bent knees (thighs and shins 30° either side of vertical,
the soles flat): a body walking or stepping up with its knees bent.
Phase 2 does not bend straight legs that far by itself: from the standing candidate, a clip
walking on knees bent ~70° (step_onto-0-15) kept them straight and leaned the trunk 30–40°
along the camera ray instead, where its pixels barely change (MPJPE 114 mm; 50 mm from the
crouching start).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from ..body import axis_angle_to_matrix, matrix_to_rot6d, rot6d_to_matrix
from ..body.pose import PoseParams
from ..nerf.cameras import Cameras
from ..objects.inside import SdfGrid
from ..portable.skeleton import JOINT_NAMES
from ..progress import LossReadout, StepCallback
from . import losses as L
from .config import MotionConfig, ReprojectionConfig
from .contact import FOOT_JOINTS, WRIST_JOINTS
from .foot_plants import FootPlants, plant_loss
from .posing import PosedSubset
from .supports import Supports

TORSO_JOINTS = (0, 1, 2, 3, 6, 9, 12, 13, 14, 15, 16, 17)
"""Pelvis, hips, spine, neck, collars, head, shoulders: they move with the root."""
FIT_JOINTS = (*TORSO_JOINTS, 7, 8, 10, 11)
"""Phase 1 fits the candidates to the torso and the feet (ankles, balls): with the ground
under the feet, their image height says how far away the body is."""
BODY_JOINTS = 22
"""Smoothness uses the first 22 joints (pelvis … wrists)."""

_GENERIC = {  # joint name → rotation vector in degrees (x, y, z): the legs, spine and own arms
    "standing": {},
    "relaxed": {"left_shoulder": (0, 0, -70), "right_shoulder": (0, 0, 70),
                "left_elbow": (0, -15, 0), "right_elbow": (0, 15, 0)},
    "carrying": {"left_shoulder": (0, 0, -70), "right_shoulder": (0, 0, 70),
                 "left_elbow": (0, -90, 0), "right_elbow": (0, 90, 0)},
    "sitting": {"left_hip": (-90, 0, 0), "right_hip": (-90, 0, 0), "left_knee": (90, 0, 0),
                "right_knee": (90, 0, 0)},
    "crouching": {"left_hip": (-30, 0, 0), "right_hip": (-30, 0, 0), "left_knee": (60, 0, 0),
                  "right_knee": (60, 0, 0), "left_ankle": (-30, 0, 0),
                  "right_ankle": (-30, 0, 0)},
    "squatting": {"left_hip": (-110, 0, 0), "right_hip": (-110, 0, 0),
                  "left_knee": (125, 0, 0), "right_knee": (125, 0, 0),
                  "left_ankle": (-15, 0, 0), "right_ankle": (-15, 0, 0),
                  "spine1": (15, 0, 0), "spine2": (10, 0, 0)},
}
UPRIGHT = ("standing", "relaxed", "carrying")
"""The candidates that start upright, turned to the key pose's heading (``upright_root``)."""
SHOULDER_JOINTS = (16, 17)
_LOWER = ("left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
          "right_ankle", "spine3", "left_foot", "right_foot")
"""The joints every generic pose sets; the arms, neck and head keep the key pose's (the arms'
pose of the interaction is the best guess where they are hidden) unless the pose names them
(``relaxed``: the arms hanging by the sides, as a body walking up to the object or standing
before the interaction holds them; lean_on-5-07: with the key pose's arms reaching to a table,
no candidate fitted the first frames of the approach and phase 1 put the body 0.8-1.2 m
nearer the camera, its legs hidden by the table)."""


_LEG_PAIRS = (("left_hip", "right_hip"), ("left_knee", "right_knee"),
              ("left_ankle", "right_ankle"), ("left_foot", "right_foot"))
"""The joints ``key_mirrored`` swaps between the legs."""


def candidate_poses(names: tuple[str, ...], key: PoseParams) -> torch.Tensor:
    """``(K, 21, 6)`` body poses: ``"key"`` is the key pose, ``"key_mirrored"`` the key pose
    with its legs swapped (``mirrored_legs``), the others generic legs and spine under the key
    pose's arms."""
    out = []
    for name in names:
        body = key.body[0].clone()
        if name == "key_mirrored":
            body = mirrored_legs(body)
        elif name != "key":
            if name not in _GENERIC:
                raise ValueError(f"unknown initial pose {name!r}; choose from key, "
                                 f"key_mirrored, {', '.join(_GENERIC)}")
            for joint in dict.fromkeys((*_LOWER, *_GENERIC[name])):
                deg = _GENERIC[name].get(joint, (0, 0, 0))
                aa = torch.tensor(deg, dtype=torch.float64) * math.pi / 180
                body[JOINT_NAMES.index(joint) - 1] = matrix_to_rot6d(
                    axis_angle_to_matrix(aa)).to(body)
        out.append(body)
    return torch.stack(out)


def mirrored_legs(body6d: torch.Tensor) -> torch.Tensor:
    """``body6d (21, 6)`` with each leg joint's rotation replaced by its opposite's mirrored
    through the body's midplane (the plane x = 0 of the pelvis frame: ``M R M`` with
    ``M = diag(−1, 1, 1)``, an axis-angle ``(x, y, z)`` becoming ``(x, −y, −z)``): the other
    half of a stride."""
    out = body6d.clone()
    mirror = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=body6d.dtype,
                                     device=body6d.device))
    for pair in _LEG_PAIRS:
        left, right = (JOINT_NAMES.index(j) - 1 for j in pair)
        rot = rot6d_to_matrix(body6d[[right, left]])
        out[[left, right]] = matrix_to_rot6d(mirror @ rot @ mirror)
    return out


def upright_root(root6d: torch.Tensor) -> torch.Tensor:
    """The key pose's root orientation ``(6,)`` turned upright: only its heading about the
    world's up axis (y) kept, its pitch and roll dropped — the standing candidate's root.
    Started with the key pose's bend (a reach down pitches the pelvis forward by up to 60°) a
    standing candidate leans into the floor and phase 1 does not turn it back."""
    rot = rot6d_to_matrix(root6d)
    forward = rot[:, 2]  # the body's z axis (its front) in the world
    heading = torch.atan2(forward[0], forward[2])
    c, s = torch.cos(heading), torch.sin(heading)
    zero, one = torch.zeros_like(c), torch.ones_like(c)
    yaw = torch.stack([torch.stack([c, zero, s]), torch.stack([zero, one, zero]),
                       torch.stack([-s, zero, c])])
    return matrix_to_rot6d(yaw)


def initial_translation(kp: torch.Tensor, camera: Cameras, rel: torch.Tensor,
                        depth: torch.Tensor, refine_steps: int = 4) -> torch.Tensor:
    """(T, 3) per frame, the translation of a body with root-relative joints ``rel (55, 3)``
    whose torso joints best meet the torso keypoints' rays, with a weak pull of the pelvis's
    camera depth to ``depth``. Frames seeing fewer than three torso joints are interpolated
    from the others.

    First a linear least-squares solve in ``τ``: ``(R_x − x̃ R_z)(J + τ) + t_x − x̃ t_z = 0``
    and the same for y. Its residuals are the image errors times the joints' depths, so noisy
    keypoints pull it towards the camera: with only the head, neck and shoulders seen (the
    legs and hips behind a pushed table, 4 px noise, 4–5 m away) it put the body 23–33 cm
    nearer on average, and the later phases, which see depth along the ray barely, kept it
    there (push_pull-11-04, 5-09, 12-02, 8-14 of the case family: MPJPE 112–171 mm, the
    table 11–17 cm off). Where no foot keypoint is seen, ``refine_steps`` Gauss–Newton steps
    then minimise the image errors themselves (normalised coordinates ``X/Z − x̃``,
    ``_refine_translation``). Where a foot is seen its ground contact places the frame later,
    and a candidate turned or bent otherwise than the body is better left where the linear
    solve puts it (refined there too, turn_in_place-4-11, 4-19 and 5-03 went from MPJPE 22–32
    to 40–54 mm and the box of pick_up_carry-5-23 and 6-20 from 4 to 24–28 cm off)."""
    R, tc, K = camera.R[0], camera.t[0], camera.K[0]
    torso = list(TORSO_JOINTS)
    n = kp.shape[0]
    uv1 = torch.cat([kp[:, torso, :2], torch.ones_like(kp[:, torso, :1])], -1)
    ray = uv1 @ torch.linalg.inv(K).T  # (T, J, 3) normalised (x̃, ỹ, 1)
    w = kp[:, torso, 2]
    rows = torch.stack([R[0] - ray[..., :1] * R[2], R[1] - ray[..., 1:2] * R[2]], -2)  # T,J,2,3
    offs = torch.stack([tc[0] - ray[..., 0] * tc[2], tc[1] - ray[..., 1] * tc[2]], -1)  # T,J,2
    rhs = -(rows @ rel[torso][None, :, :, None])[..., 0] - offs
    prior_w = 0.03  # residual rows above are ~depth × normalised error, in metres
    a = torch.cat([(w[..., None, None] * rows).reshape(n, -1, 3),
                   prior_w * R[2].expand(n, 1, 3)], 1)
    b = torch.cat([(w[..., None] * rhs).reshape(n, -1),
                   (prior_w * (depth - R[2] @ rel[0] - tc[2])).expand(n, 1)], 1)
    sol = _lstsq(a, b[..., None])[..., 0]  # (T, 3)
    footless = (kp[:, list(FOOT_JOINTS), 2] <= 0).all(1)
    if bool(footless.any()) and refine_steps > 0:
        pull = prior_w / depth.clamp_min(0.1)  # the same pull on normalised rows
        sol = torch.where(footless[:, None], _refine_translation(
            sol, ray[..., :2], w, R, tc, rel, depth, pull, refine_steps), sol)
    good = (w > 0).sum(1) >= 3
    if bool(good.any()) and not bool(good.all()):
        frames = np.arange(n)
        known = torch.nonzero(good).flatten().cpu().numpy()
        for k in range(3):
            sol[:, k] = torch.as_tensor(np.interp(frames, known, sol[known, k].cpu().numpy()),
                                        dtype=sol.dtype, device=sol.device)
    return sol


def _refine_translation(sol: torch.Tensor, seen: torch.Tensor, w: torch.Tensor,
                        R: torch.Tensor, tc: torch.Tensor, rel: torch.Tensor,
                        depth: torch.Tensor, pull: torch.Tensor, steps: int) -> torch.Tensor:
    """``steps`` Gauss–Newton steps on ``sol (T, 3)``: the torso joints' (of ``rel (55, 3)``)
    normalised image errors ``X/Z − seen (T, J, 2)`` weighted by ``w (T, J)``, and the
    pelvis's camera depth pulled to ``depth`` with weight ``pull`` (per metre)."""
    torso = rel[list(TORSO_JOINTS)]
    n = sol.shape[0]
    for _ in range(steps):
        p = (torso[None] + sol[:, None]) @ R.T + tc  # (T, J, 3) camera frame
        z = p[..., 2:].clamp_min(0.1)
        proj = p[..., :2] / z
        res = w[..., None] * (proj - seen)  # (T, J, 2)
        jac = w[..., None, None] * (R[:2] - proj[..., None] * R[2]) / z[..., None]  # T,J,2,3
        pelvis_z = (rel[0] + sol) @ R[2] + tc[2]  # (T,)
        a = torch.cat([jac.reshape(n, -1, 3), (pull * R[2]).expand(n, 1, 3)], 1)
        b = -torch.cat([res.reshape(n, -1), (pull * (pelvis_z - depth))[:, None]], 1)
        sol = sol + _lstsq(a, b[..., None])[..., 0]
    return sol


def _lstsq(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Least squares ``argmin ‖a x − b‖`` (batched, minimum norm if rank deficient), the same
    on every run. On the CPU the default driver ``gelsy`` is not: PyTorch hands LAPACK its
    pivot array ``JPVT`` uninitialised (pytorch/pytorch#71222, #187411), whose leftover
    values fix columns' pivoting order, so the solution's rounding (here the phase-1
    translations, then the whole optimisation) depended on the heap. ``gelsd`` (SVD) has no
    pivot array. Other devices have only ``gels`` (the default)."""
    driver = "gelsd" if a.device.type == "cpu" else None
    return torch.linalg.lstsq(a, b, driver=driver).solution


def fit_candidates(kin: PosedSubset, keypoints: torch.Tensor, camera: Cameras, key: PoseParams,
                   key_joints: torch.Tensor, anchor: int, fps: float, ground_y: float,
                   config: MotionConfig, on_step: StepCallback | None = None,
                   plants: FootPlants | None = None, supports: Supports | None = None,
                   soles: torch.Tensor | None = None,
                   seat: tuple[SdfGrid, torch.Tensor] | None = None,
                   hands_busy: bool = False
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Phase 1 → per frame ``root6d (T, 6)``, ``trans (T, 3)``, ``body6d (T, 21, 6)`` and the
    chosen candidate ``(T,)`` (index into ``config.schedule.initial_poses``). The fit and the
    choice both count the support term (the lowest point on the ground): a candidate that
    matches the torso only by floating or sinking is not taken. ``on_step(step,
    root_iterations, losses)`` after each iteration (may raise to cancel). ``plants``: the
    foot joints' plants seen in the keypoints; their footprints hold the candidates' planted
    feet (``weights.lambda_plant``), which places each frame's depth by ground contact.
    ``supports`` with ``soles (Vs,)`` (the sole vertices of the subset): the soles may stand on
    a resting object's top rather than the ground (``supports.py``). ``seat``: the object's
    SDF (its frame) and its anchor placement ``(4, 4)``; the choice then takes the sitting
    candidate only where they put a seat under its pelvis (``schedule.seat_cost``; without
    ``seat`` no frame has one) or where its centre of mass stands over its feet.
    ``hands_busy``: the hands hold the object in the air at the anchor frame; which of the
    candidates with arms of their own are tried follows from it (``usable_candidates``)."""
    t_count = keypoints.shape[0]
    schedule, w, rep = config.schedule, config.weights, config.reprojection
    names = usable_candidates(schedule.initial_poses, hands_busy, key_joints)
    bodies = candidate_poses(names, key)  # (K, 21, 6)
    k_count = bodies.shape[0]
    dtype, device = keypoints.dtype, keypoints.device
    hands = rot6d_to_matrix(key.hand[0])  # (30, 3, 3)
    eye = torch.eye(3, dtype=dtype, device=device).expand(3, 3, 3)  # jaw and eyes
    fixed = torch.stack([torch.cat([rot6d_to_matrix(b), eye, hands])  # (54, 3, 3) each
                         for b in bodies])[:, None].expand(k_count, t_count, 54, 3, 3)

    # translations: each candidate, posed with the key's root orientation at the origin
    roots = [upright_root(key.root[0]) if name in UPRIGHT else key.root[0]
             for name in names]
    depth = (camera.R[0][2] @ key_joints[0] + camera.t[0][2])
    trans_k, root6d_k = [], []
    with torch.no_grad():
        for k in range(k_count):
            rot = torch.cat([rot6d_to_matrix(roots[k])[None], fixed[k, 0]])[None]
            rel = kin(rot, torch.zeros(1, 3, dtype=dtype, device=device)).joints[0]
            trans_k.append(initial_translation(keypoints, camera, rel, depth))
            root6d_k.append(roots[k].expand(t_count, 6))
    trans = torch.stack(trans_k).clone().requires_grad_(True)  # (K, T, 3)
    root6d = torch.stack(root6d_k).clone().requires_grad_(True)  # (K, T, 6)
    fit_mask = torch.zeros(55, dtype=dtype, device=device)
    fit_mask[list(FIT_JOINTS)] = 1
    kp_all = keypoints.expand(k_count, -1, -1, -1).reshape(k_count * t_count, 55, 3)
    opt = torch.optim.Adam([root6d, trans], lr=schedule.learning_rate)
    ratio = rep.scale_px / rep.start_scale_px
    anneal = max(schedule.root_iterations + schedule.pose_iterations - 1, 1)

    def pose(root6d, trans):
        rot = torch.cat([rot6d_to_matrix(root6d)[:, :, None], fixed], 2)
        out = kin(rot.reshape(-1, 55, 3, 3), trans.reshape(-1, 3))
        return out.joints.reshape(k_count, t_count, 55, 3), \
            out.vertices.reshape(k_count, t_count, -1, 3)

    def floor(verts):
        if supports is None or soles is None:
            return ground_y
        with torch.no_grad():
            return supports.sole_floor(verts, soles)

    readout = LossReadout(on_step, schedule.root_iterations, schedule.sync_every)
    for it in range(schedule.root_iterations):
        scale = rep.start_scale_px * ratio ** (it / anneal)
        joints, verts = pose(root6d, trans)
        body_joints = joints[..., :BODY_JOINTS, :].transpose(0, 1).reshape(t_count, -1, 3)
        loss = k_count * w.lambda_reproj * L.reprojection_loss(
            joints.reshape(-1, 55, 3), kp_all, camera, scale=scale, kind=rep.robust_loss,
            unit_px=rep.scale_px, joint_mask=fit_mask) \
            + w.lambda_velocity * L.velocity_loss(body_joints, fps) \
            + w.lambda_accel * L.acceleration_loss(body_joints, fps) \
            + w.lambda_rot_smooth * L.second_difference_loss(root6d.transpose(0, 1)) \
            + k_count * w.lambda_support * L.support_loss(verts, floor(verts))
        if "key" in names:
            k = names.index("key")
            loss = loss + w.lambda_key_pose * ((joints[k, anchor] - key_joints) ** 2).sum()
        if plants is not None and w.lambda_plant > 0:
            loss = loss + k_count * w.lambda_plant * plant_loss(joints[..., list(FOOT_JOINTS), :],
                                                                 plants)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        readout.step(it + 1, {"phase1": loss})

    with torch.no_grad():
        joints, verts = pose(root6d, trans)
        gap = (verts[..., 1] - floor(verts)).amin(-1)  # (K, T) lowest point above its floor
        cost = torch.stack([_frame_cost(joints[k], keypoints, camera, rep)
                            for k in range(k_count)]) + w.lambda_support * gap * gap
        if "sitting" in names and schedule.seat_cost > 0:
            k = names.index("sitting")
            feet = joints[k][:, list(FOOT_JOINTS)]  # L ankle, R ankle, L ball, R ball
            off = L.balance_excess(verts[k].mean(1), 0.5 * (feet[:, 0] + feet[:, 2]),
                                   0.5 * (feet[:, 1] + feet[:, 3]), config.contact.balance_radius_m)
            unbalanced = saturated(off, schedule.seat_scale_m)
            cost[k] = cost[k] + schedule.seat_cost * torch.minimum(unbalanced, no_seat(
                joints[k, :, 0], seat, schedule.seat_reach_m, schedule.seat_scale_m))
        if "key" in names:
            k = names.index("key")
            cost[:, anchor] = float("inf")
            cost[k, anchor] = 0.0
        torso = joints[:, :, list(TORSO_JOINTS)].mean(2) @ camera.R[0][2]  # (K, T) depth
        step = schedule.initial_jump_speed_mps / fps
        choice = _viterbi(cost, schedule.initial_switch_cost,
                          lambda t: schedule.initial_jump_cost * torch.relu(
                              (torso[:, t, None] - torso[None, :, t - 1]).abs() - step) ** 2)
        frames = torch.arange(t_count, device=choice.device)
        index = torch.tensor([schedule.initial_poses.index(n) for n in names],
                             device=choice.device)
        return (root6d.detach()[choice, frames].clone(), trans.detach()[choice, frames].clone(),
                bodies[choice].clone(), index[choice])


def usable_candidates(names: tuple[str, ...], hands_busy: bool, key_joints: torch.Tensor
                      ) -> tuple[str, ...]:
    """The candidates of ``names`` that phase 1 tries. ``hands_busy``: the hands hold the
    object in the air at the anchor frame; the relaxed stance (arms hanging) is then left out
    (where it fitted the hands best, the carried object started from its wrists and phase 3
    carried it 10-60 cm off: lift_overhead-6-23, pick_up_carry-5-12). The carrying stance is
    tried only there and where the key pose ``key_joints (55, 3)`` holds the object above its
    shoulders: a key pose that carries it lower is the better start, and the generic arms,
    chosen over it in frames of the carry, cost the authored pick-up 7 mm and 1 cm of the box.
    """
    raised = bool((key_joints[list(WRIST_JOINTS), 1]
                   > key_joints[list(SHOULDER_JOINTS), 1]).all())
    return tuple(n for n in names if not (n == "relaxed" and hands_busy)
                 and not (n == "carrying" and not (hands_busy and raised)))


def no_seat(pelvis: torch.Tensor, seat: tuple[SdfGrid, torch.Tensor] | None, reach: float,
            scale: float, samples: int = 8) -> torch.Tensor:
    """``(T,)`` in [0, 1): how far the object stays from the vertical segment from each pelvis
    joint ``pelvis (T, 3)`` (world) down ``reach`` metres, ``g`` — 0 where it reaches the
    segment (a seat under the pelvis) — as ``g²/(g² + scale²)``. ``seat``: the object's SDF
    (its frame) and its pose ``(4, 4)`` object → world; None (no object): 1 everywhere."""
    if seat is None:
        return torch.ones_like(pelvis[:, 0])
    sdf, pose = seat
    down = torch.linspace(0.0, reach, samples, dtype=pelvis.dtype, device=pelvis.device)
    probe = pelvis[:, None].repeat(1, samples, 1)
    probe[..., 1] -= down
    local = (probe - pose[:3, 3]) @ pose[:3, :3]  # Rᵀ (p − t)
    gap = sdf.sample_sdf(local.reshape(-1, 3)).reshape(probe.shape[:2]).amin(-1).clamp_min(0)
    return saturated(gap, scale)


def saturated(gap: torch.Tensor, scale: float) -> torch.Tensor:
    """``gap²/(gap² + scale²)``: 0 at no gap, one half at ``scale``, towards 1 beyond."""
    return gap * gap / (gap * gap + scale * scale)


def _frame_cost(joints: torch.Tensor, keypoints: torch.Tensor, camera: Cameras,
                rep: ReprojectionConfig) -> torch.Tensor:
    """(T,) robust reprojection of all joints per frame, in units of ``reprojection.scale_px²``."""
    p_cam = joints @ camera.R[0].T + camera.t[0]
    uv = (p_cam[..., :2] / p_cam[..., 2:].clamp_min(1e-3)) @ camera.K[0][:2, :2].T \
        + camera.K[0][:2, 2]
    sq = ((uv - keypoints[..., :2]) ** 2).sum(-1)
    rho = L.robust(sq, rep.scale_px, rep.robust_loss)
    return (keypoints[..., 2] * rho).sum(-1) / rep.scale_px ** 2


def _viterbi(cost: torch.Tensor, switch: float,
             jump: Callable[[int], torch.Tensor] | None = None) -> torch.Tensor:
    """(K, T) per-frame costs → (T,) the labels minimising their sum + ``switch`` per change
    (+ ``jump(t) (K, K)``, optional, ``[to, from]``: the cost of each pair of labels at
    frames ``t − 1`` → ``t``)."""
    k_count, t_count = cost.shape
    total = cost[:, 0].clone()
    back = torch.zeros(k_count, t_count, dtype=torch.long, device=cost.device)
    for t in range(1, t_count):
        trans = total[None, :] + switch * (1 - torch.eye(k_count, device=cost.device,
                                                           dtype=cost.dtype))  # [to, from]
        if jump is not None:
            trans = trans + jump(t)
        best, arg = trans.min(1)
        back[:, t] = arg
        total = best + cost[:, t]
    labels = torch.empty(t_count, dtype=torch.long, device=cost.device)
    labels[-1] = int(total.argmin())
    for t in range(t_count - 1, 0, -1):
        labels[t - 1] = back[labels[t], t]
    return labels
