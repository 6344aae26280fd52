"""Contacts and Lock Feet in real Blender: contacts arrive as animated 0/1 custom properties;
``lock_feet`` holds planted feet within 2 mm and leaves every frame beyond the blend alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.blender_scene import bone_heads, snapshot
from helpers.motions import standing_amass

from anchorhoi.body import BodyModel, BodyModelConfig
from anchorhoi.portable import result_v1
from anchorhoi.portable.contacts import CONTACT_KEYS
from anchorhoi.portable.motion import MotionClip
from anchorhoi.portable.skeleton import JOINT_NAMES
from anchorhoi.portable.up_axis import turn_clip

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.blender
T, BLEND = 40, 3
SPANS = {"contact_foot_l": (5, 16), "contact_foot_r": (22, 33)}
FOOT = {"contact_foot_l": ["left_ankle", "left_foot"], "contact_foot_r": ["right_ankle",
                                                                          "right_foot"]}


@pytest.fixture
def result(tmp_path):
    """A crouched person turning and drifting (the feet slide), with stage E-style contacts."""
    body = BodyModel(BodyModelConfig(), dtype=torch.float64)
    _, motion = standing_amass(body, num_frames=T, fps=30.0, knee_bend=0.6)
    clip = turn_clip(MotionClip(motion=motion, rig=body.rig(motion.betas), name="Crouch"),
                     from_up="Z", to_up="Y")
    contacts = {k: np.zeros(T, np.uint8) for k in CONTACT_KEYS}
    for key, (a, b) in SPANS.items():
        contacts[key][a:b + 1] = 1
    contacts["contact_hand_r"][10:20] = 1
    clip = MotionClip(motion=clip.motion, rig=clip.rig, name="Crouch", contacts=contacts)
    result_v1.write_result(tmp_path, clip)
    return tmp_path, contacts


def test_contacts_arrive_as_animated_custom_properties(addon, result):
    folder, contacts = result
    assert bpy.ops.anchorhoi.import_motion(filepath=str(folder)) == {"FINISHED"}
    arm, scene = bpy.data.objects["Crouch"], bpy.context.scene
    got = {k: [] for k in CONTACT_KEYS}
    for f in range(T):
        scene.frame_set(1 + f)
        for k in CONTACT_KEYS:
            got[k].append(arm[k])
    for k in CONTACT_KEYS:
        assert got[k] == contacts[k].tolist(), k
    strip = arm.animation_data.nla_tracks[0].strips[0]
    bag = strip.action.layers[0].strips[0].channelbag(strip.action_slot)
    fc = bag.fcurves.find('["contact_hand_r"]')
    assert {k.interpolation for k in fc.keyframe_points} == {"CONSTANT"}
    assert arm.id_properties_ui("contact_foot_l").as_dict()["max"] == 1


def test_lock_feet_holds_planted_feet_and_nothing_else(addon, result):
    folder, _ = result
    bpy.ops.anchorhoi.import_motion(filepath=str(folder))
    arm, scene = bpy.data.objects["Crouch"], bpy.context.scene
    frames = range(1, T + 1)
    before = bone_heads(arm, scene, frames)
    names = list(JOINT_NAMES)
    for key, (a, b) in SPANS.items():  # the feet do slide before locking
        j = names.index(FOOT[key][0])
        assert np.linalg.norm(np.ptp(before[a:b + 1, j], axis=0)) > 0.01
    bpy.context.view_layer.objects.active = arm
    assert bpy.ops.anchorhoi.lock_feet(blend_frames=BLEND) == {"FINISHED"}
    after = bone_heads(arm, scene, frames)
    for key, (a, b) in SPANS.items():
        for bone in FOOT[key]:
            j = names.index(bone)
            drift = np.linalg.norm(after[a:b + 1, j] - after[a, j], axis=-1).max()
            assert drift <= 0.002, f"{bone} moves {drift * 1000:.2f} mm while planted"
    held = np.zeros(T, bool)
    for a, b in SPANS.values():
        held[max(0, a - BLEND):b + BLEND + 1] = True
    np.testing.assert_allclose(after[~held], before[~held], atol=1e-6)
    # the upper body never moves
    upper = [names.index(n) for n in ("pelvis", "spine3", "head", "left_wrist")]
    np.testing.assert_allclose(after[:, upper], before[:, upper], atol=1e-6)


def test_lock_feet_refuses_a_rig_without_contacts(addon):
    bpy.ops.object.armature_add()
    before = snapshot(bpy)
    with pytest.raises(RuntimeError, match="has no animation: import a clip first"):
        bpy.ops.anchorhoi.lock_feet()
    assert snapshot(bpy) == before


def all_keys(arm) -> dict[tuple[str, int], list]:
    strip = arm.animation_data.nla_tracks[0].strips[0]
    bag = strip.action.layers[0].strips[0].channelbag(strip.action_slot)
    return {(fc.data_path, fc.array_index): [tuple(k.co) + tuple(k.handle_left) +
                                             (k.interpolation,) for k in fc.keyframe_points]
            for fc in bag.fcurves}


def test_a_failure_half_way_leaves_every_key_as_it_was(addon, result, monkeypatch):
    import dataclasses

    import bl_ext.user_default.anchorhoi.operators.lock_feet as op

    def broken_solve(clip, *, blend):  # the right leg's lock points past the clip's end
        locks = solve(clip, blend=blend)
        bad = dataclasses.replace(locks["contact_foot_r"], frames=np.array([10 ** 6]))
        return {"contact_foot_l": locks["contact_foot_l"], "contact_foot_r": bad}

    solve = op.solve
    monkeypatch.setattr(op, "solve", broken_solve)
    folder, _ = result
    bpy.ops.anchorhoi.import_motion(filepath=str(folder))
    arm = bpy.data.objects["Crouch"]
    before = all_keys(arm)
    with pytest.raises(RuntimeError, match="Lock Feet failed, keys left unchanged"):
        bpy.ops.anchorhoi.lock_feet()
    assert all_keys(arm) == before


def test_lock_feet_is_in_the_object_animation_menu(addon):
    import bl_ext.user_default.anchorhoi.ui.clip_panels as panels

    assert panels.menu_animation in bpy.types.VIEW3D_MT_object_animation._dyn_ui_initialize()
    props = bpy.ops.anchorhoi.lock_feet.get_rna_type().properties
    assert props["blend_frames"].description  # every property has a tooltip
