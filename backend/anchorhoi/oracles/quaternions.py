"""The case files store object rotations as quaternions (w, x, y, z); the oracles use matrices."""

from __future__ import annotations

import numpy as np
import torch

from ..body import axis_angle_to_matrix
from ..body.rotations import quaternion_to_axis_angle


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """``(..., 4)`` w, x, y, z (any norm) → ``(..., 3, 3)`` rotation matrices, float64."""
    q = np.asarray(q, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return axis_angle_to_matrix(quaternion_to_axis_angle(torch.as_tensor(q))).numpy()
