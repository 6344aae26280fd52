"""The one place where the body model's Y-up frame becomes Blender's Z-up frame.

The body model (SMPL-X, AMASS, our results) uses Y up with the body facing +Z; Blender uses
Z up. ``C`` rotates +90° about X: (x, y, z) → (x, −z, y), so up stays up and the body faces −Y
(towards Blender's front view). Points map by ``C``, rotations by conjugation ``C·R·Cᵀ``.
"""

from __future__ import annotations

import numpy as np

C = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def points_to_blender(p: np.ndarray) -> np.ndarray:
    """(..., 3) positions or displacements, Y-up → Z-up."""
    return np.asarray(p, dtype=np.float64) @ C.T


def points_from_blender(p: np.ndarray) -> np.ndarray:
    return np.asarray(p, dtype=np.float64) @ C


def quaternions_to_blender(q: np.ndarray) -> np.ndarray:
    """(..., 4) (w, x, y, z) of R → quaternion of C·R·Cᵀ: the vector part rotates by C."""
    q = np.asarray(q, dtype=np.float64)
    return np.concatenate([q[..., :1], points_to_blender(q[..., 1:])], axis=-1)


def matrices_to_blender(m: np.ndarray) -> np.ndarray:
    """(..., 4, 4) rigid transforms in the Y-up frame → the same transforms in Blender's frame."""
    c4 = np.eye(4)
    c4[:3, :3] = C
    return c4 @ np.asarray(m, dtype=np.float64) @ c4.T
