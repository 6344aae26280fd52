"""A whole ``tiny`` job over the protocol: cancelled in its last stage, then resumed.

One real ``anchorhoi serve`` process per run (tiny random models built into a temp cache, the
real MediaPipe detector). The cancel lands within 5 s and exits with code 3; the finished
stages stay and the next run starts after them; a third run finds everything done.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from anchorhoi.portable import protocol as P
from anchorhoi.portable.result_v1 import VERSION, read_result
from tests.helpers.serve_process import Serve, request

pytestmark = pytest.mark.slow

pytest.importorskip("mediapipe")

FRAMES, FPS = 12, 12.0


def _run(tmp_path, name, job, *, cancel_at=None, frames=FRAMES):
    serve = Serve(tmp_path / "cache", tmp_path / f"{name}.stderr.txt")
    assert serve.next(timeout=60).type == "hello"
    serve.send("generate", protocol=P.PROTOCOL_VERSION,
               request=request(job, preset="tiny", frames=frames, fps=FPS, seed=7))
    if cancel_at is None:
        msgs = serve.until(lambda m: m.type in ("result", "error", "cancelled"), timeout=900)
        return msgs, serve.wait(), None
    msgs = serve.until(lambda m: m.type == "progress" and m.get("stage") == cancel_at,
                       timeout=900)
    sent = time.monotonic()
    serve.send("cancel")
    msgs += serve.until(lambda m: m.type in ("result", "error", "cancelled"), timeout=60)
    code = serve.wait(timeout=30)
    return msgs, code, time.monotonic() - sent


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resume")
    job = tmp / "job"
    first = _run(tmp, "first", job, cancel_at="motion")
    state_after_cancel = json.loads((job / "state.json").read_text())["stages"]
    state_after_cancel["result_written"] = (job / "result.json").exists()
    second = _run(tmp, "second", job)
    third = _run(tmp, "third", job)
    fourth = _run(tmp, "fourth", job, frames=FRAMES - 2)
    return job, first, state_after_cancel, second, third, fourth


def test_cancel_stops_within_5_seconds_and_keeps_finished_stages(runs):
    _job, (msgs, code, latency), state, _, _, _ = runs
    assert code == P.EXIT_CANCELLED and msgs[-1].type == "cancelled"
    assert latency < 5.0
    assert list(state) == ["anchor", "video", "keypoints", "result_written"]
    assert state["result_written"] is False
    started = [m.get("stage") for m in msgs if m.type == "stage"]
    assert started == ["anchor", "video", "keypoints", "motion"]
    previews = [m.get("path") for m in msgs if m.type == "preview"]
    assert [p.rsplit("/", 2)[-2:] for p in previews[:4]] == [
        ["anchor", "anchor_turntable.png"], ["anchor", "fit_preview.png"],
        ["anchor", "object_turntable.png"], ["video", "conditioning.png"]]


def test_the_next_run_resumes_after_the_finished_stages(runs):
    _job, _, state, (msgs, code, _), _, _ = runs
    assert code == P.EXIT_OK and msgs[-1].type == "result"
    accepted = next(m for m in msgs if m.type == "accepted")
    assert accepted.get("resumed") == ["anchor", "video", "keypoints"]
    assert [m.get("stage") for m in msgs if m.type == "stage"] == ["motion"]
    timings = msgs[-1].get("timings")
    assert timings["anchor"]["resumed"] is True and "resumed" not in timings["motion"]
    assert timings["anchor"]["seconds"] == state["anchor"]["seconds"]  # carried, not redone
    assert timings["motion"]["peak_rss_mb"] > 100


def test_the_result_is_complete_and_a_third_run_does_nothing(runs):
    _job, _, _, _, (msgs3, code, _), _ = runs
    assert code == P.EXIT_OK
    accepted = next(m for m in msgs3 if m.type == "accepted")
    assert accepted.get("resumed") == ["anchor", "video", "keypoints", "motion"]
    assert not [m for m in msgs3 if m.type in ("stage", "progress")]
    assert msgs3[-1].type == "result"


def test_changed_inputs_rerun_that_stage_and_the_ones_after_it(runs):
    job, *_, (msgs, code, _) = runs
    assert code == P.EXIT_OK
    assert next(m for m in msgs if m.type == "accepted").get("resumed") == ["anchor"]
    assert [m.get("stage") for m in msgs if m.type == "stage"] == ["video", "keypoints",
                                                                    "motion"]
    clip, doc = read_result(job)
    assert clip.motion.num_frames == FRAMES - 2 and clip.motion.fps == FPS
    assert doc["prompt"] == "a person sits down on the box" and doc["seed"] == 7
    assert doc["preset"] == "tiny" and doc["device"] == "cpu"
    assert doc["notes"] == []  # the tiny preset does not search the placement: nothing to check
    assert sorted(doc["timings"]) == ["anchor", "keypoints", "motion", "video"]
    obj = doc["object"]
    assert obj["reference_frame"] == 0 and np.allclose(obj["to_user"], np.eye(4))
    assert np.isfinite(clip.motion.trans).all() and clip.obj is not None
    request_json = json.loads((job / "request.json").read_text())
    assert request_json["preset"] == "tiny" and request_json["frames"] == FRAMES - 2


def test_selftest_checks_accept_the_finished_job(runs):
    from anchorhoi.cli.selftest import check_result

    job = runs[0]
    lines = check_result(job, frames=FRAMES - 2, fps=FPS)
    written = f"result.json is a result v{VERSION[0]}.{VERSION[1]}"
    assert lines[:5] == [written, f"{FRAMES - 2} frames at 12 fps, as asked",
                         "the SMPL-X parameters are finite", "the rig has the 55 SMPL-X joints",
                         "the object has a finite trajectory"]
    assert lines[5].startswith("every stage reported its time and peak memory: anchor ")
    with pytest.raises(RuntimeError, match="selftest failed: 10 frames at 12 fps, as asked"):
        check_result(job, frames=FRAMES, fps=FPS)


def test_each_stage_records_the_files_it_wrote_and_declares_them(runs):
    from anchorhoi.job.stages import STAGES
    from anchorhoi.portable.job_marker import is_job_folder

    job = runs[0]
    assert is_job_folder(job)
    state = json.loads((job / "state.json").read_text())["stages"]
    for stage in STAGES:
        on_disk = sorted(p.name for p in (job / stage.name).iterdir())
        assert state[stage.name]["files"] == on_disk
        assert set(on_disk) <= set(stage.files), stage.name


@pytest.fixture(scope="module")
def healed(runs):
    """After the other tests: a disk hiccup cuts a finished stage's output short, then the
    same request runs again."""
    job = runs[0]
    kp = job / "keypoints" / "keypoints.npz"
    kp.write_bytes(kp.read_bytes()[:300])
    return _run(job.parent, "healed", job, frames=FRAMES - 2)


def test_a_truncated_finished_stage_is_recomputed_with_a_note(runs, healed):
    msgs, code, _ = healed
    assert code == P.EXIT_OK and msgs[-1].type == "result"
    accepted = next(m for m in msgs if m.type == "accepted")
    assert accepted.get("resumed") == ["anchor", "video"]
    assert any("keypoints" in n and "do not read back" in n for n in accepted.get("notes"))
    assert [m.get("stage") for m in msgs if m.type == "stage"] == ["keypoints", "motion"]
    job = runs[0]
    assert "do not read back" in (job / "log.txt").read_text()
    read_result(job)  # whole again
