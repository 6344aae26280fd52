"""Sparse keys in the FBX (``export_fbx(key_reduction=True, max_error_mm=…)``, 0.5 mm by
default): the file keeps a fraction of the per-frame keys of a smooth clip and is smaller, yet
every joint read back by Assimp and by Blender's importer (each interpolating the keys its own
way) stays within the bound of the per-frame bake at every frame, and so does the object's
box."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.blender_scene import bone_heads, world_matrices
from helpers.fbx_readback import BOX, assimp_worlds, blender_reimport, write_lift
from helpers.fbx_tree import read_fbx

from addon.plan.skeleton_map import bone_names
from anchorhoi.portable.skeleton import JOINT_NAMES

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.blender
FRAMES = 200
FPS = 30.0
DENSE_ERROR = 2e-4  # the per-frame file's own round-trip error (float32 keys, Euler angles)


@pytest.fixture(scope="module")
def exported(installed_addon, tmp_path_factory):
    folder = write_lift(tmp_path_factory.mktemp("lift"), FRAMES, seed=3, fps=FPS)
    bpy.ops.wm.read_homefile(use_empty=True)
    assert bpy.ops.anchorhoi.import_motion(filepath=str(folder)) == {"FINISHED"}
    arm = bpy.context.view_layer.objects.active
    scene = bpy.context.scene
    frames = range(scene.frame_start, scene.frame_end + 1)
    want = bone_heads(arm, scene, frames)
    box = world_matrices(bpy.data.objects["Box"], scene, frames)
    out = tmp_path_factory.mktemp("fbx")
    files = {}
    for name, options in {"dense": dict(key_reduction=False),
                          "sparse": dict(),
                          "loose": dict(max_error_mm=5.0)}.items():
        bpy.context.view_layer.objects.active = arm
        path = out / f"{name}.fbx"
        assert bpy.ops.anchorhoi.export_fbx(
            filepath=str(path), target="UNREAL", skeleton="UE5", root_motion="ROOT_MOTION",
            prop="BONE", **options) == {"FINISHED"}
        files[name] = path
    return want, box, files


def key_counts(path) -> list[int]:
    from io_scene_fbx import parse_fbx
    root, _ = parse_fbx.parse(str(path))
    objects = next(e for e in root.elems if e.id == b"Objects")
    return [len(next(f for f in e.elems if f.id == b"KeyTime").props[0])
            for e in objects.elems if e.id == b"AnimationCurve"]


def box_error(matrices, box) -> float:
    worst = 0.0
    for f, m in enumerate(matrices):
        want, got = box[f].copy(), np.array(m)
        want[:3, :3] /= np.linalg.norm(want[:3, :3], axis=0)
        got[:3, :3] /= np.linalg.norm(got[:3, :3], axis=0)
        worst = max(worst, np.linalg.norm((got @ BOX.T - want @ BOX.T)[:3], axis=0).max())
    return worst


def test_default_is_sparse_and_much_smaller(exported):
    _, _, files = exported
    dense, sparse = key_counts(files["dense"]), key_counts(files["sparse"])
    assert len(dense) == len(sparse), "every curve is still there"
    assert set(dense) == {FRAMES}, "without the option: a key on every frame"
    # a short test clip is not as smooth per frame as a real one: bench/export_speed.py
    # measures 3,000 frames (a few percent of the keys)
    assert sum(sparse) < 0.7 * sum(dense)
    assert min(sparse) >= 2, "first and last frame kept"
    assert files["sparse"].stat().st_size < 0.9 * files["dense"].stat().st_size
    assert sum(key_counts(files["loose"])) < 0.6 * sum(sparse), "a looser bound, fewer keys"


@pytest.mark.parametrize("name,bound", [("sparse", 5e-4), ("loose", 5e-3)])
def test_joints_and_box_within_the_bound(exported, name, bound):
    want, box, files = exported
    path = files[name]
    names = bone_names("UE5")
    joints = [names[n] for n in JOINT_NAMES]
    assert read_fbx(path).takes == ["Lift"]
    got = assimp_worlds(path, "Lift", [*joints, names["prop"]], FPS)
    assert got.shape[0] == FRAMES
    err = np.linalg.norm(got[:, :-1, :3, 3] - want, axis=-1)
    assert err.max() <= bound + DENSE_ERROR, f"Assimp: joints {err.max() * 1e3:.3f} mm off"
    assert box_error(got[:, -1], box) <= bound + DENSE_ERROR
    heads, props = blender_reimport(path, joints)
    err = np.linalg.norm(heads - want, axis=-1)
    assert err.max() <= bound + DENSE_ERROR, f"Blender: joints {err.max() * 1e3:.3f} mm off"
    assert box_error([props[f] for f in sorted(props)], box) <= bound + DENSE_ERROR
    if name == "loose":  # the bound is used, not just met: keys were dropped up to it
        assert err.max() > 0.2 * bound
