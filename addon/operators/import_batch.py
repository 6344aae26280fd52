"""File › Import › AnchorHOI batch: ``bpy.ops.anchorhoi.import_batch(directory=…)``.

Every finished job of a batch folder becomes its own clip, as ``import_motion`` builds one: a
rig named after the job id with its body and object, the motion on one NLA strip named after
the job id, all starting at ``frame_start``. The game export's clips are the rigs of the scene,
so ``export_fbx(all_clips=True)`` then writes the batch as the takes of one FBX, one take per
job on one skeleton (docs/game-export.md). Which jobs are taken: ``plan/batch_import.py``.

Every result is read and planned before the scene changes; a job whose result does not read is
skipped like an unfinished one, with the reason in the report. The clips are built under one
``SceneGuard``: a failure while building leaves the scene as it was.
"""

from __future__ import annotations

import dataclasses
import time

import bpy

from ..plan.batch_import import BatchImportError, plan_batch, summary_line
from ..plan.contact_spans import clip_contacts
from ..plan.import_plan import ImportPlan, plan_import
from ..plan.motion_source import open_motion
from ..portable.arrays import MotionFileError
from ..scene.build import build_clip
from ..scene.guard import SceneGuard
from ..ui import preferences


class ANCHORHOI_OT_import_batch(bpy.types.Operator):
    """Import every finished job of an AnchorHOI batch folder, one clip per job, named after
    the job id"""

    bl_idname = "anchorhoi.import_batch"
    bl_label = "Import AnchorHOI Batch"
    bl_options = {"REGISTER", "UNDO"}

    directory: bpy.props.StringProperty(
        name="Batch Folder", subtype="DIR_PATH",
        description="The folder given to 'anchorhoi batch --out' (holding batch.json and one "
                    "folder per job)")
    filter_folder: bpy.props.BoolProperty(default=True, options={"HIDDEN"},
                                          description="Show folders in the browser")
    filter_glob: bpy.props.StringProperty(default="batch.json", options={"HIDDEN"},
                                          description="File types shown in the browser")
    frame_start: bpy.props.IntProperty(
        name="Start Frame", default=1, description="Scene frame of every clip's first frame")

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)  # a folder browser: sets 'directory'
        return {"RUNNING_MODAL"}

    def execute(self, context):
        started = time.perf_counter()
        smplx_dir = preferences.get(context).smplx_dir.strip() or None
        if not self.directory.strip():
            self.report({"ERROR"}, "No batch folder given: pick the folder given to "
                        "'anchorhoi batch --out' (the one holding batch.json)")
            return {"CANCELLED"}
        try:
            batch = plan_batch(bpy.path.abspath(self.directory))
        except BatchImportError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        plans: list[ImportPlan] = []
        for job in batch.jobs:
            try:
                clip, _ = open_motion(job.folder, smplx_dir=smplx_dir)
                contacts, _ = clip_contacts(clip)
                plan = plan_import(clip, frame_start=self.frame_start, contacts=contacts)
            except (MotionFileError, ValueError) as exc:
                batch = batch.skip(job.id, f"its result does not read: {exc}")
                continue
            obj = plan.obj and dataclasses.replace(plan.obj, name=f"{job.id}_{plan.obj.name}")
            plans.append(dataclasses.replace(plan, name=job.id, obj=obj))
        if not plans:
            self.report({"ERROR"}, f"No finished job to import in {self.directory}: "
                        + summary_line([], batch))
            return {"CANCELLED"}
        try:
            with SceneGuard(context):
                built = [build_clip(context, plan) for plan in plans]
                scene = context.scene
                scene.frame_start = self.frame_start
                scene.frame_end = self.frame_start + max(p.num_frames for p in plans) - 1
        except Exception as exc:  # the guard has restored the scene; tell the user what broke
            self.report({"ERROR"}, f"Batch import failed, scene left unchanged: {exc}")
            return {"CANCELLED"}
        for clip in built:
            if clip.obj is not None:
                clip.armature["anchorhoi_object"] = clip.obj
        fps = {(p.fps, p.fps_base) for p in plans}
        note = "" if len(fps) == 1 else "; the clips differ in frame rate: the scene plays " \
            f"the last one's ({plans[-1].fps / plans[-1].fps_base:g} fps)"
        self.report({"WARNING"} if batch.skipped or note else {"INFO"},
                    f"{summary_line([c.armature.name for c in built], batch)}{note} "
                    f"in {time.perf_counter() - started:.2f} s")
        return {"FINISHED"}


def menu_import(self, context):
    self.layout.operator(ANCHORHOI_OT_import_batch.bl_idname,
                         text="AnchorHOI batch (folder)")
