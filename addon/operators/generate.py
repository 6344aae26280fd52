"""``anchorhoi.generate`` and ``anchorhoi.cancel``: run one generation job with the backend.

From the UI (``invoke``) the operator is modal: a window-manager timer calls :func:`tick_run`
ten times a second and Blender stays responsive. Called as EXEC (scripts, background mode,
where no event loop drives timers or modal operators) it runs the same job with the same
:func:`tick_run` in a loop until the job ends; Ctrl+C there cancels the job cleanly.

The run itself — job folder, request, backend process, how it ended — is
``client.generate_run``; here it meets Blender: the scene's settings and picked object go in,
the job's visible state is mirrored into ``WindowManager.anchorhoi_job`` (see ``ui.props``) on
every tick, and a finished result is imported. ``anchorhoi.cancel`` only sets
``cancel_requested`` there. Nothing in the scene changes before the import; on a failure the
report carries the backend's hint and the job folder keeps what was computed.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path

import bpy

from ..client.generate_run import USER_ERRORS, GenerateRun, PickedObject, ReportLevel
from ..client.interrupt import CtrlCRequestsCancel
from ..client.job_state import JobTimeouts
from ..scene.object_mesh import export_object
from ..ui import preferences
from .import_motion import error_text, import_job_result

TIMER_S = 0.1


def begin_run(context, *, resume_dir: str = "", object_prompt: str = "",
              timeouts: JobTimeouts = JobTimeouts()) -> GenerateRun:
    """Start a new job from the panel's settings and picked object, or resume ``resume_dir``;
    the window manager's job status shows it running. ``object_prompt``, when not empty,
    replaces the panel's Object Prompt. Raises one of ``USER_ERRORS`` (the status then carries
    its message); the scene is not changed either way."""
    status = context.window_manager.anchorhoi_job
    prefs = preferences.get(context)
    interpreter = preferences.resolved_backend_python(prefs)
    online = bool(getattr(bpy.app, "online_access", True))  # Allow Online Access (4.2+)
    try:
        if resume_dir:
            run = GenerateRun.resume(Path(resume_dir), interpreter=interpreter,
                                     timeouts=timeouts, online_access=online)
        else:
            settings = context.scene.anchorhoi
            target = settings.target
            picked = None if target is None else PickedObject(
                name=target.name, write=partial(export_object, context, target))
            asked = settings.generate_settings(prefs)
            if object_prompt.strip():
                asked = dataclasses.replace(asked, object_prompt=object_prompt)
            run = GenerateRun.start(
                asked, interpreter=interpreter,
                jobs_root=preferences.jobs_folder(prefs), picked=picked,
                unit_scale=context.scene.unit_settings.scale_length, timeouts=timeouts,
                online_access=online)
    except USER_ERRORS as exc:
        status.reset()
        status.message = str(exc)
        raise
    status.reset(job_dir=str(run.job_dir))
    status.running = True
    status.state = "starting"
    return run


def tick_run(run: GenerateRun, status) -> bool:
    """The per-tick work (never waits): advance the job, forwarding a cancel request, and
    mirror it into ``status`` (``WindowManager.anchorhoi_job``). True once the job ended."""
    done = run.tick(cancel_requested=status.cancel_requested)
    status.show(run.view())
    return done


def finish_run(context, run: GenerateRun, status) -> tuple[set[str], ReportLevel, str]:
    """After the job ended: import on success. Returns (operator result, report level, text)."""
    outcome = run.outcome
    status.running = False
    status.exit_code = -1000 if outcome.exit_code is None else outcome.exit_code
    report = run.failure()
    if report is None:
        try:
            import_job_result(run.job_dir)
        except RuntimeError as exc:  # the import reported an error: the scene is unchanged
            report = run.import_failed(error_text(exc))
        else:
            report = run.imported()
            arm = context.view_layer.objects.active
            if arm is not None and arm.type == "ARMATURE":
                arm["anchorhoi_job"] = str(run.job_dir)
    status.message = report.message
    return ({"FINISHED"} if report.finished else {"CANCELLED"}), report.level, report.text


def _visible(status) -> tuple:
    """What the panel shows of a running job."""
    return status.state, status.text, round(status.progress, 3), len(status.previews)


class ANCHORHOI_OT_generate(bpy.types.Operator):
    """Generate the interaction described by the prompt with the AnchorHOI backend"""

    bl_idname = "anchorhoi.generate"
    bl_label = "Generate Interaction"
    bl_options = {"REGISTER"}

    resume_dir: bpy.props.StringProperty(
        name="Resume Job", default="", options={"SKIP_SAVE"}, subtype="DIR_PATH",
        description="An existing job folder to continue (its finished stages are skipped); "
                    "empty: a new job")
    object_prompt: bpy.props.StringProperty(
        name="Object Prompt", default="", options={"SKIP_SAVE"},
        description="Words of the object to generate when no object is picked (e.g. 'a wooden "
                    "stool'); empty: the panel's Object Prompt, or the object the prompt names")

    @classmethod
    def poll(cls, context):
        if context.window_manager.anchorhoi_job.running:
            cls.poll_message_set("A generation is already running")
            return False
        return True

    def _begin(self, context) -> GenerateRun | None:
        try:
            return begin_run(context, resume_dir=self.resume_dir,
                             object_prompt=self.object_prompt)
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
                    run.wait(0.05)
                    if ctrl_c.pressed:
                        status.cancel_requested = True
        except BaseException:  # a bug in the add-on: never leave the backend behind
            run.kill()
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
        run.stop()
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
