"""Stages A and B of the method: the anchor NeRF, and SMPL-X fitted to it."""

from .fit import FitConfig, FitObject, FitResult, fit_body
from .key_pose import KeyPose, PoseParams, default_initial_pose
from .limb_search import LimbSearchConfig
from .pose_prior import JOINT_LIMITS, joint_limit_penalty, joint_limit_table, pose_prior

__all__ = [
    "FitConfig", "FitObject", "FitResult", "fit_body",
    "KeyPose", "PoseParams", "default_initial_pose",
    "LimbSearchConfig",
    "JOINT_LIMITS", "joint_limit_penalty", "joint_limit_table", "pose_prior",
]
