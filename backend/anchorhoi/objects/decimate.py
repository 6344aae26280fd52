"""``decimate``: a closed mesh simplified to a face budget without changing its topology.

Garland and Heckbert's quadric error metric (each vertex carries the sum of its faces' plane
quadrics; an edge collapses to the point of least summed squared distance to those planes, the
cheapest edge first), with the two checks that keep a closed surface closed and whole:

- **link condition**: an edge ``(a, b)`` collapses only if the vertices adjacent to both are
  exactly the two opposite corners of its two faces. Otherwise the collapse would pinch the
  surface — a thin leg or board one lattice cell wide, a tube of three or four vertices round,
  would flatten into a sheet of coincident faces (the library decimator used before,
  fast-simplification, did that to generated tables' legs and shelves' boards at every
  target tried, and its results failed the watertightness check);
- **no fold-over**: no face around the edge may turn by more than ``max_turn_deg`` or shrink to
  nothing at the new point.

The surface must be closed and consistently oriented (every edge shared by two faces running it
in opposite directions), as marching cubes makes it; the result is too, with at most
``target_faces`` faces unless no allowed collapse is left first (then more faces than asked:
the caller checks the count). About a millisecond per collapse on one CPU thread (40,000 faces
to 5,000 in 5–9 s, 15,000 in 1–3 s).
"""

from __future__ import annotations

import heapq
import math

import numpy as np


def decimate(vertices: np.ndarray, faces: np.ndarray, target_faces: int, *,
             max_turn_deg: float = 75.0) -> tuple[np.ndarray, np.ndarray]:
    """``(V, 3)``, ``(F, 3)`` closed mesh → the decimated ``(V', 3)``, ``(F', 3)`` (module
    docstring), vertices compacted, face order not kept."""
    v = np.asarray(vertices, dtype=np.float64).copy()
    f = np.asarray(faces, dtype=np.int64).copy()
    if len(f) <= target_faces:
        return v, f
    min_cos = math.cos(math.radians(max_turn_deg))
    quadrics = _vertex_quadrics(v, f)
    vertex_faces: list[set[int]] = [set() for _ in range(len(v))]
    for i, (a, b, c) in enumerate(f.tolist()):
        vertex_faces[a].add(i)
        vertex_faces[b].add(i)
        vertex_faces[c].add(i)
    neighbours: list[set[int]] = [set() for _ in range(len(v))]
    for a, b, c in f.tolist():
        neighbours[a].update((b, c))
        neighbours[b].update((a, c))
        neighbours[c].update((a, b))
    alive = np.ones(len(f), dtype=bool)
    stamp = [0] * len(v)  # bumped when a vertex moves: older heap entries are stale
    edges = np.array([(a, b) for a in range(len(v)) for b in neighbours[a] if a < b],
                     dtype=np.int64).reshape(-1, 2)
    costs, points = _collapse_targets(quadrics, v, edges[:, 0], edges[:, 1])
    heap = [(c, a, b, 0, 0, p) for c, (a, b), p in
            zip(costs.tolist(), edges.tolist(), points.tolist(), strict=True)]
    heapq.heapify(heap)
    count = len(f)
    while count > target_faces and heap:
        _, a, b, sa, sb, target = heapq.heappop(heap)
        if stamp[a] != sa or stamp[b] != sb or b not in neighbours[a]:
            continue
        shared = vertex_faces[a] & vertex_faces[b]
        if len(shared) != 2 or len(neighbours[a] & neighbours[b]) != 2 or count <= 4:
            continue  # the link condition (and never below a tetrahedron)
        point = np.array(target)
        moved = (vertex_faces[a] | vertex_faces[b]) - shared
        if not _keeps_orientation(v, f, moved, (a, b), point, min_cos):
            continue
        # collapse b into a at `point`
        for i in shared:
            alive[i] = False
            for w in f[i].tolist():
                vertex_faces[w].discard(i)
        for i in vertex_faces[b]:
            f[i][f[i] == b] = a
        vertex_faces[a] |= vertex_faces[b]
        vertex_faces[b] = set()
        for w in neighbours[b]:
            neighbours[w].discard(b)
            if w != a:
                neighbours[w].add(a)
                neighbours[a].add(w)
        neighbours[a].discard(b)
        neighbours[b] = set()
        v[a] = point
        quadrics[a] += quadrics[b]
        count -= 2
        stamp[a] += 1
        stamp[b] += 1
        around = np.fromiter(neighbours[a], dtype=np.int64)
        costs, points = _collapse_targets(quadrics, v, np.full_like(around, a), around)
        for cost, w, p in zip(costs.tolist(), around.tolist(), points.tolist(), strict=True):
            lo, hi = (a, w) if a < w else (w, a)
            heapq.heappush(heap, (cost, lo, hi, stamp[lo], stamp[hi], p))
    kept = f[alive]
    used = np.zeros(len(v), dtype=bool)
    used[kept.reshape(-1)] = True
    remap = np.cumsum(used) - 1
    return v[used], remap[kept].astype(np.int64)


def _vertex_quadrics(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``(V, 4, 4)`` the sum of each vertex's face-plane quadrics, each weighted by its face's
    area (a sliver's plane counts little)."""
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    cross = np.cross(b - a, c - a)
    area2 = np.linalg.norm(cross, axis=1)
    n = cross / np.maximum(area2, 1e-20)[:, None]
    plane = np.concatenate([n, -(n * a).sum(1, keepdims=True)], axis=1)  # (F, 4)
    k = plane[:, :, None] * plane[:, None, :] * (area2 / 2)[:, None, None]
    q = np.zeros((len(v), 4, 4))
    for corner in range(3):
        np.add.at(q, f[:, corner], k)
    return q


def _collapse_targets(quadrics: np.ndarray, v: np.ndarray, a: np.ndarray, b: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``(E,)`` costs and ``(E, 3)`` points of collapsing the edges ``(a[i], b[i])``: the
    quadric's minimiser where three planes pin it (not a flat or a ridge) within an edge
    length of the midpoint, else the best of the two ends and the midpoint."""
    q = quadrics[a] + quadrics[b]  # (E, 4, 4)
    mid = (v[a] + v[b]) / 2
    candidates = [v[a], v[b], mid]
    m = q[:, :3, :3]
    pinned = np.linalg.cond(m) < 1e4
    x = mid.copy()
    if pinned.any():
        x[pinned] = np.linalg.solve(m[pinned], -q[pinned, :3, 3:])[..., 0]
    near = pinned & (np.linalg.norm(x - mid, axis=1) <= np.linalg.norm(v[a] - v[b], axis=1))
    candidates.append(np.where(near[:, None], x, mid))
    points = np.stack(candidates, 1)  # (E, 4, 3)
    h = np.concatenate([points, np.ones(points.shape[:2] + (1,))], -1)
    costs = np.einsum("eci,eij,ecj->ec", h, q, h).clip(min=0.0)
    best = costs.argmin(1)
    rows = np.arange(len(a))
    return costs[rows, best], points[rows, best]


def _keeps_orientation(v: np.ndarray, f: np.ndarray, moved: set[int], edge: tuple[int, int],
                       point: np.ndarray, min_cos: float) -> bool:
    """Whether the faces ``moved`` (those around the edge that survive) keep their facing
    within the allowed turn and a non-zero area once the edge's ends are at ``point`` (a face
    that had no area has no facing to keep)."""
    idx = f[np.fromiter(moved, dtype=np.int64)]  # (M, 3)
    corners = v[idx]  # (M, 3, 3)
    before = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    on_edge = (idx == edge[0]) | (idx == edge[1])
    after_corners = np.where(on_edge[..., None], point, corners)
    after = np.cross(after_corners[:, 1] - after_corners[:, 0],
                     after_corners[:, 2] - after_corners[:, 0])
    nb, na = np.linalg.norm(before, axis=1), np.linalg.norm(after, axis=1)
    tiny = 1e-12 * float(((v[edge[0]] - v[edge[1]]) ** 2).sum())
    keep = nb <= tiny
    keep |= (na > tiny) & ((before * after).sum(1) >= min_cos * nb * na)
    return bool(keep.all())
