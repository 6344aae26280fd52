"""A solid out of a density lattice: the surface level its silhouettes ask for, the cells it
shuts in, and each surface moved to its blurred edge's half maximum.

A field trained by score distillation is judged only by how it renders. Its density can be a
soft fog a few centimetres thick and hollow inside — any density that makes the object opaque
from outside satisfies the prior — so neither a fixed level nor "what the surface encloses"
gives the object a renderer showed:

- ``silhouette_level``: the density level whose solid (density ≥ level) casts, along the
  lattice's three axes, the silhouettes the field's own opacity casts (``1 − exp(−∫σ) > ½``,
  the renders' alpha), by the summed IoU of the two masks. A soft field gets the level that
  reproduces what was seen. Where the silhouettes cannot tell a range of levels apart (a
  sharp field: high σ inside, 0 outside; or a part hidden behind the rest along every axis,
  such as a faint side of a large box), the lowest of them: what a higher level drops nothing
  brings back, while the fog's outer skin that a lower one keeps is peeled off
  (``peel_to_half_max``).
- ``enclosed_cells``: the cells shut in by occluders (the solid, the person, the floor): from
  such a cell, rays along nearly all of the 26 lattice directions hit an occluder, and the
  solid lies both ways along a few of its lines (space the person shuts in against one face
  of the object is not the object's). A skin whose
  inside leaks out through a gap, or that the person covers where they sit on it, is filled;
  the open space under a table (its sides open), in front of a chair's back or in a tray is
  not. A concavity much deeper than it is wide (a bucket) fills from the bottom, where only
  rays nearly straight up get out: cameras at ordinary elevations do not see in there either.
- ``half_max``, ``peel_to_half_max``: the solid's outer layers where the density is under
  half its local maximum are peeled off. A field blurs a sharp surface (its finest grid cells, its
  interpolation, the renders' pixels): its density falls from the part's inside value to zero
  across a few centimetres, and the blurred edge's half maximum is where the edge is (as in
  a blurred image's edge). A single global level cannot find it for every part — thin boards
  are fainter than a thick block — so the global level gives the solid and this moves each
  outer surface to its own half maximum, never deeper than a set depth (layer by layer from
  the surface; the solid's shut-in cells are filled first, so there is no inner surface).

Lattices are ``(n0, n1, n2)`` boolean or float arrays with cubic cells; the floor (if any) is
below index 0 of ``floor_axis``.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import ndimage

DIRECTIONS: list[tuple[int, int, int]] = [
    (a, b, c) for a, b, c in itertools.product((-1, 0, 1), repeat=3) if (a, b, c) != (0, 0, 0)]
"""The 26 lattice directions (the faces, edges and corners of a cell's neighbourhood)."""


def silhouette_level(sigma: np.ndarray, cell: float, *, candidates: int = 64,
                     span: float = 1e4, most_filled: float = 0.5,
                     tolerance: float = 0.005) -> float:
    """The surface level of ``sigma`` (density per metre on a lattice of ``cell`` metres) whose
    solid's axis silhouettes best match the field's opacity (module docstring).

    Levels from the largest density / ``span`` (or, when higher, the density's
    ``most_filled`` quantile: the solid fills at most about that share of the lattice — a fog
    over the whole region, as an untrained field is, would otherwise be all solid and have no
    surface) to the largest density, ``candidates`` of them evenly in log; the lowest of those
    scoring within ``tolerance`` of the best. A field that is nowhere opaque gets
    ``faint_level``. Raises ``ValueError`` when the density is nowhere positive.
    """
    top = float(sigma.max())
    if not top > 0:
        raise ValueError("silhouette_level: the density is nowhere positive")
    lowest = max(top / span, float(np.quantile(sigma, most_filled)))
    if lowest >= top:
        return top
    seen = opaque_silhouettes(sigma, cell)
    if not any(mask.any() for mask in seen):
        return faint_level(sigma)
    levels = np.geomspace(lowest, top, candidates)
    scores = np.array([_silhouette_iou(sigma >= level, seen) for level in levels])
    return float(levels[scores >= scores.max() - tolerance].min())


def opaque_silhouettes(sigma: np.ndarray, cell: float) -> list[np.ndarray]:
    """Where the field is opaque along each of the lattice's axes: ``1 − exp(−∫σ) > ½`` (the
    renders' alpha), one mask per axis; all empty for a field that is nowhere opaque."""
    return [1.0 - np.exp(-sigma.sum(axis) * cell) > 0.5 for axis in range(3)]


def faint_level(sigma: np.ndarray, *, within: float = 10.0, quantile: float = 0.95) -> float:
    """The level of a field that is nowhere opaque (no axis sees it, so its silhouettes say
    nothing): half its typical inside density, the ``quantile`` of the densities within a
    factor ``within`` of the largest (the blob, not the fog around it). The object is the
    field's dense core, not the whole faint region."""
    top = float(sigma.max())
    return 0.5 * float(np.quantile(sigma[sigma >= top / within], quantile))


def _silhouette_iou(solid: np.ndarray, seen: list[np.ndarray]) -> float:
    """Summed IoU of the solid's three axis silhouettes with ``seen``."""
    total = 0.0
    for axis, mask in enumerate(seen):
        cast = solid.any(axis)
        union = int((cast | mask).sum())
        total += int((cast & mask).sum()) / union if union else 1.0
    return total


def half_max(sigma: np.ndarray, cell: float, *, window: float,
             quantile: float = 1.0) -> np.ndarray:
    """Half the largest ``sigma`` within ``window`` metres of each point (a cube of side about
    2 · ``window``; ``cell``: the lattice's spacing in metres). ``quantile`` < 1 takes that
    quantile of the cube's densities instead of the largest: a few hot cells (a field trained
    by SDS has some, several times its usual inside density) then do not set the edge of
    everything near them, and a thin leg beside a hot joint keeps its width."""
    if window <= 0:
        raise ValueError(f"half_max: window must be > 0, got {window}")
    if not 0 < quantile <= 1:
        raise ValueError(f"half_max: quantile must be in (0, 1], got {quantile}")
    size = 2 * max(1, round(window / cell)) + 1
    if quantile == 1:
        return 0.5 * ndimage.maximum_filter(sigma, size=size, mode="constant")
    return 0.5 * ndimage.percentile_filter(sigma, 100 * quantile, size=size, mode="constant")


def peel_to_half_max(solid: np.ndarray, sigma: np.ndarray, half: np.ndarray, cell: float, *,
                     depth: float) -> np.ndarray:
    """``solid`` without its outer cells whose ``sigma`` is under ``half`` (``half_max``),
    peeled layer by layer from outside, at most ``depth`` metres (at least one layer)."""
    if depth <= 0:
        raise ValueError(f"peel_to_half_max: depth must be > 0, got {depth}")
    weak = sigma < half
    kept = np.asarray(solid, dtype=bool).copy()
    for _ in range(max(1, round(depth / cell))):
        outer = kept & weak & ndimage.binary_dilation(~kept, border_value=1)
        if not outer.any():
            break
        kept &= ~outer
    return kept


def enclosed_cells(solid: np.ndarray, others: np.ndarray | None = None, *,
                   floor_axis: int | None = 1, min_hits: int = 24,
                   min_solid_lines: int = 3) -> np.ndarray:
    """Cells that are neither solid nor ``others`` (the person), from which rays along at least
    ``min_hits`` of the 26 lattice directions meet the solid, the others or the floor, and
    that lie between parts of the solid: along at least ``min_solid_lines`` of the 13 lattice
    lines through the cell, the solid is met both ways.

    The second count keeps out space that the person shuts in against one face of the
    object: a box whose top the sitter covers and that has no bottom still has its own walls
    both ways along its 4 horizontal lines; the space between a sitter's shins, the floor and
    a seat's front has the seat on one side only.

    ``floor_axis``: the lattice's low side along this axis stands on an endless floor (every
    ray going down hits it); None: no floor. Rays leaving the lattice elsewhere escape.
    """
    if not 1 <= min_hits <= len(DIRECTIONS):
        raise ValueError(f"enclosed_cells: min_hits must be in 1..26, got {min_hits}")
    if not 0 <= min_solid_lines <= len(DIRECTIONS) // 2:
        raise ValueError(f"enclosed_cells: min_solid_lines must be in 0..13, "
                         f"got {min_solid_lines}")
    solid = np.asarray(solid, dtype=bool)
    occluders = solid if others is None else solid | np.asarray(others, dtype=bool)
    hits = np.zeros(solid.shape, dtype=np.int16)
    lines = np.zeros(solid.shape, dtype=np.int16)
    meets_solid = {d: _ray_hits(solid, d) for d in DIRECTIONS}
    for d in DIRECTIONS:
        if d > (0, 0, 0):  # each line once
            lines += meets_solid[d] & meets_solid[(-d[0], -d[1], -d[2])]
        if floor_axis is not None and d[floor_axis] < 0:
            hits += 1
        elif others is None:
            hits += meets_solid[d]
        else:
            hits += _ray_hits(occluders, d)
    return (hits >= min_hits) & (lines >= min_solid_lines) & ~occluders


def _ray_hits(occluders: np.ndarray, d: tuple[int, int, int]) -> np.ndarray:
    """Whether the ray from each cell along ``d`` (excluding the cell) meets an occluder: a sweep
    along the first axis ``d`` moves on, slice by slice, ``hit[i] = shift(occ | hit)[i + s]``."""
    axis = next(a for a in range(3) if d[a] != 0)
    step = d[axis]
    occ = np.moveaxis(occluders, axis, 0)
    others = [d[a] for a in range(3) if a != axis]
    hit = np.zeros_like(occ)
    order = range(len(occ) - 2, -1, -1) if step > 0 else range(1, len(occ))
    for i in order:
        ahead = occ[i + step] | hit[i + step]
        hit[i] = _shift2d(ahead, others[0], others[1])
    return np.moveaxis(hit, 0, axis)


def _shift2d(a: np.ndarray, da: int, db: int) -> np.ndarray:
    """``out[j, k] = a[j + da, k + db]`` (False where that is outside)."""
    out = np.zeros_like(a)
    n0, n1 = a.shape
    out[max(0, -da):n0 - max(0, da), max(0, -db):n1 - max(0, db)] = \
        a[max(0, da):n0 - max(0, -da), max(0, db):n1 - max(0, -db)]
    return out
