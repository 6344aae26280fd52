"""The anchor's human density turned into fitting targets: surface points and a distance field.

The human density is evaluated once on a lattice over the fitting box; the dense region is where
it exceeds a threshold (by default relative to the anchor's own density scale,
``relative_threshold``). Its *boundary* is what the body surface should match (interior
lattice points are on no surface, and pulling body vertices towards them biases the fit), so
the target points are the level-set crossings on the lattice edges, placed by linear
interpolation between the two lattice values (the vertices marching cubes would put there).
The lattice signed distance to the dense region (an exact Euclidean distance transform of the
dense cells, both ways, up to ``max_distance``) gives the cheap terms — the rigid alignment and
the limb search — a distance anywhere in O(1) (``AnchorTargets.signed_distance``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .losses import distance_transform

log = logging.getLogger(__name__)

DensityFn = Callable[[torch.Tensor], torch.Tensor]
"""Points ``(N, 3)`` → density ``(N,)`` (σ ≥ 0, per metre)."""


def evaluate_lattice(density: DensityFn, center: tuple[float, float, float],
                     half_size: float, resolution: int, *, device: torch.device | str,
                     dtype: torch.dtype, chunk: int = 65536) -> tuple[torch.Tensor, torch.Tensor]:
    """Density on a ``resolution³`` lattice over the cube ``center ± half_size``.

    Returns ``points (R, R, R, 3)`` indexed ``[i, j, k]`` along x, y, z, and ``values (R, R, R)``.
    """
    axis = torch.linspace(-half_size, half_size, resolution, device=device, dtype=dtype)
    c = torch.tensor(center, device=device, dtype=dtype)
    points = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), -1) + c
    flat = points.reshape(-1, 3)
    with torch.no_grad():
        values = torch.cat([density(flat[s:s + chunk]).reshape(-1)
                            for s in range(0, flat.shape[0], chunk)])
    return points, values.reshape(points.shape[:3])


def level_set_points(points: torch.Tensor, values: torch.Tensor,
                     threshold: float) -> torch.Tensor:
    """``(P, 3)`` points where ``values`` crosses ``threshold`` along the lattice edges
    (``points (R, R, R, 3)``, ``values (R, R, R)`` as from ``evaluate_lattice``)."""
    out = []
    for axis in range(3):
        n = values.shape[axis]
        a = values.narrow(axis, 0, n - 1)
        b = values.narrow(axis, 1, n - 1)
        pa = points.narrow(axis, 0, n - 1)
        pb = points.narrow(axis, 1, n - 1)
        cross = (a > threshold) != (b > threshold)
        va, vb = a[cross], b[cross]
        t = ((threshold - va) / (vb - va)).clamp(0, 1)[:, None]
        out.append(pa[cross] + t * (pb[cross] - pa[cross]))
    return torch.cat(out)


def trilinear(values: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor,
              points: torch.Tensor) -> torch.Tensor:
    """``values (R, R, R)`` on a lattice from corner ``lo`` to ``hi`` (indexed x, y, z) at
    ``points (N, 3)`` → ``(N,)``, trilinear, clamped to the lattice. With a gradient to the
    points it gathers the 8 corners itself (``grid_sample``'s backward would also build a
    lattice-sized gradient for the values, every call); without, it is ``grid_sample``."""
    if not (torch.is_grad_enabled() and points.requires_grad):
        grid = (2 * (points - lo) / (hi - lo) - 1).clamp(-1, 1).reshape(1, 1, 1, -1, 3)
        return F.grid_sample(values.permute(2, 1, 0)[None, None], grid, mode="bilinear",
                             align_corners=True).reshape(-1)
    n = torch.tensor(values.shape, device=points.device, dtype=points.dtype)
    f = ((points - lo) / (hi - lo) * (n - 1)).clamp(min=torch.zeros_like(n), max=n - 1)
    i0 = f.detach().floor().clamp(max=n - 2).long()
    t = f - i0  # (N, 3) in [0, 1]
    flat = values.reshape(-1)
    r1, r2 = values.shape[1] * values.shape[2], values.shape[2]
    out = torch.zeros_like(t[:, 0])
    for dx in (0, 1):
        wx = t[:, 0] if dx else 1 - t[:, 0]
        for dy in (0, 1):
            wy = t[:, 1] if dy else 1 - t[:, 1]
            for dz in (0, 1):
                wz = t[:, 2] if dz else 1 - t[:, 2]
                idx = (i0[:, 0] + dx) * r1 + (i0[:, 1] + dy) * r2 + (i0[:, 2] + dz)
                out = out + wx * wy * wz * flat[idx]
    return out


@dataclass(frozen=True, eq=False)
class AnchorTargets:
    surface: torch.Tensor  # (P, 3) level-set points of the dense region
    sdf: torch.Tensor  # (R, R, R) signed distance to it on the lattice, indexed x, y, z
    lo: torch.Tensor  # (3,) lattice corner (x, y, z)
    hi: torch.Tensor  # (3,) the opposite corner
    max_distance: float  # the lattice distance is exact up to this many metres, clamped beyond
    threshold: float  # the density level (per metre) the surface is the level set of

    def signed_distance(self, points: torch.Tensor) -> torch.Tensor:
        """``(..., 3)`` → ``(...)`` approximate signed distance (m) to the anchor's dense region
        (negative inside): trilinear on the lattice, ± half a lattice step, clamped at
        ``max_distance`` (points outside the box add their distance to it)."""
        flat = points.reshape(-1, 3)
        inside = torch.minimum(torch.maximum(flat, self.lo), self.hi)
        d = trilinear(self.sdf, self.lo, self.hi, inside)
        return (d + (flat - inside).norm(dim=-1)).reshape(points.shape[:-1])


def relative_threshold(values: torch.Tensor, *, fraction: float = 0.5, quantile: float = 0.95,
                       floor: float = 1.0) -> float:
    """``fraction`` × the ``quantile`` of the densities above ``floor`` (per metre): the level
    halfway up to the anchor's typical inside density, whatever its scale."""
    above = values[values > floor]
    if len(above) == 0:
        return floor
    if len(above) > 1_000_000:
        above = above[torch.linspace(0, len(above) - 1, 1_000_000).long()]
    return max(floor, fraction * float(torch.quantile(above.double(), quantile)))


def anchor_targets(density: DensityFn, *, center: tuple[float, float, float],
                   half_size: float, resolution: int, threshold: float | None,
                   max_distance: float = 0.2, device: torch.device | str,
                   dtype: torch.dtype) -> AnchorTargets:
    """The anchor's surface points and signed distance lattice (see ``AnchorTargets``);
    ``threshold`` None: ``relative_threshold`` of the lattice densities."""
    points, values = evaluate_lattice(density, center, half_size, resolution, device=device,
                                      dtype=dtype)
    if threshold is None:
        threshold = relative_threshold(values)
    dense = values > threshold
    surface = level_set_points(points, values, threshold)
    step = 2 * half_size / (resolution - 1)
    reach = max(1, int(round(max_distance / step)))
    outside = distance_transform(dense, dims=3, max_distance=reach)
    inside = distance_transform(~dense, dims=3, max_distance=reach)
    sdf = (torch.where(dense, 0.5 - inside, outside - 0.5) * step).to(dtype)
    c = torch.tensor(center, device=device, dtype=dtype)
    border = torch.cat([values[[0, -1]].reshape(-1), values[:, [0, -1]].reshape(-1),
                        values[:, :, [0, -1]].reshape(-1)])
    if bool((border > threshold).any()):
        log.warning("the anchor is dense on the border of the fitting box (centre %s, half-size "
                    "%.2f m); the body may be cut off", center, half_size)
    log.info("anchor: %d dense lattice points, %d surface points (threshold %.3g, %d³ lattice)",
             int(dense.sum()), len(surface), threshold, resolution)
    return AnchorTargets(surface=surface, sdf=sdf.contiguous(),
                         lo=c - half_size, hi=c + half_size, max_distance=reach * step,
                         threshold=float(threshold))
