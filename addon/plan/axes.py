"""The one place where the body model's Y-up frame meets Blender's Z-up frame.

The body model (SMPL-X, AMASS, our results) uses Y up with the body facing +Z; Blender uses
Z up. ``C`` rotates +90° about X: (x, y, z) → (x, −z, y), so up stays up and the body faces −Y
(towards Blender's front view).

The imported data stays in the Y-up frame and ``C`` sits in the object transforms: the
armature object's world matrix is ``C`` (bones, body mesh and pose rotations are SMPL-X's own
numbers), and the object's per-frame transform is ``C·[R | t]`` over its Y-up mesh. An FBX
export to a Y-up engine then cancels ``C`` exactly, so the rig's root carries no rotation.
"""

from __future__ import annotations

import numpy as np

from . import quaternions

C = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
C_QUATERNION = np.array([np.cos(np.pi / 4), np.sin(np.pi / 4), 0.0, 0.0])  # (w, x, y, z) of C


def root_matrix() -> np.ndarray:
    """(4, 4) world matrix of an imported armature: Y-up data shown Z-up."""
    m = np.eye(4)
    m[:3, :3] = C
    return m


def points_to_blender(p: np.ndarray) -> np.ndarray:
    """(..., 3) positions in the Y-up frame → Blender world positions."""
    return np.asarray(p, dtype=np.float64) @ C.T


def points_from_blender(x: np.ndarray) -> np.ndarray:
    """(..., 3) Blender world positions → the Y-up frame (the inverse of ``points_to_blender``)."""
    return np.asarray(x, dtype=np.float64) @ C


def matrix_to_blender(m: np.ndarray) -> np.ndarray:
    """(4, 4) transform of the Y-up frame → the same transform seen in Blender: ``C·m·C⁻¹``."""
    c4 = root_matrix()
    return c4 @ np.asarray(m, dtype=np.float64) @ c4.T


def rigid_to_blender(trans: np.ndarray, rot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame rigid transforms ``[R | t]`` of a Y-up mesh → Blender location and quaternion
    (w, x, y, z) of ``C·[R | t]``."""
    return points_to_blender(trans), quaternions.multiply(C_QUATERNION, rot)

