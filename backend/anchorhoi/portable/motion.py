"""Plain data the whole project passes around: a rig, an SMPL-X motion, an object track.

Conventions (DESIGN.md): the body model's frame (Y up, the body faces +Z), metres, rotations
as axis-angle vectors in the SMPL-X convention. Blender's Z-up frame appears only in
``addon/axes.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS


@dataclass(frozen=True, kw_only=True)
class Rig:
    """What a program needs to build the skinned body without smplx, at a fixed shape (betas)."""

    joint_names: tuple[str, ...] = JOINT_NAMES
    parents: np.ndarray = field(default_factory=lambda: np.array(PARENTS, dtype=np.int64))
    rest_joints: np.ndarray  # (55, 3) joint positions of the shaped body at rest
    rest_vertices: np.ndarray  # (V, 3)
    faces: np.ndarray  # (F, 3) int
    weights: np.ndarray  # (V, 55) linear-blend skinning weights, rows sum to 1

    @property
    def num_vertices(self) -> int:
        return int(self.rest_vertices.shape[0])


@dataclass(frozen=True, kw_only=True)
class SmplxMotion:
    """An AMASS-style SMPL-X clip of ``T`` frames."""

    trans: np.ndarray  # (T, 3)
    root_orient: np.ndarray  # (T, 3)
    pose_body: np.ndarray  # (T, 63)
    pose_hand: np.ndarray  # (T, 90) left hand's 15 joints, then right hand's
    pose_jaw: np.ndarray  # (T, 3)
    pose_eye: np.ndarray  # (T, 6)
    betas: np.ndarray  # (B,)
    gender: str = "neutral"
    fps: float = 30.0

    @property
    def num_frames(self) -> int:
        return int(self.trans.shape[0])

    def full_pose(self) -> np.ndarray:
        """(T, 55, 3) axis-angle of every joint, in SMPL-X joint order."""
        t = self.num_frames
        parts = [self.root_orient, self.pose_body, self.pose_jaw, self.pose_eye, self.pose_hand]
        return np.concatenate([p.reshape(t, -1) for p in parts], axis=1).reshape(t, NUM_JOINTS, 3)


@dataclass(frozen=True, kw_only=True)
class ObjectTrack:
    """A rigid object: its mesh in its own frame and its per-frame pose in the body's frame."""

    name: str
    vertices: np.ndarray  # (Vo, 3) in the object's frame
    faces: np.ndarray  # (Fo, 3) int
    trans: np.ndarray  # (T, 3) world position of the object's origin
    rot: np.ndarray  # (T, 4) unit quaternion (w, x, y, z), object → world
    vertex_colors: np.ndarray | None = None  # (Vo, 3) linear RGB in [0, 1]; None: no colours


@dataclass(frozen=True, kw_only=True)
class MotionClip:
    """A motion ready to import: the clip, the rig to play it on, and an optional object."""

    motion: SmplxMotion
    rig: Rig
    obj: ObjectTrack | None = None
    name: str = "AnchorHOI"
    body_kind: str = "procedural"  # "procedural" or "smplx"
    contacts: dict[str, np.ndarray] | None = None  # ``portable.contacts.CONTACT_KEYS`` → (T,) 0/1
