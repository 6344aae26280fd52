"""Scores of a recovered motion against the ground truth (numpy, float64, metres in, metres
out unless a name says otherwise).

* ``mpjpe``: mean joint position error in the world frame (no alignment: the global trajectory
  counts — stage E must place the body, not only pose it).
* ``pa_mpjpe``: the same after a per-frame similarity Procrustes alignment (scale, rotation,
  translation) of the prediction onto the ground truth.
* ``accel_error``: mean norm of the acceleration difference, m/s².
* ``foot_skating``: mean horizontal displacement of a foot joint between consecutive frames where
  the ground truth has it in contact (within ``height_m`` of the ground in both frames and
  slower than ``speed_mps``), metres per contact frame pair.
* ``max_penetration``: deepest body vertex inside the object (exact signed distance to the
  mesh) and below the ground.
* ``object_translation_error``: mean distance between the object frame's origins.
"""

from __future__ import annotations

import numpy as np

from .plausibility import object_distances

FOOT_JOINTS = (10, 11)
"""left_foot, right_foot (the balls of the feet, 2–3 cm above the sole at rest)."""


def _check(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 3:
        raise ValueError(f"joints must both be (T, J, 3), got {pred.shape} and {gt.shape}")
    return pred, gt


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """``pred, gt (T, J, 3)`` → mean ‖pred − gt‖."""
    pred, gt = _check(pred, gt)
    return float(np.linalg.norm(pred - gt, axis=-1).mean())


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """``pred (T, J, 3)`` mapped per frame by the similarity ``s·R·x + t`` closest to ``gt``
    (Umeyama; ``R`` a proper rotation)."""
    pred, gt = _check(pred, gt)
    mp, mg = pred.mean(1, keepdims=True), gt.mean(1, keepdims=True)
    x, y = pred - mp, gt - mg
    cov = np.einsum("tji,tjk->tik", y, x)  # Σ y xᵀ
    u, sig, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.ones_like(sig)
    fix[:, -1] = d
    rot = u @ (fix[..., None] * vt)
    var = (x ** 2).sum((1, 2))
    scale = (sig * fix).sum(-1) / np.maximum(var, 1e-12)
    return scale[:, None, None] * np.einsum("tik,tjk->tji", rot, x) + mg


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """MPJPE after a per-frame similarity alignment of ``pred`` onto ``gt``."""
    return mpjpe(procrustes_align(pred, gt), gt)


def accel_error(pred: np.ndarray, gt: np.ndarray, fps: float) -> float:
    """Mean ‖a_pred − a_gt‖ (m/s²) with second differences × fps²; 0 for fewer than 3 frames."""
    pred, gt = _check(pred, gt)
    if len(pred) < 3:
        return 0.0
    acc = lambda x: (x[2:] - 2 * x[1:-1] + x[:-2]) * fps * fps  # noqa: E731
    return float(np.linalg.norm(acc(pred) - acc(gt), axis=-1).mean())


def foot_contact_pairs(gt_feet: np.ndarray, ground_y: float, fps: float, *,
                       height_m: float = 0.05, speed_mps: float = 0.1) -> np.ndarray:
    """``gt_feet (T, F, 3)`` → ``(T-1, F)`` bool: the foot joint is within ``height_m`` of the
    ground in both frames and moves slower than ``speed_mps`` horizontally between them."""
    low = gt_feet[..., 1] - ground_y < height_m
    step = np.linalg.norm(gt_feet[1:, :, [0, 2]] - gt_feet[:-1, :, [0, 2]], axis=-1) * fps
    return low[1:] & low[:-1] & (step < speed_mps)


def foot_skating(pred: np.ndarray, gt: np.ndarray, ground_y: float, fps: float, *,
                 joints: tuple[int, ...] = FOOT_JOINTS, contact: np.ndarray | None = None,
                 height_m: float = 0.05, speed_mps: float = 0.1) -> float:
    """Mean horizontal displacement (m) of the predicted foot ``joints`` over the frame pairs
    where the ground truth has them in contact (``contact (T-1, F)`` overrides the detection);
    0 when there is none."""
    pred, gt = _check(pred, gt)
    pf, gf = pred[:, list(joints)], gt[:, list(joints)]
    if contact is None:
        contact = foot_contact_pairs(gf, ground_y, fps, height_m=height_m, speed_mps=speed_mps)
    slide = np.linalg.norm(pf[1:, :, [0, 2]] - pf[:-1, :, [0, 2]], axis=-1)
    return float(slide[contact].mean()) if contact.any() else 0.0


def max_penetration(vertices: np.ndarray, obj_vertices: np.ndarray, obj_faces: np.ndarray,
                    obj_rot: np.ndarray, obj_trans: np.ndarray, ground_y: float | None = None
                    ) -> tuple[float, float]:
    """(deepest inside the object, deepest below the ground), metres, ≥ 0.

    ``vertices (T, V, 3)`` world; the object mesh ``(Vo, 3)``/``(Fo, 3)`` in its own frame,
    placed per frame by ``obj_rot (T, 3, 3)`` (object → world) and ``obj_trans (T, 3)``. Only
    vertices inside the object's bounding box are measured (exact signed distance)."""
    verts = np.asarray(vertices, dtype=np.float64)
    inside = float(object_distances(verts, obj_vertices, obj_faces, obj_rot,
                                    obj_trans)["inside"].max(initial=0.0))
    below = 0.0 if ground_y is None else max(0.0, float(ground_y - verts[..., 1].min()))
    return inside, below


def object_translation_error(pred_trans: np.ndarray, gt_trans: np.ndarray) -> float:
    """Mean ‖pred − gt‖ of the object origin over frames (``(T, 3)`` each)."""
    p, g = np.asarray(pred_trans, np.float64), np.asarray(gt_trans, np.float64)
    if p.shape != g.shape:
        raise ValueError(f"object translations differ in shape: {p.shape} vs {g.shape}")
    return float(np.linalg.norm(p - g, axis=-1).mean())
