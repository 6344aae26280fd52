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

from .fbx_presets import TARGETS, export_settings
from .rest_pose import rest_pose_at_current_frame


def clip_objects(obj) -> tuple[bpy.types.Object, list[bpy.types.Object]]:
    """The armature of the selection and everything exported with it (body meshes, object)."""
    arm = obj if obj.type == "ARMATURE" else obj.parent if obj.parent and \
        obj.parent.type == "ARMATURE" else None
    if arm is None:
        raise ValueError(f"'{obj.name}' is not an armature or a mesh parented to one: select the "
                         "imported SMPL-X rig")
    objects = [arm] + [c for c in arm.children if c.type == "MESH"]
    extra = arm.get("anchorhoi_object")
    if isinstance(extra, bpy.types.Object) and extra.type == "MESH" and extra not in objects:
        objects.append(extra)
    return arm, objects


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


class selection_of:
    """Select exactly ``objects`` with ``active`` active; restore the selection afterwards."""

    def __init__(self, context, objects, active):
        self.layer, self.objects, self.active = context.view_layer, objects, active

    def __enter__(self):
        self.prev_active = self.layer.objects.active
        self.prev_selected = [o for o in self.layer.objects if o.select_get()]
        for o in self.layer.objects:
            o.select_set(o in self.objects)
        self.layer.objects.active = self.active

    def __exit__(self, *exc):
        for o in self.layer.objects:
            o.select_set(o in self.prev_selected)
        self.layer.objects.active = self.prev_active
        return False


class armature_named:
    """Give ``arm`` the name ``name`` for the duration (swapping with an object holding it)."""

    def __init__(self, arm, name):
        self.arm, self.name = arm, name

    def __enter__(self):
        self.old = self.arm.name
        self.other = None
        if self.name is None or self.old == self.name:
            return
        self.other = bpy.data.objects.get(self.name)
        if self.other is not None:
            self.other.name = "__anchorhoi_swap__"
        self.arm.name = self.name

    def __exit__(self, *exc):
        if self.name is None or self.old == self.name:
            return False
        self.arm.name = "__anchorhoi_tmp__"
        if self.other is not None:
            self.other.name = self.name
        self.arm.name = self.old
        return False


def menu_export(self, context):
    self.layout.operator(ANCHORHOI_OT_export_fbx.bl_idname, text="AnchorHOI rig for games (.fbx)")


__all__ = ["ANCHORHOI_OT_export_fbx", "TARGETS", "menu_export"]
