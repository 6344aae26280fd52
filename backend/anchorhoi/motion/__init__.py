"""Stage E: the 4D motion — per-frame SMPL-X and object SE(3) fitted to the anchor keypoints.

Also the presets of stages C–E (:mod:`.presets`) and the stage E runner (:mod:`.stage`); the
runners of stages C and D are ``anchorhoi.video.stage`` and ``anchorhoi.keypoints.stage``.
"""

from .config import MotionConfig
from .optimize import MotionResult, optimize_motion
from .presets import PRESETS, MotionPreset, make_video_prior, preset
from .stage import MotionStageOutput, run_motion_stage

__all__ = ["PRESETS", "MotionConfig", "MotionPreset", "MotionResult", "MotionStageOutput",
           "make_video_prior", "optimize_motion", "preset", "run_motion_stage"]
