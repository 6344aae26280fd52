"""Frame ranges of a clip's NLA strips: what an export bakes, and what a retime does (bpy-free).

A clip is one imported rig with its prop: the rig's strip(s) and the prop's strip(s) play
together, so its range is the union of their ranges (rounded outwards to whole frames).
"""

from __future__ import annotations

import math
from collections.abc import Iterable


class ClipRangeError(ValueError):
    """A requested frame range would cut the clip; the message gives the clip's range."""


def strip_range(strips: Iterable[tuple[float, float]]) -> tuple[int, int]:
    """Union of (frame_start, frame_end) pairs as whole frames: (floor start, ceil end)."""
    pairs = list(strips)
    if not pairs:
        raise ClipRangeError("the clip has no NLA strips: import the motion again, or push its "
                             "action down to the NLA (Push Down) first")
    return (int(math.floor(min(s for s, _ in pairs) + 1e-6)),
            int(math.ceil(max(e for _, e in pairs) - 1e-6)))


def export_range(clip: str, strips: tuple[int, int],
                 requested: tuple[int, int] | None) -> tuple[int, int]:
    """The frames to bake: the strips' range, or ``requested`` when it covers it."""
    if requested is None:
        return strips
    start, end = requested
    if end < start:
        raise ClipRangeError(f"frame range {start}–{end} is empty: the end must not come "
                             "before the start")
    if start > strips[0] or end < strips[1]:
        raise ClipRangeError(f"frame range {start}–{end} does not cover clip '{clip}' "
                             f"(frames {strips[0]}–{strips[1]}): widen the range or turn "
                             "'Frame Range' off to export the clip's own range")
    return start, end


def retimed(start: float, end: float, pivot: float, factor: float) -> tuple[float, float]:
    """A strip's (start, end) after scaling time by ``factor`` about frame ``pivot``."""
    if not (factor > 0 and math.isfinite(factor)):
        raise ClipRangeError(f"retime factor {factor!r} must be a positive number")
    return pivot + (start - pivot) * factor, pivot + (end - pivot) * factor
