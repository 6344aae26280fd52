"""The one place where the body model's Y-up frame meets Blender's Z-up frame.

The body model (SMPL-X) uses Y up with the body facing +Z; Blender uses Z up. ``C`` rotates
+90° about X: (x, y, z) → (x, −z, y), so up stays up and the body faces −Y (towards Blender's
front view). Clips reach the import plan in the body model's Y-up world (Z-up files such as
AMASS and results v1.1 are turned by ``portable/up_axis.py`` first).

``C`` goes into the data, never into an object's world matrix: the game skeleton's rest joints
and body mesh are ``C``-turned (``game_skeleton.py``), so the armature object's matrix is the
identity; the object's per-frame transform is ``C·[R | t]`` over its Y-up mesh.
"""

from __future__ import annotations

import numpy as np

from ..portable.up_axis import C_QUATERNION, C
from . import quaternions


def c_matrix() -> np.ndarray:
    """(4, 4) of ``C``: a Y-up frame shown Z-up."""
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
    c4 = c_matrix()
    return c4 @ np.asarray(m, dtype=np.float64) @ c4.T


def rigid_to_blender(trans: np.ndarray, rot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame rigid transforms ``[R | t]`` of a Y-up mesh → Blender location and quaternion
    (w, x, y, z) of ``C·[R | t]``."""
    return points_to_blender(trans), quaternions.multiply(C_QUATERNION, rot)

