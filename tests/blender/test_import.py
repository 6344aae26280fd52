"""Import into real Blender: the rig Blender evaluates equals the body model, frame by frame."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.blender_scene import bone_heads, evaluated_vertices, snapshot, world_matrices
from helpers.motions import make_motion, make_object
from helpers.synthetic_smplx import write_synthetic_smplx

from anchorhoi.body import BodyModel, BodyModelConfig
from anchorhoi.portable import result_v1
from anchorhoi.portable.amass import motion_to_arrays
from anchorhoi.portable.motion import MotionClip
from anchorhoi.portable.skeleton import JOINT_NAMES

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.blender

C = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])  # Y-up → Z-up, as addon/plan/axes.py


def expected_joints(body: BodyModel, motion) -> np.ndarray:
    with torch.no_grad():
        out = body.forward_motion(motion)
    return out.joints.double().numpy() @ C.T, out.vertices.double().numpy() @ C.T


@pytest.fixture(scope="module")
def procedural_body():
    return BodyModel(BodyModelConfig(), dtype=torch.float64)


def write_amass(path, motion):
    np.savez(path, **motion_to_arrays(motion))
    return path


def the_armature():
    arms = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    assert len(arms) == 1
    return arms[0]


def test_amass_on_procedural_body_matches_body_model(addon, tmp_path, procedural_body):
    motion = make_motion(40)
    path = write_amass(tmp_path / "walk_stageii.npz", motion)  # a Y-up motion: say so
    assert bpy.ops.anchorhoi.import_motion(filepath=str(path), up_axis="Y") == {"FINISHED"}
    arm, scene = the_armature(), bpy.context.scene
    assert arm.data.bones[0].name == "root"
    assert sorted(b.name for b in arm.data.bones) == sorted(("root", *JOINT_NAMES))
    # rest orientations: root the identity, the SMPL-X bones point up with zero roll (C)
    np.testing.assert_allclose(np.array(arm.data.bones["root"].matrix_local)[:3, :3], np.eye(3),
                               atol=1e-6)
    for b in arm.data.bones[1:]:
        np.testing.assert_allclose(np.array(b.matrix_local)[:3, :3], C, atol=1e-6)
    assert (scene.render.fps, scene.frame_start, scene.frame_end) == (30, 1, 40)
    want, want_verts = expected_joints(procedural_body, motion)
    got = bone_heads(arm, scene, range(1, 41))
    err = np.linalg.norm(got - want, axis=-1)
    assert err.max() < 1e-3, f"max joint error {err.max() * 1000:.3f} mm"
    # the skinned body follows (Blender's armature deform is the same linear blend skinning)
    body = next(o for o in bpy.data.objects if o.type == "MESH")
    scene.frame_set(17)
    verts = evaluated_vertices(body, bpy.context.evaluated_depsgraph_get())
    assert np.abs(verts - want_verts[16]).max() < 1e-3


def test_result_with_object_and_nla_strip(addon, tmp_path, procedural_body):
    motion, obj = make_motion(30, fps=24.0, seed=3), make_object(30)
    clip = MotionClip(motion=motion, rig=procedural_body.rig(motion.betas), obj=obj, name="Sit")
    result_v1.write_result(tmp_path / "job", clip)
    assert bpy.ops.anchorhoi.import_motion(filepath=str(tmp_path / "job"), frame_start=10) == {
        "FINISHED"}
    scene, arm = bpy.context.scene, the_armature()
    box = bpy.data.objects["Box"]
    assert (scene.render.fps, scene.frame_start, scene.frame_end) == (24, 10, 39)
    want = expected_joints(procedural_body, motion)[0]
    assert np.abs(bone_heads(arm, scene, range(10, 40)) - want).max() < 1e-3
    # object: world matrix = C · [R | t] over its Y-up mesh
    from bl_ext.user_default.anchorhoi.plan import quaternions

    r = quaternions.to_matrix(obj.rot)
    m = np.zeros((30, 4, 4))
    m[:, :3, :3], m[:, :3, 3], m[:, 3, 3] = C @ r, obj.trans @ C.T, 1.0
    np.testing.assert_allclose(world_matrices(box, scene, range(10, 40)), m, atol=1e-5)
    # one action per clip, on an NLA strip (retimable as a whole), no active action on top
    ad = arm.animation_data
    assert ad.action is None and len(ad.nla_tracks) == 1
    strip = ad.nla_tracks[0].strips[0]
    assert (strip.frame_start, strip.frame_end) == (10, 39)
    assert strip.action.name == "Sit_motion" and strip.action_slot is not None
    bag = strip.action.layers[0].strips[0].channelbag(strip.action_slot)
    assert len(bag.fcurves) == 55 * 4 + 3 + 4 and len(bag.fcurves[0].keyframe_points) == 30
    # quaternion signs are continuous: neighbouring keys never point to opposite hemispheres
    q = np.array([[[fc.keyframe_points[k].co[1] for k in range(30)]
                   for fc in bag.fcurves if fc.data_path.endswith(f'["{b}"].rotation_quaternion')]
                  for b in ("pelvis", "left_knee")])
    assert (np.einsum("bct,bct->bt", q[:, :, 1:], q[:, :, :-1]) > 0).all()
    # retiming the strip retimes the motion
    strip.scale = 2.0
    assert np.abs(bone_heads(arm, scene, [10 + 2 * 7]) - want[7]).max() < 1e-3


def test_official_format_model(addon, tmp_path, procedural_body):
    folder = tmp_path / "smplx"
    write_synthetic_smplx(folder, procedural_body.rig().rest_joints)
    addon.smplx_dir = str(folder)
    motion = make_motion(20, fps=60.0, seed=5)
    path = write_amass(tmp_path / "clip.npz", motion)
    assert bpy.ops.anchorhoi.import_motion(filepath=str(path), up_axis="Y") == {"FINISHED"}
    official = BodyModel(BodyModelConfig(smplx_dir=folder), dtype=torch.float64)
    want = expected_joints(official, motion)[0]
    got = bone_heads(the_armature(), bpy.context.scene, range(1, 21))
    assert np.abs(got - want).max() < 1e-3
    assert len(next(o for o in bpy.data.objects if o.type == "MESH").data.vertices) == 10475
    assert bpy.context.scene.render.fps == 60


def test_fractional_fps(addon, tmp_path):
    path = write_amass(tmp_path / "ntsc.npz", make_motion(5, fps=29.97))
    bpy.ops.anchorhoi.import_motion(filepath=str(path))
    s = bpy.context.scene
    assert s.render.fps == 30 and s.render.fps / s.render.fps_base == pytest.approx(29.97)


def bad_npz(tmp_path, name, **changes):
    arrays = motion_to_arrays(make_motion(8))
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("name, changes, message", [
    ("missing.npz", {"trans": None}, "'trans': missing key"),
    ("shape.npz", {"pose_body": np.zeros((8, 60))}, "'pose_body': expected shape (N, 63)"),
    ("nan.npz", {"root_orient": np.full((8, 3), np.inf)}, "'root_orient': contains NaN/Inf"),
    ("frames.npz", {"pose_hand": np.zeros((9, 90))}, "frame counts disagree"),
    ("pickle.npz", {"gender": np.array([None], dtype=object)}, "never unpickled"),
    ("fps.npz", {"mocap_frame_rate": np.array(0.0)}, "outside 1..1000 fps"),
])
def test_bad_input_leaves_scene_unchanged(addon, tmp_path, name, changes, message):
    bpy.ops.mesh.primitive_cube_add()
    before = snapshot(bpy)
    path = bad_npz(tmp_path, name, **changes)
    with pytest.raises(RuntimeError) as err:
        bpy.ops.anchorhoi.import_motion(filepath=str(path))
    assert message in str(err.value)
    assert snapshot(bpy) == before


def test_bad_files_leave_scene_unchanged(addon, tmp_path):
    before = snapshot(bpy)
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really")
    (tmp_path / "walk.bvh").write_text("HIERARCHY")
    for path, message in [(tmp_path / "junk.npz", "truncated or corrupt"),
                          (tmp_path / "walk.bvh", "unsupported file"),
                          (tmp_path / "nope.npz", "not found")]:
        with pytest.raises(RuntimeError, match=message):
            bpy.ops.anchorhoi.import_motion(filepath=str(path))
    addon.smplx_dir = str(tmp_path)
    (tmp_path / "SMPLX_NEUTRAL.pkl").write_bytes(b"\x80\x04")
    with pytest.raises(RuntimeError, match=r"pickle model files are not read.*'\.npz' release"):
        bpy.ops.anchorhoi.import_motion(filepath=str(bad_npz(tmp_path, "ok.npz")))
    assert snapshot(bpy) == before


def test_failure_while_building_rolls_back(addon, tmp_path, monkeypatch):
    """A fault after the armature and body exist: all of it is removed again."""
    import bl_ext.user_default.anchorhoi.scene.build as scene_build

    def broken(plan, obj):
        raise MemoryError("simulated")

    monkeypatch.setattr(scene_build, "write_armature_action", broken)
    bpy.ops.mesh.primitive_cube_add()
    before = snapshot(bpy)
    with pytest.raises(RuntimeError, match="scene left unchanged: simulated"):
        bpy.ops.anchorhoi.import_motion(filepath=str(bad_npz(tmp_path, "ok.npz")))
    assert snapshot(bpy) == before


@pytest.mark.parametrize("damage, message", [
    ("version", "version 2.0 is not supported"),
    ("dtype", "'pose_body': expected numbers, got dtype <U1"),
    ("truncated", "truncated or corrupt"),
    ("object", "'obj_faces': missing key"),
    ("frames", "12 frames but result.json says 13"),
])
def test_bad_result_through_operator(addon, tmp_path, procedural_body, damage, message):
    import json

    motion = make_motion(12)
    clip = MotionClip(motion=motion, rig=procedural_body.rig(motion.betas), obj=make_object(12))
    result_v1.write_result(tmp_path, clip)
    doc_path, npz_path = tmp_path / "result.json", tmp_path / "motion.npz"
    doc = json.loads(doc_path.read_text())
    if damage in ("version", "frames"):
        doc.update(version="2.0") if damage == "version" else doc.update(frame_count=13)
        doc_path.write_text(json.dumps(doc))
    elif damage == "truncated":
        npz_path.write_bytes(npz_path.read_bytes()[:5000])
    else:
        with np.load(npz_path) as data:
            arrays = dict(data)
        if damage == "dtype":
            arrays["pose_body"] = np.full((12, 63), "x")
        else:
            del arrays["obj_faces"]
        np.savez(npz_path, **arrays)
    bpy.ops.mesh.primitive_monkey_add()
    before = snapshot(bpy)
    with pytest.raises(RuntimeError, match=message):
        bpy.ops.anchorhoi.import_motion(filepath=str(tmp_path / "result.json"))
    assert snapshot(bpy) == before
