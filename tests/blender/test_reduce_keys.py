"""``anchorhoi.reduce_keys`` on an imported clip: within tolerance at every original frame, and
far fewer keys (editable Béziers)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers.motions import make_motion, make_object

from anchorhoi.portable import result_v1, smplx_files
from anchorhoi.portable.motion import MotionClip, SmplxMotion
from anchorhoi.portable.procedural_body import build_procedural_model
from anchorhoi.portable.skeleton import JOINT_NAMES

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.blender
N = 120


def smooth_motion() -> SmplxMotion:
    """Slow sinusoids (≤ 0.75 Hz) on every joint and a walk-like root path: 4 s at 30 fps."""
    m = make_motion(N, seed=4)
    t = np.linspace(0, 4, N)[:, None]
    rng = np.random.default_rng(2)
    def waves(width):
        return 0.4 * np.sin(2 * np.pi * rng.uniform(0.1, 0.75, (1, width)) * t
                            + rng.uniform(0, 6, (1, width)))
    return SmplxMotion(trans=np.concatenate([0.3 * t, 0.9 + 0.02 * np.sin(3 * t), 0 * t], 1),
                       root_orient=waves(3), pose_body=waves(63), pose_hand=waves(90),
                       pose_jaw=waves(3), pose_eye=np.zeros((N, 6)), betas=m.betas, fps=30.0)


def sample(arm, box, frames):
    scene = bpy.context.scene
    rot, loc, box_m = [], [], []
    for f in frames:
        scene.frame_set(f)
        rot.append([np.array(arm.pose.bones[n].rotation_quaternion) for n in JOINT_NAMES])
        loc.append(np.array(arm.pose.bones["pelvis"].location))
        box_m.append(np.array(box.matrix_world))
    return np.array(rot), np.array(loc), np.array(box_m)


def contact_values(arm, frames) -> list[list[int]]:
    scene = bpy.context.scene
    out = []
    for f in frames:
        scene.frame_set(f)
        out.append([int(arm[k]) for k in ("contact_foot_l", "contact_foot_r")])
    return out


def count_keys(obj):
    strip = obj.animation_data.nla_tracks[0].strips[0]
    bag = strip.action.layers[0].strips[0].channelbag(strip.action_slot)
    return sum(len(fc.keyframe_points) for fc in bag.fcurves), bag


def test_reduce_keys_within_tolerance(addon, tmp_path):
    motion = smooth_motion()
    rig = smplx_files.rig_from_model(build_procedural_model(), motion.betas)
    result_v1.write_result(tmp_path, MotionClip(motion=motion, rig=rig, obj=make_object(N),
                                                name="Walk"))
    bpy.ops.anchorhoi.import_motion(filepath=str(tmp_path))
    arm, box = bpy.data.objects["Walk"], bpy.data.objects["Box"]
    frames = list(range(1, N + 1))
    rot0, loc0, box0 = sample(arm, box, frames)
    contacts0 = contact_values(arm, frames)
    keys0, _ = count_keys(arm)

    bpy.context.view_layer.objects.active = arm
    assert bpy.ops.anchorhoi.reduce_keys(rotation_tolerance_deg=0.5,
                                         location_tolerance_m=0.001) == {"FINISHED"}
    bpy.context.view_layer.objects.active = box
    assert bpy.ops.anchorhoi.reduce_keys() == {"FINISHED"}
    rot1, loc1, box1 = sample(arm, box, frames)
    keys1, bag = count_keys(arm)
    assert contact_values(arm, frames) == contacts0  # 0/1 steps stay exactly the same steps
    steps = bag.fcurves.find('["contact_foot_l"]')
    assert {k.interpolation for k in steps.keyframe_points} == {"CONSTANT"}
    values = [k.co[1] for k in steps.keyframe_points]
    assert all(a != b for a, b in itertools.pairwise(values))  # a key per change

    q0 = rot0 / np.linalg.norm(rot0, axis=-1, keepdims=True)
    q1 = rot1 / np.linalg.norm(rot1, axis=-1, keepdims=True)
    angle = np.degrees(2 * np.arccos(np.clip(np.abs((q0 * q1).sum(-1)), 0, 1)))
    assert angle.max() <= 0.5 + 1e-3
    assert np.linalg.norm(loc1 - loc0, axis=-1).max() <= 0.001 + 1e-6
    assert np.abs(box1[:, :3, 3] - box0[:, :3, 3]).max() <= 0.001 + 1e-6
    assert keys0 == 120 * (55 * 4 + 3 + 4)  # + the four contact curves
    assert keys0 / keys1 >= 5.0, f"only {keys0 / keys1:.1f}× fewer keys"
    fc = bag.fcurves[5]
    assert {k.interpolation for k in fc.keyframe_points} == {"BEZIER"}
    assert {k.handle_left_type for k in fc.keyframe_points} == {"FREE"}
    assert all(float(k.co[0]).is_integer() for k in fc.keyframe_points)  # keys on whole frames


def test_reduce_keys_needs_animation(addon):
    bpy.ops.mesh.primitive_cube_add()
    with pytest.raises(RuntimeError, match="has no animation to reduce"):
        bpy.ops.anchorhoi.reduce_keys()
