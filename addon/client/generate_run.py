"""One generation run from the job folder to the report (bpy-free).

:meth:`GenerateRun.start` checks everything, creates the job folder, writes the picked object
into it (through a function the Blender side passes in) and starts the backend;
:meth:`GenerateRun.resume` sends a job's own request again. :meth:`~GenerateRun.tick` advances
the job without waiting and :meth:`~GenerateRun.view` is what the panel shows of it. Once the
job has ended, :meth:`~GenerateRun.failure` says how it failed (or None: the result is ready to
import) and :meth:`~GenerateRun.imported` / :meth:`~GenerateRun.import_failed` how the import
went; each records the outcome in the job folder and returns the :class:`Report` for the user.

The operator owns the run (see ``ui.props``): nothing global points at it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..plan.object_export import ObjectExportError
from ..portable import protocol
from . import job_history
from .backend_process import BackendProcess, BackendStartError, backend_command, check_interpreter
from .job_request import GenerateSettings, RequestError, build_request
from .job_state import GenerateJob, JobTimeouts, Outcome, progress_text

STDERR_NAME = "backend_stderr.txt"
"""The backend's stderr (its log and any traceback), in the job folder."""

ReportLevel = Literal["INFO", "WARNING", "ERROR"]
"""The level of an operator's report."""

ObjectWriter = Callable[[Path], str]
"""Writes the picked object into the given folder and returns the written file's path."""


@dataclass(frozen=True, kw_only=True)
class PickedObject:
    """The scene object a new job interacts with."""

    name: str
    """Its name in the scene (kept in the request for the report)."""
    write: ObjectWriter
    """Writes its mesh into the job's input folder (the Blender side reads the mesh)."""


@dataclass(frozen=True, kw_only=True)
class RunView:
    """What the panel shows of a running job."""

    state: str
    """The job's state: starting, running, cancelling, finished, failed or cancelled."""
    text: str
    """Stage, step and ETA in one line."""
    progress: float
    """Overall progress in [0, 1]."""
    resumed: str
    """The stages the backend skipped (already done in the job folder), comma-separated."""
    previews: tuple[tuple[str, str], ...]
    """(stage, image path) of every preview so far, in arrival order."""
    object_prompt: str = ""
    """The words the backend generates the object from (empty: the user's mesh, or the job not
    yet accepted)."""


@dataclass(frozen=True, kw_only=True)
class Report:
    """How a run ended, for the user."""

    finished: bool
    """True when the result was imported."""
    level: ReportLevel
    """The operator's report level."""
    text: str
    """The operator's report: what happened and where the job folder is."""
    message: str
    """One line for the panel."""


def backend_env(online_access: bool) -> dict[str, str]:
    """The backend's environment: this one, and with Blender's *Allow Online Access* off, no
    hub access (``HF_HUB_OFFLINE=1``) and the reason, so a missing model's hint names the
    setting to turn on."""
    env = dict(os.environ)
    if not online_access:
        env.update(HF_HUB_OFFLINE="1", ANCHORHOI_OFFLINE_BY="blender")
    return env


class GenerateRun:
    """One job as the operator holds it: the state machine and its job folder."""

    def __init__(self, job: GenerateJob, job_dir: Path):
        self.job = job
        self.job_dir = job_dir

    @classmethod
    def start(cls, settings: GenerateSettings, *, interpreter: str, jobs_root: Path,
              picked: PickedObject | None, unit_scale: float,
              timeouts: JobTimeouts = JobTimeouts(), online_access: bool = True
              ) -> GenerateRun:
        """Check everything, create the job folder, write the object, start the backend.
        Raises one of :data:`USER_ERRORS` with a message for the user; a job folder it
        created is removed again then (nothing was computed in it)."""
        interpreter = check_interpreter(interpreter)
        build_request(settings, job_dir="-", object_path=None, object_name=None)  # checks first
        job_dir = job_history.new_job_dir(jobs_root, settings.prompt)
        try:
            object_path = None if picked is None else picked.write(job_dir / "input")
            request = build_request(settings, job_dir=str(job_dir), object_path=object_path,
                                    object_name=None if picked is None else picked.name)
            info = {"request": request, "created": time.time(), "unit_scale": float(unit_scale)}
            return cls._launch(interpreter, job_dir, request, info, timeouts, online_access)
        except BaseException:
            shutil.rmtree(job_dir, ignore_errors=True)
            raise

    @classmethod
    def resume(cls, job_dir: Path, *, interpreter: str,
               timeouts: JobTimeouts = JobTimeouts(), online_access: bool = True
               ) -> GenerateRun:
        """Send the request ``job_dir`` was started with again: the panel's current settings
        and object do not change a resumed job, so its finished stages stay valid."""
        interpreter = check_interpreter(interpreter)
        request = resume_request(job_dir)
        return cls._launch(interpreter, job_dir, request, job_history.read_job_info(job_dir),
                           timeouts, online_access)

    @classmethod
    def _launch(cls, interpreter: str, job_dir: Path, request: dict[str, Any],
                info: dict[str, Any], timeouts: JobTimeouts, online_access: bool
                ) -> GenerateRun:
        info.update(status="running", message="", interpreter=interpreter)
        job_history.write_job_info(job_dir, info)
        process = BackendProcess.start(backend_command(interpreter),
                                       stderr_path=job_dir / STDERR_NAME, cwd=job_dir,
                                       env=backend_env(online_access))
        return cls(GenerateJob(process, request, timeouts=timeouts), job_dir)

    # -- while it runs ---------------------------------------------------------------------

    def tick(self, *, cancel_requested: bool) -> bool:
        """Forward a cancel request, advance the job (never waits). True once it has ended."""
        if cancel_requested and self.job.cancel_sent_at is None:
            self.job.cancel()
        return self.job.tick()

    def wait(self, timeout: float) -> None:
        """For synchronous callers: wait until the backend says something or ``timeout``."""
        self.job.note_wait(timeout)

    def view(self) -> RunView:
        job = self.job
        return RunView(state=job.state, text=progress_text(job),
                       progress=1.0 if job.state == "finished" else job.progress.fraction,
                       resumed=", ".join(job.resumed), previews=tuple(job.previews),
                       object_prompt=job.object_prompt or "")

    def kill(self) -> None:
        """A bug on the add-on's side: never leave the backend behind."""
        self.job.process.kill()

    def stop(self) -> None:
        """Blender ended the operator (a file was loaded, Blender quits): stop the backend."""
        self.job.cancel()
        self.job.process.terminate()
        job_history.update_status(self.job_dir, "cancelled", "stopped when Blender closed the "
                                  "operator (file loaded or Blender quit)")

    # -- after it ended --------------------------------------------------------------------

    @property
    def outcome(self) -> Outcome:
        if self.job.outcome is None:
            raise RuntimeError("the job has not ended yet")
        return self.job.outcome

    def failure(self) -> Report | None:
        """None when the job finished (its result is ready to import); otherwise records the
        failure or cancel in the job folder and returns its report."""
        outcome = self.outcome
        if outcome.status == "finished":
            return None
        job_history.update_status(self.job_dir, outcome.status, outcome.report_text())
        return Report(finished=False,
                      level="WARNING" if outcome.status == "cancelled" else "ERROR",
                      text=f"{outcome.report_text()} (job folder: {self.job_dir})"
                      + self._notes(), message=outcome.report_text())

    def imported(self) -> Report:
        """The result is in the scene."""
        outcome = self.outcome
        job_history.update_status(self.job_dir, "finished", outcome.message)
        return Report(finished=True, level="INFO",
                      text=f"{outcome.message} ({self.job_dir.name})" + self._notes(),
                      message=outcome.message)

    def import_failed(self, error: str) -> Report:
        """The result exists but its import failed with ``error`` (the scene is unchanged)."""
        job_history.update_status(self.job_dir, "failed", f"import failed: {error}")
        message = f"Generated, but the import failed: {error}"
        return Report(finished=False, level="ERROR", message=message,
                      text=f"{message}. The result is in {self.job_dir}; fix the problem and "
                           "re-import it from the history")

    def _notes(self) -> str:
        notes = "; ".join(self.job.messages[:3])
        return f" [{notes}]" if notes else ""


def resume_request(job_dir: Path) -> dict[str, Any]:
    """The request a job was started with (``input/job.json``), for a resume."""
    if not job_dir.is_dir():
        raise RequestError(f"The job folder {job_dir} to resume does not exist")
    stored = job_history.read_job_info(job_dir).get("request")
    if not isinstance(stored, dict):
        raise RequestError(f"{job_dir.name} was not started from Blender (no "
                           f"{job_history.JOB_JSON}): resume it with 'anchorhoi generate "
                           f"--out {job_dir}'")
    request = {**stored, "job_dir": str(job_dir)}
    problems = protocol.check_request(request)
    if problems:
        raise RequestError(f"{job_history.JOB_JSON} of {job_dir.name} is damaged: "
                           + "; ".join(problems))
    return request


USER_ERRORS: tuple[type[Exception], ...] = (RequestError, ObjectExportError, BackendStartError,
                                            OSError)
"""What starting a run raises for the user to act on; the message says what to do."""
