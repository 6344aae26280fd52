"""Batch records from hand-made job folders, and the summary files written and read back."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from helpers.batch_folders import STAGES, done_job, failed_job

from anchorhoi.batch.records import JobRecord, read_summary, record_from_job, write_summary
from anchorhoi.portable.batch_summary import BatchFileError, read_batch_json


def test_a_done_job_gives_its_stage_times_peak_memory_and_quality(tmp_path):
    job = done_job(tmp_path / "sit_1", seconds=2.0, resumed=("anchor",), penetration_mm=12.0)
    r = record_from_job(job, id="sit_1", prompt="a person sits", status="done")
    assert r.folder == "sit_1"
    assert list(r.stage_seconds) == list(STAGES)
    assert r.stage_seconds == {"anchor": 2.0, "video": 4.0, "keypoints": 6.0, "motion": 8.0}
    assert r.peak_rss_mb == 903.0 and r.peak_vram_mb is None  # the highest stage's, CPU
    assert r.resumed_stages == ("anchor",)
    assert r.quality["foot_skate_mm"] == 1.25
    assert r.quality["reprojection_px_median"] is None  # NaN in result.json
    assert r.quality["plausibility"]["penetration_max_mm"]["status"] == "warn"
    assert r.problems == () and r.error_code is None


def test_a_failed_job_keeps_the_stages_it_finished_and_its_error(tmp_path):
    job = failed_job(tmp_path / "b", ("anchor", "video"))
    r = record_from_job(job, id="b", prompt="p", status="failed",
                        error=("INTERNAL", "boom"), attempts=3)
    assert (r.error_code, r.error_message, r.attempts) == ("INTERNAL", "boom", 3)
    assert list(r.stage_seconds) == ["anchor", "video"] and r.quality == {}
    assert r.problems == ()  # no result.json is expected of a failed job


def test_a_job_refused_before_its_folder_exists_is_recorded_without_problems(tmp_path):
    r = record_from_job(tmp_path / "never", id="never", prompt="p", status="failed",
                        error=("BAD_MESH", "no faces"))
    assert r.stage_seconds == {} and r.peak_rss_mb is None and r.problems == ()


@pytest.mark.parametrize("damage, expected", [
    (lambda j: (j / "result.json").unlink(), "result.json is missing"),
    (lambda j: (j / "result.json").write_text('{"schema": "anchorhoi.res'), "result.json does"),
    (lambda j: (j / "result.json").write_text('{"schema": "other"}'), "result.json does"),
    (lambda j: (j / "state.json").write_text("[" * 100_000), "state.json does not read"),
    (lambda j: (j / "state.json").write_bytes(b"\xff\xfe"), "state.json does not read"),
    (lambda j: (j / "state.json").write_text('{"version": 7}'), "not a job state"),
    (lambda j: (j / "state.json").unlink(), "state.json is missing"),
])
def test_a_missing_or_malformed_file_is_a_problem_in_the_record_not_a_traceback(
        tmp_path, damage, expected):
    job = done_job(tmp_path / "j")
    damage(job)
    r = record_from_job(job, id="j", prompt="p", status="done")
    assert r.status == "done"
    assert any(expected in p for p in r.problems), r.problems


def test_summary_round_trips_through_batch_json(tmp_path):
    records = [record_from_job(done_job(tmp_path / "a"), id="a", prompt="sit, then stand",
                               status="done"),
               record_from_job(failed_job(tmp_path / "b"), id="b", prompt="lift",
                               status="failed", error=("BAD_MESH", "The mesh has no faces.")),
               JobRecord(id="c", prompt="push", folder="c", status="pending")]
    json_path, _ = write_summary(tmp_path, records)
    assert read_summary(tmp_path) == records
    doc = json.loads(json_path.read_text())  # strict JSON: no NaN token
    assert doc["schema"] == "anchorhoi.batch" and doc["version"] == "1.0"
    assert doc["counts"] == {"done": 1, "failed": 1, "cancelled": 0, "pending": 1,
                             "running": 0}
    assert "NaN" not in json_path.read_text()
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary behind


def test_csv_has_a_row_per_job_with_stage_seconds_memory_and_plausibility(tmp_path):
    records = [record_from_job(done_job(tmp_path / "a", penetration_mm=3.5), id="a",
                               prompt='a "quoted", prompt', status="done"),
               record_from_job(failed_job(tmp_path / "b"), id="b", prompt="lift",
                               status="failed", error=("BAD_MESH", "no faces"))]
    _, csv_path = write_summary(tmp_path, records)
    rows = list(csv.DictReader(csv_path.open(newline="")))
    assert [r["id"] for r in rows] == ["a", "b"]
    a, b = rows
    assert a["prompt"] == 'a "quoted", prompt' and a["status"] == "done"
    assert [float(a[f"seconds_{s}"]) for s in STAGES] == [2.0, 4.0, 6.0, 8.0]
    assert float(a["seconds_total"]) == 20.0 and float(a["peak_rss_mb"]) == 903.0
    assert float(a["plausibility_penetration_max_mm"]) == 3.5
    assert a["plausibility_penetration_max_mm_status"] == "pass"
    assert a["plausibility_hand_contact_share"] == ""
    assert a["plausibility_hand_contact_share_status"] == "n/a"
    assert a["quality_reprojection_px_median"] == ""  # NaN: no keypoint seen
    assert float(a["quality_foot_skate_mm"]) == 1.25 and a["quality_frames"] == "8"
    assert (b["error_code"], b["error_message"]) == ("BAD_MESH", "no faces")
    assert b["seconds_anchor"] == "1.5" and b["seconds_video"] == ""
    assert b["plausibility_penetration_max_mm"] == ""


def test_ids_must_be_unique_and_statuses_known(tmp_path):
    r = JobRecord(id="a", prompt="p", folder="a", status="done")
    with pytest.raises(ValueError, match="unique"):
        write_summary(tmp_path, [r, r])
    assert not (tmp_path / "batch.json").exists()
    with pytest.raises(ValueError, match="status"):
        JobRecord(id="a", prompt="p", folder="a", status="finished")
    with pytest.raises(ValueError, match="inside the batch folder"):
        JobRecord(id="a", prompt="p", folder="../elsewhere", status="done")


@pytest.mark.parametrize("text, expected", [
    (None, "not found"),
    ("{", "not valid JSON"),
    ('{"schema": "anchorhoi.result"}', "not an AnchorHOI batch summary"),
    ('{"schema": "anchorhoi.batch", "version": "2.0", "jobs": []}', "version '2.0'"),
    ('{"schema": "anchorhoi.batch", "version": "1.0", "jobs": {}}', "'jobs' must be a list"),
    ('{"schema": "anchorhoi.batch", "version": "1.0", "jobs": [{"id": "a", "prompt": "p", '
     '"folder": "/etc", "status": "done"}]}', "job 1: folder '/etc'"),
    ('{"schema": "anchorhoi.batch", "version": "1.0", "jobs": [{"id": "a", "prompt": "p", '
     '"folder": "a/../../x", "status": "done"}]}', "must be a plain path"),
    ('{"schema": "anchorhoi.batch", "version": "1.0", "jobs": [{"id": 3, "prompt": "p", '
     '"folder": "a", "status": "done"}]}', "'id' must be a string"),
    ('{"schema": "anchorhoi.batch", "version": "1.0", "jobs": [{"id": "a", "prompt": "p", '
     '"folder": "a", "status": "ok"}]}', "status 'ok'"),
])
def test_a_batch_json_that_is_not_one_is_refused_naming_the_problem(tmp_path, text, expected):
    path = tmp_path / "batch.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(BatchFileError, match=expected.replace("(", r"\(")) as info:
        read_batch_json(path)
    assert str(path) in str(info.value)


def test_a_later_minor_version_and_extra_fields_still_read(tmp_path):
    (tmp_path / "batch.json").write_text(json.dumps({
        "schema": "anchorhoi.batch", "version": "1.4", "jobs": [
            {"id": "a", "prompt": "p", "folder": "sub/a", "status": "done", "new_field": 1,
             "attempts": "many", "stage_seconds": {"anchor": "slow", "video": 2}}]}))
    (r,) = read_summary(Path(tmp_path))
    assert r.folder == "sub/a" and r.attempts == 1 and r.stage_seconds == {"video": 2.0}
