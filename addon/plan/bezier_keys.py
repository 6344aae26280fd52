"""Bézier keys of one group of F-curves (the channels of one property), as the key reduction
hands them to Blender: the keys, their handles, and the handle type and interpolation Blender
must be given so that it keeps them as written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

HANDLE_TYPE: Final = "FREE"
"""Handle type for both handles of every key point. ``FCurve.update()`` (and every other handle
recalculation) leaves FREE handles exactly as written. ALIGNED handles are re-aligned there: one
handle of each key is recomputed from the other, which for these collinear handles is float
rounding, but they are no longer exactly what was written. AUTO, AUTO_CLAMPED (the type
``keyframe_points.add`` gives) and VECTOR handles are recomputed from the keys, which changes the
curve far beyond the tolerance. Set the types before writing the handle coordinates."""

INTERPOLATION: Final = "BEZIER"
"""Interpolation of every key point (the segment after a key uses that key's interpolation)."""


@dataclass(frozen=True, kw_only=True, eq=False)  # eq=False: fields are arrays
class BezierKeys:
    """Bézier keys of one group of F-curves; all channels share the key frames."""

    frames: np.ndarray
    """(K,) float64 key frames: whole frames, strictly increasing, a subset of the input frames
    including the first and the last."""
    values: np.ndarray
    """(K, C) key values per channel (``keyframe_points[i].co[1]`` of channel ``c``)."""
    left_handles: np.ndarray
    """(K, C, 2) (frame, value) of each key's left handle per channel, as
    ``keyframe_points[i].handle_left``."""
    right_handles: np.ndarray
    """(K, C, 2) (frame, value) of each key's right handle per channel, as
    ``keyframe_points[i].handle_right``."""

    def __post_init__(self) -> None:
        k = np.shape(self.frames)
        if len(k) != 1 or k[0] < 1:
            raise ValueError(f"BezierKeys.frames must have shape (K,) with K >= 1, got {k}")
        if np.ndim(self.values) != 2 or np.shape(self.values)[0] != k[0]:
            raise ValueError(
                f"BezierKeys.values must have shape ({k[0]}, C), got {np.shape(self.values)}"
            )
        want = (k[0], np.shape(self.values)[1], 2)
        for name in ("left_handles", "right_handles"):
            if np.shape(getattr(self, name)) != want:
                raise ValueError(
                    f"BezierKeys.{name} must have shape {want}, "
                    f"got {np.shape(getattr(self, name))}"
                )
        if np.any(np.diff(self.frames) <= 0):
            raise ValueError("BezierKeys.frames must be strictly increasing")

    @property
    def num_keys(self) -> int:
        return len(self.frames)
