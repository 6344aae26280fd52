"""Everything the importer computes before it touches Blender (bpy-free, tested on its own).

A plan holds the game skeleton (``root`` on the floor, then the 55 SMPL-X bones; rest joints
and body mesh in Blender's Z-up world with the soles on z = 0, ``game_skeleton.py``), the
per-frame local quaternions of the bones (continuous signs) and the pelvis's location, under
an armature whose world matrix is the identity (a placement may move it); the object's Y-up
mesh with its per-frame Blender transform; per-frame contacts; and the scene timing. The clip
comes in the body model's Y-up world (``portable/up_axis.py`` turns Z-up files into it).
Building it validates the whole input, so a failure happens before the scene changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..portable.motion import MotionClip
from ..portable.quaternions import make_continuous
from . import axes, quaternions
from .game_skeleton import ROOT_LENGTH, game_skeleton, pelvis_location

BONE_LENGTH_MAX = 0.12  # metres; display only (SMPL-X bones point up, root along +Y)
BONE_LENGTH_MIN = 0.008


@dataclass(frozen=True, kw_only=True)
class ObjectPlan:
    name: str
    vertices: np.ndarray  # (Vo, 3) object frame (Y-up)
    faces: np.ndarray  # (Fo, 3)
    location: np.ndarray  # (T, 3) Blender world
    rotation: np.ndarray  # (T, 4) w, x, y, z, Blender world, continuous signs
    scale: float = 1.0  # uniform, Blender world (a placement may scale the result)
    colors: np.ndarray | None = None  # (Vo, 4) linear RGBA per vertex (a colour attribute)


@dataclass(frozen=True, kw_only=True)
class ImportPlan:
    name: str
    joint_names: tuple[str, ...]  # (56,) "root", then SMPL-X's 55
    parents: np.ndarray  # (56,)
    root_matrix: np.ndarray  # (4, 4) world matrix of the armature object (identity unplaced)
    heads: np.ndarray  # (56, 3) rest joints (armature space: Z up, soles on z = 0)
    bone_lengths: np.ndarray  # (56,)
    vertices: np.ndarray  # (V, 3) rest body (armature space)
    faces: np.ndarray  # (F, 3)
    weights: np.ndarray  # (V, 55) one column per SMPL-X joint (``joint_names[1:]``)
    bone_rotations: np.ndarray  # (T, 55, 4) pose-bone local quaternions of the SMPL-X bones
    pelvis_location: np.ndarray  # (T, 3) pose-bone location of the pelvis (its rest axes)
    obj: ObjectPlan | None
    contacts: dict[str, np.ndarray]  # name → (T,) 0/1 per frame (``contacts.CONTACT_KEYS``)
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


def plan_import(clip: MotionClip, *, frame_start: int = 1,
                contacts: dict[str, np.ndarray] | None = None) -> ImportPlan:
    """The plan of ``clip`` (in the body model's Y-up world)."""
    m, rig = clip.motion, clip.rig
    skeleton = game_skeleton(rig)
    # The SMPL-X bones' rest axes are the body frame's turned by C, like the world: a pose
    # bone's rotation is the SMPL-X local rotation (the pelvis's too), no conversion.
    local = quaternions.from_axis_angle(m.full_pose())  # (T, 55, 4)
    rotations = make_continuous(local, axis=0)
    obj = None
    if clip.obj is not None:
        o = clip.obj
        location, rotation = axes.rigid_to_blender(o.trans, o.rot)
        obj = ObjectPlan(name=o.name, vertices=np.asarray(o.vertices), faces=o.faces,
                         location=location,
                         rotation=make_continuous(rotation, axis=0),
                         colors=None if o.vertex_colors is None else linear_rgba(o.vertex_colors))
    fps, fps_base = scene_fps(m.fps)
    return ImportPlan(
        name=clip.name, joint_names=skeleton.joint_names, parents=skeleton.parents,
        root_matrix=np.eye(4), heads=skeleton.heads,
        bone_lengths=bone_lengths(skeleton.heads, skeleton.parents),
        vertices=skeleton.vertices, faces=np.asarray(rig.faces),
        weights=np.asarray(rig.weights), bone_rotations=rotations,
        pelvis_location=pelvis_location(m.trans, skeleton.offset), obj=obj,
        contacts=dict(contacts or {}), fps=fps, fps_base=fps_base, frame_start=int(frame_start))


def linear_rgba(srgb: np.ndarray) -> np.ndarray:
    """(V, 3) sRGB-encoded colours in [0, 1] (as an image shows them: the result's
    ``obj_vertex_colors``) → (V, 4) float32 linear RGBA, alpha 1: what a float colour
    attribute holds, so Blender displays the colours the renders showed."""
    c = np.clip(np.asarray(srgb, dtype=np.float64), 0.0, 1.0)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return np.concatenate([linear, np.ones((len(c), 1))], axis=1).astype(np.float32)


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
    lengths = np.clip(lengths, BONE_LENGTH_MIN, BONE_LENGTH_MAX)
    lengths[parents < 0] = ROOT_LENGTH
    return lengths
