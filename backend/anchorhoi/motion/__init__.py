"""Stage E: the 4D motion — per-frame SMPL-X and object SE(3) fitted to the anchor keypoints."""

from .config import MotionConfig
from .optimize import MotionResult, optimize_motion

__all__ = ["MotionConfig", "MotionResult", "optimize_motion"]
