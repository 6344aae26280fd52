"""Stage E: the 4D motion — per-frame SMPL-X and object SE(3) fitted to the anchor keypoints.

Also the stage E runner (:mod:`.stage`) and its output (:mod:`.output`, the result v1).
"""

from .config import MotionConfig
from .optimize import MotionResult, optimize_motion
from .output import MotionOutput
from .stage import run_motion_stage

__all__ = ["MotionConfig", "MotionOutput", "MotionResult", "optimize_motion", "run_motion_stage"]
