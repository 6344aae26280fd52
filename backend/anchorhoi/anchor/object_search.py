"""Stage A's search for the object's placement (position and orientation), ranked by the
image prior.

SDS moves the object only through the edges of its image, so its gradient sees the right
placement only once the render and the prior's picture overlap: an object that starts half a
metre away (in front of the initial body, say) never finds a seat behind it or over the head,
and never turns from standing to lying. Before the SDS steps, the placement is therefore
searched coarse to fine — the scale stays — and every candidate is scored by the prior's
denoising error (``ImagePrior.denoising_error``) of the composite (the human field as it is,
plus the object at the candidate) from a few fixed cameras, all under the same noise. SDS then
refines the best candidate.

The space searched is everything an interaction can use: the object's centre anywhere in a
region ``reach`` metres either side of the initial body in x and z (cut to the scene box),
from the floor (the object's lowest point at most ``floor_margin`` under the initial soles: on
the ground, at the hands, on a shelf, overhead) to the top of the scene box, in front, beside
or behind; orientations upright or lying (tipped 90° about x or z) and turned about the up
axis in ``yaw_steps`` steps.

The scoring cameras look from the stage's orbit, their field of view widened until every
centre searched lies in every image (``fit_margin``; the resolution grows with it, up to
``max_resolution_gain``, so that a pixel spans what it does in the stage's images): with the
stage's own field of view a walk's furniture 1.4 m from the body was out of two of the four
images, never scored, and kept 1.4 m off. A candidate that more than ``unseen_views`` cameras
do not see — less than ``visible_share`` of the object's own opacity in their image left
unhidden — is not scored: an object inside the initial body leaves the render as it is
without the object, and when that body differs from the prompt's (standing where the person
walks past the pole, or sits) the empty render can beat the object in its true place; the
search hid the pole inside the body.

1. **Coarse position**: a grid of centres at the start orientation spaced at
   ``overlap_spacing`` times the object's extent along each axis (so some candidate overlaps
   the right place by more than half the object), scored on renders blurred by
   ``coarse_blur`` (a table's thin legs and top match their picture only within a few
   centimetres, less than a grid step; blurred, the match reaches the grid's centres nearby).
2. **Orientation**: at the ``orientation_seeds`` best coarse centres that are at least one
   grid step apart, every orientation (each clamped into its own region), blurred as above.
3. **Fine**: from ``refine_hypotheses`` (orientation, centre) pairs — the best of each tilt
   (upright, tipped about x, tipped about z), then the best others that differ from those in
   orientation (or, a symmetric object's turn, in score) or by more than a grid step — and
   from the start placement, ``refine_rounds`` rounds of the yaw ± half the previous yaw step
   and ± a quarter turn, then a 3 × 3 × 3 grid of centres around the best at half the
   previous spacing, repeated (``refine_moves``) while they improve; the renders blurred as
   the coarse stages' in the first round, half as much each round after, the last sharp; the
   best refined one is kept (a coarse winner need not be the best once refined).

Cost: at most 1 + 2 × grid + seeds × (orientations − 1) + hypotheses + (hypotheses + 1) ×
rounds × (1 + moves × 30) scorings (unseen candidates are skipped; with ``coarse_blur`` the
grid is scored sharp too, for ``placement_support``, each hypothesis is scored again sharp,
and each refining round scores its start again at its blur). Whether the prior's
scores single out the kept placement is judged by ``placement_support`` (flat or ambiguous
scores give a note, logged as a warning and handed on in the stage's output). The human field
is evaluated once per camera sample; each candidate only re-evaluates the object and
composites.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field

import nerfacc
import numpy as np
import torch

from ..nerf.cameras import SceneBox, orbit_cameras, rays, world_to_camera
from ..nerf.samplers import DenseSamplerConfig, DenseStratifiedSampler
from ..priors.base import ImagePrior, ViewBatch
from ..randomness import draw_seed
from .placement_support import PlacementSupport, SupportConfig, placement_support

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ObjectSearchConfig:
    """The coarse-to-fine placement search (see the module docstring)."""

    views: int = 4
    """Cameras, at evenly spaced azimuths (starting at ``azimuth_offset_deg``)."""
    azimuth_offset_deg: float = 45.0
    """Azimuth of the first camera (45°: no camera looks straight along an axis)."""
    elevation_deg: float = 20.0
    """Elevation of the cameras."""
    resolution: int = 24
    """Side of the square renders scored (the prior resizes to its own input)."""
    num_samples: int = 32
    """Samples per ray of the search renders (deterministic, no jitter)."""
    reach: float = 1.5
    """Half-width (metres) of the searched region in x and z around the initial body (cut to
    the scene box): a walk's furniture stands up to 1.5 m from the body at the key frame."""
    overlap_spacing: float = 0.75
    """First-round spacing along each axis as a fraction of the object's extent there."""
    min_spacing: float = 0.05
    """Smallest first-round spacing (metres), for thin objects."""
    refine_rounds: int = 6
    """Rounds of a 3 × 3 × 3 grid of centres (and the yaw ± a step) around the best at half
    the previous spacing: the last step is 1/2^rounds of the grid's (6: 0.6 cm for a stool's
    0.39 m; with 4, 2.4 cm, the search run again half way through SDS moved a stool the first
    search and SDS had placed within 1 cm to 2 cm and 13° off, 2.8 cm after the rest of SDS)."""
    yaw_steps: int = 8
    """Turns about the up axis tried per tilt, evenly over 360° (1: the start's yaw only). The
    object's turn matters: SDS hardly turns it, and a table or shelf turned 20–90° from its
    place scores no better near the right centre than anywhere (thin legs and boards), so the
    search without it kept push-pull tables and shelves 4–16 cm and 20–85° off."""
    lying: bool = False
    """Also try the object lying: tipped 90° about x and about z (off by default: on the
    family's lift-overhead anchor case the search with turns and tilts together kept a wrong
    orientation, 16 cm / 109° off after SDS)."""
    orientation_seeds: int = 4
    """Best coarse centres (at least a grid step apart) at which every orientation is tried."""
    refine_moves: int = 3
    """Moves per refining round at the same step while they improve (1: one move, the step
    then halved: the steps summed reach at most one grid step, so a start a grid step off
    stopped half way — a family table 23 cm off ended 6–9 cm and 15–30° off; repeated, the
    refinement walks on)."""
    refine_hypotheses: int = 3
    """At most this many (orientation, centre) pairs refined, the best of each tilt (the best
    refined one is kept: a coarse winner need not be the best once refined)."""
    coarse_blur: float = 0.0625
    """Gaussian σ of the renders scored in the coarse and orientation stages, as a fraction of
    the image side (1.5 pixels at 24², ~20 cm at the object; 0: sharp); the fine stage scores
    them sharp. A thin object (a table's legs and top, a shelf's
    boards) matches its picture only within a few centimetres and degrees, less than a grid
    step: sharp, the grid's centres near the right place scored no better than anywhere (a
    push-pull table kept 16–21 cm off); blurred, the match falls off over ~20 cm (0.9 cm
    after refining)."""
    floor_margin: float = 0.05
    """How far (metres) the object's lowest point may go below the initial body's soles: the
    floor the prior pictures need not be where the default body's soles are (another body
    shape stands a few centimetres higher or lower; a shelf 4 cm below the searched region
    stayed 4 cm too high)."""
    fit_margin: float = 0.05
    """The scoring cameras' field of view is widened (never narrowed) until every centre
    searched lies inside every image, this fraction of the side spare at each edge; their
    resolution grows with it (a pixel spans what it does at ``resolution`` in the stage's
    field of view)."""
    max_resolution_gain: float = 2.0
    """At most this many times ``resolution`` on a side."""
    visible_share: float = 0.3
    """A camera sees a candidate when at least this share of the object's own opacity in its
    image is not hidden (by the human: the initial body's inside)."""
    unseen_views: int = 1
    """Candidates more than this many scoring cameras do not see are not scored (see the
    module docstring; ≥ ``views``: every candidate is scored)."""
    timestep_fraction: float = 0.5
    """Diffusion time of the denoising error (a fraction of the training timesteps)."""
    after_sds: tuple[float, ...] = (0.5, 1.0)
    """Search again after these fractions of round 0's SDS steps (``anchor.stage``; 1: after
    the last; empty: not), scoring the object with the human field trained so far. Before SDS
    the human field is the initial standing body, and where the prompt's person stands
    otherwise (bent over a carried box) the composite is wrong wherever the two bodies
    differ: an object drawn over the person's true limbs scores better than in its place (a
    family carry's box kept 30 cm off, 11.8 cm after SDS and the fit). SDS makes the human
    field the person (the human-only prior shapes it), leaving only the object to explain:
    half way, the carry's box was found (0.67 cm after SDS). SDS's own placement gradient is
    weak: a table the half-way search left 1.4 cm off stayed there (0.9 cm, 27.0 dB, against
    0.04 cm, 31.3 dB without it); searched again at the end, it was 0.2 cm off. The current
    placement is refined as one of the hypotheses, and is kept unless a better one is found."""
    support: SupportConfig = field(default_factory=SupportConfig)
    """When the prior's scores do not single out the kept placement (``placement_support``)."""

    def __post_init__(self) -> None:
        if (self.views < 1 or self.resolution < 4 or self.num_samples < 2
                or not 0 <= self.coarse_blur < 0.5):
            raise ValueError("ObjectSearchConfig: views ≥ 1, resolution ≥ 4, num_samples ≥ 2 "
                             "and coarse_blur in [0, 0.5)")
        if not (self.reach >= 0 and 0 < self.overlap_spacing <= 1 and self.min_spacing > 0
                and self.refine_rounds >= 0 and self.refine_moves >= 1
                and 0 <= self.visible_share <= 1
                and 0 <= self.fit_margin < 0.5 and self.max_resolution_gain >= 1
                and self.unseen_views >= 0 and self.floor_margin >= 0):
            raise ValueError("ObjectSearchConfig: reach ≥ 0, overlap_spacing in (0, 1], "
                             "min_spacing > 0, refine_rounds ≥ 0, refine_moves ≥ 1, "
                             "visible_share in [0, 1], fit_margin in [0, 0.5), "
                             "max_resolution_gain ≥ 1, unseen_views ≥ 0 and floor_margin ≥ 0")
        if not all(0 < f <= 1 for f in self.after_sds):
            raise ValueError("ObjectSearchConfig: after_sds fractions in (0, 1]")
        if self.yaw_steps < 1 or self.orientation_seeds < 1 or self.refine_hypotheses < 1:
            raise ValueError("ObjectSearchConfig: yaw_steps ≥ 1, orientation_seeds ≥ 1 and "
                             "refine_hypotheses ≥ 1")


@dataclass(frozen=True)
class ObjectSearchResult:
    translation: np.ndarray  # (3,) the kept translation (world, metres)
    score: float  # its summed denoising error
    start_score: float  # the summed denoising error at the start placement
    candidates: int  # how many were scored
    seconds: float
    rotation: np.ndarray | None = None  # (3, 3) the kept rotation (object → world)
    support: PlacementSupport | None = None  # how clearly the scores single it out

    @property
    def note(self) -> str | None:
        """The sentence reporting a placement the prior's scores do not support, else None."""
        return None if self.support is None else self.support.note


def search_object_translation(*, human, obj, prior: ImagePrior, prompt: str, box: SceneBox,
                              centre_xz: tuple[float, float], ground_y: float,
                              target: tuple[float, float, float], radius: float,
                              fov_deg: float, background: tuple[float, float, float],
                              config: ObjectSearchConfig, generator: torch.Generator
                              ) -> ObjectSearchResult:
    """Search ``obj``'s placement (set in place to the best; see the module docstring).

    ``human`` is the human field (``forward(x) → density, albedo``), ``obj`` an
    ``ObjectField``; ``centre_xz`` and ``ground_y`` locate the initial body and its soles; the
    cameras look at ``target`` from ``radius`` with ``fov_deg``. ``generator`` draws the seed
    of the common noise.
    """
    started = time.perf_counter()
    p = obj.translation
    like = dict(device=p.device, dtype=p.dtype)
    az = config.azimuth_offset_deg + 360.0 * torch.arange(config.views) / config.views
    local = _local_vertices(obj)
    start_rot = obj.rotation().detach().cpu().double().numpy()
    start_t = obj.translation.detach().cpu().double().numpy().copy()

    def region(rot: np.ndarray):
        return _region(local @ rot.T, box, centre_xz, ground_y - config.floor_margin,
                       config.reach)

    lo, hi, extent = region(start_rot)
    # every centre searched in every image, a pixel as wide as the stage's cameras' at the
    # configured resolution
    wide = _fov_to_fit(np.array(list(itertools.product(*zip(lo, hi)))), az,
                       config.elevation_deg, radius, fov_deg, target, config.fit_margin)
    size = int(np.ceil(config.resolution * np.tan(np.radians(wide) / 2)
                       / np.tan(np.radians(fov_deg) / 2)))
    size = min(size, int(config.max_resolution_gain * config.resolution))
    sampler = DenseStratifiedSampler(DenseSamplerConfig(num_samples=config.num_samples), box=box)
    bg = torch.tensor(background, **like)
    seed = draw_seed(generator)
    with torch.no_grad():
        cams = orbit_cameras(az, config.elevation_deg, radius, wide, size, target=target, **like)
        views = ViewBatch(azimuth_deg=az.to(**like),
                          elevation_deg=torch.full((config.views,), config.elevation_deg, **like),
                          cameras=cams)
        origins, dirs = rays(cams)
        samples = sampler.sample(origins.reshape(-1, 3), dirs.reshape(-1, 3), generator=None)
        x = samples.positions[samples.valid]
        h = human(x)
        # the coarse grid at the start orientation (only placements the cameras see, if any)
        spacing = np.maximum(config.overlap_spacing * extent, config.min_spacing)
        axes = [np.linspace(lo[i], hi[i], max(1, int(np.ceil((hi[i] - lo[i]) / spacing[i])) + 1))
                for i in range(3)]
        grid = np.array(list(itertools.product(*axes)))

        def look(centre: np.ndarray, rot: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
            """The composite renders (V, 3, H, W) with the object centred at ``centre`` and
            the share of the object's own opacity each camera sees (V,)."""
            obj.set_placement(rot, centre - _centre_offset(local, rot))
            o = obj(x)
            rgb, seen, alone = _composite(h.density, h.albedo, o.density, o.albedo, samples, bg)
            image = rgb.reshape(config.views, size, size, 3)
            share = (seen.reshape(config.views, -1).sum(1)
                     / alone.reshape(config.views, -1).sum(1).clamp_min(1e-10))
            return image.permute(0, 3, 1, 2), share

        def shown(share: torch.Tensor) -> bool:
            return int((share < config.visible_share).sum()) <= config.unseen_views

        check_view = True  # False: every candidate is scored (none of the grid is seen)
        scored = 0

        def score(centre: np.ndarray, rot: np.ndarray, *, anywhere: bool = False,
                  blur: float = 0.0, seen=None) -> float:
            """The summed denoising error of the object centred at ``centre`` (inf, unscored,
            when too few cameras see it, unless ``anywhere``), its renders blurred by ``blur``
            pixels; ``seen`` is ``look(centre, rot)`` when already made."""
            nonlocal scored
            image, share = look(centre, rot) if seen is None else seen
            if check_view and not anywhere and not shown(share):
                return float("inf")
            scored += 1
            g = torch.Generator(device=generator.device).manual_seed(seed)
            if blur > 0:
                image = _blur(image, blur)
            return float(prior.denoising_error(image, prompt=prompt, views=views,
                                               timestep_fraction=config.timestep_fraction,
                                               generator=g).sum())

        start = start_t + _centre_offset(local, start_rot)
        start_score = score(start, start_rot, anywhere=True)  # the fallback
        coarse = config.coarse_blur * config.resolution  # pixels (a pixel spans the stage's)
        # 1. coarse centres at the start orientation (blurred renders); the support judges the
        # kept placement against the sharp grid: blurred, the grid's offsets from two equally
        # good places decide which scores better
        kept: list[np.ndarray] = []
        blurred: list[float] = []
        sharp: list[float] = []
        for _ in range(2):
            for c in grid:
                seen = look(c, start_rot)
                if check_view and not shown(seen[1]):
                    continue
                kept.append(c)
                blurred.append(score(c, start_rot, blur=coarse, seen=seen))
                sharp.append(score(c, start_rot, seen=seen) if coarse > 0 else blurred[-1])
            if kept:
                break
            check_view = False
        grid, grid_scores, grid_sharp = np.array(kept), np.array(blurred), np.array(sharp)
        order = np.argsort(grid_scores)
        step = np.array([a[1] - a[0] if len(a) > 1 else spacing[i] for i, a in enumerate(axes)])
        # 2. every orientation at the best few distinct coarse centres (blurred renders)
        rotations = _orientations(start_rot, config.yaw_steps, config.lying)
        tried = []  # (score, tilt, rotation, centre)
        for i in _distinct(grid, order, step, config.orientation_seeds):
            tried.append((float(grid_scores[i]), 0, start_rot, grid[i]))  # scored above
            for k, rot in enumerate(rotations[1:], start=1):
                c = np.clip(grid[i], *region(rot)[:2])
                tried.append((score(c, rot, blur=coarse), k // config.yaw_steps, rot, c))
        # 3. fine, from a few distinct (orientation, centre) pairs, scored sharp: the yaw ± half
        # the previous yaw step, then centres around the best at half the step
        starts = _hypotheses(tried, config.refine_hypotheses, step)
        if coarse > 0:
            starts = [(score(c, r, anywhere=True), r, c) for _, r, c in starts]
        # the start refined too: run again after SDS, the search starts where SDS has put the
        # object, most often in the right basin already
        starts.append((start_score, start_rot, start))
        best, best_rot, best_score = start, start_rot, start_score
        for h_score, h_rot, h_centre in starts:
            h_score, h_rot, h_centre = _refine(score, region, h_score, h_rot, h_centre, step,
                                               2 * np.pi / config.yaw_steps, config,
                                               blur=coarse)
            if h_score < best_score:
                best, best_rot, best_score = h_centre, h_rot, h_score
        translation = best - _centre_offset(local, best_rot)
        obj.set_placement(best_rot, translation)
    support = placement_support(scores=grid_sharp, centres=grid, best_score=best_score,
                                best_centre=best, size=float(extent.max()),
                                config=config.support)
    seconds = time.perf_counter() - started
    log.info("object search: %d candidates in %.1f s; translation %s → %s, denoising error "
             "%.4g → %.4g (contrast %.2f, margin %.2f)", scored, seconds,
             np.round(start_t, 3).tolist(), np.round(translation, 3).tolist(), start_score,
             best_score, support.contrast, support.margin)
    if support.note is not None:
        log.warning("%s", support.note)
    return ObjectSearchResult(translation=translation, score=best_score,
                              start_score=start_score, candidates=scored, seconds=seconds,
                              rotation=best_rot, support=support)


def _refine(score, region, best_score: float, best_rot: np.ndarray, best: np.ndarray,
            step: np.ndarray, yaw_step: float, config: ObjectSearchConfig, blur: float = 0.0):
    """``config.refine_rounds`` rounds around one hypothesis, their renders blurred by
    ``_refine_blurs(blur)``; (score, rotation, centre). A round moves (the turns, then the
    26 centres around) at most ``config.refine_moves`` times while a move improves."""
    blurs = _refine_blurs(blur, config.refine_rounds)
    for k in range(config.refine_rounds):
        b = blurs[k]
        if k == 0 or b != blurs[k - 1]:
            best_score = score(best, best_rot, anywhere=True, blur=b)
        yaw_step, step = yaw_step / 2, step / 2
        for _ in range(config.refine_moves):
            before = best_score
            if config.yaw_steps > 1:  # ± half the last step, and the quarter turns (boxes,
                turned = best_rot  # tables: near-square outlines the grid may have swapped)
                for angle in (-yaw_step, yaw_step, -np.pi / 2, np.pi / 2):
                    rot = _yaw(angle) @ turned
                    r_lo, r_hi, _ = region(rot)
                    c = np.clip(best, r_lo, r_hi)
                    s = score(c, rot, blur=b)
                    if s < best_score:
                        best, best_rot, best_score = c, rot, s
            centre = best
            r_lo, r_hi, _ = region(best_rot)
            for d in itertools.product((-1, 0, 1), repeat=3):
                if d == (0, 0, 0):
                    continue
                c = np.clip(centre + step * np.array(d), r_lo, r_hi)
                s = score(c, best_rot, blur=b)
                if s < best_score:
                    best, best_score = c, s
            if best_score >= before:
                break
    return best_score, best_rot, best


def _refine_blurs(blur: float, rounds: int) -> list[float]:
    """The blur (pixels) of each refining round: ``blur`` halved every round, the last sharp."""
    return [blur * 0.5 ** k if k < rounds - 1 else 0.0 for k in range(rounds)]


def _hypotheses(tried: list, count: int, step: np.ndarray) -> list:
    """The ``count`` (score, rotation, centre) starts of the fine stage among ``tried``
    (score, tilt, rotation, centre): the best of each tilt (upright, tipped about x, about z)
    first, then the best of the rest that differ from every start taken, in orientation (and
    in score: a symmetric object turned by its symmetry renders the same) or by more than a
    grid ``step`` in position. A thin object (a table's legs and top) scores well
    only within a few centimetres and degrees of its place, so the one coarse winner is often
    at a wrong turn or a grid step off; a few distinct starts give the right one more chances
    (with the tilts off, the best of each tilt alone was a single start)."""
    tried = sorted(tried, key=lambda e: e[0])
    starts, tilts = [], set()
    for s, tilt, rot, c in tried:
        if tilt not in tilts:
            tilts.add(tilt)
            starts.append((s, rot, c))
    starts = starts[:count]

    def distinct(score, rot, c) -> bool:
        return all(np.any(np.abs(c - k) > step * 1.01)
                   or not (np.allclose(rot, r, atol=1e-6) or _same_look(score, s))
                   for s, r, k in starts)

    for s, _, rot, c in tried:
        if len(starts) >= count:
            break
        if distinct(s, rot, c):
            starts.append((s, rot, c))
    return starts


def _same_look(a: float, b: float, rtol: float = 1e-5) -> bool:
    """Whether two scores at one centre are the same render's: a symmetric object (a box, a
    table) turned by its symmetry looks the same, and refining both is refining one twice
    (the family's tables took two of the three starts at 90° and −90°)."""
    return abs(a - b) <= rtol * max(abs(a), abs(b))


def _blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """(B, C, H, W) blurred by a Gaussian of ``sigma`` pixels (edges replicated)."""
    r = max(1, int(np.ceil(3 * sigma)))
    x = torch.arange(-r, r + 1, dtype=image.dtype, device=image.device)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    k = k / k.sum()
    c = image.shape[1]
    out = torch.nn.functional.pad(image, (r, r, r, r), mode="replicate")
    out = torch.nn.functional.conv2d(out, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return torch.nn.functional.conv2d(out, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _local_vertices(obj) -> np.ndarray:
    """(N, 3) the object's vertices scaled, not yet rotated or moved."""
    v = torch.as_tensor(obj.field_mesh.vertices, device=obj.translation.device,
                        dtype=obj.translation.dtype)
    return (obj.scale() * v).detach().cpu().double().numpy()


def _centre_offset(local: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """(3,) the centre of the rotated object's bounding box relative to its origin."""
    p = local @ rot.T
    return (p.min(0) + p.max(0)) / 2


def _yaw(angle: float) -> np.ndarray:
    """(3, 3) a turn by ``angle`` radians about the up (y) axis."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _orientations(start: np.ndarray, yaw_steps: int, lying: bool) -> list[np.ndarray]:
    """The start rotation first, then its turns about the up axis, upright and (``lying``)
    tipped 90° about x and about z."""
    tips = [np.eye(3)]
    if lying:
        tips += [np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]),
                 np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])]
    return [_yaw(2 * np.pi * k / yaw_steps) @ tip @ start for tip in tips
            for k in range(yaw_steps)]


def _distinct(grid: np.ndarray, order: np.ndarray, step: np.ndarray, count: int) -> list[int]:
    """Indices of the first ``count`` grid centres in ``order`` that are at least one grid
    step apart along some axis from every one kept before."""
    kept: list[int] = []
    for i in order:
        if all(np.any(np.abs(grid[i] - grid[k]) > step * 1.01) for k in kept):
            kept.append(int(i))
            if len(kept) == count:
                break
    return kept


def _region(placed: np.ndarray, box: SceneBox, centre_xz, ground_y: float, reach: float):
    """(lo (3,), hi (3,), extent (3,)): the bounding-box centres searched for the object's
    vertices ``placed`` (rotated, about its origin) — the object inside the scene box, its
    lowest point not under ``ground_y``, its centre within ``reach`` of ``centre_xz``."""
    vmin, vmax = placed.min(0), placed.max(0)
    half = (vmax - vmin) / 2
    b_lo = np.asarray(box.center) - np.asarray(box.half_size)
    b_hi = np.asarray(box.center) + np.asarray(box.half_size)
    lo = np.maximum(b_lo + half, [centre_xz[0] - reach, ground_y + half[1], centre_xz[1] - reach])
    hi = np.minimum(b_hi - half, [centre_xz[0] + reach, np.inf, centre_xz[1] + reach])
    hi = np.maximum(hi, lo)
    return lo, hi, vmax - vmin


def _fov_to_fit(points: np.ndarray, azimuth_deg: torch.Tensor, elevation_deg: float,
                radius: float, fov_deg: float, target, margin: float) -> float:
    """The vertical field of view (degrees, at least ``fov_deg``) with which every orbit camera
    sees all of ``points`` (K, 3) inside its square image, ``margin`` of the side spare."""
    cams = orbit_cameras(azimuth_deg, elevation_deg, radius, fov_deg, 8, target=target,
                         dtype=torch.float64)
    p = torch.as_tensor(points, dtype=torch.float64)[None].expand(len(cams), -1, -1)
    c = world_to_camera(cams, p)
    depth = c[..., 2].clamp_min(1e-3)
    tan = float(torch.maximum(c[..., 0].abs(), c[..., 1].abs()).div(depth).max())
    need = np.degrees(2 * np.arctan(tan / (1 - 2 * margin)))
    return float(min(max(fov_deg, need), 150.0))


def _composite(h_density, h_albedo, o_density, o_albedo, samples, background):
    """(R, 3) colour of the human and the object as one medium over ``background`` (as
    ``nerf.renderer.render_rays`` composites fields); (R,) the object's part of each ray's
    opacity; (R,) each ray's opacity of the object alone (nothing in front of it)."""
    density = h_density + o_density
    albedo = (h_density[:, None] * h_albedo + o_density[:, None] * o_albedo) \
        / density.clamp_min(1e-10)[:, None]
    sigmas = torch.zeros(samples.valid.shape, device=density.device, dtype=density.dtype)
    sigmas = sigmas.masked_scatter(samples.valid, density)
    rgbs = torch.zeros(*samples.valid.shape, 3, device=density.device, dtype=albedo.dtype)
    rgbs = rgbs.masked_scatter(samples.valid[..., None], albedo)
    weights, _, _ = nerfacc.render_weight_from_density(samples.t_starts, samples.t_ends, sigmas)
    opacity = nerfacc.accumulate_along_rays(weights, None)
    rgb = nerfacc.accumulate_along_rays(weights, rgbs) + (1 - opacity) * background
    # the object's part of each ray's opacity, and its opacity alone (nothing in front of it)
    own = torch.zeros(samples.valid.shape, device=density.device, dtype=density.dtype)
    own = own.masked_scatter(samples.valid, o_density)
    part = (density.new_zeros(samples.valid.shape).masked_scatter(samples.valid, o_density
                                                                    / density.clamp_min(1e-10)))
    seen = nerfacc.accumulate_along_rays(weights * part, None)
    alone, _, _ = nerfacc.render_weight_from_density(samples.t_starts, samples.t_ends, own)
    total = nerfacc.accumulate_along_rays(alone, None)
    return rgb, seen.squeeze(-1), total.squeeze(-1)
