"""SMPL-X forward kinematics and axis changes in numpy (shared by the backend and the add-on).

Rotations are axis-angle vectors (SMPL-X/AMASS) or 3×3 matrices, batched over leading
dimensions. ``posed_joints`` is the body model's joint chain without its blend shapes: joint
``j`` goes to ``G_j·(x − J_j) + p_j`` with ``G`` the chained local rotations and ``p`` the
posed joint positions; ``trans`` is added after posing (SMPL-X's convention).
"""

from __future__ import annotations

import numpy as np


def axis_angle_to_matrix(aa: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle → (..., 3, 3) rotation (Rodrigues; exact at 0)."""
    aa = np.asarray(aa, dtype=np.float64)
    theta = np.linalg.norm(aa, axis=-1)
    small = theta < 1e-12
    safe = np.where(small, 1.0, theta)
    x, y, z = np.moveaxis(aa / safe[..., None], -1, 0)  # the unit axis
    zero = np.zeros_like(x)
    kx = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1).reshape(*x.shape, 3, 3)
    eye = np.broadcast_to(np.eye(3), kx.shape)
    s, c = np.sin(safe)[..., None, None], np.cos(safe)[..., None, None]
    out = eye + s * kx + (1.0 - c) * (kx @ kx)
    return np.where(small[..., None, None], eye, out)


def matrix_to_axis_angle(m: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation → (..., 3) axis-angle with angle in [0, π] (stable near 0 and π)."""
    m = np.asarray(m, dtype=np.float64)
    flat = m.reshape(-1, 3, 3)
    out = np.empty((len(flat), 3))
    for i, r in enumerate(flat):
        cos = (np.trace(r) - 1.0) * 0.5
        vee = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
        angle = float(np.arctan2(0.5 * np.linalg.norm(vee), cos))
        if angle < 1e-6:
            out[i] = 0.5 * vee
        elif np.pi - angle < 1e-3:  # near π: the axis from the symmetric part, k·kᵀ
            b = (0.5 * (r + r.T) - cos * np.eye(3)) / (1.0 - cos)
            row = int(np.argmax(np.diag(b)))
            axis = b[row] / np.sqrt(max(b[row, row], 1e-300))
            if axis @ vee < 0:
                axis = -axis
            out[i] = angle * axis
        else:
            out[i] = angle * vee / (2.0 * np.sin(angle))
    return out.reshape(*m.shape[:-2], 3)


def global_rotations(full_pose: np.ndarray, parents) -> np.ndarray:
    """(T, J, 3) local axis-angle → (T, J, 3, 3) rotations chained from the root."""
    local = axis_angle_to_matrix(full_pose)
    out = np.empty_like(local)
    for j, p in enumerate(parents):
        out[:, j] = local[:, j] if p < 0 else out[:, p] @ local[:, j]
    return out


def posed_joints(full_pose: np.ndarray, rest_joints: np.ndarray, parents,
                 trans: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """World joint positions (T, J, 3) and global rotations (T, J, 3, 3) of a posed body."""
    rot = global_rotations(full_pose, parents)
    rest = np.asarray(rest_joints, dtype=np.float64)
    pos = np.empty(rot.shape[:2] + (3,))
    for j, p in enumerate(parents):
        if p < 0:
            pos[:, j] = rest[j]
        else:
            pos[:, j] = pos[:, p] + rot[:, p] @ (rest[j] - rest[p])
    if trans is not None:
        pos = pos + np.asarray(trans, dtype=np.float64)[:, None, :]
    return pos, rot


def skinned_vertices(rot: np.ndarray, joints: np.ndarray, rest_joints: np.ndarray,
                     vertices: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(T, V, 3) linear-blend skinned vertices from ``posed_joints``' rotations and positions."""
    rest = np.asarray(rest_joints, dtype=np.float64)
    offset = joints - np.einsum("tjab,jb->tja", rot, rest)  # (T, J, 3)
    blend_r = np.einsum("vj,tjab->tvab", weights, rot)
    blend_t = np.einsum("vj,tja->tva", weights, offset)
    return np.einsum("tvab,vb->tva", blend_r, np.asarray(vertices, dtype=np.float64)) + blend_t
