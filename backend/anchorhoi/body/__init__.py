"""The SMPL-X body model: the official files when the user names their folder, else the
procedural body."""

from .model import BodyModel, BodyModelConfig, BodyOutput
from .rotations import axis_angle_to_matrix, matrix_to_axis_angle, matrix_to_rot6d, rot6d_to_matrix

__all__ = [
           "BodyModel",
           "BodyModelConfig",
           "BodyOutput",
           "axis_angle_to_matrix",
           "matrix_to_axis_angle",
           "matrix_to_rot6d",
           "rot6d_to_matrix",
]
