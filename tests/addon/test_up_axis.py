"""Up axes (bpy-free): AMASS Z up ↔ the body model's Y up, the frame-rate keys real files use,
results 1.0 (Y up) and 1.1 (Z up), and an import plan without any extra rotation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers.motions import make_motion, make_object, standing_amass

from addon.plan.import_plan import plan_import
from addon.plan.motion_source import open_motion
from anchorhoi.body import BodyModel, BodyModelConfig
from anchorhoi.portable import kinematics, result_v1
from anchorhoi.portable.amass import motion_to_arrays
from anchorhoi.portable.arrays import load_npz
from anchorhoi.portable.motion import MotionClip
from anchorhoi.portable.skeleton import PARENTS
from anchorhoi.portable.up_axis import C, turn_clip

HEAD, PELVIS = 15, 0


@pytest.fixture(scope="module")
def body():
    return BodyModel(BodyModelConfig(), dtype=torch.float64)


def world_joints(clip: MotionClip) -> np.ndarray:
    m = clip.motion
    return kinematics.posed_joints(m.full_pose(), clip.rig.rest_joints, PARENTS, m.trans)[0]


def test_turning_a_clip_turns_its_world_only(body):
    motion = make_motion(9, seed=4)
    clip = MotionClip(motion=motion, rig=body.rig(motion.betas), obj=make_object(9))
    z_up = turn_clip(clip, from_up="Y", to_up="Z")
    np.testing.assert_allclose(world_joints(z_up), world_joints(clip) @ C.T, atol=1e-9)
    np.testing.assert_allclose(z_up.obj.trans, clip.obj.trans @ C.T, atol=1e-12)
    rot = kinematics.axis_angle_to_matrix
    from addon.plan.quaternions import to_matrix
    np.testing.assert_allclose(to_matrix(z_up.obj.rot), C @ to_matrix(clip.obj.rot), atol=1e-12)
    assert np.array_equal(z_up.motion.pose_body, clip.motion.pose_body)
    back = turn_clip(z_up, from_up="Z", to_up="Y")
    np.testing.assert_allclose(back.motion.trans, clip.motion.trans, atol=1e-12)
    np.testing.assert_allclose(rot(back.motion.root_orient), rot(clip.motion.root_orient),
                               atol=1e-9)
    with pytest.raises(ValueError, match="up axis must be one of"):
        turn_clip(clip, from_up="X", to_up="Y")


@pytest.mark.parametrize("rate_key", ["mocap_frame_rate", "mocap_framerate", "fps"])
def test_standing_amass_file_is_upright(tmp_path, body, rate_key):
    arrays, motion = standing_amass(body, rate_key=rate_key, fps=50.0)
    np.savez(tmp_path / "stand_stageii.npz", **arrays)
    clip, source = open_motion(tmp_path / "stand_stageii.npz")
    assert clip.motion.fps == 50.0 and "Z up" in source
    joints = world_joints(clip)  # the body model's Y-up world: up is +y
    assert (joints[:, HEAD, 1] > joints[:, PELVIS, 1] + 0.3).all()
    # the file's Z-up world, turned: equals the body model posed with the file's numbers
    with torch.no_grad():
        want = body.forward_motion(motion).joints.double().numpy()
    np.testing.assert_allclose(joints @ C.T, want, atol=1e-6)
    # forcing Y up is taking the file at its word: the person then lies along the floor
    lying = world_joints(open_motion(tmp_path / "stand_stageii.npz", up_axis="Y")[0])
    assert np.abs(lying[:, HEAD, 1] - lying[:, PELVIS, 1]).max() < 0.1


def test_plan_has_no_extra_rotation(tmp_path, body):
    arrays, motion = standing_amass(body)
    np.savez(tmp_path / "stand.npz", **arrays)
    plan = plan_import(open_motion(tmp_path / "stand.npz")[0])
    assert np.array_equal(plan.root_matrix, np.eye(4))
    # the pelvis pose bone carries the clip's own turn (a yaw about its rest Y = world up) only
    q = plan.bone_rotations[:, 0]
    assert np.abs(q[:, [1, 3]]).max() < 1e-6
    yaw = 2 * np.arctan2(q[:, 2], q[:, 0])
    np.testing.assert_allclose(yaw, 0.8 * np.linspace(0, 1, motion.num_frames) + 0.3,
                               atol=1e-6)  # standing_amass's turn about z
    # pelvis location: the world pelvis (z up) above the floor
    assert plan.heads[0, 2] == 0.0 and plan.heads[1, 2] > 0.5


def test_results_1_0_and_1_1_read_into_the_same_clip(tmp_path, body):
    motion, obj = make_motion(10, seed=6), make_object(10)
    clip = MotionClip(motion=motion, rig=body.rig(motion.betas), obj=obj, name="Clip")
    result_v1.write_result(tmp_path / "new", clip)
    doc = json.loads((tmp_path / "new" / "result.json").read_text())
    assert (doc["version"], doc["up_axis"]) == ("1.2", "Z")
    raw = load_npz(tmp_path / "new" / "motion.npz")
    assert raw["trans"].dtype == np.float32
    # what an AMASS tool sees: the body upright along +z
    z_up = kinematics.posed_joints(
        np.concatenate([raw["root_orient"], raw["pose_body"], raw["pose_jaw"], raw["pose_eye"],
                        raw["pose_hand"]], axis=1).reshape(10, 55, 3),
        raw["rig_rest_joints"], PARENTS, raw["trans"])[0]
    np.testing.assert_allclose(z_up, world_joints(clip) @ C.T, atol=1e-5)
    write_v1_0(tmp_path / "old", clip)
    for folder in ("new", "old"):
        got, _ = result_v1.read_result(tmp_path / folder)
        np.testing.assert_allclose(world_joints(got), world_joints(clip), atol=1e-5)
        np.testing.assert_allclose(got.obj.trans, obj.trans, atol=1e-6)


def write_v1_0(folder, clip: MotionClip) -> None:
    """A result as version 1.0 wrote it: the same files with Y-up arrays."""
    result_v1.write_result(folder, clip)
    arrays = load_npz(folder / "motion.npz")
    arrays.update(motion_to_arrays(clip.motion))
    arrays.update(obj_trans=clip.obj.trans, obj_rot=clip.obj.rot)
    np.savez(folder / "motion.npz", **arrays)
    doc = json.loads((folder / "result.json").read_text())
    doc.update(version="1.0", up_axis="Y")
    (folder / "result.json").write_text(json.dumps(doc))
