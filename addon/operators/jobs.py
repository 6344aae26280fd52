"""Job history operators: re-import a finished job, open its folder, resume it, delete it."""

from __future__ import annotations

from pathlib import Path

import bpy

from ..client import job_history
from ..ui import preferences
from .import_motion import error_text, import_job_result


class _JobOperator(bpy.types.Operator):
    """What the job operators share: the job folder they act on."""

    job_dir: bpy.props.StringProperty(name="Job Folder", options={"SKIP_SAVE"},
                                      subtype="DIR_PATH", description="The job's folder")

    def job_path(self) -> Path | None:
        path = Path(self.job_dir) if self.job_dir else None
        if path is None or not path.is_dir():
            self.report({"ERROR"}, f"Job folder {self.job_dir!r} does not exist (deleted?)")
            return None
        return path


class ANCHORHOI_OT_import_job(_JobOperator):
    """Import this job's result again, placed at the object it was generated for"""

    bl_idname = "anchorhoi.import_job"
    bl_label = "Re-import"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        path = self.job_path()
        if path is None:
            return {"CANCELLED"}
        if not (path / job_history.RESULT_JSON).is_file():
            self.report({"ERROR"}, f"{path.name} has no result yet: resume it first")
            return {"CANCELLED"}
        try:
            return import_job_result(path)
        except RuntimeError as exc:
            self.report({"ERROR"}, error_text(exc))
            return {"CANCELLED"}


class ANCHORHOI_OT_open_job_folder(_JobOperator):
    """Open the job folder in the system's file browser"""

    bl_idname = "anchorhoi.open_job_folder"
    bl_label = "Open Folder"
    bl_options = {"REGISTER"}

    def execute(self, context):
        path = self.job_path()
        if path is None:
            return {"CANCELLED"}
        return bpy.ops.wm.path_open(filepath=str(path))


class ANCHORHOI_OT_delete_job(_JobOperator):
    """Delete this job's folder and everything computed in it"""

    bl_idname = "anchorhoi.delete_job"
    bl_label = "Delete Job"
    bl_options = {"REGISTER"}

    def invoke(self, context, event):
        return context.window_manager.invoke_confirm(
            self, event, title="Delete Job",
            message=f"Delete {Path(self.job_dir).name} and all its files?", confirm_text="Delete",
            icon="WARNING")

    def execute(self, context):
        path = self.job_path()
        if path is None:
            return {"CANCELLED"}
        status = context.window_manager.anchorhoi_job
        if status.running and Path(status.job_dir) == path:
            self.report({"ERROR"}, "This job is running: cancel it first")
            return {"CANCELLED"}
        try:
            job_history.delete_job(preferences.jobs_folder(preferences.get(context)), path)
        except (ValueError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Deleted {path.name}")
        return {"FINISHED"}


CLASSES = (ANCHORHOI_OT_import_job, ANCHORHOI_OT_open_job_folder, ANCHORHOI_OT_delete_job)
