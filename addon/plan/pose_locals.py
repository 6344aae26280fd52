"""From world (armature-space) bone matrices back to the pose channels Blender keys (bpy-free).

Blender composes a pose bone's armature-space matrix as ``P_b = P_p · (R_p⁻¹ · R_b) · L_b``
(``R``: the bones' rest ``matrix_local``, ``L``: the key-able ``matrix_basis``), and
``P_b = R_b · L_b`` for a bone without a parent. Inverting that gives the location and
quaternion keys that reproduce any sampled pose on a rig with the same rest.
"""

from __future__ import annotations

import numpy as np

from ..portable.quaternions import make_continuous


def basis_matrices(pose: np.ndarray, rest: np.ndarray, parents: list[int]) -> np.ndarray:
    """(T, J, 4, 4) armature-space pose matrices → (T, J, 4, 4) ``matrix_basis`` per bone for
    rest matrices ``rest`` (J, 4, 4); ``parents[j]`` < 0 for a bone without a parent."""
    pose, rest = np.asarray(pose, np.float64), np.asarray(rest, np.float64)
    out = np.empty_like(pose)
    rest_inv = np.linalg.inv(rest)
    pose_inv = np.linalg.inv(pose)
    for j, p in enumerate(parents):
        if p < 0:
            out[:, j] = rest_inv[j] @ pose[:, j]
        else:
            offset = rest_inv[j] @ rest[p]  # (R_p⁻¹ R_b)⁻¹
            out[:, j] = offset @ pose_inv[:, p] @ pose[:, j]
    return out


def matrix_quaternions(m: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices → (..., 4) unit quaternions (w, x, y, z), batched
    (Shepperd's method: the largest of w, x, y, z decides the formula)."""
    m = np.asarray(m, np.float64)
    tr = np.trace(m, axis1=-2, axis2=-1)
    d = np.stack([tr, m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]], axis=-1)
    pick = np.argmax(np.stack([tr, 2 * d[..., 1] - tr, 2 * d[..., 2] - tr,
                               2 * d[..., 3] - tr], axis=-1), axis=-1)
    q = np.empty(m.shape[:-2] + (4,))
    a21, a12 = m[..., 2, 1], m[..., 1, 2]
    a02, a20 = m[..., 0, 2], m[..., 2, 0]
    a10, a01 = m[..., 1, 0], m[..., 0, 1]
    for k in range(4):
        sel = pick == k
        if not np.any(sel):
            continue
        if k == 0:
            s = 2.0 * np.sqrt(np.maximum(1.0 + tr[sel], 1e-12))
            cand = [0.25 * s, (a21 - a12)[sel] / s, (a02 - a20)[sel] / s, (a10 - a01)[sel] / s]
        elif k == 1:
            s = 2.0 * np.sqrt(np.maximum(1.0 + 2 * d[..., 1][sel] - tr[sel], 1e-12))
            cand = [(a21 - a12)[sel] / s, 0.25 * s, (a01 + a10)[sel] / s, (a02 + a20)[sel] / s]
        elif k == 2:
            s = 2.0 * np.sqrt(np.maximum(1.0 + 2 * d[..., 2][sel] - tr[sel], 1e-12))
            cand = [(a02 - a20)[sel] / s, (a01 + a10)[sel] / s, 0.25 * s, (a12 + a21)[sel] / s]
        else:
            s = 2.0 * np.sqrt(np.maximum(1.0 + 2 * d[..., 3][sel] - tr[sel], 1e-12))
            cand = [(a10 - a01)[sel] / s, (a02 + a20)[sel] / s, (a12 + a21)[sel] / s, 0.25 * s]
        q[sel] = np.stack(cand, axis=-1)
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[..., :1] < 0, -q, q)


def pose_channels(basis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, J, 4, 4) basis matrices → locations (T, J, 3) and sign-continuous quaternions
    (T, J, 4); the matrices' scale is dropped (the rig's bones do not scale)."""
    rot = basis[..., :3, :3]
    rot = rot / np.linalg.norm(rot, axis=-2, keepdims=True)
    return basis[..., :3, 3].copy(), make_continuous(matrix_quaternions(rot), axis=0)


def normalized(m: np.ndarray) -> np.ndarray:
    """(..., 4, 4) transforms with the scale taken out of their 3×3 part."""
    out = np.array(m, dtype=np.float64)
    out[..., :3, :3] /= np.linalg.norm(out[..., :3, :3], axis=-2, keepdims=True)
    return out
