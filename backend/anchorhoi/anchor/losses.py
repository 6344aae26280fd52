"""Loss terms of the body fit: chamfer, occupancy agreement, silhouettes, penetration.

Distances are robustified with the Charbonnier function ``√(d² + η²) − η``: quadratic within
``η`` of the target, linear (a constant pull) beyond, so a limb far from where it belongs is
pulled as hard as one nearly there, and a stray anchor point cannot dominate.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def charbonnier(d2: torch.Tensor, eta: float) -> torch.Tensor:
    """Squared distances → ``√(d² + η²) − η`` (same shape)."""
    return torch.sqrt(d2 + eta * eta) - eta


def nearest(a: torch.Tensor, b: torch.Tensor, *, chunk: int = 4096) -> torch.Tensor:
    """``a (N, D)``, ``b (M, D)`` → ``(N,)`` index into ``b`` of each point's nearest neighbour.

    ``torch.cdist`` in chunks of ``chunk`` rows of ``a``, without autograd: the caller takes the
    difference to the matched points, which has the same gradient as the minimum distance and
    costs O(N) instead of O(N·M) in the backward pass.
    """
    with torch.no_grad():
        out = [torch.cdist(a[s:s + chunk], b).argmin(1) for s in range(0, a.shape[0], chunk)]
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long, device=a.device)


def chamfer(a: torch.Tensor, b: torch.Tensor, *, eta: float, chunk: int = 4096,
            matches: tuple[torch.Tensor, torch.Tensor] | None = None
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """Two-sided robust chamfer between point sets ``a (N, D)`` and ``b (M, D)``.

    Returns ``(a→b, b→a)``: the mean Charbonnier distance from each point of ``a`` to its
    nearest point of ``b``, and the other way round (scalars). ``matches`` — ``(N,)`` indices
    into ``b`` and ``(M,)`` into ``a`` from ``nearest`` — reuses correspondences found earlier
    (ICP-style: an optimiser moving a little per step may refresh them every few steps only).
    """
    ab_idx, ba_idx = matches if matches is not None else \
        (nearest(a, b, chunk=chunk), nearest(b, a, chunk=chunk))
    ab = ((a - b[ab_idx]) ** 2).sum(-1)
    ba = ((b - a[ba_idx]) ** 2).sum(-1)
    return charbonnier(ab, eta).mean(), charbonnier(ba, eta).mean()


def occupancy_agreement(density_inside: torch.Tensor, density_outside: torch.Tensor, *,
                        step: float) -> torch.Tensor:
    """Binary cross-entropy of the anchor's opacity ``α = 1 − exp(−σ·step)`` at points just
    inside the body surface (target 1) and just outside it (target 0); densities ``(N,)`` →
    scalar. ``−log α`` inside is the ``−log(1 − exp(−σδ))`` of the occupancy literature;
    ``σ·step`` outside is ``−log(1 − α)``."""
    inside = -torch.log(-torch.expm1(-(density_inside * step).clamp_min(1e-4)))
    outside = density_outside * step
    return inside.mean() + outside.mean()


def distance_transform(masks: torch.Tensor, *, dims: int = 2,
                       max_distance: int | None = None) -> torch.Tensor:
    """Euclidean distance (in lattice steps) from each element of ``masks`` to the nearest
    ``True`` element over the last ``dims`` axes: ``masks (..., H, W)`` for images, ``dims=3``
    for volumes. 0 on the mask. Exact up to ``max_distance`` steps (None: exact everywhere);
    farther distances are reported as at least ``max_distance`` (clamped, also for an empty
    mask, where None means the sum of the axis lengths).

    Separable squared-distance transform: per axis, ``f(i) ← min_k f(i + k) + k²`` over the
    offsets ``|k| ≤ max_distance`` — whole-array shifts, O(N · offsets) per axis.
    """
    sizes = masks.shape[masks.ndim - dims:]
    reach = max(sizes) - 1 if max_distance is None else max_distance
    cap = float(sum(sizes) if max_distance is None else max_distance) ** 2
    f = torch.where(masks, 0.0, cap).to(torch.float32)
    for axis in range(masks.ndim - dims, masks.ndim):
        n = f.shape[axis]
        out = f.clone()
        for k in range(1, min(reach, n - 1) + 1):
            step = float(k * k)
            ahead, behind = f.narrow(axis, k, n - k), f.narrow(axis, 0, n - k)
            lo, hi = out.narrow(axis, 0, n - k), out.narrow(axis, k, n - k)
            torch.minimum(lo, ahead + step, out=lo)
            torch.minimum(hi, behind + step, out=hi)
        f = out.clamp_max(cap)
    return torch.sqrt(f)


def sample_image(images: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """``images (K, H, W)`` at pixel coordinates ``uv (K, N, 2)`` (pixel centres on integers)
    → ``(K, N)`` bilinear; outside the image the border value plus the distance to it."""
    _k, h, w = images.shape
    size = torch.tensor([w - 1, h - 1], dtype=uv.dtype, device=uv.device)
    clamped = torch.minimum(uv.clamp_min(0), size)
    grid = 2 * clamped / size - 1
    out = F.grid_sample(images[:, None].to(uv.dtype), grid[:, :, None, :], mode="bilinear",
                        padding_mode="border", align_corners=True)[:, 0, :, 0]
    return out + (uv - clamped).norm(dim=-1)


def silhouette_chamfer(uv: torch.Tensor, visible: torch.Tensor, mask_dt: torch.Tensor,
                       mask_pixels: list[torch.Tensor], *, eta: float) -> torch.Tensor:
    """2D chamfer between projected body points and the masks, in units of the image height.

    ``uv (K, N, 2)`` projected points, ``visible (K, N)`` bool (in front of the camera),
    ``mask_dt (K, H, W)`` the masks' distance transforms, ``mask_pixels`` K tensors ``(P_k, 2)``
    of (subsampled) mask pixel coordinates. Body → mask: the distance transform at each point;
    mask → body: each mask pixel's distance to the nearest projected point.
    """
    h = mask_dt.shape[1]
    to_mask = sample_image(mask_dt, uv) / h
    total = (charbonnier(to_mask ** 2, eta) * visible).sum() / visible.sum().clamp_min(1)
    for view, pixels in enumerate(mask_pixels):
        pts = uv[view][visible[view]]
        if len(pixels) == 0 or len(pts) == 0:
            continue
        d2 = ((pixels - pts[nearest(pixels, pts)]) ** 2).sum(-1) / (h * h)
        total = total + charbonnier(d2, eta).mean() / len(mask_pixels)
    return total


def penetration(sdf: torch.Tensor) -> torch.Tensor:
    """Object signed distance at body points ``(..., N)`` → ``(...)`` mean depth inside (m)."""
    return F.relu(-sdf).mean(-1)
