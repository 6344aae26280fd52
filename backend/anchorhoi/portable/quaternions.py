"""Quaternion sign continuity (numpy), shared by the backend's results and the add-on's keys."""

from __future__ import annotations

import numpy as np


def make_continuous(q: np.ndarray, axis: int = 0) -> np.ndarray:
    """Quaternions ``q`` (..., 4) with signs flipped along ``axis`` (time) so that consecutive
    ones have a non-negative dot product; a new float64 array, ``q`` is not modified.

    q and −q are the same rotation, but an animation curve interpolates the four numbers: a
    sign flip between two keys swings the rotation through the opposite hemisphere. The first
    quaternion keeps its sign; each later one is flipped into the hemisphere of its (already
    flipped) predecessor.
    """
    q = np.moveaxis(np.asarray(q, dtype=np.float64), axis, 0).copy()
    if len(q) > 1:
        dots = np.sum(q[1:] * q[:-1], axis=-1)
        flips = np.concatenate([np.ones((1,) + dots.shape[1:]), np.where(dots < 0, -1.0, 1.0)])
        q *= np.cumprod(flips, axis=0)[..., None]
    return np.moveaxis(q, 0, axis)
