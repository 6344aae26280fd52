"""A case of the random family (``anchorhoi.oracles.family``) loaded the way the bench loads
it (the motion tests share it)."""

from __future__ import annotations

from pathlib import Path

import torch

from anchorhoi.body import BodyModel
from anchorhoi.oracles.family import draw_case, write_motion
from anchorhoi.oracles.motion_case import MotionCase, load_motion_case


def family_case(folder: Path, kind: str, seed: int, index: int) -> MotionCase:
    """The case ``<kind>-<seed>-<index>``, written into ``folder`` and loaded back."""
    drawn = draw_case(BodyModel(dtype=torch.float64), kind, seed, index)
    return load_motion_case(write_motion(drawn, folder))
