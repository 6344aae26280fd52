"""Meshing of a smooth implicit solid, for the procedural body (standard library + numpy only).

The solid is a chain of smooth unions of *primitives*: round cones (a sphere swept between two
points with a linearly varying radius), optionally squashed along the world axes. The field is

    f_0 = CAP,   f_i = smin(f_{i-1}, d_i, k_i),   f = f_P      (f < 0 inside)

with the quadratic polynomial ``smin`` (exactly ``min`` where the two values differ by more than
``k_i``). Every ``d_i`` is 1-Lipschitz and ``smin`` keeps that, so ``|f(p) - f(q)| <= |p - q|``;
because the chain starts at ``CAP``, a primitive farther than ``k_i + CAP`` from a point cannot
change ``f`` there, so evaluating each primitive only inside its (expanded) bounding box is exact.

The mesh comes from naive surface nets on a *warped* grid: node ``(i, j, k)`` sits at
``(X[i], Y[i, j], Z[i, k])`` with every ``X``, ``Y[i]``, ``Z[i]`` increasing, so the grid can be
fine around the hands and coarse elsewhere without any crack. Signs are found coarse to fine
(blocks of cells are settled by one Lipschitz test when far from the surface); vertices are
then projected onto the surface with Newton steps and relaxed tangentially.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CAP = 0.05  # the field never exceeds this (metres)


# --------------------------------------------------------------------------------------------
# 1. Primitives and the field
# --------------------------------------------------------------------------------------------
@dataclass
class Primitives:
    """Round cones in a frame scaled about ``center`` by ``scale`` (world = center + scale * q).

    Radii are in the scaled frame: the world extent of a sphere of radius r is r * scale.
    """

    a: list = field(default_factory=list)
    b: list = field(default_factory=list)
    ra: list = field(default_factory=list)
    rb: list = field(default_factory=list)
    center: list = field(default_factory=list)
    scale: list = field(default_factory=list)
    k: list = field(default_factory=list)
    bone: list = field(default_factory=list)

    def add(self, a, b, ra, rb, bone, k, scale=(1.0, 1.0, 1.0), center=None):
        a, b = np.asarray(a, float), np.asarray(b, float)
        c = (a + b) / 2 if center is None else np.asarray(center, float)
        s = np.asarray(scale, float)
        qa, qb = (a - c) / s, (b - c) / s
        length = np.linalg.norm(qb - qa)
        if length > 1e-9 and abs(ra - rb) >= length:
            raise ValueError("round cone: one end sphere contains the other")
        self.a.append(qa)
        self.b.append(qb)
        self.ra.append(float(ra))
        self.rb.append(float(rb))
        self.center.append(c)
        self.scale.append(s)
        self.k.append(float(k))
        self.bone.append(int(bone))

    def __len__(self):
        return len(self.k)

    def finish(self) -> PrimitiveArrays:
        return PrimitiveArrays(self)


class PrimitiveArrays:
    """The primitives as arrays, with the per-primitive constants of the distance function."""

    def __init__(self, p: Primitives):
        self.a, self.b = np.array(p.a), np.array(p.b)
        self.ra, self.rb = np.array(p.ra), np.array(p.rb)
        self.center, self.scale = np.array(p.center), np.array(p.scale)
        self.k, self.bone = np.array(p.k), np.array(p.bone, dtype=np.int64)
        self.s_min = self.scale.min(axis=1)
        self.s_ratio = self.scale.max(axis=1) / self.s_min
        self.world_a = self.center + self.scale * self.a
        ba = self.b - self.a
        self.length = np.linalg.norm(ba, axis=1)
        self.axis = ba / np.maximum(self.length, 1e-12)[:, None]
        self.sin = np.where(self.length > 1e-9,
                            (self.ra - self.rb) / np.maximum(self.length, 1e-12), 0.0)
        self.cos = np.sqrt(1 - self.sin**2)
        lo = np.minimum(self.a - self.ra[:, None], self.b - self.rb[:, None])
        hi = np.maximum(self.a + self.ra[:, None], self.b + self.rb[:, None])
        self.box_lo = self.center + self.scale * lo  # world bounding box of the primitive
        self.box_hi = self.center + self.scale * hi
        # Outside the box grown by this much the primitive cannot change the field (see top).
        grow = (self.k + CAP) * self.s_ratio + 1e-6
        self.cull_lo = self.box_lo - grow[:, None]
        self.cull_hi = self.box_hi + grow[:, None]

    def __len__(self):
        return len(self.k)

    def distance(self, i: int, p: np.ndarray, grad: bool = False):
        """Field of primitive ``i`` at world points ``p`` (n, 3) and its world gradient."""
        s = self.scale[i]
        qa = (p - self.world_a[i]) / s  # scaled frame, relative to the end ``a``
        qq = np.einsum("ij,ij->i", qa, qa)
        ra, g = self.ra[i], None
        if self.length[i] <= 1e-9:  # a sphere (or an ellipsoid in the scaled frame)
            na = np.sqrt(qq)
            d = na - ra
            if grad:
                g = qa / np.maximum(na, 1e-12)[:, None]
        else:
            ax, sin, cos, length = self.axis[i], self.sin[i], self.cos[i], self.length[i]
            y = qa @ ax
            rho = np.sqrt(np.maximum(qq - y * y, 0.0))
            u = y * cos - rho * sin  # along the side line: before it sphere a, past it sphere b
            at_a, at_b = u < 0, u > length * cos
            qb2 = np.maximum(qq - 2 * length * y + length * length, 0.0)  # |q - b|^2
            d = np.where(at_a, np.sqrt(qq) - ra,
                         np.where(at_b, np.sqrt(qb2) - self.rb[i], y * sin + rho * cos - ra))
            if grad:
                radial = qa - y[:, None] * ax
                g = sin * ax + cos * radial / np.maximum(rho, 1e-12)[:, None]
                for sel, centre in ((at_a, 0.0), (at_b, length * ax)):
                    if sel.any():
                        qc = qa[sel] - centre
                        g[sel] = qc / np.maximum(np.linalg.norm(qc, axis=1), 1e-12)[:, None]
        d = d * self.s_min[i]
        if grad:
            g = g * (self.s_min[i] / s)
        return d, g

    def near(self, xs_sorted: np.ndarray, order: np.ndarray, pts: np.ndarray, i: int,
             lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Indices of points inside the box [lo, hi] (points pre-sorted by x)."""
        i0, i1 = np.searchsorted(xs_sorted, [lo[0], hi[0]])
        cand = order[i0:i1]
        sub = pts[cand]
        m = ((sub[:, 1] >= lo[1]) & (sub[:, 1] <= hi[1]) & (sub[:, 2] >= lo[2])
             & (sub[:, 2] <= hi[2]))
        return cand[m]

    def field(self, pts: np.ndarray, grad: bool = False):
        """The smooth-union field at ``pts`` (n, 3), optionally with its gradient."""
        pts = np.asarray(pts, float).reshape(-1, 3)
        order = np.argsort(pts[:, 0], kind="stable")
        xs = pts[order, 0]
        f = np.full(len(pts), CAP)
        g = np.zeros((len(pts), 3)) if grad else None
        for i in range(len(self)):
            idx = self.near(xs, order, pts, i, self.cull_lo[i], self.cull_hi[i])
            if idx.size == 0:
                continue
            d, gd = self.distance(i, pts[idx], grad)
            a, k = f[idx], self.k[i]
            h = np.clip(0.5 + 0.5 * (d - a) / k, 0.0, 1.0)  # weight of the union so far
            f[idx] = h * a + (1 - h) * d - k * h * (1 - h)
            if g is not None:
                g[idx] = h[:, None] * g[idx] + (1 - h)[:, None] * gd
        return (f, g) if g is not None else f

    def distances(self, pts: np.ndarray, reach: float) -> np.ndarray:
        """(n, P) field of every primitive at ``pts``; +inf where farther than ~``reach``."""
        pts = np.asarray(pts, float)
        order = np.argsort(pts[:, 0], kind="stable")
        xs = pts[order, 0]
        out = np.full((len(pts), len(self)), np.inf)
        for i in range(len(self)):
            grow = reach * self.s_ratio[i]
            idx = self.near(xs, order, pts, i, self.box_lo[i] - grow, self.box_hi[i] + grow)
            if idx.size:
                out[idx, i] = self.distance(i, pts[idx])[0]
        return out


# --------------------------------------------------------------------------------------------
# 2. Ray casting (first exit of rays that start inside)
# --------------------------------------------------------------------------------------------
def ray_exit(prims: PrimitiveArrays, origins, dirs, t_max, steps: int = 32, iters: int = 16):
    """Distance along each ray to its first crossing from inside to outside; nan if none.

    ``origins`` (n, 3) must be inside; ``dirs`` (n, 3) unit; ``t_max`` scalar or (n,): each ray
    is sampled at ``steps`` even steps up to its ``t_max``, then the crossing is bisected.
    """
    origins = np.asarray(origins, float).reshape(-1, 3)
    dirs = np.asarray(dirs, float).reshape(-1, 3)
    n = len(origins)
    if (prims.field(origins) >= 0).any():
        raise ValueError("a ray starts outside the solid")
    t_max = np.broadcast_to(np.asarray(t_max, float), (n,))
    ts = t_max[:, None] * (np.arange(1, steps + 1) / steps)[None, :]  # (n, steps)
    pts = origins[:, None, :] + ts[:, :, None] * dirs[:, None, :]
    out = prims.field(pts.reshape(-1, 3)).reshape(n, steps) >= 0
    hit = out.any(1)
    first = np.argmax(out, axis=1)
    rows = np.arange(n)
    hi = ts[rows, first]
    lo = np.where(first > 0, ts[rows, np.maximum(first - 1, 0)], 0.0)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        inside = prims.field(origins + mid[:, None] * dirs) < 0
        lo = np.where(inside, mid, lo)
        hi = np.where(inside, hi, mid)
    return np.where(hit, 0.5 * (lo + hi), np.nan)


# --------------------------------------------------------------------------------------------
# 3. The warped grid and its signs
# --------------------------------------------------------------------------------------------
def graded_axis(anchor: float, spacing, n_lo: int, n_hi: int) -> np.ndarray:
    """``n_lo`` nodes below ``anchor``, the anchor, ``n_hi`` above; steps from ``spacing(x)``."""
    def walk(sign, n):
        xs, x = [], anchor
        for _ in range(n):
            h = spacing(x + sign * 0.5 * spacing(x))
            x = x + sign * h
            xs.append(x)
        return xs

    return np.array(walk(-1, n_lo)[::-1] + [anchor] + walk(1, n_hi))


def nodes_to_reach(anchor: float, spacing, lo: float, hi: float) -> tuple[int, int]:
    """How many nodes ``graded_axis`` needs on each side to pass ``lo`` and ``hi``."""
    counts = []
    for sign, limit in ((-1, lo), (1, hi)):
        x, n = anchor, 0
        while (x - limit) * sign < 0:
            x = x + sign * spacing(x + sign * 0.5 * spacing(x))
            n += 1
        counts.append(n)
    return counts[0], counts[1]


def band_spacing(fine: float, lo: float, hi: float, growth: float):
    """Spacing ``fine`` inside [lo, hi], growing linearly with the distance outside."""
    def h(x):
        return fine + growth * max(lo - x, 0.0, x - hi)
    return h


@dataclass
class WarpedGrid:
    X: np.ndarray  # (nu,)
    Y: np.ndarray  # (nu, nv)
    Z: np.ndarray  # (nu, nw)

    @property
    def shape(self):
        return (len(self.X), self.Y.shape[1], self.Z.shape[1])

    def world(self, lin: np.ndarray) -> np.ndarray:
        i, j, k = np.unravel_index(lin, self.shape)
        return np.stack([self.X[i], self.Y[i, j], self.Z[i, k]], axis=1)


def _blocks(grid: WarpedGrid, size: int):
    """World bounding boxes (lo, hi) of the blocks of ``size``**3 cells, shape (nb..., 3)."""
    nu, nv, nw = grid.shape
    starts = [np.arange(0, n - 1, size) for n in (nu, nv, nw)]
    ends = [np.minimum(s + size, n - 1) for s, n in zip(starts, (nu, nv, nw))]
    (u0, v0, w0), (u1, v1, w1) = starts, ends
    ext = []
    for table in (grid.Y, grid.Z):  # Y, Z depend on the u slice: take extremes over the block
        ext.append((np.stack([table[a:b + 1].min(0) for a, b in zip(u0, u1)]),
                    np.stack([table[a:b + 1].max(0) for a, b in zip(u0, u1)])))
    shape = (len(u0), len(v0), len(w0), 3)
    lo, hi = np.empty(shape), np.empty(shape)
    lo[..., 0] = grid.X[u0][:, None, None]
    hi[..., 0] = grid.X[u1][:, None, None]
    lo[..., 1] = ext[0][0][:, v0][:, :, None]
    hi[..., 1] = ext[0][1][:, v1][:, :, None]
    lo[..., 2] = ext[1][0][:, w0][:, None, :]
    hi[..., 2] = ext[1][1][:, w1][:, None, :]
    return lo, hi


def _block_nodes(mask: np.ndarray, size: int, shape) -> np.ndarray:
    """Node mask (nu, nv, nw) of all nodes of the blocks set in ``mask``."""
    nu, nv, nw = shape
    cells = mask.repeat(size, 0).repeat(size, 1).repeat(size, 2)[:nu - 1, :nv - 1, :nw - 1]
    nodes = np.zeros(shape, bool)
    for di in (0, 1):
        for dj in (0, 1):
            for dk in (0, 1):
                nodes[di:nu - 1 + di, dj:nv - 1 + dj, dk:nw - 1 + dk] |= cells
    return nodes


def grid_signs(prims: PrimitiveArrays, grid: WarpedGrid, sizes=(4, 2)):
    """Inside flags of every grid node, and field values at the nodes near the surface.

    Coarse to fine: a block whose centre value exceeds its half-diagonal in magnitude has one
    sign (the field is 1-Lipschitz); blocks no primitive reaches are outside. Only the nodes of
    the blocks left undecided at the finest level are evaluated. Returns ``inside``
    (nu, nv, nw) bool and ``values`` (nu, nv, nw) float (nan where not evaluated).
    """
    shape = grid.shape
    inside = np.zeros(shape, bool)
    candidate: np.ndarray | None = None
    for level, size in enumerate(sizes):
        lo, hi = _blocks(grid, size)
        bshape = lo.shape[:3]
        if candidate is None:
            cand = np.zeros(bshape, bool)
            flat_lo, flat_hi = lo.reshape(-1, 3), hi.reshape(-1, 3)
            for i in range(len(prims)):  # blocks no primitive can reach stay outside
                cand |= np.all((flat_hi >= prims.cull_lo[i]) & (flat_lo <= prims.cull_hi[i]),
                               axis=1).reshape(bshape)
        else:  # sub-blocks of the undecided blocks of the previous level
            r = sizes[level - 1] // size
            cand = candidate.repeat(r, 0).repeat(r, 1).repeat(r, 2)
            cand = cand[:bshape[0], :bshape[1], :bshape[2]]
        centre = 0.5 * (lo[cand] + hi[cand])
        radius = 0.5 * np.linalg.norm(hi[cand] - lo[cand], axis=1)
        fc = prims.field(centre)
        settled_in = np.zeros(bshape, bool)
        settled_in[cand] = fc < -radius
        inside |= _block_nodes(settled_in, size, shape)
        candidate = np.zeros(bshape, bool)
        candidate[cand] = np.abs(fc) <= radius
    if candidate is None:
        raise ValueError("grid_signs needs at least one block size")
    need = _block_nodes(candidate, sizes[-1], shape)
    lin = np.flatnonzero(need)  # sorted, so the points come sorted by x
    vals = prims.field(grid.world(lin))
    values = np.full(inside.size, np.nan)
    values[lin] = vals
    inside = inside.reshape(-1)
    inside[lin] = vals < 0
    return inside.reshape(shape), values.reshape(shape)


# --------------------------------------------------------------------------------------------
# 4. Surface nets
# --------------------------------------------------------------------------------------------
def surface_nets(grid: WarpedGrid, inside: np.ndarray, values: np.ndarray):
    """Vertices (one per cell the surface crosses) and outward-facing quads (Q, 4)."""
    nu, nv, nw = grid.shape
    if inside[0].any() or inside[-1].any() or inside[:, 0].any() or inside[:, -1].any() \
            or inside[:, :, 0].any() or inside[:, :, -1].any():
        raise ValueError("the solid touches the grid boundary")
    cell_shape = (nu - 1, nv - 1, nw - 1)
    quad_parts: list[np.ndarray] = []
    point_parts: list[np.ndarray] = []
    # Around an edge along `axis`, the four cells as (offset along the two other axes), in
    # counter-clockwise order seen from the +axis side (the two axes taken in cyclic order).
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis] = slice(0, -1)
        hi[axis] = slice(1, None)
        a_in, b_in = inside[tuple(lo)], inside[tuple(hi)]
        i, j, k = np.nonzero(a_in != b_in)
        a_lin = np.ravel_multi_index((i, j, k), (nu, nv, nw))
        e = [0, 0, 0]
        e[axis] = 1
        b_lin = np.ravel_multi_index((i + e[0], j + e[1], k + e[2]), (nu, nv, nw))
        p, q = (axis + 1) % 3, (axis + 2) % 3
        idx = [i, j, k]
        corners = []
        for dp, dq in ((-1, -1), (0, -1), (0, 0), (-1, 0)):
            c = list(idx)
            c[p] = c[p] + dp
            c[q] = c[q] + dq
            corners.append(np.ravel_multi_index(tuple(c), cell_shape))
        ring = np.stack(corners, axis=1)
        outward = a_in[i, j, k]  # inside at the lower node: the surface faces +axis
        ring = np.where(outward[:, None], ring, ring[:, ::-1])
        fa, fb = values.reshape(-1)[a_lin], values.reshape(-1)[b_lin]
        if np.isnan(fa).any() or np.isnan(fb).any():
            raise AssertionError("sign change at a node that was not evaluated")
        t = (fa / (fa - fb))[:, None]
        pa, pb = grid.world(a_lin), grid.world(b_lin)
        quad_parts.append(ring)
        point_parts.append(pa + t * (pb - pa))
    quads = np.concatenate(quad_parts)
    points = np.concatenate(point_parts)
    cells, inv = np.unique(quads, return_inverse=True)
    inv = inv.reshape(quads.shape)
    n = len(cells)
    count = np.bincount(inv.reshape(-1), minlength=n).astype(float)
    verts = np.stack([np.bincount(inv.reshape(-1), np.repeat(points[:, c], 4), minlength=n)
                      for c in range(3)], axis=1) / count[:, None]
    return verts, inv


# --------------------------------------------------------------------------------------------
# 5. Projection, relaxation, triangulation, mesh utilities
# --------------------------------------------------------------------------------------------
def project(prims: PrimitiveArrays, verts: np.ndarray, steps: int = 3, max_step: float = 0.01):
    """Newton steps onto the zero set: x -= f grad / |grad|^2 (step length clamped).

    Returns the moved points and the field gradient at the last points evaluated."""
    v = verts.copy()
    g = None
    for _ in range(steps):
        f, g = prims.field(v, grad=True)
        g2 = np.maximum((g * g).sum(1), 1e-6)
        d = -(f / g2)[:, None] * g
        n = np.linalg.norm(d, axis=1)
        d *= np.minimum(1.0, max_step / np.maximum(n, 1e-12))[:, None]
        v += d
    return v, g


def unique_edges(faces: np.ndarray) -> np.ndarray:
    """Undirected edges (E, 2), sorted, of a polygon array (F, n)."""
    a = faces.reshape(-1).astype(np.int64)
    b = np.roll(faces, -1, axis=1).reshape(-1).astype(np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    m = int(faces.max()) + 1
    key = np.unique(lo * m + hi)
    return np.stack([key // m, key % m], axis=1)


def neighbour_mean(x: np.ndarray, edges: np.ndarray, n: int) -> np.ndarray:
    """Mean over the graph neighbours of each vertex of ``x`` (n, ...); every vertex needs one."""
    src = np.concatenate([edges[:, 0], edges[:, 1]])
    dst = np.concatenate([edges[:, 1], edges[:, 0]])
    order = np.argsort(src, kind="stable")
    src, dst = src[order], dst[order]
    starts = np.searchsorted(src, np.arange(n))
    deg = np.diff(np.append(starts, len(src)))
    cols = np.ascontiguousarray(x.reshape(n, -1).T)  # (c, n): reduce along contiguous rows
    sums = np.add.reduceat(cols[:, dst], starts, axis=1)
    return (sums / deg).T.reshape(x.shape)


def relax(prims: PrimitiveArrays, verts: np.ndarray, edges: np.ndarray, rounds: int = 3,
          amount: float = 0.5):
    """Project, then tangential Laplacian smoothing rounds, each followed by Newton steps.

    Returns the vertices and unit surface normals (the field gradient) at them."""
    v, g = project(prims, verts, steps=2)
    for r in range(rounds):
        nrm = g / np.maximum(np.linalg.norm(g, axis=1), 1e-12)[:, None]
        lap = neighbour_mean(v, edges, len(v)) - v
        lap -= (lap * nrm).sum(1)[:, None] * nrm
        v, g = project(prims, v + amount * lap, steps=2 if r == rounds - 1 else 1)
    return v, g / np.maximum(np.linalg.norm(g, axis=1), 1e-12)[:, None]


def triangulate(verts: np.ndarray, quads: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Split each quad along the diagonal whose two triangles best face along the surface
    normals at their corners (then the shorter one); keeps the quads' orientation."""
    a, b, c, d = quads.T
    splits = ((np.stack([a, b, c], 1), np.stack([a, c, d], 1)),
              (np.stack([a, b, d], 1), np.stack([b, c, d], 1)))

    def facing(tri):
        p = verts[tri]
        n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
        n /= np.maximum(np.linalg.norm(n, axis=1), 1e-20)[:, None]
        return (n[:, None, :] * normals[tri]).sum(-1).min(1)

    score = [np.minimum(facing(t1), facing(t2)) for t1, t2 in splits]
    ac = np.linalg.norm(verts[a] - verts[c], axis=1)
    bd = np.linalg.norm(verts[b] - verts[d], axis=1)
    use_ac = np.where(np.abs(score[0] - score[1]) > 0.05, score[0] > score[1], ac <= bd)
    t1 = np.where(use_ac[:, None], splits[0][0], splits[1][0])
    t2 = np.where(use_ac[:, None], splits[0][1], splits[1][1])
    return np.concatenate([t1, t2]).astype(np.int64)


def mesh_solid(prims: PrimitiveArrays, grid: WarpedGrid, relax_rounds: int = 4):
    """Closed triangle mesh (vertices (V, 3), faces (F, 3)) of the solid ``f < 0``."""
    inside, values = grid_signs(prims, grid)
    verts, quads = surface_nets(grid, inside, values)
    verts, normals = relax(prims, verts, unique_edges(quads), rounds=relax_rounds)
    return verts, triangulate(verts, quads, normals)
