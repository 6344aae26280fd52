"""Z-up (AMASS) and Y-up (the body model's own frame) worlds of an SMPL-X clip (numpy only).

The SMPL-X template is Y up; AMASS puts it in a Z-up world by its root rotation: a standing
body there has ``root_orient`` ≈ +90° about X. ``C`` (+90° about X, (x, y, z) → (x, −z, y)) maps
a Y-up world onto a Z-up one. Turning a clip's world by ``C`` turns its root, its translation
and the object's track; the joints below the root and the rest shape do not change. SMPL-X
adds ``trans`` after rotating about the rest pelvis ``J₀``, so the pelvis sits at ``J₀ + trans``
in either world and the new translation is ``C·(J₀ + trans) − J₀``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .kinematics import axis_angle_to_matrix, matrix_to_axis_angle
from .motion import MotionClip, ObjectTrack, SmplxMotion

UP_AXES = ("Y", "Z")
C = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
"""Y-up world → Z-up world (+90° about X)."""
C_QUATERNION = np.array([np.cos(np.pi / 4), np.sin(np.pi / 4), 0.0, 0.0])
"""``C`` as a unit quaternion (w, x, y, z)."""


def _turn_motion(m: SmplxMotion, pelvis: np.ndarray, r: np.ndarray) -> SmplxMotion:
    root = matrix_to_axis_angle(r @ axis_angle_to_matrix(m.root_orient))
    trans = (np.asarray(m.trans, dtype=np.float64) + pelvis) @ r.T - pelvis
    return dataclasses.replace(m, root_orient=root, trans=trans)


def _turn_object(o: ObjectTrack, r: np.ndarray) -> ObjectTrack:
    q = C_QUATERNION if r[2, 1] > 0 else C_QUATERNION * np.array([1.0, -1.0, -1.0, -1.0])
    w, x, y, z = np.moveaxis(np.asarray(o.rot, dtype=np.float64), -1, 0)
    aw, ax = q[0], q[1]  # q = (aw, ax, 0, 0): a turn about X
    rot = np.stack([aw * w - ax * x, aw * x + ax * w, aw * y - ax * z, aw * z + ax * y], axis=-1)
    return dataclasses.replace(o, trans=np.asarray(o.trans, dtype=np.float64) @ r.T, rot=rot)


def turn_clip(clip: MotionClip, *, from_up: str, to_up: str) -> MotionClip:
    """``clip`` with its world turned from ``from_up`` to ``to_up`` (``"Y"`` or ``"Z"``)."""
    for axis in (from_up, to_up):
        if axis not in UP_AXES:
            raise ValueError(f"up axis must be one of {UP_AXES}, got {axis!r}")
    if from_up == to_up:
        return clip
    r = C if to_up == "Z" else C.T
    pelvis = np.asarray(clip.rig.rest_joints, dtype=np.float64)[0]
    obj = None if clip.obj is None else _turn_object(clip.obj, r)
    return dataclasses.replace(clip, motion=_turn_motion(clip.motion, pelvis, r), obj=obj)
