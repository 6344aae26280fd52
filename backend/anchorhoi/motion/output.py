"""Stage E's output: the clip of a result v1 with its metadata, and the result's files.

``motion.npz`` (AMASS SMPL-X keys, the object's trajectory and mesh ``obj_*``, the rig
``rig_*``) and ``result.json`` (schema ``anchorhoi.result`` 1.x, fps, frame count, the object,
timings, quality): :mod:`anchorhoi.portable.result_v1` writes and reads them, the add-on's
importer reads them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..portable.motion import MotionClip
from ..portable.result_v1 import ResultInfo, read_result, write_result
from .optimize import MotionResult


@dataclass(frozen=True, eq=False)
class MotionOutput:
    """What stage E hands on: the result v1 of the motion."""

    clip: MotionClip
    """The body's motion, its rig and the object's trajectory."""
    info: ResultInfo
    """The metadata of ``result.json`` (prompt, seed, timings, quality, extra)."""
    result: MotionResult | None = None
    """The optimisation's full output (contacts, losses): in memory after a run only."""
    seconds: float | None = None
    """Wall time of the optimisation (after a run only)."""

    def save(self, folder: str | Path) -> Path:
        """Write the result v1 into ``folder``; returns the path of ``result.json``."""
        return write_result(folder, self.clip, self.info)

    @classmethod
    def load(cls, folder: str | Path) -> MotionOutput:
        """The result v1 in ``folder`` (checked as the add-on's reader checks it)."""
        clip, doc = read_result(folder)
        obj: dict[str, Any] = doc.get("object") or {}
        info = ResultInfo(prompt=str(doc.get("prompt", "")), seed=int(doc.get("seed", 0)),
                          object_name=obj.get("name"), timings=dict(doc.get("timings", {})),
                          quality=dict(doc.get("quality", {})), extra=dict(doc.get("extra", {})))
        return cls(clip=clip, info=info)

    @staticmethod
    def previews(folder: str | Path) -> list[Path]:
        """None: the motion is seen in Blender (its files are ``result.json`` and
        ``motion.npz``)."""
        return []
