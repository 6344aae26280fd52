"""Where along each ray the fields are evaluated.

Two samplers behind one interface, both returning a dense ``(R, S)`` layout:

- ``DenseStratifiedSampler``: S stratified samples between the ray's entry into and exit from
  the scene box (pure torch, any device). The CPU path, and the fallback.
- ``OccupancyGridSampler``: nerfacc's ``OccGridEstimator`` marching with empty-space skipping
  and early ray termination (CUDA only). Its packed output (a flat list of intervals with ray
  indices) is scattered into the dense layout, padded with zero-length intervals marked
  invalid; padding has zero opacity and is never passed to a field, so the renderer has a single
  compositing path (nerfacc's batched functions, which also run on CPU) for both samplers.

``make_sampler`` picks one for a device. nerfacc compiles its CUDA ops on first use: that build
happens in ``anchorhoi doctor`` (``nerf/nerfacc_build.py``), never inside a job. A job without a
finished build (none yet, a failed one, one in progress) renders with the dense sampler after
one warning; a stale build lock is cleared first. nerfacc's CUDA ops are never called with CPU
tensors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import nerfacc
import torch
from torch import nn

from ..config_checks import check_choices
from .cameras import SceneBox
from .nerfacc_build import load_built

log = logging.getLogger(__name__)

DensityFn = Callable[[torch.Tensor], torch.Tensor]
"""Points ``(N, 3)`` → density ``(N,)``."""


@dataclass(frozen=True)
class RaySamples:
    t_starts: torch.Tensor  # (R, S) interval starts along the ray (metres)
    t_ends: torch.Tensor  # (R, S) interval ends; padding has t_end == t_start
    positions: torch.Tensor  # (R, S, 3) interval mid-points, where the fields are evaluated
    valid: torch.Tensor  # (R, S) bool: a real sample (not padding, the ray meets the box)
    hit: torch.Tensor  # (R,) bool: the ray meets the scene box


class Sampler(Protocol):
    def sample(self, origins: torch.Tensor, directions: torch.Tensor, *,
               generator: torch.Generator | None = None,
               density_fn: DensityFn | None = None) -> RaySamples:
        """``origins (R, 3)``, unit ``directions (R, 3)`` → samples. ``generator`` jitters the
        samples (None: deterministic); ``density_fn`` lets a sampler skip empty space."""
        ...

    def update(self, step: int, density_fn: DensityFn) -> None:
        """Called once per training step (the occupancy grid refreshes itself every n)."""
        ...


def ray_aabb(origins: torch.Tensor, directions: torch.Tensor, aabb: torch.Tensor,
             near_plane: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Slab test → ``near (R,)``, ``far (R,)``, ``hit (R,)`` for ``origins, directions (R, 3)``
    and ``aabb (6,)``. ``near`` is at least ``near_plane``; rays that miss get ``near = far = 0``.
    """
    tiny = torch.finfo(directions.dtype).tiny ** 0.5
    d = torch.where(directions.abs() < tiny, torch.full_like(directions, tiny), directions)
    t0 = (aabb[:3] - origins) / d
    t1 = (aabb[3:] - origins) / d
    near = torch.minimum(t0, t1).amax(dim=-1).clamp(min=near_plane)
    far = torch.maximum(t0, t1).amin(dim=-1)
    hit = far > near
    zero = torch.zeros_like(near)
    return torch.where(hit, near, zero), torch.where(hit, far, zero), hit


def _positions(origins: torch.Tensor, directions: torch.Tensor, t_starts: torch.Tensor,
               t_ends: torch.Tensor) -> torch.Tensor:
    """Mid-points ``(R, S, 3)`` of the intervals."""
    return origins[:, None, :] + directions[:, None, :] * ((t_starts + t_ends) / 2)[..., None]


@dataclass(frozen=True, kw_only=True)
class DenseSamplerConfig:
    """Stratified sampling inside the scene box."""

    num_samples: int = 64
    """Samples S per ray, spread evenly between the ray's entry into and exit from the box."""
    near_plane: float = 0.0
    """No sample closer to the ray origin than this (metres)."""


class DenseStratifiedSampler:
    """S intervals per ray between box entry and exit.

    Without a generator the intervals are the S equal bins and the samples their centres. With
    one, the S + 1 bin edges are jittered (each within half a bin of its place, the outer two
    inwards only; nerfstudio's scheme) and the samples are the centres of the jittered bins.
    """

    def __init__(self, config: DenseSamplerConfig = DenseSamplerConfig(), *,
                 box: SceneBox = SceneBox()):
        if config.num_samples < 1:
            raise ValueError(f"num_samples must be positive, got {config.num_samples}")
        self.config = config
        self.box = box

    def sample(self, origins: torch.Tensor, directions: torch.Tensor, *,
               generator: torch.Generator | None = None,
               density_fn: DensityFn | None = None) -> RaySamples:
        """See ``Sampler.sample``; ``density_fn`` is not used."""
        aabb = self.box.aabb(device=origins.device, dtype=origins.dtype)
        near, far, hit = ray_aabb(origins, directions, aabb, self.config.near_plane)
        s = self.config.num_samples
        u = torch.linspace(0.0, 1.0, s + 1, device=origins.device, dtype=origins.dtype)
        u = u.expand(origins.shape[0], s + 1)
        if generator is not None:
            centres = (u[:, 1:] + u[:, :-1]) / 2
            lower = torch.cat([u[:, :1], centres], dim=-1)
            upper = torch.cat([centres, u[:, -1:]], dim=-1)
            jitter = torch.rand(u.shape, generator=generator, device=origins.device,
                                dtype=origins.dtype)
            u = lower + (upper - lower) * jitter
        edges = near[:, None] + (far - near)[:, None] * u  # (R, S + 1)
        t_starts, t_ends = edges[:, :-1], edges[:, 1:]
        return RaySamples(t_starts=t_starts, t_ends=t_ends,
                          positions=_positions(origins, directions, t_starts, t_ends),
                          valid=hit[:, None].expand(-1, s), hit=hit)

    def update(self, step: int, density_fn: DensityFn) -> None:
        """Nothing to refresh."""


@dataclass(frozen=True, kw_only=True)
class OccupancyGridConfig:
    """nerfacc's occupancy grid: marching step, skipping thresholds and the grid's refresh."""

    resolution: int = 128
    """Cells per side of the grid over the scene box."""
    levels: int = 1
    """Nested grids, each twice the previous one's extent (1: the box only)."""
    render_step_size: float = 5e-3
    """Marching step in metres (~480 steps across the default box)."""
    early_stop_eps: float = 1e-4
    """Stop a ray once its transmittance falls below this."""
    alpha_thre: float = 0.0
    """Skip samples whose opacity is below this (0: keep all samples in occupied cells)."""
    cone_angle: float = 0.0
    """Step growth with distance (0: constant steps, right for a bounded scene)."""
    near_plane: float = 0.0
    """No sample closer to the ray origin than this (metres)."""
    occ_thre: float = 1e-2
    """A cell is occupied when density × step exceeds this."""
    ema_decay: float = 0.95
    """Decay of a cell's remembered occupancy at each refresh."""
    warmup_steps: int = 256
    """Refresh every cell until this step, then a quarter of them plus the occupied ones."""
    update_every: int = 16
    """Refresh the grid every this many training steps."""
    refresh_chunk: int = 262_144
    """Points per density call in a refresh (the warm-up evaluates every cell, 128³ ≈ 2.1 M
    points: in one call that is ≈ 8 GB of field temporaries)."""


class OccupancyGridSampler(nn.Module):
    """``nerfacc.OccGridEstimator`` behind the ``Sampler`` interface (CUDA tensors only).

    Randomness: the marching start is jittered by up to one step from ``generator``; the grid
    refresh draws its cell samples from torch's global RNG (nerfacc takes no generator), so each
    refresh runs with that RNG forked and seeded from (``seed``, step): the same seed refreshes
    the same cells, and the caller's global RNG state is left as it was.
    """

    def __init__(self, config: OccupancyGridConfig = OccupancyGridConfig(), *,
                 box: SceneBox = SceneBox(), device: torch.device | str = "cuda",
                 seed: int = 0):
        super().__init__()
        self.config = config
        self.box = box
        self.seed = seed
        self.estimator = nerfacc.OccGridEstimator(
            roi_aabb=box.aabb(), resolution=config.resolution, levels=config.levels).to(device)

    def sample(self, origins: torch.Tensor, directions: torch.Tensor, *,
               generator: torch.Generator | None = None,
               density_fn: DensityFn | None = None) -> RaySamples:
        """See ``Sampler.sample``; with ``density_fn``, invisible samples are dropped."""
        if origins.device.type != "cuda":
            raise ValueError("the occupancy-grid sampler needs CUDA tensors "
                             f"(got {origins.device}); use the dense sampler on this device")
        cfg = self.config
        aabb = self.box.aabb(device=origins.device, dtype=origins.dtype)
        near, far, hit = ray_aabb(origins, directions, aabb, cfg.near_plane)
        if generator is not None:
            jitter = torch.rand(near.shape, generator=generator, device=near.device,
                                dtype=near.dtype)
            near = torch.where(hit, near + jitter * cfg.render_step_size, near)

        sigma_fn = None
        if density_fn is not None:
            def sigma_fn(t_starts, t_ends, ray_indices):  # nerfacc's packed (N,) signature
                mid = ((t_starts + t_ends) / 2)[:, None]
                return density_fn(origins[ray_indices] + directions[ray_indices] * mid)

        ray_indices, t_starts, t_ends = self.estimator.sampling(
            origins, directions, sigma_fn=sigma_fn, near_plane=cfg.near_plane, t_min=near,
            t_max=far, render_step_size=cfg.render_step_size, early_stop_eps=cfg.early_stop_eps,
            alpha_thre=cfg.alpha_thre, stratified=False, cone_angle=cfg.cone_angle)
        t_starts, t_ends, valid = packed_to_dense(ray_indices, t_starts, t_ends,
                                                  origins.shape[0])
        return RaySamples(t_starts=t_starts, t_ends=t_ends,
                          positions=_positions(origins, directions, t_starts, t_ends),
                          valid=valid, hit=hit)

    def update(self, step: int, density_fn: DensityFn) -> None:
        """Refresh the grid from ``density_fn`` every ``update_every`` steps (training mode),
        ``refresh_chunk`` points per density call, its cell samples seeded by (seed, step)."""
        cfg = self.config
        if step % cfg.update_every or not self.training:
            return

        def occupancy(x: torch.Tensor) -> torch.Tensor:
            density = torch.cat([density_fn(part) for part in x.split(cfg.refresh_chunk)])
            return density[:, None] * cfg.render_step_size

        device = self.estimator.occs.device
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            seed = (self.seed * 1_000_003 + step) % 2 ** 63
            torch.random.default_generator.manual_seed(seed)
            if device.type == "cuda":
                torch.cuda.default_generators[device.index or 0].manual_seed(seed)
            self.estimator.update_every_n_steps(
                step=step, occ_eval_fn=occupancy, occ_thre=cfg.occ_thre,
                ema_decay=cfg.ema_decay, warmup_steps=cfg.warmup_steps, n=cfg.update_every)


def packed_to_dense(ray_indices: torch.Tensor, t_starts: torch.Tensor, t_ends: torch.Tensor,
                    n_rays: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Packed intervals ``(N,)`` with their ray index → ``t_starts, t_ends, valid (R, S)``.

    S is the largest per-ray count (at least 1); a ray's samples are put in front-to-back
    order (nerfacc already emits them so; any order is accepted) and followed by zero-length
    padding (``valid`` False). Pure torch: runs on any device.
    """
    by_t = torch.argsort(t_starts)
    order = by_t[torch.sort(ray_indices[by_t].long(), stable=True).indices]
    ray_indices, t_starts, t_ends = ray_indices[order].long(), t_starts[order], t_ends[order]
    counts = torch.bincount(ray_indices, minlength=n_rays)
    s = max(1, int(counts.max())) if ray_indices.numel() else 1
    first = torch.cumsum(counts, 0) - counts  # (R,) index of each ray's first sample
    column = torch.arange(ray_indices.shape[0], device=ray_indices.device) - first[ray_indices]
    starts = t_starts.new_zeros(n_rays, s)
    ends = t_ends.new_zeros(n_rays, s)
    valid = torch.zeros(n_rays, s, dtype=torch.bool, device=t_starts.device)
    starts[ray_indices, column] = t_starts
    ends[ray_indices, column] = t_ends
    valid[ray_indices, column] = True
    return starts, ends, valid


@dataclass(frozen=True, kw_only=True)
class SamplerConfig:
    """Which sampler renders, and the settings of each."""

    kind: Literal["auto", "dense", "occupancy_grid"] = "auto"
    """``auto``: the occupancy grid on CUDA when nerfacc's CUDA ops load, else dense (with one
    warning on CUDA); ``occupancy_grid``: required (an error if unavailable); ``dense``: always."""
    box: SceneBox = field(default_factory=SceneBox)
    """The scene box the samplers march through."""
    dense: DenseSamplerConfig = field(default_factory=DenseSamplerConfig)
    """Settings of the dense stratified sampler."""
    occupancy_grid: OccupancyGridConfig = field(default_factory=OccupancyGridConfig)
    """Settings of the occupancy-grid sampler."""

    def __post_init__(self) -> None:
        check_choices(self)


def load_nerfacc_cuda() -> None:
    """Load nerfacc's finished CUDA build (never build it here: ``anchorhoi doctor`` does);
    raise ``NerfaccUnavailable`` saying why not."""
    load_built()


def make_sampler(config: SamplerConfig, device: torch.device | str, *, seed: int = 0
                 ) -> Sampler:
    """The sampler for ``device`` (see ``SamplerConfig.kind``); ``seed`` seeds the occupancy
    grid's refreshes."""
    device = torch.device(device)
    dense = DenseStratifiedSampler(config.dense, box=config.box)
    if config.kind == "dense" or (config.kind == "auto" and device.type != "cuda"):
        return dense
    if device.type != "cuda":
        raise ValueError(f"the occupancy-grid sampler needs a CUDA device, not {device}: "
                         "set the sampler kind to 'auto' or 'dense'")
    try:
        load_nerfacc_cuda()
    except Exception as exc:  # a failed JIT build raises anything from ImportError to OSError
        if config.kind == "occupancy_grid":
            raise RuntimeError(f"nerfacc's CUDA ops are unavailable ({exc}); install a CUDA "
                               "toolkit matching torch, or set the sampler kind to 'auto'"
                               ) from exc
        log.warning("nerfacc's CUDA ops are unavailable (%s); rendering with the dense "
                    "stratified sampler instead (slower, same image)", exc)
        return dense
    return OccupancyGridSampler(config.occupancy_grid, box=config.box, device=device, seed=seed)
