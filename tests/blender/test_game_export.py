"""FBX for games, read back by Blender's importer and by Assimp (no shared code with Blender's
exporter): every target × skeleton × root-motion mode keeps the joints where Blender has them,
root motion follows the pelvis over the floor, in-place removes the travel, the bone names are
the skeleton's; retimed and several clips bake their own ranges into their own takes; the prop
bone follows the object."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers.blender_scene import bone_heads, snapshot, world_matrices
from helpers.fbx_readback import BOX, assimp_worlds, blender_reimport, write_lift
from helpers.fbx_tree import read_fbx

from addon.plan.skeleton_map import bone_names
from anchorhoi.portable.skeleton import JOINT_NAMES

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.blender
FRAMES = 12
FPS = 30.0
TARGETS, SKELETONS = ("GENERIC", "UNITY", "UNREAL"), ("SMPLX", "UE5", "MIXAMO")
MODES = ("AS_IS", "ROOT_MOTION", "IN_PLACE")
COMBOS = list(itertools.product(TARGETS, SKELETONS, MODES))
FAST = {("GENERIC", "SMPLX", "AS_IS"), ("UNITY", "MIXAMO", "IN_PLACE"),
        ("UNREAL", "UE5", "ROOT_MOTION")}


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory):
    return write_lift(tmp_path_factory.mktemp("lift"), FRAMES, seed=5, fps=FPS)


def fresh_clip(result_dir, frame_start=1):
    assert bpy.ops.anchorhoi.import_motion(filepath=str(result_dir),
                                           frame_start=frame_start) == {"FINISHED"}
    return bpy.context.view_layer.objects.active


def export(path, **options):
    before = snapshot(bpy), sorted(s.name for s in bpy.data.scenes)
    assert bpy.ops.anchorhoi.export_fbx(filepath=str(path), **options) == {"FINISHED"}
    assert (snapshot(bpy), sorted(s.name for s in bpy.data.scenes)) == before, \
        "export must leave the scene as it was"
    return path


@pytest.fixture(scope="module")
def exported(installed_addon, result_dir, tmp_path_factory):
    """The source's joints and prop per frame, and one file per combination."""
    bpy.ops.wm.read_homefile(use_empty=True)
    arm = fresh_clip(result_dir)
    scene = bpy.context.scene
    frames = range(scene.frame_start, scene.frame_end + 1)
    want = bone_heads(arm, scene, frames)
    box = world_matrices(bpy.data.objects["Box"], scene, frames)
    folder = tmp_path_factory.mktemp("fbx")
    files = {}
    for target, skeleton, mode in COMBOS:
        scene.frame_set(5)  # mid-motion: the files must still carry the rest pose
        files[target, skeleton, mode] = export(
            folder / f"{target}_{skeleton}_{mode}.fbx", target=target, skeleton=skeleton,
            root_motion=mode, prop="BONE")
    return want, box, files


def check_joints(got, want, mode, who):
    assert got.shape == want.shape, f"{who}: {got.shape[0]} frames, want {want.shape[0]}"
    if mode == "IN_PLACE":
        pelvis = got[:, 0, :2]
        assert np.ptp(pelvis, axis=0).max() < 1e-3, f"{who}: the pelvis travels in place"
        travel = want[:, :1, :2] - want[:1, :1, :2]  # removed from every joint alike
        want = want.copy()
        want[..., :2] += pelvis[:1, None] - want[:1, :1, :2] - travel
    err = np.linalg.norm(got - want, axis=-1)
    assert err.max() < 1e-3, f"{who}: joints {err.max() * 1000:.3f} mm off"


def check_prop(matrices, box, who):
    for f, m in enumerate(matrices):
        want = box[f].copy()
        want[:3, :3] /= np.linalg.norm(want[:3, :3], axis=0)
        got = np.array(m)
        got[:3, :3] /= np.linalg.norm(got[:3, :3], axis=0)
        err = np.linalg.norm((got @ BOX.T - want @ BOX.T)[:3], axis=0).max()
        assert err < 1e-3, f"{who}: prop bone {err * 1000:.3f} mm off the object at frame {f}"


@pytest.mark.parametrize("combo", [pytest.param(c, marks=() if c in FAST else pytest.mark.slow,
                                                id="-".join(c)) for c in COMBOS])
def test_round_trip(exported, combo):
    want, box, files = exported
    _, skeleton, mode = combo
    path = files[combo]
    names = bone_names(skeleton)
    joints = [names[n] for n in JOINT_NAMES]
    fbx = read_fbx(path)
    assert fbx.takes == ["Lift"]
    limbs = {m.name for m in fbx.models if m.kind == "LimbNode"}
    assert limbs == {*joints, names["root"], names["prop"]}
    with_root = assimp_worlds(path, "Lift", [names["root"], *joints, names["prop"]], FPS)
    root, got = with_root[:, 0], with_root[:, 1:-1, :3, 3]
    check_joints(got, want, mode, f"{combo} via Assimp")
    check_prop(with_root[:, -1] if mode != "IN_PLACE" else [], box, f"{combo} via Assimp")
    assert np.abs(root[:, 2, 3]).max() < 1e-3, "the root stays on the floor"
    if mode == "ROOT_MOTION":  # the root's track is the pelvis's ground projection
        np.testing.assert_allclose(root[:, :2, 3], want[:, 0, :2], atol=1e-3)
    else:
        assert np.ptp(root[:, :3, 3], axis=0).max() < 1e-6, "the root stays still"
    heads, props = blender_reimport(path, joints)
    check_joints(heads, want, mode, f"{combo} via Blender")
    if mode != "IN_PLACE":
        check_prop([props[f] for f in sorted(props)], box, f"{combo} via Blender")


def test_bone_names_are_the_engines(exported):
    _, _, files = exported
    ue5 = {m.name for m in read_fbx(files["UNREAL", "UE5", "AS_IS"]).models}
    assert {"root", "pelvis", "spine_01", "neck_01", "head", "clavicle_l", "upperarm_l",
            "lowerarm_l", "hand_l", "thigh_l", "calf_l", "foot_l", "ball_l", "index_01_l",
            "thigh_r", "ball_r"} <= ue5
    mixamo = {m.name for m in read_fbx(files["UNITY", "MIXAMO", "AS_IS"]).models}
    assert {"mixamorig:Hips", "mixamorig:Spine", "mixamorig:LeftUpLeg", "mixamorig:LeftLeg",
            "mixamorig:LeftFoot", "mixamorig:LeftToeBase", "mixamorig:LeftShoulder",
            "mixamorig:LeftArm", "mixamorig:LeftForeArm", "mixamorig:LeftHand",
            "mixamorig:LeftHandIndex1"} <= mixamo
    assert not any(n in mixamo for n in ("left_hip", "pelvis"))
