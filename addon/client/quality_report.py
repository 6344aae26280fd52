"""The result's plausibility report as the panel shows it (bpy-free): one row per figure of
``result.json``'s ``quality.plausibility`` with its value and its pass / warn verdict (see
``docs/result-format.md``)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from ..portable import result_v1
from .result_object import object_line

LABELS = {
    "penetration_max_mm": "Deepest penetration",
    "penetration_frames_share": "Frames penetrating",
    "skating_frames_share": "Frames skating",
    "skate_mm_per_planted_frame": "Foot slide / planted frame",
    "floating_mm": "Feet floating",
    "hand_contact_share": "Held frames with hand contact",
    "object_support_gap_mm": "Resting object's gap",
    "off_keypoints_share": "Frames off the video's pose",
}
"""Row labels by figure name (unknown figures show their name)."""


@dataclass(frozen=True)
class QualityRow:
    """One figure as the panel shows it."""

    label: str
    """What it measures."""
    value: str
    """The value with its unit, and the limit (``—`` where nothing was measured)."""
    status: str
    """``pass``, ``warn`` or ``n/a``."""


def _text(figure: dict[str, Any]) -> str:
    value, unit, limit = figure.get("value"), figure.get("unit"), figure.get("limit")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return "—"
    sign = "≥" if figure.get("better") == "higher" else "≤"
    if unit == "share":
        return f"{100 * value:.0f} % ({sign} {100 * float(limit or 0):.0f} %)"
    return f"{value:.1f} {unit} ({sign} {float(limit or 0):g})"


def quality_rows(doc: dict[str, Any]) -> list[QualityRow]:
    """The rows of a read ``result.json`` (none when it carries no plausibility report)."""
    quality = doc.get("quality")
    report = quality.get("plausibility") if isinstance(quality, dict) else None
    if not isinstance(report, dict):
        return []
    rows = []
    for name, figure in report.items():
        if not isinstance(figure, dict):
            continue
        status = figure.get("status")
        rows.append(QualityRow(label=LABELS.get(name, str(name)), value=_text(figure),
                               status=status if status in ("pass", "warn") else "n/a"))
    return rows


class QualityCache:
    """The rows of one job folder's ``result.json`` and its object's line, read again only when
    the file changes (the panel draws often)."""

    def __init__(self) -> None:
        self.key: tuple[str, float] | None = None
        self.rows: list[QualityRow] = []
        self.object_text: str | None = None

    def rows_for(self, job_dir: str) -> list[QualityRow]:
        """The rows of ``job_dir``'s result (none without a readable result)."""
        return self._read(job_dir)[0]

    def object_for(self, job_dir: str) -> str | None:
        """Where the result's object came from (``result_object.object_line``), or None."""
        return self._read(job_dir)[1]

    def _read(self, job_dir: str) -> tuple[list[QualityRow], str | None]:
        path = os.path.join(job_dir, result_v1.RESULT_JSON)
        try:
            key = (path, os.path.getmtime(path))
        except OSError:
            return [], None
        if key != self.key:
            try:
                doc = result_v1.read_result_json(path)
                self.rows, self.object_text = quality_rows(doc), object_line(doc)
            except result_v1.MotionFileError:
                self.rows, self.object_text = [], None
            self.key = key
        return self.rows, self.object_text
