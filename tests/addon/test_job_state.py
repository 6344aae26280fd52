"""The process client and the job state machine against real subprocesses that misbehave
(tests/helpers/broken_backend.py): every failure ends the job with a message a person can act
on, and no tick ever waits."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from helpers import broken_backend
from helpers.motions import make_motion, make_object

from addon.client import backend_process
from addon.client.backend_process import BackendProcess, BackendStartError
from addon.client.job_state import GenerateJob, JobTimeouts, Progress

SCRIPT = Path(broken_backend.__file__).resolve()


def start(tmp_path, mode, timeouts=JobTimeouts(), **request):
    job_dir = tmp_path / "job"
    job_dir.mkdir(exist_ok=True)
    proc = BackendProcess.start([sys.executable, str(SCRIPT), mode],
                                stderr_path=job_dir / "backend_stderr.txt")
    return GenerateJob(proc, {"prompt": "a person sits", "job_dir": str(job_dir), **request},
                       timeouts=timeouts)


def run(job, limit_s=30.0):
    """Tick until done; returns the longest tick in seconds."""
    longest, t_end = 0.0, time.monotonic() + limit_s
    while True:
        t0 = time.perf_counter()
        done = job.tick()
        longest = max(longest, time.perf_counter() - t0)
        if done:
            return longest
        assert time.monotonic() < t_end, f"job still {job.state} after {limit_s} s"
        time.sleep(0.01)


def test_garbage_instead_of_hello(tmp_path):
    job = start(tmp_path, "garbage_only")
    assert run(job) < 0.05
    o = job.outcome
    assert (o.status, o.code, o.exit_code) == ("failed", "INTERNAL", 1)
    assert "before its hello" in o.message and "this is not the anchorhoi backend" in o.message
    assert "Backend Python" in o.hint
    assert len(job.garbage) == 3 and job.garbage[1].text == "{not json"


def test_protocol_mismatch(tmp_path):
    job = start(tmp_path, "mismatch")
    run(job)
    o = job.outcome
    assert (o.status, o.code) == ("failed", "PROTOCOL_MISMATCH")
    assert "protocol 99" in o.message and "the add-on 1" in o.message
    assert "same protocol" in o.hint
    assert o.exit_code == -15  # the add-on stopped it (SIGTERM)


def test_backend_error_is_passed_on(tmp_path):
    job = start(tmp_path, "error")
    run(job)
    o = job.outcome
    assert (o.status, o.code, o.exit_code) == ("failed", "BAD_MESH", 2)
    assert o.report_text() == "the object mesh has no faces — pick a mesh object with faces"
    assert job.stages == ["anchor_nerf", "fit", "video", "keypoints", "motion"]
    assert "a note from the backend" in job.messages
    assert "a library printing to stdout" in job.garbage[0].text
    assert job.object_prompt == "a wooden crate"  # accepted: the words of a generated object
    mine = start(tmp_path, "error", object="/jobs/1/input/object.obj")
    run(mine)
    assert mine.object_prompt is None


def test_sigkill_mid_run(tmp_path):
    job = start(tmp_path, "sigkill")
    assert run(job) < 0.05
    o = job.outcome
    assert (o.status, o.exit_code) == ("failed", -9)
    assert "killed by SIGKILL" in o.message and "about to be killed" in o.message
    assert job.progress.stage == "anchor_nerf" and job.progress.step == 2
    assert "job folder keeps the finished stages" in o.hint


def test_no_hello_times_out(tmp_path):
    job = start(tmp_path, "silent", JobTimeouts(hello_s=0.5, term_s=1.0))
    t0 = time.monotonic()
    run(job)
    assert time.monotonic() - t0 < 3.0
    o = job.outcome
    assert o.status == "failed" and "no hello within 0.5 s" in o.message
    assert o.exit_code == -15


def test_cancel_ignored_escalates(tmp_path):
    job = start(tmp_path, "ignore_cancel", JobTimeouts(cancel_s=0.5, term_s=1.0))
    while job.progress.step < 3:
        job.tick()
        time.sleep(0.01)
    t0 = time.monotonic()
    job.cancel()
    assert job.state == "cancelling"
    assert run(job) < 0.05
    assert time.monotonic() - t0 < 2.5
    o = job.outcome
    assert o.status == "cancelled" and o.exit_code == -15
    assert any("did not stop within 0.5 s" in m for m in job.messages)


def test_garbage_between_messages_is_skipped(tmp_path):
    from anchorhoi.body import BodyModel
    from anchorhoi.portable import result_v1
    from anchorhoi.portable.motion import MotionClip

    motion = make_motion(12)
    template = tmp_path / "template"
    result_v1.write_result(template, MotionClip(motion=motion, rig=BodyModel().rig(motion.betas),
                                                obj=make_object(12), name="Sit"))
    import os

    os.environ["FAKE_RESULT_TEMPLATE"] = str(template)
    try:
        job = start(tmp_path, "garbage_mixed")
        assert run(job) < 0.05
    finally:
        del os.environ["FAKE_RESULT_TEMPLATE"]
    o = job.outcome
    assert (o.status, o.exit_code) == ("finished", 0)
    assert Path(o.result_path) == tmp_path / "job" / "result.json" and Path(o.result_path).is_file()
    assert len(job.garbage) == 7
    assert len([m for m in job.messages if m.startswith("ignored a line")]) == 5
    assert job.progress.fraction == 1.0 and job.progress.losses == {"sds": 0.5}


def test_missing_interpreter(tmp_path):
    with pytest.raises(BackendStartError, match="No backend interpreter is set"):
        backend_process.check_interpreter("  ")
    with pytest.raises(BackendStartError, match="does not exist: fix 'Backend Python'"):
        backend_process.check_interpreter(str(tmp_path / "nope" / "python"))
    with pytest.raises(BackendStartError, match="not executable"):
        backend_process.check_interpreter(str(SCRIPT))
    with pytest.raises(BackendStartError, match="was not found"):
        BackendProcess.start([str(tmp_path / "nope")], stderr_path=tmp_path / "err.txt")
    assert backend_process.backend_command("/x/python") == ["/x/python", "-m", "anchorhoi",
                                                            "serve"]


def test_progress_fraction_and_exit_text():
    p = Progress(index=1, count=5, step=25, total=100)
    assert p.fraction == pytest.approx(0.25)
    assert Progress().fraction == 0.0
    assert Progress(index=4, count=5, step=200, total=100).fraction == 1.0
    assert backend_process.describe_exit(-9) == "killed by SIGKILL"
    assert backend_process.describe_exit(3) == "exit code 3"


def test_cancel_before_the_request_went_out(tmp_path):
    job = start(tmp_path, "error", JobTimeouts(cancel_s=2.0))
    job.cancel()  # before the first tick: the hello is never answered with a request
    assert run(job) < 0.05
    o = job.outcome
    assert (o.status, o.message) == ("cancelled", "Cancelled before the backend started the job")
