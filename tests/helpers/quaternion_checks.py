"""Quaternion checks shared by the key-reduction tests (numpy only)."""

from __future__ import annotations

import numpy as np


def axis_angle_to_quat(aa: np.ndarray) -> np.ndarray:
    """(N, 3) axis-angle → (N, 4) unit quaternions w, x, y, z."""
    angle = np.linalg.norm(aa, axis=1, keepdims=True)
    axis = aa / np.maximum(angle, 1e-12)
    return np.concatenate([np.cos(angle / 2), axis * np.sin(angle / 2)], axis=1)


def rotation_angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,) rotation angle between quaternion rows a and b (any length, any sign), degrees."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    dot = np.sum(a * b, axis=1)
    perp = np.linalg.norm(a - dot[:, None] * b, axis=1)
    return np.degrees(2.0 * np.arctan2(perp, np.abs(dot)))
