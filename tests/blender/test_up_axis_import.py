"""Up axis through the operator (real bpy): a standing AMASS clip (Z up) and results 1.0 (Y up)
and 1.1 (Z up, written by stage E's writer) all import upright on Blender's floor, with the
armature object carrying no rotation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.blender_scene import bone_heads, evaluated_vertices
from helpers.motions import standing_amass

from anchorhoi.body import BodyModel, BodyModelConfig
from anchorhoi.motion.output import MotionOutput
from anchorhoi.portable.motion import MotionClip
from anchorhoi.portable.result_v1 import ResultInfo
from anchorhoi.portable.up_axis import turn_clip

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.blender


@pytest.fixture(scope="module")
def standing():
    body = BodyModel(BodyModelConfig(), dtype=torch.float64)
    arrays, motion = standing_amass(body, num_frames=12, fps=30.0)
    with torch.no_grad():
        joints = body.forward_motion(motion).joints.double().numpy()  # Z-up world
    return arrays, motion, body, joints


def check_upright(joints_want: np.ndarray) -> None:
    arm = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    body = next(o for o in arm.children if o.type == "MESH")
    np.testing.assert_allclose(np.array(arm.matrix_world), np.eye(4), atol=1e-12)
    scene = bpy.context.scene
    got = bone_heads(arm, scene, range(scene.frame_start, scene.frame_end + 1))
    err = np.linalg.norm(got - joints_want, axis=-1)
    assert err.max() < 1e-3, f"max joint error {err.max() * 1000:.3f} mm"
    assert (got[:, 15, 2] > got[:, 0, 2] + 0.3).all()  # head above pelvis
    for frame in (scene.frame_start, scene.frame_end):
        scene.frame_set(frame)
        lowest = evaluated_vertices(body, bpy.context.evaluated_depsgraph_get())[:, 2].min()
        assert abs(lowest) < 0.01, f"feet at z = {lowest:.4f} at frame {frame}"


def test_standing_amass_clip_stands_on_the_floor(addon, tmp_path, standing):
    arrays, _, _, joints = standing
    np.savez(tmp_path / "stand_stageii.npz", **arrays)
    assert bpy.ops.anchorhoi.import_motion(filepath=str(tmp_path / "stand_stageii.npz")) == {
        "FINISHED"}
    check_upright(joints)
    # the pelvis pose bone holds only the clip's own turn about the vertical
    arm = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    q = np.array(arm.pose.bones["pelvis"].rotation_quaternion)
    assert abs(q[1]) < 1e-5 and abs(q[3]) < 1e-5


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_results_import_upright(addon, tmp_path, standing, version):
    import json

    from anchorhoi.portable.amass import motion_to_arrays
    from anchorhoi.portable.arrays import load_npz

    _, motion, body, joints = standing
    rig = body.rig(motion.betas)
    clip = turn_clip(MotionClip(motion=motion, rig=rig, name="Stand"), from_up="Z", to_up="Y")
    MotionOutput(clip=clip, info=ResultInfo(prompt="stand")).save(tmp_path)  # stage E's writer
    doc = json.loads((tmp_path / "result.json").read_text())
    assert (doc["version"], doc["up_axis"]) == ("1.2", "Z")
    if version == "1.0":  # the same result as version 1.0 wrote it: Y-up arrays
        raw = load_npz(tmp_path / "motion.npz") | motion_to_arrays(clip.motion)
        np.savez(tmp_path / "motion.npz", **raw)
        doc.update(version="1.0", up_axis="Y")
        (tmp_path / "result.json").write_text(json.dumps(doc))
    assert bpy.ops.anchorhoi.import_motion(filepath=str(tmp_path)) == {"FINISHED"}
    check_upright(joints)
