"""Stage A: the anchor NeRF — distil the interaction's composition from an image prior.

A free human field (hash grid + MLP), initialised from the body mesh at the initial pose, is
composed with the object's frozen field (learnable placement) and trained with score
distillation: on the composite render with the interaction prompt and on the human-only render
with a human prompt, from random orbit cameras (the prior adds view-dependent prompt
suffixes), with the timestep range annealed by ``progress``. Regularisers, each
``lambda_<name> · loss_<name>``:

- ``inside_object``: human density inside the object (the person must not occupy it);
- ``sparsity``: mean opacity of the human-only render (no floaters filling the view);
- ``body_drift``: distance of the human occupancy from the body-explainable shape (the body
  of the current round), which keeps the anchor fittable by SMPL-X in stage B.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ..nerf.cameras import Cameras, SceneBox, orbit_cameras
from ..nerf.field import NeRFField, NeRFFieldConfig
from ..nerf.renderer import Shading, composite_density, render_image
from ..nerf.samplers import DenseSamplerConfig, Sampler
from ..priors.base import ImagePrior, ViewBatch
from ..progress import LossReadout, StepCallback
from .object_search import ObjectSearchConfig

log = logging.getLogger(__name__)

Occupancy = Callable[[torch.Tensor], torch.Tensor]
"""``x (N, 3) → (N,)`` occupancy in [0, 1] of the body-explainable shape."""


@dataclass(frozen=True, kw_only=True)
class ViewSampling:
    """Random orbit cameras for SDS (DreamFusion-style)."""

    elevation_deg: tuple[float, float] = (-10.0, 45.0)
    """Range of camera elevations, uniform."""
    radius: tuple[float, float] = (3.0, 3.6)
    """Range of camera distances from the target (metres)."""
    fov_deg: float = 45.0
    """Vertical field of view."""
    target: tuple[float, float, float] = (0.0, -0.4, 0.1)
    """Where the cameras look (the middle of the interaction)."""


@dataclass(frozen=True, kw_only=True)
class AnchorNeRFConfig:
    """Stage A settings (the job's presets, ``job/presets.py``, fill them per quality level)."""

    iterations: int = 1000
    """SDS steps."""
    init_iterations: int = 300
    """Steps fitting the human field to the body's occupancy before SDS."""
    resolution: int = 64
    """Side of the square renders fed to the prior (the prior resizes to its own input)."""
    views_per_step: int = 1
    """Cameras per SDS step."""
    human_field: NeRFFieldConfig = field(default_factory=NeRFFieldConfig)
    """The human field."""
    sampler: DenseSamplerConfig = field(default_factory=DenseSamplerConfig)
    """Ray sampling (the dense sampler's settings; CUDA may swap in the occupancy grid)."""
    box: SceneBox = field(default_factory=SceneBox)
    """The scene box (also the hash grid's bounds)."""
    views: ViewSampling = field(default_factory=ViewSampling)
    """Camera distribution."""
    human_prompt: str = "a photo of a person, full body"
    """Prompt of the human-only render; ``{prompt}`` is replaced by the interaction prompt."""
    lr_field: float = 1e-2
    """Adam learning rate of the human field."""
    lr_placement: float = 3e-3
    """Adam learning rate of the object's placement (0 freezes it)."""
    lambda_sds: float = 1.0
    """Weight of the composite SDS."""
    lambda_sds_human: float = 0.5
    """Weight of the human-only SDS."""
    lambda_inside_object: float = 10.0
    """Weight of the human density inside the object."""
    lambda_sparsity: float = 0.01
    """Weight of the mean opacity of the human-only render."""
    lambda_body_drift: float = 1.0
    """Weight of the occupancy distance from the body-explainable shape."""
    drift_points: int = 4096
    """Points per step for the drift and inside-object terms."""
    occupancy_step: float = 0.02
    """δ in ``occupancy = 1 − exp(−σ·δ)`` (metres): a voxel-sized step."""
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    """Render background (white, as the prior's prompts assume a clean backdrop)."""
    random_background: bool = False
    """Draw a uniform random background colour every step instead (both renders of the step
    share it; the views carry it to the prior). Density the colour of a fixed background is
    invisible, so a field can leave such floaters — e.g. remnants of the initial body — that
    the fit then takes for body; a changing background exposes them."""
    shading: Shading = "albedo"
    """``albedo`` or ``lambertian`` (random light) for the SDS renders."""
    object_search: ObjectSearchConfig | None = None
    """Search the object's translation with the prior before the first round's SDS
    (``object_search``), when the stage placed the object itself; None: SDS alone moves it."""
    sync_every: int = 10
    """Read the step's losses to the host every this many SDS steps and at the last one
    (``progress.LossReadout``); between reads the GPU is never waited for, and the progress
    callback gets the figures read last."""


@dataclass(frozen=True)
class AnchorNeRFResult:
    human: NeRFField
    losses: dict[str, float]  # the last step's figures


def occupancy_of(density: torch.Tensor, step: float) -> torch.Tensor:
    return 1.0 - torch.exp(-density * step)


def box_points(box: SceneBox, n: int, generator: torch.Generator, *, device, dtype) -> torch.Tensor:
    """(n, 3) uniform points in the scene box."""
    u = torch.rand(n, 3, generator=generator, device=device, dtype=dtype)
    lo_hi = box.aabb(device=device, dtype=dtype)
    return lo_hi[:3] + u * (lo_hi[3:] - lo_hi[:3])


def near_surface_points(occupancy: Occupancy, box: SceneBox, n: int,
                        generator: torch.Generator, *, device, dtype) -> torch.Tensor:
    """(n, 3): half uniform in the box, half from a larger uniform pool where the occupancy is
    between 0.05 and 0.95 or inside (so thin parts get samples)."""
    pool = box_points(box, 8 * n, generator, device=device, dtype=dtype)
    with torch.no_grad():
        occ = occupancy(pool)
    near = pool[(occ > 0.05)]
    if len(near) == 0:
        return box_points(box, n, generator, device=device, dtype=dtype)
    idx = torch.randint(0, len(near), (n - n // 2,), generator=generator, device=device)
    return torch.cat([pool[: n // 2], near[idx]])


def fit_field_to_occupancy(human: NeRFField, occupancy: Occupancy, config: AnchorNeRFConfig,
                           generator: torch.Generator, *, albedo=(0.75, 0.6, 0.5)) -> float:
    """Initialise the human field from a body: its occupancy and a uniform skin albedo."""
    p = next(human.parameters())
    opt = torch.optim.Adam(human.parameters(), lr=config.lr_field)
    skin = torch.tensor(albedo, device=p.device, dtype=p.dtype)
    loss = torch.zeros(())
    for _ in range(config.init_iterations):
        x = near_surface_points(occupancy, config.box, config.drift_points, generator,
                                device=p.device, dtype=p.dtype)
        with torch.no_grad():
            target = occupancy(x)
        out = human(x)
        occ = occupancy_of(out.density, config.occupancy_step)
        loss = torch.nn.functional.binary_cross_entropy(occ.clamp(1e-5, 1 - 1e-5), target)
        loss = loss + (target[:, None] * (out.albedo - skin) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(loss.detach())


def sample_views(config: AnchorNeRFConfig, generator: torch.Generator, *, device, dtype
                 ) -> ViewBatch:
    v, b = config.views, config.views_per_step
    g = lambda lo, hi: lo + (hi - lo) * torch.rand(b, generator=generator, device=device,  # noqa: E731
                                                   dtype=torch.float64)
    az, el, rad = torch.stack([g(-180.0, 180.0), g(*v.elevation_deg), g(*v.radius)]).cpu()
    cams = orbit_cameras(az, el, rad, v.fov_deg, config.resolution, target=v.target,
                         device=device, dtype=dtype)
    # on the CPU: the cameras are built there, and the prompts' view suffixes read them
    return ViewBatch(azimuth_deg=az.to(dtype), elevation_deg=el.to(dtype), cameras=cams)


def init_human_field(config: AnchorNeRFConfig, body_occupancy: Occupancy,
                     generator: torch.Generator, *, device: torch.device | str = "cpu",
                     dtype: torch.dtype = torch.float32) -> NeRFField:
    """A new human field fitted to ``body_occupancy`` (the body-explainable shape)."""
    aabb = config.box.aabb(device=device, dtype=dtype)
    human = NeRFField(config.human_field, aabb=aabb, generator=generator).to(device, dtype)
    fit_field_to_occupancy(human, body_occupancy, config, generator)
    return human


def train_anchor_nerf(*, prompt: str, prior: ImagePrior, human_prior: ImagePrior | None = None,
                      obj, body_occupancy: Occupancy, config: AnchorNeRFConfig,
                      sampler: Sampler, generator: torch.Generator,
                      human: NeRFField | None = None,
                      on_step: StepCallback | None = None,
                      device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                      steps: tuple[int, int] | None = None) -> AnchorNeRFResult:
    """Train (or continue training) the human field of the anchor.

    ``obj`` is the object's field (``density``, ``forward``, ``sdf_world`` and its placement
    parameters; it is trained too when ``config.lr_placement > 0``). ``body_occupancy`` is the
    body-explainable shape (the initial body, later the fitted one). ``human_prior`` defaults
    to ``prior``. ``on_step(step, total, losses)`` is called after every step (progress,
    cancellation: it may raise to stop). ``steps`` (first, stop) runs only those of the
    ``config.iterations`` steps (their progress, hence timesteps, as in the whole run; the
    optimiser starts afresh): the stage runs round 0's SDS in two parts around a search.
    """
    first, stop = (0, config.iterations) if steps is None else steps
    if not 0 <= first <= stop <= config.iterations:
        raise ValueError(f"train_anchor_nerf: steps {steps} not within 0..{config.iterations}")
    human_prior = human_prior or prior
    human_prompt = config.human_prompt.replace("{prompt}", prompt)
    if human is None:
        human = init_human_field(config, body_occupancy, generator, device=device, dtype=dtype)
    groups = [{"params": list(human.parameters()), "lr": config.lr_field}]
    placement = [p for p in obj.parameters() if p.requires_grad]
    if config.lr_placement > 0 and placement:
        groups.append({"params": placement, "lr": config.lr_placement})
    opt = torch.optim.Adam(groups)
    background = torch.tensor(config.background, device=device, dtype=dtype)
    readout = LossReadout(on_step, config.iterations, config.sync_every,
                          unreported=("nonfinite",))
    nonfinite = torch.zeros((), device=device)  # SDS gradient entries set to 0 since a read
    scene_density = composite_density([human, obj])
    for step in range(first, stop):
        progress = step / max(config.iterations - 1, 1)
        views = sample_views(config, generator, device=device, dtype=dtype)
        cams = views.cameras
        assert isinstance(cams, Cameras)  # sample_views' (ViewBatch types them opaque)
        if config.random_background:
            background = torch.rand(3, generator=generator, device=device, dtype=dtype)
            views = dataclasses.replace(views, background=background)
        light = None
        if config.shading == "lambertian":
            light = torch.nn.functional.normalize(
                torch.randn(len(views), 3, generator=generator, device=device, dtype=dtype)
                + torch.tensor([0.0, 1.5, 0.0], device=device, dtype=dtype), dim=-1)
        # the occupancy grid (CUDA) refreshes itself from the composite density every few
        # steps; the dense sampler ignores this
        sampler.update(step, scene_density)
        comp = render_image([human, obj], cams, sampler, background=background,
                            generator=generator, shading=config.shading, light_dir=light)
        alone = render_image([human], cams, sampler, background=background,
                             generator=generator, shading=config.shading, light_dir=light)
        terms = {}
        sds = prior.sds_loss(comp.rgb.permute(0, 3, 1, 2), prompt=prompt, views=views,
                             progress=progress, generator=generator)
        sds_human = human_prior.sds_loss(
            alone.rgb.permute(0, 3, 1, 2), prompt=human_prompt, views=views, progress=progress,
            generator=generator)
        terms["sds"], terms["sds_human"] = sds.loss, sds_human.loss
        for out in (sds, sds_human):
            nonfinite = nonfinite + out.logs.get("nonfinite_grad", 0.0)
        terms["sparsity"] = alone.opacity.mean()
        x = near_surface_points(body_occupancy, config.box, config.drift_points, generator,
                                device=device, dtype=dtype)
        occ_h = occupancy_of(human.density(x), config.occupancy_step)
        with torch.no_grad():
            target = body_occupancy(x)
        terms["body_drift"] = ((occ_h - target) ** 2).mean()
        inside = torch.sigmoid(-obj.sdf_world(x) / 0.01)
        terms["inside_object"] = (inside * occ_h).sum() / inside.sum().clamp_min(1.0)
        loss = sum(getattr(config, f"lambda_{k}") * v for k, v in terms.items())
        opt.zero_grad()
        loss.backward()
        opt.step()
        if readout.step(step + 1, {**terms, "total": loss, "nonfinite": nonfinite}):
            if readout.extra["nonfinite"]:
                log.warning("SDS: %d non-finite gradient entries set to 0 in steps up to %d",
                            readout.extra["nonfinite"], step + 1)
            nonfinite = torch.zeros((), device=device)
    return AnchorNeRFResult(human=human, losses=readout.values)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a - b) ** 2).mean())
    return 10 * math.log10(1.0 / max(mse, 1e-12))
