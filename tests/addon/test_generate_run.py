"""One generation run without Blender (addon/client/generate_run.py): the job folder it makes
(or leaves behind nothing in), the request it sends, the resume, and the reports and job
history for each way a run ends — against real subprocesses (tests/helpers/broken_backend.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from helpers.broken_backend import fake_interpreter
from helpers.motions import make_motion, make_object

from addon.client.backend_process import BackendStartError
from addon.client.generate_run import USER_ERRORS, GenerateRun, PickedObject, resume_request
from addon.client.job_request import GenerateSettings, RequestError
from addon.plan.object_export import ObjectExportError

SETTINGS = GenerateSettings(prompt="a person sits on the box", preset="tiny", duration_s=1.5,
                            fps=8.0)


def finish(run: GenerateRun, limit_s: float = 30.0) -> None:
    t_end = time.monotonic() + limit_s
    while not run.tick(cancel_requested=False):
        assert time.monotonic() < t_end, f"job still {run.job.state} after {limit_s} s"
        run.wait(0.05)


def write_box(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "object.obj").write_text("v 0 0 0\n")
    return str(folder / "object.obj")


def job_info(run: GenerateRun) -> dict:
    return json.loads((run.job_dir / "input" / "job.json").read_text())


def test_failures_before_the_start_leave_no_job_folder(tmp_path):
    jobs = tmp_path / "jobs"
    with pytest.raises(BackendStartError, match="does not exist"):
        GenerateRun.start(SETTINGS, interpreter=str(tmp_path / "no" / "python"), jobs_root=jobs,
                          picked=None, unit_scale=1.0)
    interpreter = str(fake_interpreter(tmp_path, "error"))
    with pytest.raises(RequestError, match="Type a prompt first"):
        GenerateRun.start(GenerateSettings(prompt="  "), interpreter=interpreter,
                          jobs_root=jobs, picked=None, unit_scale=1.0)
    assert not jobs.exists()

    def not_a_mesh(folder):
        raise ObjectExportError("'Cam' is a camera object, not a mesh")

    with pytest.raises(ObjectExportError, match="not a mesh"):
        GenerateRun.start(SETTINGS, interpreter=interpreter, jobs_root=jobs,
                          picked=PickedObject(name="Cam", write=not_a_mesh), unit_scale=1.0)
    assert list(jobs.iterdir()) == []  # the folder made for it is gone again
    assert issubclass(ObjectExportError, USER_ERRORS) and issubclass(RequestError, USER_ERRORS)


def test_backend_error_report_and_history(tmp_path):
    run = GenerateRun.start(SETTINGS, interpreter=str(fake_interpreter(tmp_path, "error")),
                            jobs_root=tmp_path / "jobs", unit_scale=0.01,
                            picked=PickedObject(name="Box", write=write_box))
    info = job_info(run)
    assert info["status"] == "running" and info["unit_scale"] == 0.01
    request = info["request"]
    assert (request["prompt"], request["frames"], request["object_name"]) == (
        "a person sits on the box", 12, "Box")
    assert request["object"] == str(run.job_dir / "input" / "object.obj")
    assert run.view().text == "Starting the backend…"
    finish(run)
    report = run.failure()
    assert report is not None and not report.finished and report.level == "ERROR"
    assert report.message == "the object mesh has no faces — pick a mesh object with faces"
    assert report.text.startswith(f"{report.message} (job folder: {run.job_dir}) [ignored a "
                                  "line on the backend's stdout")
    assert report.text.endswith("; a note from the backend]")
    assert (job_info(run)["status"], job_info(run)["message"]) == ("failed", report.message)
    assert run.outcome.exit_code == 2 and run.view().state == "failed"


def test_finished_then_imported_or_import_failed(tmp_path, monkeypatch):
    from anchorhoi.body import BodyModel
    from anchorhoi.portable import result_v1
    from anchorhoi.portable.motion import MotionClip

    motion = make_motion(12, fps=8.0)
    result_v1.write_result(tmp_path / "template", MotionClip(
        motion=motion, rig=BodyModel().rig(motion.betas), obj=make_object(12), name="Sit"))
    monkeypatch.setenv("FAKE_RESULT_TEMPLATE", str(tmp_path / "template"))
    interpreter = str(fake_interpreter(tmp_path, "garbage_mixed"))
    run = GenerateRun.start(SETTINGS, interpreter=interpreter, jobs_root=tmp_path / "jobs",
                            picked=None, unit_scale=1.0)
    finish(run)
    view = run.view()
    assert (view.state, view.progress, view.resumed, view.previews) == ("finished", 1.0, "", ())
    assert run.failure() is None and (run.job_dir / "result.json").is_file()
    report = run.imported()
    assert report.finished and report.level == "INFO"
    assert report.text.startswith(f"The interaction is ready ({run.job_dir.name}) [")
    assert job_info(run)["status"] == "finished"
    report = run.import_failed("'pose_body': expected numbers")
    assert not report.finished and report.level == "ERROR"
    assert report.message == "Generated, but the import failed: 'pose_body': expected numbers"
    assert job_info(run)["message"] == "import failed: 'pose_body': expected numbers"


def test_cancel_request_is_forwarded(tmp_path):
    run = GenerateRun.start(SETTINGS, interpreter=str(fake_interpreter(tmp_path,
                                                                       "honours_cancel")),
                            jobs_root=tmp_path / "jobs", picked=None, unit_scale=1.0)
    t_end = time.monotonic() + 30
    while run.job.progress.step < 2:
        assert not run.tick(cancel_requested=False) and time.monotonic() < t_end
        run.wait(0.02)
    assert run.view().text.startswith("1/5 Anchor NeRF · ")
    run.tick(cancel_requested=True)
    assert run.view().text == "Cancelling…"
    finish(run)
    report = run.failure()
    assert report is not None and report.level == "WARNING"
    assert run.outcome.exit_code == 3 and job_info(run)["status"] == "cancelled"
    assert run.job.exited_at - run.job.cancel_sent_at < 5.0


def test_resume_sends_the_jobs_own_request(tmp_path):
    interpreter = str(fake_interpreter(tmp_path, "error"))
    first = GenerateRun.start(SETTINGS, interpreter=interpreter, jobs_root=tmp_path / "jobs",
                              picked=None, unit_scale=1.0)
    finish(first)
    again = GenerateRun.resume(first.job_dir, interpreter=interpreter)
    assert again.job.request == job_info(first)["request"]
    finish(again)
    assert again.job_dir == first.job_dir and len(list((tmp_path / "jobs").iterdir())) == 1
    with pytest.raises(RequestError, match="to resume does not exist"):
        resume_request(tmp_path / "jobs" / "gone")
    (tmp_path / "jobs" / "cli-job").mkdir()
    with pytest.raises(RequestError, match="cli-job was not started from Blender"):
        resume_request(tmp_path / "jobs" / "cli-job")
    info = job_info(first)
    info["request"]["frames"] = "many"
    (first.job_dir / "input" / "job.json").write_text(json.dumps(info))
    with pytest.raises(RequestError, match=r"job\.json of .* is damaged"):
        resume_request(first.job_dir)


def test_outcome_before_the_end_is_an_error(tmp_path):
    run = GenerateRun.start(SETTINGS, interpreter=str(fake_interpreter(tmp_path, "silent")),
                            jobs_root=tmp_path / "jobs", picked=None, unit_scale=1.0)
    with pytest.raises(RuntimeError, match="has not ended yet"):
        run.failure()
    run.kill()
    finish(run)
    assert run.outcome.exit_code == -9
