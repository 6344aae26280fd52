"""Volume rendering of one or several fields (nerfacc's compositing, dense layout, any device).

Several fields composite as one medium: at each sample the densities add,
``σ = Σ_k σ_k``, and the albedo is the density-weighted mix ``Σ_k σ_k a_k / σ``. Weights are
``w_i = T_i (1 - exp(-σ_i δ_i))`` (``nerfacc.render_weight_from_density``); colour, opacity and
depth are accumulated with ``nerfacc.accumulate_along_rays``, and the background shows through
``1 - opacity``. Depth is the expected distance of the visible medium,
``Σ w_i t_i / Σ w_i`` at interval mid-points (0 where the opacity is 0).

Shading: ``albedo`` renders the albedo itself; ``lambertian`` multiplies it by
``ambient + (1 - ambient) · max(0, n · l)`` with ``n`` the normal of the composite density and
``l`` the unit direction towards the light.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import nerfacc
import torch

from .cameras import Cameras, rays
from .field import Field, FieldOutput, NormalMethod, density_normals
from .samplers import Sampler

Shading = Literal["albedo", "lambertian"]


@dataclass(frozen=True)
class RenderOutput:
    rgb: torch.Tensor  # (R, 3) composited over the background
    opacity: torch.Tensor  # (R,) accumulated weight, 1 - final transmittance
    depth: torch.Tensor  # (R,) expected depth along the ray (metres from the origin)


@dataclass(frozen=True)
class ImageOutput:
    rgb: torch.Tensor  # (B, H, W, 3)
    opacity: torch.Tensor  # (B, H, W, 1)
    depth: torch.Tensor  # (B, H, W, 1)


def composite_density(fields: Sequence[Field]):
    """The density function of several fields seen as one: ``x (N, 3)`` → summed ``(N,)``."""
    def density_fn(x: torch.Tensor) -> torch.Tensor:
        return torch.stack([f.density(x) for f in fields]).sum(0)
    return density_fn


def composite_fields(fields: Sequence[Field], x: torch.Tensor) -> FieldOutput:
    """Several fields at ``x (N, 3)`` as one: summed density, density-weighted albedo."""
    outs = [f(x) for f in fields]
    if len(outs) == 1:
        return outs[0]
    density = torch.stack([o.density for o in outs]).sum(0)
    mixed = torch.stack([o.density[:, None] * o.albedo for o in outs]).sum(0)
    return FieldOutput(density=density, albedo=mixed / density.clamp_min(1e-10)[:, None])


def render_rays(fields: Field | Sequence[Field], origins: torch.Tensor,
                directions: torch.Tensor, sampler: Sampler, *,
                background: torch.Tensor | None = None,
                generator: torch.Generator | None = None, shading: Shading = "albedo",
                light_dir: torch.Tensor | None = None, ambient: float = 0.1,
                normals: NormalMethod = "finite_difference",
                normal_eps: float = 1e-2) -> RenderOutput:
    """Render ``origins, directions (R, 3)`` (unit directions) through ``fields``.

    ``background``: ``(3,)`` or ``(R, 3)``, default black. ``generator`` jitters the samples
    (None: deterministic). ``light_dir`` (``(3,)`` or ``(R, 3)``, towards the light) is needed
    for ``lambertian`` shading, whose normals come from ``normals`` (autograd or central
    differences with step ``normal_eps``). Pass a single field to render it alone.
    """
    fields = list(fields) if isinstance(fields, (Sequence, torch.nn.ModuleList)) else [fields]
    if not fields:
        raise ValueError("render_rays needs at least one field")
    if shading == "lambertian" and light_dir is None:
        raise ValueError("lambertian shading needs a light_dir")
    n_rays = origins.shape[0]

    density_fn = composite_density(fields)
    samples = sampler.sample(origins, directions, generator=generator, density_fn=density_fn)
    x = samples.positions[samples.valid]  # (M, 3) only real samples reach the fields
    out = composite_fields(fields, x)
    colour = out.albedo
    if shading == "lambertian" and light_dir is not None:  # a missing light_dir was refused
        light = torch.nn.functional.normalize(light_dir.to(x), dim=-1)
        if light.dim() == 2:  # per ray → per sample
            light = light[:, None, :].expand(-1, samples.valid.shape[1], 3)[samples.valid]
        n = density_normals(density_fn, x, method=normals, eps=normal_eps)
        diffuse = (n * light).sum(-1, keepdim=True).clamp_min(0.0)
        colour = colour * (ambient + (1 - ambient) * diffuse)

    sigmas = torch.zeros(samples.valid.shape, device=x.device, dtype=out.density.dtype)
    sigmas = sigmas.masked_scatter(samples.valid, out.density)
    rgbs = torch.zeros(*samples.valid.shape, 3, device=x.device, dtype=colour.dtype)
    rgbs = rgbs.masked_scatter(samples.valid[..., None], colour)
    weights, _, _ = nerfacc.render_weight_from_density(samples.t_starts, samples.t_ends, sigmas)
    opacity = nerfacc.accumulate_along_rays(weights, None)[:, 0]
    rgb = nerfacc.accumulate_along_rays(weights, rgbs)
    t_mid = ((samples.t_starts + samples.t_ends) / 2)[..., None]
    depth = nerfacc.accumulate_along_rays(weights, t_mid)[:, 0]
    depth = torch.where(opacity > 0, depth / opacity.clamp_min(1e-10), torch.zeros_like(depth))
    if background is None:
        background = torch.zeros(3, device=rgb.device, dtype=rgb.dtype)
    rgb = rgb + (1 - opacity[:, None]) * background.to(rgb).expand(n_rays, 3)
    return RenderOutput(rgb=rgb, opacity=opacity, depth=depth)


def render_image(fields: Field | Sequence[Field], cameras: Cameras, sampler: Sampler, *,
                 background: torch.Tensor | None = None,
                 generator: torch.Generator | None = None, shading: Shading = "albedo",
                 light_dir: torch.Tensor | None = None, ambient: float = 0.1,
                 normals: NormalMethod = "finite_difference", normal_eps: float = 1e-2,
                 chunk: int = 8192) -> ImageOutput:
    """Render every pixel of ``cameras`` in chunks of ``chunk`` rays.

    ``background``: ``(3,)`` or ``(B, H, W, 3)``; ``light_dir``: ``(3,)`` or ``(B, 3)`` (one per
    camera). Chunking bounds the peak memory of the sample tensors; with grad mode on, the
    autograd graph of every chunk is still kept for the backward pass.
    """
    origins, dirs = rays(cameras)
    b, h, w = len(cameras), cameras.height, cameras.width
    origins, dirs = origins.reshape(-1, 3), dirs.reshape(-1, 3)
    bg = light = None
    if background is not None:
        bg = background.to(origins).expand(b, h, w, 3).reshape(-1, 3)
    if light_dir is not None:
        light = light_dir.to(origins).reshape(-1, 1, 1, 3).expand(b, h, w, 3).reshape(-1, 3)
    parts = []
    for i in range(0, origins.shape[0], chunk):
        sl = slice(i, i + chunk)
        parts.append(render_rays(
            fields, origins[sl], dirs[sl], sampler,
            background=None if bg is None else bg[sl], generator=generator, shading=shading,
            light_dir=None if light is None else light[sl], ambient=ambient, normals=normals,
            normal_eps=normal_eps))
    return ImageOutput(rgb=torch.cat([p.rgb for p in parts]).reshape(b, h, w, 3),
                       opacity=torch.cat([p.opacity for p in parts]).reshape(b, h, w, 1),
                       depth=torch.cat([p.depth for p in parts]).reshape(b, h, w, 1))
