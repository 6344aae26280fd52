"""``anchorhoi.generate`` and ``anchorhoi.cancel``: run one generation job with the backend.

From the UI (``invoke``) the operator is modal: a window-manager timer calls :func:`tick_run`
ten times a second and Blender stays responsive. Called as EXEC (scripts, background mode,
where no event loop drives timers or modal operators) it runs the same job with the same
:func:`tick_run` in a loop until the job ends; Ctrl+C there cancels the job cleanly.

Where the job's state lives — see ``props``: the live job (:class:`GenerateRun`) is owned by
the operator run (``self._run`` while modal, a local in ``execute``); the panel-visible fields
are mirrored into ``WindowManager.anchorhoi_job`` on every tick, and ``anchorhoi.cancel`` only
sets ``cancel_requested`` there.

Nothing in the scene changes before the backend's result is imported; on a failure the
report carries the backend's hint and the job folder keeps what was computed.
"""

from __future__ import annotations

import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import bpy

from . import job_history, preferences
from .backend_process import BackendProcess, BackendStartError, backend_command, \
    check_interpreter
from .job_request import GenerateSettings, RequestError, build_request
from .job_state import GenerateJob, JobTimeouts, Outcome, progress_text
from .object_export import ObjectExportError
from .portable import protocol
from .scene_mesh import export_object

TIMER_S = 0.1
STDERR_NAME = "backend_stderr.txt"


@dataclass
class GenerateRun:
    """One job as the operator holds it: the state machine and what the import needs."""

    job: GenerateJob
    job_dir: Path
    tick_times: list[float] = field(default_factory=list)  # wall seconds per tick_run call
    tick_cpu: list[float] = field(default_factory=list)  # this thread's CPU seconds per call

    @property
    def max_tick_s(self) -> float:
        return max(self.tick_times, default=0.0)


def settings_from(context) -> GenerateSettings:
    s, prefs = context.scene.anchorhoi, preferences.get(context)
    models = {"image": prefs.model_image, "video": prefs.model_video,
              "detector": prefs.model_detector}
    return GenerateSettings(
        prompt=s.prompt, preset=s.preset, duration_s=s.duration, fps=float(s.fps),
        seed=s.seed, device=prefs.device, models=models,
        smplx_dir=bpy.path.abspath(prefs.smplx_dir) if prefs.smplx_dir.strip() else None,
        cache_dir=bpy.path.abspath(prefs.cache_dir) if prefs.cache_dir.strip() else None)


def start_run(context, *, resume_dir: str = "", timeouts: JobTimeouts = JobTimeouts()
              ) -> GenerateRun:
    """Check everything, create the job folder, export the object, start the backend; or,
    with ``resume_dir``, send that job's own request again (the panel's current settings and
    object do not change a resumed job, so its finished stages stay valid). Raises
    ``RequestError``, ``ObjectExportError`` or ``BackendStartError`` with a message for the
    user; the scene is not changed either way."""
    prefs, settings = preferences.get(context), settings_from(context)
    interpreter = check_interpreter(preferences.resolved_backend_python(prefs))
    target = context.scene.anchorhoi.target
    if resume_dir:
        job_dir = Path(resume_dir)
        request = resume_request(job_dir)
        info = job_history.read_job_info(job_dir)
    else:
        build_request(settings, job_dir="-", object_path=None, object_name=None)  # checks first
        job_dir = job_history.new_job_dir(preferences.jobs_folder(prefs), settings.prompt)
    try:
        if not resume_dir:
            object_path = None
            if target is not None:
                _, object_path = export_object(context, target, job_dir / "input")
            request = build_request(settings, job_dir=str(job_dir), object_path=object_path,
                                    object_name=None if target is None else target.name)
            info = {"request": request, "created": time.time(),
                    "unit_scale": float(context.scene.unit_settings.scale_length)}
        info.update(status="running", message="", interpreter=interpreter)
        job_history.write_job_info(job_dir, info)
        process = BackendProcess.start(backend_command(interpreter),
                                       stderr_path=job_dir / STDERR_NAME, cwd=job_dir)
    except BaseException:
        if not resume_dir:  # nothing was computed yet: leave no empty job behind
            shutil.rmtree(job_dir, ignore_errors=True)
        raise
    return GenerateRun(job=GenerateJob(process, request, timeouts=timeouts), job_dir=job_dir)


def resume_request(job_dir: Path) -> dict:
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


USER_ERRORS = (RequestError, ObjectExportError, BackendStartError, OSError)


def begin_run(context, *, resume_dir: str = "", timeouts: JobTimeouts = JobTimeouts()
              ) -> GenerateRun:
    """``start_run`` plus the window manager's job status (running, cleared fields)."""
    status = context.window_manager.anchorhoi_job
    try:
        run = start_run(context, resume_dir=resume_dir, timeouts=timeouts)
    except USER_ERRORS as exc:
        status.reset()
        status.message = str(exc)
        raise
    status.reset(job_dir=str(run.job_dir))
    status.running = True
    status.state = "starting"
    return run


def tick_run(run: GenerateRun, status) -> bool:
    """The per-tick work (never waits): forward a cancel request, advance the job, mirror
    its state into ``status`` (``WindowManager.anchorhoi_job``). True once the job ended."""
    t0, c0 = time.perf_counter(), time.thread_time()
    job = run.job
    if status.cancel_requested and job.cancel_sent_at is None:
        job.cancel()
    done = job.tick()
    status.state = job.state
    status.text = progress_text(job)
    status.progress = 1.0 if job.state == "finished" else job.progress.fraction
    status.resumed = ", ".join(job.resumed)
    for stage, path in job.previews[len(status.previews):]:
        item = status.previews.add()
        item.stage, item.path = stage, path
    elapsed = time.perf_counter() - t0
    run.tick_times.append(elapsed)
    run.tick_cpu.append(time.thread_time() - c0)
    status.ticks = len(run.tick_times)
    status.max_tick_ms = max(status.max_tick_ms, 1000.0 * elapsed)
    return done


def _visible(status) -> tuple:
    """What the panel shows of a running job."""
    return status.state, status.text, round(status.progress, 3), len(status.previews)


def finish_run(context, run: GenerateRun, status) -> tuple[set[str], str, str]:
    """After the job ended: import on success. Returns (operator result, report level, text)."""
    job, outcome = run.job, run.job.outcome
    status.running = False
    status.exit_code = -1000 if outcome.exit_code is None else outcome.exit_code
    if job.cancel_sent_at is not None and job.exited_at is not None:
        status.cancel_to_exit_s = job.exited_at - job.cancel_sent_at
    notes = "; ".join(job.messages[:3])
    if outcome.status != "finished":
        job_history.update_status(run.job_dir, outcome.status, outcome.report_text())
        status.message = outcome.report_text()
        level = "WARNING" if outcome.status == "cancelled" else "ERROR"
        text = f"{outcome.report_text()} (job folder: {run.job_dir})"
        return {"CANCELLED"}, level, text + (f" [{notes}]" if notes else "")
    try:
        bpy.ops.anchorhoi.import_motion(filepath=str(run.job_dir), place_at_object=True)
    except RuntimeError as exc:  # the import reported an error: the scene is unchanged
        message = str(exc).strip().removeprefix("Error: ").strip()
        job_history.update_status(run.job_dir, "failed", f"import failed: {message}")
        status.message = f"Generated, but the import failed: {message}"
        return {"CANCELLED"}, "ERROR", (f"{status.message}. The result is in {run.job_dir}; "
                                        "fix the problem and re-import it from the history")
    job_history.update_status(run.job_dir, "finished", outcome.message)
    arm = context.view_layer.objects.active
    if arm is not None and arm.type == "ARMATURE":
        arm["anchorhoi_job"] = str(run.job_dir)
    status.message = outcome.message
    text = f"{outcome.message} ({run.job_dir.name})"
    return {"FINISHED"}, "INFO", text + (f" [{notes}]" if notes else "")


class CtrlCRequestsCancel:
    """While an EXEC job runs: Ctrl+C (SIGINT) asks for a cancel instead of raising
    KeyboardInterrupt at an arbitrary point. Only where Python handles SIGINT itself (``bpy``
    as a module); in the Blender binary Blender owns the signal, and a Blender that quits closes
    the backend's stdin, which the backend takes as a cancel."""

    def __enter__(self):
        self.pressed = False
        self._old = None
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._old = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def _on_sigint(self, signum, frame):
        self.pressed = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


class ANCHORHOI_OT_generate(bpy.types.Operator):
    """Generate the interaction described by the prompt with the AnchorHOI backend"""

    bl_idname = "anchorhoi.generate"
    bl_label = "Generate Interaction"
    bl_options = {"REGISTER"}

    resume_dir: bpy.props.StringProperty(
        name="Resume Job", default="", options={"SKIP_SAVE"}, subtype="DIR_PATH",
        description="An existing job folder to continue (its finished stages are skipped); "
                    "empty: a new job")

    @classmethod
    def poll(cls, context):
        if context.window_manager.anchorhoi_job.running:
            cls.poll_message_set("A generation is already running")
            return False
        return True

    def _begin(self, context) -> GenerateRun | None:
        try:
            return begin_run(context, resume_dir=self.resume_dir)
        except USER_ERRORS as exc:
            self.report({"ERROR"}, str(exc))
            return None

    def execute(self, context):
        run = self._begin(context)
        if run is None:
            return {"CANCELLED"}
        status = context.window_manager.anchorhoi_job
        try:
            with CtrlCRequestsCancel() as ctrl_c:
                while not tick_run(run, status):
                    run.job.note_wait(0.05)
                    if ctrl_c.pressed:
                        status.cancel_requested = True
        except BaseException:  # a bug in the add-on: never leave the backend behind
            run.job.process.kill()
            status.running = False
            raise
        return self._end(context, run)

    def invoke(self, context, event):
        if context.window is None:  # no window to own a timer (background mode): run as EXEC
            return self.execute(context)
        run = self._begin(context)
        if run is None:
            return {"CANCELLED"}
        self._run = run
        wm = context.window_manager
        self._timer = wm.event_timer_add(TIMER_S, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type != "TIMER":  # (any timer: another one only makes an extra tick)
            return {"PASS_THROUGH"}
        status = context.window_manager.anchorhoi_job
        before = _visible(status)
        done = tick_run(self._run, status)
        if done or _visible(status) != before:  # most ticks change nothing a person sees
            for area in context.screen.areas if context.screen else ():
                if area.type == "VIEW_3D":
                    for region in area.regions:
                        if region.type == "UI":  # the sidebar, not the whole viewport
                            region.tag_redraw()
        if not done:
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        return self._end(context, self._run)

    def cancel(self, context):
        """Blender ends the modal (a file is loaded, Blender quits): stop the backend."""
        run = getattr(self, "_run", None)
        if run is None:
            return
        run.job.cancel()
        run.job.process.terminate()
        job_history.update_status(run.job_dir, "cancelled", "stopped when Blender closed the "
                                  "operator (file loaded or Blender quit)")
        context.window_manager.anchorhoi_job.running = False
        if getattr(self, "_timer", None) is not None:
            context.window_manager.event_timer_remove(self._timer)

    def _end(self, context, run: GenerateRun):
        result, level, text = finish_run(context, run, context.window_manager.anchorhoi_job)
        self.report({level}, text)
        return result


class ANCHORHOI_OT_cancel(bpy.types.Operator):
    """Stop the running generation at its next step; finished stages stay in the job folder"""

    bl_idname = "anchorhoi.cancel"
    bl_label = "Cancel"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return context.window_manager.anchorhoi_job.running

    def execute(self, context):
        status = context.window_manager.anchorhoi_job
        status.cancel_requested = True
        status.text = "Cancelling…"
        return {"FINISHED"}


__all__ = ["ANCHORHOI_OT_cancel", "ANCHORHOI_OT_generate", "GenerateRun", "Outcome",
           "begin_run", "finish_run", "start_run", "tick_run"]
