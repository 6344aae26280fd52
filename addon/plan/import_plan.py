"""Everything the importer computes before it touches Blender (bpy-free, tested on its own).

A plan holds the armature's rest joints, the body mesh, the per-frame local quaternions of the
55 bones (continuous signs) and the root bone's location — all in the body model's Y-up frame,
under an armature whose world matrix is ``axes.root_matrix()`` — and the object's Y-up mesh
with its per-frame Blender transform, and the scene timing. Building it validates the
whole input, so a failure happens before the scene changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..portable.motion import MotionClip
from ..portable.quaternions import make_continuous
from . import axes, quaternions

BONE_LENGTH_MAX = 0.12  # metres; display only (identity rest orientations: bones point up)
BONE_LENGTH_MIN = 0.008


@dataclass(frozen=True, kw_only=True)
class ObjectPlan:
    name: str
    vertices: np.ndarray  # (Vo, 3) object frame (Y-up)
    faces: np.ndarray  # (Fo, 3)
    location: np.ndarray  # (T, 3) Blender world
    rotation: np.ndarray  # (T, 4) w, x, y, z, Blender world, continuous signs
    scale: float = 1.0  # uniform, Blender world (a placement may scale the result)


@dataclass(frozen=True, kw_only=True)
class ImportPlan:
    name: str
    joint_names: tuple[str, ...]
    parents: np.ndarray  # (55,)
    root_matrix: np.ndarray  # (4, 4) world matrix of the armature object
    heads: np.ndarray  # (55, 3) rest joints (armature space = the body model's frame)
    bone_lengths: np.ndarray  # (55,)
    vertices: np.ndarray  # (V, 3) rest body (armature space)
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
    heads = np.asarray(rig.rest_joints, dtype=np.float64)
    # With identity rest orientations a pose bone's rotation is the SMPL-X local rotation and
    # the root's location is the translation: no conversion inside the armature.
    local = quaternions.from_axis_angle(m.full_pose())  # (T, 55, 4)
    rotations = make_continuous(local, axis=0)
    obj = None
    if clip.obj is not None:
        o = clip.obj
        location, rotation = axes.rigid_to_blender(o.trans, o.rot)
        obj = ObjectPlan(name=o.name, vertices=np.asarray(o.vertices), faces=o.faces,
                         location=location,
                         rotation=make_continuous(rotation, axis=0))
    fps, fps_base = scene_fps(m.fps)
    return ImportPlan(
        name=clip.name, joint_names=tuple(rig.joint_names), parents=np.asarray(rig.parents),
        root_matrix=axes.root_matrix(), heads=heads,
        bone_lengths=bone_lengths(heads, np.asarray(rig.parents)),
        vertices=np.asarray(rig.rest_vertices, dtype=np.float64), faces=np.asarray(rig.faces),
        weights=np.asarray(rig.weights), bone_rotations=rotations,
        root_location=np.asarray(m.trans, dtype=np.float64), obj=obj, fps=fps, fps_base=fps_base,
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
