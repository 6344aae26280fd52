"""The game skeleton in real Blender: ``root`` is bone 0 on the floor, the rest soles on z = 0,
no hidden offset or rotation on the armature object; the demo clip stands on the floor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.blender_scene import evaluated_vertices
from helpers.motions import make_motion
from helpers.synthetic_smplx import write_synthetic_smplx

from anchorhoi.body import BodyModel, BodyModelConfig
from anchorhoi.portable.amass import motion_to_arrays

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.blender


def rest_world_vertices(body) -> np.ndarray:
    co = np.empty(len(body.data.vertices) * 3)
    body.data.vertices.foreach_get("co", co)
    m = np.array(body.matrix_world)
    return co.reshape(-1, 3) @ m[:3, :3].T + m[:3, 3]


def imported():
    arm = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    body = next(o for o in bpy.data.objects if o.type == "MESH" and o.parent == arm)
    return arm, body


@pytest.mark.parametrize("model", ["procedural", "smplx"])
def test_root_bone_on_the_floor_and_rest_soles_on_z0(addon, tmp_path, model):
    betas = np.random.default_rng(4).normal(scale=1.0, size=10)
    if model == "smplx":
        folder = tmp_path / "smplx"
        write_synthetic_smplx(folder, BodyModel(BodyModelConfig(), dtype=torch.float64)
                              .rig().rest_joints)
        addon.smplx_dir = str(folder)
    motion = make_motion(6, seed=2)
    arrays = motion_to_arrays(motion) | {"betas": betas.astype(np.float32)}
    np.savez(tmp_path / "clip.npz", **arrays)
    assert bpy.ops.anchorhoi.import_motion(filepath=str(tmp_path / "clip.npz")) == {"FINISHED"}
    arm, body = imported()
    bones = arm.data.bones
    assert bones[0].name == "root" and bones[0].parent is None
    assert bones["pelvis"].parent.name == "root"
    assert [b.name for b in bones if b.parent is None] == ["root"]
    # no hidden offset or rotation on the armature object
    np.testing.assert_allclose(np.array(arm.matrix_world), np.eye(4), atol=1e-12)
    np.testing.assert_allclose(np.array(body.matrix_world), np.eye(4), atol=1e-12)
    # root on the floor under the rest pelvis
    root, pelvis = np.array(bones["root"].head_local), np.array(bones["pelvis"].head_local)
    assert abs(root[2]) < 1e-9 and abs(np.array(bones["root"].tail_local)[2]) < 1e-9
    np.testing.assert_allclose(root[:2], pelvis[:2], atol=1e-9)
    assert pelvis[2] > 0.5  # the pelvis stands above the floor
    # the rest body (T-pose, the clip's betas) stands with its soles on z = 0
    verts = rest_world_vertices(body)
    assert abs(verts[:, 2].min()) < 0.01
    head = np.array(bones["head"].head_local)
    assert head[2] > pelvis[2] + 0.3
    # the T-pose is kept: the arms stretch sideways at shoulder height
    wrist_l, wrist_r = (np.array(bones[n].head_local) for n in ("left_wrist", "right_wrist"))
    assert abs(wrist_l[0] - wrist_r[0]) > 1.0 and abs(wrist_l[2] - wrist_r[2]) < 0.05
    # proportions from the betas: the rest joints are the body model's at those betas
    official = BodyModel(BodyModelConfig(smplx_dir=tmp_path / "smplx" if model == "smplx"
                                         else None), dtype=torch.float64)
    rest = official.rig(betas).rest_joints
    got = np.array([bones[n].head_local for n in ("left_hip", "left_knee", "left_ankle")])
    want = rest[[1, 4, 7]]
    np.testing.assert_allclose(np.diff(got, axis=0), np.diff(want @ np.array(
        [[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]]).T, axis=0), atol=1e-6)


def test_demo_clip_stands_on_the_floor(addon, tmp_path):
    from tools.convert_motion import demo_result

    folder = demo_result(tmp_path / "demo")
    assert bpy.ops.anchorhoi.import_motion(filepath=str(folder), place_at_object=False) == {
        "FINISHED"}
    body = imported()[1]
    scene = bpy.context.scene
    lowest = []
    for frame in range(scene.frame_start, scene.frame_end + 1, 7):
        scene.frame_set(frame)
        verts = evaluated_vertices(body, bpy.context.evaluated_depsgraph_get())
        lowest.append(verts[:, 2].min())
    lowest = np.array(lowest)
    assert np.abs(lowest).max() < 0.01, f"lowest body point per frame: {lowest}"
