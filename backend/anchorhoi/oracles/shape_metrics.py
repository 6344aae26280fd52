"""How close a recovered mesh is to the true one (the object-generation benches and tests).

Both meshes are given in world coordinates (``(V, 3)`` vertices, ``(F, 3)`` faces, metres).

- ``chamfer_distance``: the symmetric mean Chamfer distance — points drawn uniformly on each
  surface (area-weighted), the mean distance from each set to the nearest point of the other,
  the two means averaged;
- ``volume_iou``: intersection over union of the two solids on a voxel lattice over both
  bounding boxes (a lattice point is inside a mesh where its generalised winding number is
  above ½, ``objects.inside.winding_number``).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import cKDTree

from ..objects.inside import winding_number


def surface_samples(vertices: np.ndarray, faces: np.ndarray, n: int,
                    rng: np.random.Generator) -> np.ndarray:
    """(n, 3) points uniform over the surface (faces chosen by area, barycentric draws)."""
    tri = np.asarray(vertices, dtype=np.float64)[np.asarray(faces, dtype=np.int64)]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    idx = rng.choice(len(tri), size=n, p=area / area.sum())
    u, v = rng.random((2, n))
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    t = tri[idx]
    return t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0])


def chamfer_distance(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], *,
                     samples: int = 20000, seed: int = 0) -> float:
    """Symmetric mean Chamfer distance (metres) between meshes ``a`` and ``b``."""
    rng = np.random.default_rng(seed)
    pa, pb = surface_samples(*a, samples, rng), surface_samples(*b, samples, rng)
    return 0.5 * float(cKDTree(pb).query(pa)[0].mean() + cKDTree(pa).query(pb)[0].mean())


def volume_iou(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], *,
               cell: float = 0.01) -> float:
    """Volumetric IoU of the solids of ``a`` and ``b`` on a lattice of ``cell`` metres."""
    va, vb = np.asarray(a[0], dtype=np.float64), np.asarray(b[0], dtype=np.float64)
    lo = np.minimum(va.min(0), vb.min(0)) - cell
    hi = np.maximum(va.max(0), vb.max(0)) + cell
    axes = [np.arange(lo[i] + cell / 2, hi[i], cell) for i in range(3)]
    points = torch.as_tensor(np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3))
    inside_a = (winding_number(points, va, a[1]) > 0.5).numpy()
    inside_b = (winding_number(points, vb, b[1]) > 0.5).numpy()
    union = int((inside_a | inside_b).sum())
    return float((inside_a & inside_b).sum()) / union if union else 0.0
