"""Where the person stands: the floor a generated object rests on.

The object region reaches ``ObjectRegion.below_soles`` under the initial body's soles, because
the initial body is not the person and the floor the prior pictures can be a few centimetres
lower. Nothing in the renders stops the object's field from filling that margin: the object
cameras look from level or above, so a part's underside is barely seen, and a part a pixel
thin seen from the side (48² object renders, about 2.6 cm per pixel) costs the renders almost
nothing. A stool's 2 cm foot disc reached down to the region's bottom, 3.6 cm under the floor
(sit_stand-7-01: IoU 0.567; 0.642 cut at the true floor).

The distilled person shows where the floor is: a person standing, sitting, kneeling or
crouching on the floor touches it. ``standing_floor`` reads the height at which the human field
becomes dense (the level stage B reads the person at, ``anchor_points.relative_threshold``)
column by column over the band where the floor can be, and returns a low quantile of those
heights: the soles' flat underside, not their rounded edges or a single speck. A person who
does not reach the band (standing on the object, lying on a bed) gives no floor, and the
object keeps the region's bottom.

The person's soles blur downwards as the object's bottom does (the same cameras), so this floor
lies 0–2 cm under the true one on the unseen oracle cases measured: cut there, the object only
loses what is under the floor. (The initial body's soles were as close on those cases, but are
3 cm off on others: the reason the region reaches below them.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .anchor_points import DensityFn, relative_threshold


@dataclass(frozen=True, kw_only=True)
class FloorProbe:
    """How ``standing_floor`` reads the person's floor."""

    column_step: float = 0.02
    """Spacing of the vertical probes across the region's floor (metres)."""
    height_step: float = 0.004
    """Step along each probe (metres)."""
    threshold_lattice: int = 48
    """Points along the region's longest side of the lattice the person's dense level is
    measured on (``relative_threshold``)."""
    quantile: float = 0.3
    """The floor is this quantile of the heights where the probes meet the person."""
    min_columns: int = 4
    """Fewer probes meeting the person within the band than this: no floor (a speck)."""

    def __post_init__(self) -> None:
        if not (self.column_step > 0 and self.height_step > 0 and self.threshold_lattice >= 8
                and 0 <= self.quantile <= 1 and self.min_columns >= 1):
            raise ValueError("FloorProbe wants column_step, height_step > 0, threshold_lattice "
                             f"≥ 8, quantile in [0, 1] and min_columns ≥ 1, got {self}")


def standing_floor(person: DensityFn, bounds: np.ndarray, band: tuple[float, float],
                   probe: FloorProbe = FloorProbe(), *,
                   device: torch.device | str = "cpu") -> float | None:
    """The height of the floor the person touches within ``band`` (lowest, highest y, metres)
    under ``bounds`` (``(2, 3)`` lowest and highest corner of the object region), or None when
    the person is not dense within the band or the band is thinner than one probe step
    (module docstring)."""
    lo, hi = np.asarray(bounds, dtype=np.float64)
    ys = np.arange(band[0], band[1] + 1e-9, probe.height_step)
    if len(ys) < 2:
        return None
    level = _dense_level(person, lo, hi, probe.threshold_lattice, device)
    xs = np.arange(lo[0], hi[0] + 1e-9, probe.column_step)
    zs = np.arange(lo[2], hi[2] + 1e-9, probe.column_step)
    x, y, z = np.meshgrid(xs, ys, zs, indexing="ij")  # (nx, ny, nz)
    sigma = _evaluate(person, np.stack([x, y, z], -1).reshape(-1, 3), device).reshape(x.shape)
    dense = sigma >= level
    met = dense.any(1)  # (nx, nz) probes that meet the person within the band
    if int(met.sum()) < probe.min_columns:
        return None
    first = dense.argmax(1)[met]  # the first dense step up each probe
    column = sigma.transpose(0, 2, 1)[met]  # (k, ny)
    heights = ys[first].copy()
    below = first > 0  # the crossing between the step under it and it, linearly
    i = np.nonzero(below)[0]
    s0, s1 = column[i, first[i] - 1], column[i, first[i]]
    heights[i] = ys[first[i] - 1] + probe.height_step * (level - s0) / np.maximum(s1 - s0, 1e-9)
    return float(np.quantile(heights, probe.quantile))


def _dense_level(person: DensityFn, lo: np.ndarray, hi: np.ndarray, points: int,
                 device: torch.device | str) -> float:
    """``relative_threshold`` of the person's densities on a lattice over ``lo``–``hi``."""
    cell = float((hi - lo).max()) / (points - 1)
    axes = [np.arange(lo[i], hi[i] + 1e-9, cell) for i in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    return relative_threshold(torch.as_tensor(_evaluate(person, grid, device)))


def _evaluate(density: DensityFn, points: np.ndarray, device: torch.device | str) -> np.ndarray:
    with torch.no_grad():
        p = torch.as_tensor(points, dtype=torch.float32, device=device)
        return torch.cat([density(c) for c in p.split(65536)]).double().cpu().numpy()
