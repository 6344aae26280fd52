"""``bpy.ops.anchorhoi.export_fbx``: the clip's rig, skinned body and object as one FBX for a game.

Handled pitfalls of SMPL-X rigs in engines: one take only (Blender otherwise writes a take
per action × object), no ``_end`` leaf bones, the file written with the rig at its rest pose
(importers take the pose at export time as the bind/rest pose), Unity's −90° X / 100× scale on
the root avoided by baking the axis change and scale into the data, and Unreal's extra root
bone avoided by exporting the armature under the name "Armature" (restored afterwards).
"""

from __future__ import annotations

import os
from pathlib import Path

import bpy
from bpy_extras.io_utils import ExportHelper

from ..plan.fbx_presets import export_settings
from ..scene.export_selection import armature_named, clip_objects, selection_of
from ..scene.rest_pose import rest_pose_at_current_frame


class ANCHORHOI_OT_export_fbx(bpy.types.Operator, ExportHelper):
    """Export the active SMPL-X rig, its body and its object as an FBX for a game engine"""

    bl_idname = "anchorhoi.export_fbx"
    bl_label = "Export AnchorHOI FBX"
    bl_options = {"REGISTER"}

    filename_ext = ".fbx"
    filter_glob: bpy.props.StringProperty(default="*.fbx", options={"HIDDEN"})
    target: bpy.props.EnumProperty(
        name="Target",
        items=[("UNITY", "Unity", "Metres, Y up, no root rotation or scale on import"),
               ("UNREAL", "Unreal", "Centimetres, no extra root bone"),
               ("GENERIC", "Generic", "Blender's default FBX axes and units")],
        default="GENERIC")

    @classmethod
    def poll(cls, context):
        return context.object is not None

    def execute(self, context):
        path = Path(bpy.path.abspath(self.filepath))
        if path.suffix.lower() != ".fbx":
            path = path.with_suffix(".fbx")
        if not path.parent.is_dir():
            self.report({"ERROR"}, f"Folder {path.parent} does not exist")
            return {"CANCELLED"}
        try:
            arm, objects = clip_objects(context.object)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        settings = export_settings(self.target)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.fbx")
        try:
            with selection_of(context, objects, arm), \
                    armature_named(arm, "Armature" if self.target == "UNREAL" else None), \
                    rest_pose_at_current_frame(context, objects):
                result = bpy.ops.export_scene.fbx(filepath=str(tmp), **settings)
            if "FINISHED" not in result:
                raise RuntimeError("Blender's FBX exporter did not finish")
            os.replace(tmp, path)
        except Exception as exc:
            self.report({"ERROR"}, f"FBX export failed: {exc}")
            return {"CANCELLED"}
        finally:
            if tmp.exists():
                tmp.unlink()
        self.report({"INFO"}, f"Exported {len(objects)} objects to {path} ({self.target})")
        return {"FINISHED"}


def menu_export(self, context):
    self.layout.operator(ANCHORHOI_OT_export_fbx.bl_idname, text="AnchorHOI rig for games (.fbx)")
