"""The job folder's state: stages complete by fingerprint, cleared when their inputs change."""

from __future__ import annotations

import json
import threading

import pytest

from anchorhoi.job.errors import Cancelled
from anchorhoi.job.folder import JobFolder, fingerprint
from anchorhoi.job.reporting import Progress, TerminalReporter


def test_fingerprints_are_stable_and_order_free():
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
    assert len(fingerprint("x")) == 20


def test_stage_completion_and_forgetting(tmp_path):
    job = JobFolder(tmp_path / "job").create()
    assert job.read_state() == {} and not job.is_complete("anchor", "f1")
    job.stage_dir("anchor").mkdir()
    job.mark_complete("anchor", "f1", {"seconds": 2.5})
    job.stage_dir("video").mkdir()
    (job.stage_dir("video") / "frame.png").write_bytes(b"x")
    job.mark_complete("video", "f2", {"seconds": 1.0, "files": ["frame.png"]})
    assert job.is_complete("anchor", "f1") and not job.is_complete("anchor", "other")
    job.forget_from(["video"])
    assert not job.stage_dir("video").exists() and job.is_complete("anchor", "f1")
    assert json.loads(job.state_path.read_text()) == {
        "version": 1, "stages": {"anchor": {"fingerprint": "f1", "seconds": 2.5}}}
    # a stage folder that is gone is not complete, whatever the state says
    job.stage_dir("anchor").rmdir()
    assert not job.is_complete("anchor", "f1")


def test_a_corrupt_state_file_counts_as_nothing_done(tmp_path):
    job = JobFolder(tmp_path).create()
    job.state_path.write_text("{ half a file")
    assert job.read_state() == {}
    job.state_path.write_text(json.dumps({"version": 99, "stages": {"anchor": {}}}))
    assert job.read_state() == {}


class _Collect:
    def __init__(self):
        self.events = []

    def emit(self, type_, **data):
        self.events.append((type_, data))


def test_progress_reports_eta_and_raises_on_cancel(monkeypatch):
    clock = iter([0.0, 1.0, 2.0, 2.1, 5.0])
    monkeypatch.setattr("anchorhoi.job.reporting.time.monotonic", lambda: next(clock))
    events, cancel = _Collect(), threading.Event()
    progress = Progress(events, cancel, min_interval_s=0.5)
    progress.begin("anchor")
    on_step = progress.bind("anchor_nerf[0]")
    for step in (1, 2, 3, 4):
        on_step(step, 10, {"sds": 0.5, "note": "x"})
    # step 4 came 0.1 s after step 3: not emitted; steps 1-3 were, ETA = 1 s/step × steps left
    assert [(d["step"], d["eta_s"]) for _, d in events.events] == [(1, None), (2, 8.0),
                                                                    (3, 7.0)]
    assert events.events[0][1]["losses"] == {"sds": 0.5}
    assert {d["substage"] for _, d in events.events} == {"anchor_nerf[0]"}
    cancel.set()
    with pytest.raises(Cancelled):
        on_step(5, 10, {})


def test_terminal_reporter_without_a_tty_prints_plain_lines(tmp_path):
    import io

    out = io.StringIO()
    r = TerminalReporter(out)
    r.emit("stage", stage="anchor", index=0, count=4, label="Anchor NeRF and body fit")
    r.emit("progress", stage="anchor", substage="fit", step=1, total=1, eta_s=None)
    r.emit("error", code="NO_PERSON", message="nobody", hint="try another seed", log=None)
    assert out.getvalue().splitlines() == [
        "[1/4] Anchor NeRF and body fit",
        "    fit              [############################] 1/1",
        "error NO_PERSON: nobody", "  hint: try another seed"]


def test_reporter_writes_one_terminal_message_and_the_watchdog_ends_a_stuck_cancel(monkeypatch):
    import io

    from anchorhoi.cli import cancelling as S
    from anchorhoi.job.reporting import ProtocolReporter

    out = io.StringIO()
    r = ProtocolReporter(out)
    assert r.emit("stage", stage="anchor", index=0, count=4, label="x")
    assert r.emit("cancelled", job="/j") and r.closed
    assert not r.emit("result", job="/j", result="/j/result.json", timings={})
    assert [json.loads(line)["type"] for line in out.getvalue().splitlines()] == [
        "stage", "cancelled"]

    exits = []
    monkeypatch.setattr(S, "CANCEL_GRACE_S", 0.2)
    monkeypatch.setattr(S.os, "_exit", lambda code: exits.append(code))
    out, cancel = io.StringIO(), threading.Event()
    watched = S.Watchdog(cancel, ProtocolReporter(out), "/j")
    watched.emit("stage", stage="anchor", index=0, count=4, label="x")  # the set-up is over
    cancel.set()  # and the job never reaches a step boundary
    watched.watch()
    assert exits == [3] and json.loads(out.getvalue().splitlines()[-1]) == {
        "type": "cancelled", "job": "/j", "forced": True}
    exits.clear()  # a job that stops in time is left to report itself
    watched = S.Watchdog(cancel, ProtocolReporter(io.StringIO()), "/j")
    watched.emit("stage", stage="anchor", index=0, count=4, label="x")
    watched.emit("cancelled", job="/j")
    watched.watch()
    assert exits == []


def test_one_run_at_a_time_per_job_folder(tmp_path):
    import os

    from anchorhoi.job.errors import JobError

    job = JobFolder(tmp_path / "job").create()
    with job.exclusive():
        assert json.loads((job.root / ".lock").read_text())["pid"] == os.getpid()
        with pytest.raises(JobError) as info, JobFolder(tmp_path / "job").exclusive():
            pass
        assert info.value.code == "JOB_BUSY" and info.value.exit_code == 2
    with job.exclusive():  # released
        pass
