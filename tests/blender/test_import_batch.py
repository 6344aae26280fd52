"""``import_batch`` in real Blender on a hand-made batch folder (two finished tiny results and
one failed job, the summary written by ``anchorhoi.batch.records``): one clip per finished job,
rig and NLA strips named after the job ids, the failed job skipped with its reason, and the
batch exported as the takes of one FBX — also as an artist goes on: one clip retimed, every
clip exported for Unreal, each take playing its own clip as the scene plays it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers.batch_folders import failed_job
from helpers.blender_scene import bone_heads, snapshot
from helpers.fbx_readback import assimp_worlds, write_lift
from helpers.fbx_tree import read_fbx

from addon.plan.skeleton_map import bone_names
from anchorhoi.batch.records import record_from_job, write_summary
from anchorhoi.portable.skeleton import JOINT_NAMES

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.blender
FRAMES = 8


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("batch")
    write_lift(out / "sit_chair", FRAMES, seed=1)
    write_lift(out / "lift_box", FRAMES + 4, seed=2)
    failed_job(out / "bad_mesh")
    write_summary(out, [
        record_from_job(out / "sit_chair", id="sit_chair", prompt="sit", status="done"),
        record_from_job(out / "bad_mesh", id="bad_mesh", prompt="lift", status="failed",
                        error=("BAD_MESH", "The mesh has no faces.")),
        record_from_job(out / "lift_box", id="lift_box", prompt="lift", status="done"),
    ])
    return out


def strips(obj) -> list[tuple[str, float, float]]:
    return [(s.name, s.frame_start, s.frame_end) for t in obj.animation_data.nla_tracks
            for s in t.strips]


def test_one_clip_per_finished_job_named_after_its_id(addon, batch_dir, capfd):
    assert bpy.ops.anchorhoi.import_batch(directory=str(batch_dir)) == {"FINISHED"}
    report = capfd.readouterr()
    assert "skipped 1: bad_mesh (failed: BAD_MESH (The mesh has no faces.))" in \
        report.out + report.err
    rigs = sorted(o.name for o in bpy.data.objects if o.type == "ARMATURE")
    assert rigs == ["lift_box", "sit_chair"]
    for id, frames in (("sit_chair", FRAMES), ("lift_box", FRAMES + 4)):
        rig = bpy.data.objects[id]
        assert strips(rig) == [(id, 1.0, float(frames))]
        prop = rig["anchorhoi_object"]
        assert prop.name == f"{id}_Box" and strips(prop) == [(id, 1.0, float(frames))]
    scene = bpy.context.scene
    assert (scene.frame_start, scene.frame_end) == (1, FRAMES + 4)


@pytest.mark.slow
def test_the_batch_exports_as_the_takes_of_one_fbx(addon, batch_dir, tmp_path):
    assert bpy.ops.anchorhoi.import_batch(directory=str(batch_dir)) == {"FINISHED"}
    path = tmp_path / "batch.fbx"
    assert bpy.ops.anchorhoi.export_fbx(filepath=str(path), all_clips=True,
                                        key_reduction=False) == {"FINISHED"}
    assert sorted(read_fbx(path).takes) == ["lift_box", "sit_chair"]


@pytest.mark.slow
def test_a_retimed_batch_clip_exports_for_unreal_as_it_plays(addon, batch_dir, tmp_path,
                                                             capfd):
    """Import the batch, slow one clip down, export every clip for Unreal (UE5 names, root
    motion, the prop as a bone): each take has its own clip's frames — the retimed one its new
    length — and Assimp reads back the joints where Blender plays them."""
    assert bpy.ops.anchorhoi.import_batch(directory=str(batch_dir)) == {"FINISHED"}
    scene, slow = bpy.context.scene, bpy.data.objects["lift_box"]
    bpy.context.view_layer.objects.active = slow
    assert bpy.ops.anchorhoi.retime_clip(factor=1.5) == {"FINISHED"}
    end = math.ceil(strips(slow)[0][2])
    assert end == math.ceil(1 + 1.5 * (FRAMES + 3))  # 12 frames now span 16.5 → 18
    want = {id: bone_heads(bpy.data.objects[id], scene, range(1, last + 1))
            for id, last in (("sit_chair", FRAMES), ("lift_box", end))}
    path = tmp_path / "unreal.fbx"
    assert bpy.ops.anchorhoi.export_fbx(filepath=str(path), all_clips=True, target="UNREAL",
                                        skeleton="UE5", root_motion="ROOT_MOTION",
                                        prop="BONE") == {"FINISHED"}
    report = capfd.readouterr()
    said = report.out + report.err
    # the jobs' bodies differ (other betas): the other clip's take keys its own bone offsets
    assert "sit_chair played on lift_box's skeleton with their own bone offsets" in said
    assert "holds one object" not in said  # both jobs hold the same box
    assert sorted(read_fbx(path).takes) == sorted(want)
    names = bone_names("UE5")
    for take, heads in want.items():
        got = assimp_worlds(path, take, [names[n] for n in JOINT_NAMES], scene.render.fps)
        assert got.shape[0] == len(heads), f"take {take}: {got.shape[0]} frames"
        err = np.linalg.norm(got[..., :3, 3] - heads, axis=-1).max()
        assert err < 1e-3, f"take {take}: joints {err * 1000:.2f} mm off"
    # another job's object (here: sit_chair's box made larger) is not in the file: said so
    chair = bpy.data.objects["sit_chair"]["anchorhoi_object"]
    from mathutils import Matrix

    chair.data.transform(Matrix.Scale(2.0, 4))
    assert bpy.ops.anchorhoi.export_fbx(filepath=str(tmp_path / "two.fbx"), all_clips=True,
                                        key_reduction=False) == {"FINISHED"}
    report = capfd.readouterr()
    assert "the file holds one object, lift_box_Box: the takes of sit_chair move it" in \
        report.out + report.err


def test_without_batch_json_the_job_folders_with_a_result_are_imported(addon, batch_dir,
                                                                        tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("sit_chair", "bad_mesh"):
        (copy / name).symlink_to(batch_dir / name)  # links are not followed: nothing found
    (copy / "lift_box").mkdir()
    for f in (batch_dir / "lift_box").iterdir():
        (copy / "lift_box" / f.name).write_bytes(f.read_bytes())
    assert bpy.ops.anchorhoi.import_batch(directory=str(copy)) == {"FINISHED"}
    assert [o.name for o in bpy.data.objects if o.type == "ARMATURE"] == ["lift_box"]


@pytest.mark.parametrize("damage", ["no_jobs", "bad_summary", "broken_result"])
def test_nothing_to_import_or_a_bad_summary_leaves_the_scene_unchanged(addon, batch_dir,
                                                                       tmp_path, damage):
    folder = tmp_path / "b"
    folder.mkdir()
    if damage == "bad_summary":
        (folder / "batch.json").write_text('{"schema": "anchorhoi.batch", "version": "9.0"}')
        expected = "version '9.0' is not supported"
    elif damage == "broken_result":
        (folder / "a").mkdir()
        (folder / "a" / "result.json").write_text(json.dumps({"schema": "anchorhoi.result"}))
        expected = "a (its result does not read"
    else:
        expected = "No finished job to import"
    before = snapshot(bpy)
    with pytest.raises(RuntimeError, match=expected.replace("(", r"\(")):
        bpy.ops.anchorhoi.import_batch(directory=str(folder))
    with pytest.raises(RuntimeError, match="No batch folder given"):
        bpy.ops.anchorhoi.import_batch()
    assert snapshot(bpy) == before


def test_a_failure_while_building_leaves_the_scene_unchanged(addon, installed_addon, batch_dir,
                                                             monkeypatch):
    import importlib

    module = importlib.import_module(f"{installed_addon}.operators.import_batch")
    real, calls = module.build_clip, []

    def second_fails(context, plan):  # the first clip is built, the second breaks
        calls.append(plan.name)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real(context, plan)

    monkeypatch.setattr(module, "build_clip", second_fails)
    before = snapshot(bpy)
    with pytest.raises(RuntimeError, match="Batch import failed, scene left unchanged: disk"):
        bpy.ops.anchorhoi.import_batch(directory=str(batch_dir))
    assert calls == ["sit_chair", "lift_box"] and snapshot(bpy) == before
