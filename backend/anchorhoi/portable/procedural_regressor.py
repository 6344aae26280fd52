"""Step 5 of the procedural body: the joint regressor — rings of vertices around each joint
(where rays from the joint leave the solid), weighted to hit the joint exactly."""

from __future__ import annotations

import numpy as np

from .skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS


def _ring_spec(joints: np.ndarray, ends: np.ndarray):
    """Per joint: ring axis (None: rays in all directions), ray reach, ring offset."""
    spec = {}
    y = np.array([0.0, 1.0, 0.0])
    for i, name in enumerate(JOINT_NAMES):
        axis = ends[i] - joints[i]
        reach, offset = 0.12, 0.015
        if name in ("pelvis", "spine1", "spine2", "spine3"):
            axis, reach = y, 0.25
        elif name == "head":
            axis, reach, offset = y, 0.15, 0.012
        elif name.endswith(("hip", "collar")):
            reach = 0.2 if name.endswith("hip") else 0.15
        elif name.endswith("ankle"):
            axis, reach, offset = joints[i] - joints[PARENTS[i]], 0.10, 0.012
        elif name.endswith(("foot", "elbow")):
            reach, offset = 0.10, 0.012
        elif name == "neck":
            reach, offset = 0.15, 0.012
        elif name.endswith("wrist"):
            reach, offset = 0.08, 0.008
        elif name.endswith("thumb1"):
            reach, offset = 0.04, 0.004
        elif name[-1] in "123":  # finger joints (at the knuckles: stay off the neighbours)
            reach, offset = (0.016 if name[-1] == "1" else 0.03), 0.003
        elif name in ("jaw", "left_eye_smplhf", "right_eye_smplhf"):
            axis, reach, offset = None, 0.2, 0.0
        spec[i] = (None if axis is None else axis / np.linalg.norm(axis), reach, offset)
    return spec


def _star() -> np.ndarray:
    """14 unit directions: the 6 axes and the 8 cube diagonals."""
    axes = np.concatenate([np.eye(3), -np.eye(3)])
    diag = np.array([(a, b, c) for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)]) / np.sqrt(3)
    return np.concatenate([axes, diag])


def _perpendicular_ring(axis: np.ndarray, n: int = 8) -> np.ndarray:
    helper = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    w = np.cross(axis, u)
    ang = 2 * np.pi * np.arange(n) / n
    return np.cos(ang)[:, None] * u + np.sin(ang)[:, None] * w


def _exact_convex_weights(points: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Weights >= 0 summing to 1 with ``weights @ points == target``, closest to uniform."""
    n = len(points)
    active = np.ones(n, bool)
    for _ in range(n):
        idx = np.flatnonzero(active)
        A = np.vstack([points[idx].T, np.ones(len(idx))])  # (4, m)
        w0 = np.full(len(idx), 1.0 / len(idx))
        r = np.append(target, 1.0) - A @ w0
        w = w0 + A.T @ np.linalg.lstsq(A @ A.T, r, rcond=None)[0]
        if w.min() >= 0:
            break
        active[idx[np.argmin(w)]] = False
    out = np.zeros(n)
    out[idx] = np.maximum(w, 0)
    if np.abs(out @ points - target).max() > 1e-9 or abs(out.sum() - 1) > 1e-12:
        raise RuntimeError("joint regressor: the joint is not surrounded by its ring")
    return out


def nearest_vertex(verts: np.ndarray, points: np.ndarray, window: float = 0.04) -> np.ndarray:
    """Index of the vertex nearest to each point (points near the mesh: searched in x-slabs)."""
    points = np.asarray(points, float).reshape(-1, 3)
    by_x = np.argsort(verts[:, 0], kind="stable")
    xs = verts[by_x, 0]
    order = np.argsort(points[:, 0], kind="stable")
    out = np.empty(len(points), np.int64)
    for s in range(0, len(points), 64):
        sel = order[s:s + 64]
        p = points[sel]
        i0, i1 = np.searchsorted(xs, [p[:, 0].min() - window, p[:, 0].max() + window])
        cand = by_x[i0:i1]
        v = verts[cand]
        d = ((p[:, None, :] - v[None, :, :]) ** 2).sum(-1)
        best = np.argmin(d, axis=1)
        out[sel] = cand[best]
        far = d[np.arange(len(sel)), best] > window**2
        for k in np.flatnonzero(far):  # not within the slab: search everything
            out[sel[k]] = np.argmin(((verts - p[k]) ** 2).sum(1))
    return out


def joint_regressor_rays(joints: np.ndarray, ends: np.ndarray):
    """The rays whose exits give each joint's ring: (joint index, origin, direction, reach)."""
    rows = []
    for i, (axis, reach, offset) in _ring_spec(joints, ends).items():
        if axis is None:
            for d in _star():
                rows.append((i, joints[i], d, reach))
        else:
            for side in (-1, 1):
                for d in _perpendicular_ring(axis):
                    rows.append((i, joints[i] + side * offset * axis, d, reach))
    owner = np.array([r[0] for r in rows])
    return owner, np.array([r[1] for r in rows]), np.array([r[2] for r in rows]), \
        np.array([r[3] for r in rows])


def joint_regressor(verts: np.ndarray, joints: np.ndarray, owner: np.ndarray,
                    hits: np.ndarray) -> np.ndarray:
    """(55, V): each row averages the vertices nearest to its ring's exits, hitting the joint."""
    reg = np.zeros((NUM_JOINTS, len(verts)))
    ok = np.isfinite(hits[:, 0])
    nearest = nearest_vertex(verts, hits[ok])
    owner = owner[ok]
    for i in range(NUM_JOINTS):
        ring = np.unique(nearest[owner == i])
        reg[i, ring] = _exact_convex_weights(verts[ring], joints[i])
    return reg
