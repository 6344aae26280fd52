"""Foot locking on an imported rig's keys: sample the legs from the F-curves, solve
(``plan/leg_ik.py``), write rotation keys back; on failure the touched curves are restored.

Everything happens in the action's own frames (the clip's NLA strip maps them to the scene),
so a retimed or moved strip keeps its lock. The contacts are the ``contact_foot_l/r`` curves
of the same action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import bpy
import numpy as np

from ..plan import quaternions
from ..plan.leg_ik import LegLock, LegPose, lock_leg
from .action_write import action_fcurves, clip_actions

LEGS = {"contact_foot_l": ("left_hip", "left_knee", "left_ankle"),
        "contact_foot_r": ("right_hip", "right_knee", "right_ankle")}
FORWARD_REST = np.array([0.0, -1.0, 0.0])  # the rest body faces −Y (armature space)


class FootLockError(ValueError):
    """The rig cannot be foot-locked; the message says what to select or import."""


@dataclass
class RigClip:
    arm: bpy.types.Object
    bones: bpy.types.ArmatureBones
    action: bpy.types.Action
    curves: dict[tuple[str, int], bpy.types.FCurve]  # (data path, index) → F-curve
    frames: np.ndarray  # (T,) whole action frames


def rig_clip(arm) -> RigClip:
    if arm is None or arm.type != "ARMATURE":
        raise FootLockError("select an imported AnchorHOI armature")
    actions = clip_actions(arm)
    if not actions:
        raise FootLockError(f"'{arm.name}' has no animation: import a clip first")
    action = actions[0]
    curves = {(fc.data_path, fc.array_index): fc for fc in action_fcurves(action, arm)}
    for key in LEGS:
        if (f'["{key}"]', 0) not in curves:
            raise FootLockError(f"'{arm.name}' has no '{key}' curve: re-import the clip "
                                "(contacts arrive with the import)")
    for bones in LEGS.values():
        for b in bones:
            if b not in arm.pose.bones:
                raise FootLockError(f"'{arm.name}' has no bone '{b}': not an SMPL-X rig")
    start, end = action.frame_range
    frames = np.arange(int(np.floor(start)), int(np.ceil(end)) + 1, dtype=np.float64)
    return RigClip(arm=arm, bones=cast(bpy.types.Armature, arm.data).bones, action=action,
                   curves=curves, frames=frames)


def sample(clip: RigClip, path: str, count: int, default) -> np.ndarray:
    out = np.empty((len(clip.frames), count))
    for i in range(count):
        fc = clip.curves.get((path, i))
        out[:, i] = default[i] if fc is None else [fc.evaluate(f) for f in clip.frames]
    return out


def basis(clip: RigClip, bone: str) -> np.ndarray:
    """(T, 4, 4) pose basis of ``bone`` from its location / quaternion / scale curves."""
    p = f'pose.bones["{bone}"].'
    loc = sample(clip, p + "location", 3, (0.0, 0.0, 0.0))
    rot = sample(clip, p + "rotation_quaternion", 4, (1.0, 0.0, 0.0, 0.0))
    scale = sample(clip, p + "scale", 3, (1.0, 1.0, 1.0))
    m = np.zeros((len(clip.frames), 4, 4))
    m[:, :3, :3] = quaternions.to_matrix(rot) * scale[:, None, :]
    m[:, :3, 3], m[:, 3, 3] = loc, 1.0
    return m


def relative_rest(bones, bone: str) -> np.ndarray:
    b = bones[bone]
    rest = np.array(b.matrix_local)
    return rest if b.parent is None else np.linalg.inv(np.array(b.parent.matrix_local)) @ rest


def posed_parent(clip: RigClip, bone: str) -> np.ndarray:
    """(T, 4, 4) posed armature-space matrix of ``bone``'s parent, down from the top bone."""
    names = []
    b = clip.bones[bone].parent
    while b is not None:
        names.append(b.name)
        b = b.parent
    m = np.broadcast_to(np.eye(4), (len(clip.frames), 4, 4)).copy()
    for name in reversed(names):
        m = m @ relative_rest(clip.bones, name) @ basis(clip, name)
    return m


def solve(clip: RigClip, *, blend: int) -> dict[str, LegLock]:
    """The lock of each leg (nothing in the scene changes)."""
    out = {}
    for key, bones in LEGS.items():
        pelvis = posed_parent(clip, bones[0])
        leg = LegPose(pelvis=pelvis, rest=np.array([relative_rest(clip.bones, b) for b in bones]),
                      basis=np.stack([basis(clip, b) for b in bones], axis=1))
        planted = sample(clip, f'["{key}"]', 1, (0.0,))[:, 0] > 0.5
        parent = clip.bones[bones[0]].parent
        parent_rest = np.eye(3) if parent is None else np.array(parent.matrix_local)[:3, :3]
        forward = pelvis[:, :3, :3] @ (parent_rest.T @ FORWARD_REST)
        out[key] = lock_leg(leg, planted, blend=blend, forward=forward)
    return out


def write_locks(clip: RigClip, locks: dict[str, LegLock]) -> None:
    """Rotation keys of hip, knee and ankle at every changed frame (keys elsewhere untouched);
    the touched curves are restored if anything fails."""
    touched = [clip.curves[(f'pose.bones["{b}"].rotation_quaternion', i)]
               for key, lock in locks.items() if len(lock.frames) for b in LEGS[key]
               for i in range(4)]
    saved = [snapshot(fc) for fc in touched]
    try:
        for key, lock in locks.items():
            for b, bone in enumerate(LEGS[key]):
                fcs = [clip.curves[(f'pose.bones["{bone}"].rotation_quaternion', i)]
                       for i in range(4)]
                for k, f in enumerate(lock.frames):
                    frame = float(clip.frames[f])
                    q = lock.rotations[k, b]
                    if sum(fc.evaluate(frame) * q[i] for i, fc in enumerate(fcs)) < 0.0:
                        q = -q  # keep the curve's hemisphere (no flips between keys)
                    for i, fc in enumerate(fcs):
                        fc.keyframe_points.insert(frame, float(q[i]),
                                                  options={"REPLACE", "FAST"})
                for fc in fcs:
                    fc.update()
    except Exception:
        for fc, data in zip(touched, saved, strict=True):
            restore(fc, data)
        raise


_KEY_FIELDS = (("co", 2, np.float32), ("handle_left", 2, np.float32),
               ("handle_right", 2, np.float32), ("interpolation", 1, np.int32),
               ("handle_left_type", 1, np.int32), ("handle_right_type", 1, np.int32))


def snapshot(fc) -> dict[str, np.ndarray]:
    n = len(fc.keyframe_points)
    out = {}
    for name, width, dtype in _KEY_FIELDS:
        a = np.empty(n * width, dtype=dtype)
        fc.keyframe_points.foreach_get(name, a)
        out[name] = a
    return out


def restore(fc, data: dict[str, np.ndarray]) -> None:
    points = fc.keyframe_points
    points.clear()
    points.add(len(data["co"]) // 2)
    for name in ("interpolation", "handle_left_type", "handle_right_type", "co",
                 "handle_left", "handle_right"):
        points.foreach_set(name, data[name])
    fc.update()
