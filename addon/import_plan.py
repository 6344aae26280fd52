"""Everything the importer computes before it touches Blender (bpy-free, tested on its own).

A plan holds, in Blender's Z-up frame: the armature's rest joints, the body mesh, the
per-frame local quaternions of the 55 bones (continuous signs) and the root bone's location,
the object's mesh and per-frame transform, and the scene timing. Building it validates the
whole input, so a failure happens before the scene changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import axes, quaternions
from .portable.motion import MotionClip

BONE_LENGTH_MAX = 0.12  # metres; display only (identity rest orientations: bones point along +Y)
BONE_LENGTH_MIN = 0.008


@dataclass(frozen=True, kw_only=True)
class ObjectPlan:
    name: str
    vertices: np.ndarray  # (Vo, 3) Z-up, object frame
    faces: np.ndarray  # (Fo, 3)
    location: np.ndarray  # (T, 3)
    rotation: np.ndarray  # (T, 4) w, x, y, z, continuous signs


@dataclass(frozen=True, kw_only=True)
class ImportPlan:
    name: str
    joint_names: tuple[str, ...]
    parents: np.ndarray  # (55,)
    heads: np.ndarray  # (55, 3) rest joints, Z-up
    bone_lengths: np.ndarray  # (55,)
    vertices: np.ndarray  # (V, 3) rest body, Z-up
    faces: np.ndarray  # (F, 3)
    weights: np.ndarray  # (V, 55)
    bone_rotations: np.ndarray  # (T, 55, 4) pose-bone local quaternions
    root_location: np.ndarray  # (T, 3) pose-bone location of the root (rest frame = armature axes)
    obj: ObjectPlan | None
    fps: int
    fps_base: float
    frame_start: int

    @property
    def num_frames(self) -> int:
        return int(self.bone_rotations.shape[0])

    @property
    def frames(self) -> np.ndarray:
        return self.frame_start + np.arange(self.num_frames, dtype=np.float64)


def scene_fps(fps: float) -> tuple[int, float]:
    """Blender's (fps, fps_base) with fps / fps_base == ``fps`` (29.97 → 30 / 1.001)."""
    whole = max(1, int(round(fps)))
    return whole, whole / fps


def plan_import(clip: MotionClip, *, frame_start: int = 1) -> ImportPlan:
    m, rig = clip.motion, clip.rig
    heads = axes.points_to_blender(rig.rest_joints)
    # With identity rest orientations a pose bone's rotation is the SMPL-X local rotation,
    # conjugated into Blender's frame; the root's location is the translation.
    local = quaternions.from_axis_angle(m.full_pose())  # (T, 55, 4)
    rotations = quaternions.make_continuous(axes.quaternions_to_blender(local), axis=0)
    obj = None
    if clip.obj is not None:
        o = clip.obj
        obj = ObjectPlan(
            name=o.name, vertices=axes.points_to_blender(o.vertices), faces=o.faces,
            location=axes.points_to_blender(o.trans),
            rotation=quaternions.make_continuous(axes.quaternions_to_blender(o.rot), axis=0))
    fps, fps_base = scene_fps(m.fps)
    return ImportPlan(
        name=clip.name, joint_names=tuple(rig.joint_names), parents=np.asarray(rig.parents),
        heads=heads, bone_lengths=bone_lengths(heads, np.asarray(rig.parents)),
        vertices=axes.points_to_blender(rig.rest_vertices), faces=np.asarray(rig.faces),
        weights=np.asarray(rig.weights), bone_rotations=rotations,
        root_location=axes.points_to_blender(m.trans), obj=obj, fps=fps, fps_base=fps_base,
        frame_start=int(frame_start))


def bone_lengths(heads: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """Half the distance to the nearest child (leaves: like their parent), clamped."""
    n = len(heads)
    lengths = np.full(n, np.inf)
    for j in range(1, n):
        p = parents[j]
        lengths[p] = min(lengths[p], 0.5 * float(np.linalg.norm(heads[j] - heads[p])))
    for j in range(n):
        if not np.isfinite(lengths[j]):
            lengths[j] = lengths[parents[j]] if parents[j] >= 0 else BONE_LENGTH_MAX
    return np.clip(lengths, BONE_LENGTH_MIN, BONE_LENGTH_MAX)
