"""``import_batch`` in real Blender on a hand-made batch folder (two finished tiny results and
one failed job, the summary written by ``anchorhoi.batch.records``): one clip per finished job,
rig and NLA strips named after the job ids, the failed job skipped with its reason, and the
batch exported as the takes of one FBX."""

from __future__ import annotations

import json

import pytest
from helpers.batch_folders import failed_job
from helpers.blender_scene import snapshot
from helpers.fbx_readback import write_lift
from helpers.fbx_tree import read_fbx

from anchorhoi.batch.records import record_from_job, write_summary

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
