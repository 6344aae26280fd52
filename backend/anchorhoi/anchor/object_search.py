"""Stage A's search for the object's translation, ranked by the image prior.

SDS moves the object only through the edges of its image, so its gradient sees the right
placement only once the render and the prior's picture overlap: an object that starts half a
metre away (in front of the initial body, say) never finds a seat behind it. Before the SDS
steps, the translation is therefore searched coarse to fine — the rotation and scale stay — and
every candidate is scored by the prior's denoising error (``ImagePrior.denoising_error``) of
the composite (the human field as it is, plus the object at the candidate) from a few fixed
cameras, all under the same noise. SDS then refines the best candidate.

Candidates: a grid over a region around the initial body — ``reach`` metres either side of it
in x and z, from the initial ground level (objects do not sink into the floor) up to the top of
the scene box — spaced at ``overlap_spacing`` times the object's own extent along each axis (so
some candidate overlaps the right place by more than half the object), then ``refine_rounds``
rounds of a 3 × 3 × 3 grid around the best at half the previous spacing. The human field is
evaluated once per camera sample; each candidate only re-evaluates the object and composites.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass

import nerfacc
import numpy as np
import torch

from ..nerf.cameras import SceneBox, orbit_cameras, rays
from ..nerf.samplers import DenseSamplerConfig, DenseStratifiedSampler
from ..priors.base import ImagePrior, ViewBatch
from ..randomness import draw_seed

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ObjectSearchConfig:
    """The coarse-to-fine translation search (see the module docstring)."""

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
    reach: float = 1.0
    """Half-width (metres) of the searched region in x and z around the initial body."""
    overlap_spacing: float = 0.75
    """First-round spacing along each axis as a fraction of the object's extent there."""
    min_spacing: float = 0.05
    """Smallest first-round spacing (metres), for thin objects."""
    refine_rounds: int = 4
    """Rounds of a 3 × 3 × 3 grid around the best candidate at half the previous spacing."""
    timestep_fraction: float = 0.5
    """Diffusion time of the denoising error (a fraction of the training timesteps)."""

    def __post_init__(self) -> None:
        if self.views < 1 or self.resolution < 4 or self.num_samples < 2:
            raise ValueError("ObjectSearchConfig: views ≥ 1, resolution ≥ 4 and num_samples ≥ 2")
        if not (self.reach >= 0 and 0 < self.overlap_spacing <= 1 and self.min_spacing > 0
                and self.refine_rounds >= 0):
            raise ValueError("ObjectSearchConfig: reach ≥ 0, overlap_spacing in (0, 1], "
                             "min_spacing > 0 and refine_rounds ≥ 0")


@dataclass(frozen=True)
class ObjectSearchResult:
    translation: np.ndarray  # (3,) the kept translation (world, metres)
    score: float  # its summed denoising error
    start_score: float  # the summed denoising error at the start translation
    candidates: int  # how many were scored
    seconds: float


def search_object_translation(*, human, obj, prior: ImagePrior, prompt: str, box: SceneBox,
                              centre_xz: tuple[float, float], ground_y: float,
                              target: tuple[float, float, float], radius: float,
                              fov_deg: float, background: tuple[float, float, float],
                              config: ObjectSearchConfig, generator: torch.Generator
                              ) -> ObjectSearchResult:
    """Search ``obj``'s translation (set in place to the best; see the module docstring).

    ``human`` is the human field (``forward(x) → density, albedo``), ``obj`` an
    ``ObjectField``; ``centre_xz`` and ``ground_y`` locate the initial body and its soles; the
    cameras look at ``target`` from ``radius`` with ``fov_deg``. ``generator`` draws the seed
    of the common noise.
    """
    started = time.perf_counter()
    p = obj.translation
    like = dict(device=p.device, dtype=p.dtype)
    az = config.azimuth_offset_deg + 360.0 * torch.arange(config.views) / config.views
    cams = orbit_cameras(az, config.elevation_deg, radius, fov_deg, config.resolution,
                         target=target, **like)
    views = ViewBatch(azimuth_deg=az.to(**like),
                      elevation_deg=torch.full((config.views,), config.elevation_deg, **like),
                      cameras=cams)
    sampler = DenseStratifiedSampler(DenseSamplerConfig(num_samples=config.num_samples), box=box)
    origins, dirs = rays(cams)
    samples = sampler.sample(origins.reshape(-1, 3), dirs.reshape(-1, 3), generator=None)
    x = samples.positions[samples.valid]
    bg = torch.tensor(background, **like)
    seed = draw_seed(generator)
    with torch.no_grad():
        h = human(x)

        def score(t: np.ndarray) -> float:
            obj.translation.copy_(torch.as_tensor(t, **like))
            o = obj(x)
            rgb = _composite(h.density, h.albedo, o.density, o.albedo, samples, bg)
            image = rgb.reshape(config.views, config.resolution, config.resolution, 3)
            g = torch.Generator(device=generator.device).manual_seed(seed)
            return float(prior.denoising_error(image.permute(0, 3, 1, 2), prompt=prompt,
                                               views=views,
                                               timestep_fraction=config.timestep_fraction,
                                               generator=g).sum())

        start = obj.translation.detach().cpu().double().numpy().copy()
        start_score = score(start)
        lo, hi, extent = _region(obj, box, centre_xz, ground_y, config.reach)
        spacing = np.maximum(config.overlap_spacing * extent, config.min_spacing)
        axes = [np.linspace(lo[i], hi[i], max(1, int(np.ceil((hi[i] - lo[i]) / spacing[i])) + 1))
                for i in range(3)]
        best, best_score, n = start, start_score, 1
        for t in itertools.product(*axes):
            s = score(np.array(t))
            n += 1
            if s < best_score:
                best, best_score = np.array(t), s
        step = np.array([a[1] - a[0] if len(a) > 1 else spacing[i] for i, a in enumerate(axes)])
        for _ in range(config.refine_rounds):
            step = step / 2
            centre = best
            for d in itertools.product((-1, 0, 1), repeat=3):
                if d == (0, 0, 0):
                    continue
                t = np.clip(centre + step * np.array(d), lo, hi)
                s = score(t)
                n += 1
                if s < best_score:
                    best, best_score = t, s
        obj.translation.copy_(torch.as_tensor(best, **like))
    seconds = time.perf_counter() - started
    log.info("object search: %d candidates in %.1f s; translation %s → %s, denoising error "
             "%.4g → %.4g", n, seconds, np.round(start, 3).tolist(), np.round(best, 3).tolist(),
             start_score, best_score)
    return ObjectSearchResult(translation=best, score=best_score, start_score=start_score,
                              candidates=n, seconds=seconds)


def _region(obj, box: SceneBox, centre_xz, ground_y: float, reach: float):
    """(lo (3,), hi (3,), extent (3,)) of the translations searched: the placed object inside
    the scene box, its lowest point not under ``ground_y``."""
    with torch.no_grad():
        v = torch.as_tensor(obj.field_mesh.vertices, device=obj.translation.device,
                            dtype=obj.translation.dtype)
        local = (obj.scale() * v @ obj.rotation().T).cpu().double().numpy()
    vmin, vmax = local.min(0), local.max(0)
    b_lo = np.asarray(box.center) - np.asarray(box.half_size)
    b_hi = np.asarray(box.center) + np.asarray(box.half_size)
    lo = np.maximum(b_lo - vmin, [centre_xz[0] - reach, ground_y - vmin[1], centre_xz[1] - reach])
    hi = np.minimum(b_hi - vmax, [centre_xz[0] + reach, np.inf, centre_xz[1] + reach])
    hi = np.maximum(hi, lo)
    return lo, hi, vmax - vmin


def _composite(h_density, h_albedo, o_density, o_albedo, samples, background):
    """(R, 3) colour of the human and the object as one medium over ``background`` (as
    ``nerf.renderer.render_rays`` composites fields)."""
    density = h_density + o_density
    albedo = (h_density[:, None] * h_albedo + o_density[:, None] * o_albedo) \
        / density.clamp_min(1e-10)[:, None]
    sigmas = torch.zeros(samples.valid.shape, device=density.device, dtype=density.dtype)
    sigmas = sigmas.masked_scatter(samples.valid, density)
    rgbs = torch.zeros(*samples.valid.shape, 3, device=density.device, dtype=albedo.dtype)
    rgbs = rgbs.masked_scatter(samples.valid[..., None], albedo)
    weights, _, _ = nerfacc.render_weight_from_density(samples.t_starts, samples.t_ends, sigmas)
    opacity = nerfacc.accumulate_along_rays(weights, None)
    return nerfacc.accumulate_along_rays(weights, rgbs) + (1 - opacity) * background
