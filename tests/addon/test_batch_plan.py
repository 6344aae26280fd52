"""Which jobs of a batch folder ``import_batch`` takes (bpy-free): from ``batch.json`` in its
order, else the job folders with a ``result.json``; everything else skipped with a reason."""

from __future__ import annotations

import json

import pytest

from addon.plan.batch_import import BatchImportError, plan_batch, summary_line


def summary(folder, jobs):
    doc = {"schema": "anchorhoi.batch", "version": "1.0", "jobs": [
        {"id": j[0], "prompt": "p", "folder": j[1], "status": j[2], **(j[3] if len(j) > 3
                                                                       else {})}
        for j in jobs]}
    (folder / "batch.json").write_text(json.dumps(doc))


def finished(folder):
    folder.mkdir(parents=True)
    (folder / "result.json").write_text("{}")  # presence is what the plan looks at
    return folder


def test_from_batch_json_in_its_order_with_reasons_for_the_rest(tmp_path):
    finished(tmp_path / "b")
    finished(tmp_path / "sub" / "a")
    (tmp_path / "lost").mkdir()
    summary(tmp_path, [("b", "b", "done"), ("a", "sub/a", "done"),
                       ("bad", "bad", "failed", {"error_code": "BAD_MESH",
                                                 "error_message": "no faces"}),
                       ("crash", "crash", "failed"), ("later", "later", "pending"),
                       ("now", "now", "running"), ("stop", "stop", "cancelled"),
                       ("lost", "lost", "done"), ("b", "b", "done")])
    plan = plan_batch(tmp_path)
    assert [(j.id, j.folder) for j in plan.jobs] == [("b", tmp_path / "b"),
                                                     ("a", tmp_path / "sub" / "a")]
    assert dict(plan.skipped) == {
        "bad": "failed: BAD_MESH (no faces)", "crash": "failed: no error code",
        "later": "not started", "now": "still running", "stop": "cancelled",
        "lost": "done, but lost/result.json is missing", "b": "a second job with this id"}
    assert plan.source == "batch.json"


def test_a_job_folder_that_is_a_link_out_of_the_batch_is_skipped(tmp_path):
    outside = finished(tmp_path / "outside")
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "a").symlink_to(outside)
    summary(batch, [("a", "a", "done")])
    plan = plan_batch(batch)
    assert plan.jobs == () and "outside the batch folder" in dict(plan.skipped)["a"]


def test_without_batch_json_the_folders_with_a_result_in_name_order(tmp_path):
    finished(tmp_path / "zeta")
    finished(tmp_path / "alpha")
    (tmp_path / "running").mkdir()
    (tmp_path / "running" / ".anchorhoi-job").write_text("{}")
    (tmp_path / "notes").mkdir()  # not a job folder: not mentioned
    plan = plan_batch(tmp_path)
    assert [j.id for j in plan.jobs] == ["alpha", "zeta"]
    assert plan.skipped == (("running", "not finished (no result.json)"),)
    assert summary_line(["alpha", "zeta"], plan) == (
        "Imported 2 clips from job folders: alpha, zeta; skipped 1: running (not finished "
        "(no result.json))")


def test_a_bad_folder_or_summary_is_an_error_naming_what_to_pick(tmp_path):
    with pytest.raises(BatchImportError, match="is not a folder: pick the batch folder"):
        plan_batch(tmp_path / "missing")
    (tmp_path / "batch.json").write_text("{")
    with pytest.raises(BatchImportError, match="not valid JSON .* remove it to import"):
        plan_batch(tmp_path)


def test_skip_moves_a_job_to_the_skipped(tmp_path):
    finished(tmp_path / "a")
    finished(tmp_path / "b")
    plan = plan_batch(tmp_path).skip("a", "its result does not read: x")
    assert [j.id for j in plan.jobs] == ["b"]
    assert plan.skipped == (("a", "its result does not read: x"),)
