"""Stages A and B of the method: the anchor NeRF, and SMPL-X fitted to it."""

from .config import AnchorConfig
from .fit import FitConfig, FitObject, FitResult, fit_body
from .limb_search import LimbSearchConfig
from .output import AnchorOutput
from .pose_prior import JOINT_LIMITS, joint_limit_penalty, joint_limit_table, pose_prior

__all__ = [
    "JOINT_LIMITS",
    "AnchorConfig",
    "AnchorOutput",
    "FitConfig",
    "FitObject",
    "FitResult",
    "LimbSearchConfig",
    "fit_body",
    "joint_limit_penalty",
    "joint_limit_table",
    "pose_prior",
]
