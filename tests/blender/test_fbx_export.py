"""FBX for games: one take, 55 joints, no leaf bones, rest pose, engine axes and units; the file
round-trips through Blender's own importer to the same world-space joints."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.blender_scene import bone_heads, snapshot
from helpers.fbx_tree import read_fbx
from helpers.motions import make_motion, make_object

from anchorhoi.portable import result_v1
from anchorhoi.portable.motion import MotionClip
from anchorhoi.portable.skeleton import JOINT_NAMES

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.blender
FRAMES = 24
SAMPLED = (1, 7, 13, 24)


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory):
    from anchorhoi.body import BodyModel

    motion = make_motion(FRAMES, seed=11)
    clip = MotionClip(motion=motion, rig=BodyModel().rig(motion.betas), obj=make_object(FRAMES),
                      name="Lift")
    folder = tmp_path_factory.mktemp("lift")
    result_v1.write_result(folder, clip)
    return folder


@pytest.fixture
def imported(addon, result_dir):
    bpy.ops.anchorhoi.import_motion(filepath=str(result_dir))
    arm = bpy.data.objects["Lift"]
    return arm, bone_heads(arm, bpy.context.scene, SAMPLED)


def export(tmp_path, target, frame=9):
    bpy.context.scene.frame_set(frame)  # mid-motion: the file must still carry the rest pose
    bpy.context.view_layer.objects.active = bpy.data.objects["Lift"]
    before = snapshot(bpy)
    path = tmp_path / f"lift_{target.lower()}.fbx"
    assert bpy.ops.anchorhoi.export_fbx(filepath=str(path), target=target) == {"FINISHED"}
    assert snapshot(bpy) == before, "export must leave the scene as it was"
    assert bpy.data.objects["Lift"].name == "Lift"
    return path


@pytest.mark.parametrize("target", ["GENERIC", "UNITY", "UNREAL"])
def test_round_trip_through_blender_importer(imported, tmp_path, target):
    arm, want = imported
    m0 = np.array(arm.matrix_world)
    rest = {b.name: m0[:3, :3] @ np.array(b.head_local) + m0[:3, 3] for b in arm.data.bones}
    path = export(tmp_path, target)
    fbx = read_fbx(path)
    assert fbx.takes == ["Lift"]  # one take, named after the clip
    limbs = [m.name for m in fbx.models if m.kind == "LimbNode"]
    assert sorted(limbs) == sorted([*JOINT_NAMES, "root"])  # no _end bones, no prop driver

    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=str(path), anim_offset=0, ignore_leaf_bones=False)
    arm2 = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    assert len(arm2.data.bones) == 56 and arm2.data.bones[0].name == "root"
    assert len({o.name for o in bpy.data.objects if o.type == "MESH"}) == 2  # body + box
    m = np.array(arm2.matrix_world)
    rest2 = {b.name: m[:3, :3] @ np.array(b.head_local) + m[:3, 3] for b in arm2.data.bones}
    assert max(np.linalg.norm(rest2[n] - rest[n]) for n in rest) < 1e-3  # rest pose, not frame 9
    scene = bpy.context.scene
    first = arm2.animation_data.action.frame_range[0]
    assert first == 0  # the take starts at frame 0
    got = bone_heads(arm2, scene, [first + f - 1 for f in SAMPLED])
    err = np.linalg.norm(got - want, axis=-1)
    assert err.max() < 1e-3, f"{target}: max joint error {err.max() * 1000:.2f} mm"


def test_unity_axes_and_units(imported, tmp_path):
    fbx = read_fbx(export(tmp_path, "UNITY"))
    # 1 file unit = 100 cm: Unity imports metres at scale 1 with no "convert units" factor
    assert fbx.global_settings["UnitScaleFactor"][0] == pytest.approx(100.0)
    assert fbx.global_settings["UpAxis"][0] == 1  # Y up
    for name in ("Lift_rig", "Lift_body"):  # rig and body: no -90° X rotation, no 100× scale
        m = fbx.model(name)
        assert np.allclose(m.props.get("Lcl Rotation", (0, 0, 0)), 0, atol=1e-4), name
        assert np.allclose(m.props.get("Lcl Scaling", (1, 1, 1)), 1, atol=1e-6), name
    # written from the rest pose: with identity rest orientations every SMPL-X bone's local
    # rotation in the file is zero although the scene stood at a mid-motion frame; the root
    # lies on the floor (−90° about X in the Y-up file), the pelvis's rest undoes that
    bones = {m.name: m.props.get("Lcl Rotation", (0, 0, 0)) for m in fbx.models
             if m.kind == "LimbNode"}
    np.testing.assert_allclose(bones.pop("root"), (-90, 0, 0), atol=1e-3)
    np.testing.assert_allclose(bones.pop("pelvis"), (90, 0, 0), atol=1e-3)
    for name, rotation in bones.items():
        assert np.allclose(rotation, 0, atol=1e-3), name


def test_unreal_centimetres_and_no_extra_root(imported, tmp_path):
    fbx = read_fbx(export(tmp_path, "UNREAL"))
    assert fbx.global_settings["UnitScaleFactor"][0] == pytest.approx(1.0)  # centimetres
    roots = [m for m in fbx.models if m.kind == "Null"]
    assert [m.name for m in roots] == ["Armature"]  # Unreal drops a node named Armature
    assert np.allclose(roots[0].props["Lcl Rotation"], 0, atol=1e-4)
    scale = np.array(roots[0].props["Lcl Scaling"])
    np.testing.assert_allclose(scale, 100.0, rtol=1e-5)
    body = next(v for k, v in fbx.vertices.items() if "body" in k)
    height = np.ptp(np.array(body).reshape(-1, 3), axis=0).max() * scale[0]
    assert 150 < height < 200  # a 1.7 m body measures 170-odd centimetres in the file


def test_export_errors(addon, tmp_path):
    bpy.ops.mesh.primitive_cube_add()
    with pytest.raises(RuntimeError, match="not an armature or a mesh parented to one"):
        bpy.ops.anchorhoi.export_fbx(filepath=str(tmp_path / "a.fbx"), target="UNITY")
    with pytest.raises(RuntimeError, match="does not exist"):
        bpy.ops.anchorhoi.export_fbx(filepath=str(tmp_path / "no" / "a.fbx"), target="UNITY")
    assert not list(tmp_path.iterdir())
