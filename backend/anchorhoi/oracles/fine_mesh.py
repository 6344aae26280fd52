"""A finely subdivided box of any face count, written as OBJ or PLY: the heavy object of the
big-mesh bench (``bench/big_mesh.py``) and of the tests that cancel a job holding one.

Each of the box's six sides is an ``n × n`` grid of squares, two triangles each, with the grid
points shared along the edges, so the surface is closed and consistently oriented (normals
outward): ``12 n²`` faces, ``6 n² + 2`` vertices.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def fine_box(faces: int, size: tuple[float, float, float] = (0.5, 0.45, 0.45)
             ) -> tuple[np.ndarray, np.ndarray]:
    """``(vertices (V, 3) float64, faces (F, 3) int64)`` of a closed box of at least ``faces``
    triangles (the next ``12 n²``), ``size`` metres wide, high and deep, standing on y = 0."""
    n = max(1, math.ceil(math.sqrt(faces / 12)))
    side = np.arange(n + 1)
    u, v = (g.ravel() for g in np.meshgrid(side, side, indexing="ij"))
    a = (u[:, None] * (n + 1) + v[:, None]).reshape(n + 1, n + 1)  # grid index of (u, v)
    cells = np.stack([a[:-1, :-1].ravel(), a[1:, :-1].ravel(), a[1:, 1:].ravel(),
                      a[:-1, 1:].ravel()], 1)
    quad = np.concatenate([cells[:, [0, 1, 2]], cells[:, [0, 2, 3]]])  # normal +w for (u, v, w)
    points: list[np.ndarray] = []
    tris: list[np.ndarray] = []
    for axis in range(3):
        others = [k for k in range(3) if k != axis]
        for level in (0, n):
            p = np.empty((len(u), 3), dtype=np.int64)
            p[:, others[0]], p[:, others[1]], p[:, axis] = u, v, level
            # (others[0], others[1], axis) is a right-handed frame for axis 0 and 2 (x: y, z;
            # z: x, y) and a left-handed one for axis 1 (y: x, z): flip where that points in
            inward = (level == 0) != (axis == 1)
            tris.append((quad[:, ::-1] if inward else quad) + len(u) * len(points))
            points.append(p)
    lattice = np.concatenate(points)
    key = (lattice[:, 0] * (n + 1) + lattice[:, 1]) * (n + 1) + lattice[:, 2]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    vertices = lattice[first] / n * np.asarray(size) - [size[0] / 2, 0.0, size[2] / 2]
    return vertices.astype(np.float64), inverse.reshape(-1)[np.concatenate(tris)]


def write_fine_box(path: Path, faces: int) -> Path:
    """:func:`fine_box` with ``faces`` faces written to ``path`` (``.obj``: text; ``.ply``:
    binary little-endian); returns ``path``."""
    vertices, tris = fine_box(faces)
    if path.suffix.lower() == ".ply":
        header = (f"ply\nformat binary_little_endian 1.0\nelement vertex {len(vertices)}\n"
                  "property float x\nproperty float y\nproperty float z\n"
                  f"element face {len(tris)}\nproperty list uchar int vertex_indices\n"
                  "end_header\n").encode("ascii")
        rows = np.empty(len(tris), dtype=[("n", "u1"), ("i", "<i4", (3,))])
        rows["n"], rows["i"] = 3, tris
        path.write_bytes(header + vertices.astype("<f4").tobytes() + rows.tobytes())
        return path
    with open(path, "w", encoding="ascii") as fh:
        fh.write("# fine box\n")
        np.savetxt(fh, vertices, fmt="v %.6f %.6f %.6f")
        np.savetxt(fh, tris + 1, fmt="f %d %d %d")
    return path
