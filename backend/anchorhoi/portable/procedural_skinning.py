"""Step 4 of the procedural body: skinning weights — a soft-min over the primitives' distances,
by bone, smoothed over the mesh, at most ``MAX_INFLUENCES`` joints per vertex."""

from __future__ import annotations

import numpy as np

from . import procedural_mesh as pm
from .skeleton import NUM_JOINTS

MAX_INFLUENCES = 4


def _sparsify(w: np.ndarray, keep: int, floor: float = 0.0) -> np.ndarray:
    """Keep the ``keep`` largest weights of each row, drop those under ``floor`` times the
    row's sum, and renormalise the rows to sum to 1."""
    order = np.argpartition(-w, keep - 1, axis=1)[:, :keep]
    rows = np.arange(len(w))[:, None]
    top = w[rows, order]
    top = np.where(top >= floor * top.sum(1, keepdims=True), top, 0.0)
    out = np.zeros_like(w)
    out[rows, order] = top / top.sum(1, keepdims=True)
    return out


def skinning_weights(prims: pm.PrimitiveArrays, verts: np.ndarray, edges: np.ndarray,
                     smooth_passes: int = 3) -> np.ndarray:
    """(V, 55): soft-min over the primitives' fields, by bone; then smoothed over the mesh."""
    dist = prims.distances(verts, reach=0.04)  # (V, P)
    per_joint = np.full((len(verts), NUM_JOINTS), np.inf)
    for j in np.unique(prims.bone):
        per_joint[:, j] = dist[:, prims.bone == j].min(axis=1)
    # Sharpness: a fraction of the thickness of the nearest primitive (fingers blend over mm).
    thickness = np.minimum(prims.ra, prims.rb) * prims.s_min
    tau = np.clip(0.3 * thickness, 0.002, 0.012)[np.argmin(dist, axis=1)]
    best = per_joint.min(axis=1, keepdims=True)
    w = np.exp(-(per_joint - best) / tau[:, None])  # exp(-inf) = 0 for far joints
    w = _sparsify(w, MAX_INFLUENCES)
    for _ in range(smooth_passes):
        w = 0.5 * w + 0.5 * pm.neighbour_mean(w, edges, len(verts))
    return _sparsify(w, MAX_INFLUENCES, floor=0.01)
