"""Job presets: the stage presets and defaults that one quality level bundles.

| preset | device | anchor (A+B) | motion default | meant for |
|---|---|---|---|---|
| tiny | CPU | tiny random SD, 20 SDS steps at 32², 1 round, short fit | 12 frames at 12 fps | tests, ``selftest`` |
| draft | GPU | SD 2.1 base, 1500 × 2 rounds at 64² | 48 frames at 24 fps | a first look in minutes |
| standard | GPU | 3000 × 2 at 128² | 72 frames at 24 fps | |
| high | 24 GB GPU | 5000 × 3 at 192² | 120 frames at 24 fps | final quality |

Stage presets keep their own tables (``anchor/presets.py``, the motion stages' presets); this
module only picks them by name and adds what the job itself needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..anchor.presets import AnchorPreset
from ..anchor.presets import preset as anchor_preset
from ..motion.presets import MotionPreset
from ..motion.presets import preset as motion_preset


@dataclass(frozen=True, kw_only=True)
class JobPreset:
    name: str
    """Preset id (tiny | draft | standard | high)."""
    anchor: AnchorPreset
    """Stages A and B."""
    motion: MotionPreset
    """Stages C, D and E."""

    @property
    def gpu(self) -> bool:
        """Meant for a CUDA GPU (all but tiny)."""
        return self.anchor.gpu

    @property
    def frames(self) -> int:
        """Default number of motion frames."""
        return self.motion.num_frames

    @property
    def fps(self) -> float:
        """Default frame rate of the motion."""
        return self.motion.fps


def job_preset(name: str) -> JobPreset:
    return JobPreset(name=name, anchor=anchor_preset(name), motion=motion_preset(name))
