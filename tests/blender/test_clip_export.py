"""Clips in the FBX as they play now: a retimed clip bakes its new range (twice the frames,
frame 2k = frame k), several clips give one take each with its own name and range, a range
that would cut a clip is refused, Reduce Keys then Retime keeps the sparse keys, and a failed
export leaves the scene as it was."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from helpers.blender_scene import bone_heads, snapshot, world_matrices
from helpers.fbx_readback import assimp_worlds, write_lift
from helpers.fbx_tree import read_fbx

from anchorhoi.portable.skeleton import JOINT_NAMES

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.blender
FRAMES = 10
FPS = 30.0


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory):
    return write_lift(tmp_path_factory.mktemp("lift"), FRAMES, seed=8, fps=FPS)


def import_clip(result_dir, frame_start=1):
    assert bpy.ops.anchorhoi.import_motion(filepath=str(result_dir),
                                           frame_start=frame_start) == {"FINISHED"}
    return bpy.context.view_layer.objects.active


def state():
    strips = [(o.name, st.name, st.frame_start, st.frame_end, st.scale, st.extrapolation)
              for o in bpy.data.objects if o.animation_data
              for t in o.animation_data.nla_tracks for st in t.strips]
    return (snapshot(bpy), strips, sorted(s.name for s in bpy.data.scenes),
            len(bpy.data.meshes), len(bpy.data.armatures), len(bpy.data.actions))


def take_worlds(path, take, names) -> np.ndarray:
    return assimp_worlds(path, take, names, FPS)


def test_retime_twice_then_export(addon, result_dir, tmp_path):
    arm = import_clip(result_dir)
    scene = bpy.context.scene
    want = bone_heads(arm, scene, range(1, FRAMES + 1))
    box = world_matrices(bpy.data.objects["Box"], scene, range(1, FRAMES + 1))
    assert bpy.ops.anchorhoi.retime_clip(factor=2.0) == {"FINISHED"}
    assert (scene.frame_start, scene.frame_end) == (1, 2 * FRAMES - 1)
    for obj in (arm, bpy.data.objects["Box"]):  # the prop's strip goes with the rig's
        strip = obj.animation_data.nla_tracks[0].strips[0]
        assert (strip.frame_start, strip.frame_end) == (1, 2 * FRAMES - 1)
    scene.frame_set(1)
    before = state()
    path = tmp_path / "slow.fbx"
    assert bpy.ops.anchorhoi.export_fbx(filepath=str(path), target="UNITY") == {"FINISHED"}
    assert state() == before
    assert read_fbx(path).takes == ["Lift"]
    got = take_worlds(path, "Lift", [*JOINT_NAMES, "Box"])
    assert len(got) == 2 * FRAMES - 1  # twice the frames (both ends kept)
    err = np.linalg.norm(got[::2, :-1, :3, 3] - want, axis=-1)
    assert err.max() < 1e-3, f"frame 2k is {err.max() * 1000:.3f} mm off frame k"
    np.testing.assert_allclose(got[::2, -1, :3, 3], box[:, :3, 3], atol=1e-3)


def test_all_clips_give_one_take_each(addon, result_dir, tmp_path):
    first = import_clip(result_dir)
    second = import_clip(result_dir, frame_start=40)  # the scene range is now the second's
    assert bpy.ops.anchorhoi.retime_clip(factor=1.5) == {"FINISHED"}
    scene = bpy.context.scene
    last = math.ceil(second.animation_data.nla_tracks[0].strips[0].frame_end)  # 53.5 → 54
    want = {first.name: bone_heads(first, scene, range(1, FRAMES + 1)),
            second.name: bone_heads(second, scene, range(40, last + 1))}
    path = tmp_path / "two.fbx"
    bpy.context.view_layer.objects.active = first
    assert bpy.ops.anchorhoi.export_fbx(filepath=str(path), all_clips=True) == {"FINISHED"}
    assert sorted(read_fbx(path).takes) == sorted(want)
    for take, heads in want.items():
        got = take_worlds(path, take, JOINT_NAMES)[..., :3, 3]
        assert got.shape == heads.shape, f"take {take}: {len(got)} frames, want {len(heads)}"
        assert np.linalg.norm(got - heads, axis=-1).max() < 1e-3, take
    # exporting the first clip alone bakes its own range, not the scene's (the second's)
    one = tmp_path / "first.fbx"
    assert bpy.ops.anchorhoi.export_fbx(filepath=str(one), clip=first.name) == {"FINISHED"}
    got = take_worlds(one, first.name, JOINT_NAMES)[..., :3, 3]
    assert np.linalg.norm(got - want[first.name], axis=-1).max() < 1e-3


def test_a_range_that_cuts_the_clip_is_refused(addon, result_dir, tmp_path):
    import_clip(result_dir)
    before = state()
    with pytest.raises(RuntimeError, match=r"does not cover clip 'Lift' \(frames 1–10\)"):
        bpy.ops.anchorhoi.export_fbx(filepath=str(tmp_path / "cut.fbx"), use_frame_range=True,
                                     frame_start=1, frame_end=6)
    with pytest.raises(RuntimeError, match="no clip named 'Nope'"):
        bpy.ops.anchorhoi.export_fbx(filepath=str(tmp_path / "cut.fbx"), clip="Nope")
    assert state() == before
    assert not list(tmp_path.iterdir())
    wide = tmp_path / "wide.fbx"  # a range covering the clip is fine (the ends hold)
    assert bpy.ops.anchorhoi.export_fbx(filepath=str(wide), use_frame_range=True,
                                        frame_start=0, frame_end=12) == {"FINISHED"}
    assert len(take_worlds(wide, "Lift", ["pelvis"])) == 13


def test_a_failed_export_leaves_the_scene_unchanged(addon, result_dir, tmp_path):
    import_clip(result_dir)
    path = tmp_path / "x.fbx"
    (tmp_path / f".x.{os.getpid()}.tmp.fbx").mkdir()  # the exporter cannot write its file
    before = state()
    with pytest.raises(RuntimeError, match="FBX export failed, scene left unchanged"):
        bpy.ops.anchorhoi.export_fbx(filepath=str(path), skeleton="UE5", prop="BONE",
                                     root_motion="ROOT_MOTION")
    assert state() == before
    assert not path.exists()


def test_reduce_keys_then_retime_keeps_sparse_keys(addon, result_dir):
    arm = import_clip(result_dir)
    scene = bpy.context.scene
    assert bpy.ops.anchorhoi.reduce_keys() == {"FINISHED"}
    action = arm.animation_data.nla_tracks[0].strips[0].action
    keys = {(c.data_path, c.array_index): [k.co[0] for k in c.keyframe_points]
            for layer in action.layers for s in layer.strips for b in s.channelbags
            for c in b.fcurves}
    reduced = bone_heads(arm, scene, range(1, FRAMES + 1))
    assert bpy.ops.anchorhoi.retime_clip(factor=2.0) == {"FINISHED"}
    after = {(c.data_path, c.array_index): [k.co[0] for k in c.keyframe_points]
             for layer in action.layers for s in layer.strips for b in s.channelbags
             for c in b.fcurves}
    assert after == keys  # the same sparse, editable keys, now played on the new timing
    assert sum(map(len, keys.values())) < len(keys) * FRAMES
    slow = bone_heads(arm, scene, range(1, 2 * FRAMES, 2))
    assert np.linalg.norm(slow - reduced, axis=-1).max() < 1e-4


def fbx_property_curves(path, node: str) -> dict[str, dict[str, tuple]]:
    """Take → property → (key times in seconds, values) of ``node``'s animated properties,
    read with Blender's FBX parser from the file's objects and connections."""
    from io_scene_fbx import parse_fbx

    root, _ = parse_fbx.parse(str(path))
    objects = next(e for e in root.elems if e.id == b"Objects").elems
    links = [c.props for c in next(e for e in root.elems if e.id == b"Connections").elems]

    def name(e):
        return e.props[1].split(b"\x00\x01")[0].decode()

    model = next(e.props[0] for e in objects if e.id == b"Model" and name(e) == node)
    by_id = {e.props[0]: e for e in objects if e.props}
    out: dict[str, dict[str, tuple]] = {}
    for _kind, src, dst, *prop in links:
        if dst != model or by_id.get(src) is None or by_id[src].id != b"AnimationCurveNode":
            continue
        layer = next(d for k, s, d, *_ in links if k == b"OO" and s == src)
        stack = next(d for k, s, d, *_ in links if k == b"OO" and s == layer)
        curve = by_id[next(s for k, s, d, *_ in links if d == src and
                           by_id[s].id == b"AnimationCurve")]
        data = {e.id: e.props[0] for e in curve.elems}
        out.setdefault(name(by_id[stack]), {})[prop[0].decode()] = (
            np.array(data[b"KeyTime"]) / 46186158000, np.array(data[b"KeyValueFloat"]))
    return out


def test_contacts_reach_the_fbx_as_curves_of_the_root(addon, result_dir, tmp_path):
    arm = import_clip(result_dir)
    pattern = {"contact_foot_l": [1, 1, 1, 0, 0, 0, 1, 1, 1, 1],
               "contact_hand_r": [0, 0, 0, 0, 1, 1, 1, 1, 0, 0]}
    action = arm.animation_data.nla_tracks[0].strips[0].action
    bag = action.layers[0].strips[0].channelbags[0]
    for key, values in pattern.items():  # animated custom properties, as the import writes
        arm[key] = 0.0
        old = bag.fcurves.find(f'["{key}"]')
        if old is not None:  # the import's own (derived foot plants): replaced by the pattern
            bag.fcurves.remove(old)
        curve = bag.fcurves.new(f'["{key}"]')
        curve.keyframe_points.add(FRAMES)
        curve.keyframe_points.foreach_set("co", np.ravel([(f + 1, v) for f, v in
                                                          enumerate(values)]))
        for point in curve.keyframe_points:
            point.interpolation = "CONSTANT"
    assert bpy.ops.anchorhoi.retime_clip(factor=2.0) == {"FINISHED"}
    path = tmp_path / "contacts.fbx"
    assert bpy.ops.anchorhoi.export_fbx(filepath=str(path), target="UNREAL",
                                        skeleton="UE5") == {"FINISHED"}
    curves = {k: v for k, v in fbx_property_curves(path, "root")["Lift"].items()
              if not k.startswith("Lcl ")}
    assert set(pattern) <= set(curves) == {k for k in list(arm.keys()) if k.startswith("contact_")}
    for key, values in pattern.items():
        times, got = curves[key]
        np.testing.assert_allclose(times, np.arange(2 * FRAMES - 1) / FPS, atol=1e-6)
        np.testing.assert_array_equal(got[::2], values)  # frame 2k is frame k
    assert set(pattern) <= set(read_fbx(path).model("root").props)  # the node's properties
    # the rewritten file still reads the same in both readers
    want = bone_heads(arm, bpy.context.scene, range(1, 2 * FRAMES))
    got = take_worlds(path, "Lift", ["pelvis", "head", "hand_l"])[..., :3, 3]
    np.testing.assert_allclose(got, want[:, [0, 15, 20]], atol=1e-3)
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=str(path), anim_offset=0, ignore_leaf_bones=False)
    arm2 = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    again = bone_heads(arm2, bpy.context.scene, range(2 * FRAMES - 1),
                       ["pelvis", "head", "hand_l"])
    np.testing.assert_allclose(again, want[:, [0, 15, 20]], atol=1e-3)
