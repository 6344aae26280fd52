"""The game skeleton an import builds (bpy-free): a ``root`` bone on the floor above SMPL-X's 55.

Bone 0 is ``root`` at the armature's origin, on the floor (z = 0) under the rest pelvis, with
``pelvis`` its child and the SMPL-X tree below. The rest pose is the body model's T-pose
(proportions from the betas) standing in Blender's Z-up world with its soles on z = 0: the
rest joints are ``C·(J − o)`` with ``C`` the Y-up → Z-up turn and the rest offset
``o = (J₀ₓ, lowest rest vertex y, J₀𝓏)``. So the armature object itself needs no rotation and no
offset (its matrix is the identity before placement).

Bone orientations: ``root`` is the identity (its pose location is a world offset on the
floor); every SMPL-X bone points up (+Z) with zero roll, which is exactly ``C``: a pose bone's
rotation is then the SMPL-X local rotation itself, and the pelvis's is ``Cᵀ·C·R₀ = R₀`` for a
clip in the body model's Y-up world — the pose carries no axis conversion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..portable.motion import Rig
from ..portable.up_axis import C

ROOT_BONE = "root"
ROOT_LENGTH = 0.25  # metres, display only: the root bone lies on the floor along +Y


@dataclass(frozen=True, kw_only=True)
class GameSkeleton:
    joint_names: tuple[str, ...]  # (56,) ``root`` then the SMPL-X joints
    parents: np.ndarray  # (56,) −1 for ``root``
    heads: np.ndarray  # (56, 3) rest heads, armature space = Blender's Z-up world at rest
    offset: np.ndarray  # (3,) the rest offset ``o`` in the body model's Y-up frame
    vertices: np.ndarray  # (V, 3) rest body in armature space, soles on z = 0


def rest_offset(rest_joints: np.ndarray, rest_vertices: np.ndarray) -> np.ndarray:
    """``o`` (3,): the pelvis's horizontal place and the soles' height, Y-up frame."""
    j0 = np.asarray(rest_joints, dtype=np.float64)[0]
    return np.array([j0[0], float(np.min(np.asarray(rest_vertices)[:, 1])), j0[2]])


def to_armature(points_y_up: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """(..., 3) rest points of the Y-up body frame → armature space (Z up, soles on z = 0)."""
    return (np.asarray(points_y_up, dtype=np.float64) - offset) @ C.T


def game_skeleton(rig: Rig) -> GameSkeleton:
    offset = rest_offset(rig.rest_joints, rig.rest_vertices)
    joints = to_armature(rig.rest_joints, offset)
    parents = np.concatenate([[-1], np.where(np.asarray(rig.parents) < 0, 0,
                                             np.asarray(rig.parents) + 1)]).astype(np.int64)
    return GameSkeleton(
        joint_names=(ROOT_BONE, *rig.joint_names), parents=parents,
        heads=np.concatenate([np.zeros((1, 3)), joints]), offset=offset,
        vertices=to_armature(rig.rest_vertices, offset))


def pelvis_location(trans: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """(T, 3) pose location of the pelvis bone (in its rest axes, which are the Y-up body
    frame's) for a clip's ``trans`` in that frame: the pelvis's world place ``C·(J₀ + trans)``
    minus its rest head ``C·(J₀ − o)``, turned back by ``Cᵀ``, is ``trans + o``."""
    return np.asarray(trans, dtype=np.float64) + offset
