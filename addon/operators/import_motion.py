"""File › Import › AnchorHOI / SMPL-X motion: ``bpy.ops.anchorhoi.import_motion``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

import bpy
from bpy_extras.io_utils import ImportHelper

from ..client import job_history
from ..plan.contact_spans import clip_contacts
from ..plan.import_plan import plan_import
from ..plan.motion_source import is_result, open_motion
from ..plan.placement import PlacementError, place_plan, placement_for
from ..portable import result_v1
from ..portable.arrays import MotionFileError
from ..scene.build import build_clip
from ..scene.guard import SceneGuard
from ..ui import preferences


class ANCHORHOI_OT_import_motion(bpy.types.Operator, ImportHelper):
    """Import an AnchorHOI result or an AMASS SMPL-X motion as an animated SMPL-X rig"""

    bl_idname = "anchorhoi.import_motion"
    bl_label = "Import AnchorHOI / SMPL-X Motion"
    bl_options = {"REGISTER", "UNDO", "PRESET"}

    filename_ext = ".npz"
    filter_glob: bpy.props.StringProperty(default="*.npz;*.json", options={"HIDDEN"},
                                          description="File types shown in the browser")
    frame_start: bpy.props.IntProperty(
        name="Start Frame", default=1, description="Scene frame of the clip's first frame")
    up_axis: bpy.props.EnumProperty(
        name="Up Axis",
        items=[("AUTO", "Auto", "An AnchorHOI result says its up axis in result.json (1.0: Y, "
                "1.1: Z); a plain AMASS .npz is Z up"),
               ("Z", "Z Up", "The file's world is Z up (AMASS): a standing body has a root "
                "rotation of about +90° about X"),
               ("Y", "Y Up", "The file's world is Y up (the SMPL-X model's own frame, results "
                "v1.0)")],
        default="AUTO",
        description="Which way is up in the file's world; the clip arrives upright on "
                    "Blender's floor with no rotation on the armature object")
    place_at_object: bpy.props.BoolProperty(
        name="Place at Object", default=True,
        description=("Move the result so that its object coincides with the scene object it "
                     "was generated for (a generated result's object.to_user); off: the "
                     "result's own coordinates"))

    def execute(self, context):
        started = time.perf_counter()
        smplx_dir = preferences.get(context).smplx_dir.strip() or None
        try:
            path = bpy.path.abspath(self.filepath)
            clip, source = open_motion(path, smplx_dir=smplx_dir, up_axis=self.up_axis)
            contacts, contact_source = clip_contacts(clip)
            plan = plan_import(clip, frame_start=self.frame_start, contacts=contacts)
            if self.place_at_object and is_result(Path(path)):
                doc_path = result_v1.find_result_json(path)
                doc = result_v1.read_result_json(doc_path)
                unit_scale = job_history.read_job_info(doc_path.parent).get(
                    "unit_scale", context.scene.unit_settings.scale_length)
                plan = place_plan(plan, placement_for(doc, clip, unit_scale=unit_scale))
        except (MotionFileError, PlacementError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        try:
            with SceneGuard(context):
                built = build_clip(context, plan)
        except Exception as exc:  # the guard has restored the scene; tell the user what broke
            self.report({"ERROR"}, f"Import failed, scene left unchanged: {exc}")
            return {"CANCELLED"}
        if built.obj is not None:
            built.armature["anchorhoi_object"] = built.obj
        self.report({"INFO"}, f"Imported {plan.num_frames} frames at {clip.motion.fps:g} fps "
                    f"({source}; contacts {contact_source}) in "
                    f"{time.perf_counter() - started:.2f} s")
        return {"FINISHED"}


def menu_import(self, context):
    self.layout.operator(ANCHORHOI_OT_import_motion.bl_idname,
                         text="AnchorHOI / SMPL-X motion (.npz)")


def import_job_result(job_dir: Path) -> set[str]:
    """Import a finished job's result at the object it was generated for, through the import
    operator (as File › Import does). Raises ``RuntimeError`` with the operator's error report
    when the import fails; the scene is then unchanged."""
    # bpy.ops.anchorhoi exists once this add-on has registered: Blender's API stubs cannot
    # know it, so the namespace is typed Any.
    return cast(Any, bpy.ops).anchorhoi.import_motion(filepath=str(job_dir),
                                                      place_at_object=True)


def error_text(exc: RuntimeError) -> str:
    """The message of an operator's error report (Blender prefixes it with 'Error: ')."""
    return str(exc).strip().removeprefix("Error: ").strip()
