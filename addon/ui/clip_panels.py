"""3D View › Sidebar › AnchorHOI, below the generation panel: Import, Clean-up (Reduce Keys,
Lock Feet, Retime) and Export, with the clip operators also in the menus (File › Import,
File › Export, Object › Animation, Pose)."""

from __future__ import annotations

import bpy


class ANCHORHOI_PT_import(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "AnchorHOI"
    bl_label = "Import"
    bl_idname = "ANCHORHOI_PT_import"

    def draw(self, context):
        self.layout.operator("anchorhoi.import_motion", text="Import Motion…", icon="IMPORT")
        self.layout.operator("anchorhoi.import_batch", text="Import Batch…",
                             icon="FILE_FOLDER")


class ANCHORHOI_PT_cleanup(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "AnchorHOI"
    bl_label = "Clean-up"
    bl_idname = "ANCHORHOI_PT_cleanup"

    def draw(self, context):
        col = self.layout.column(align=True)
        col.operator("anchorhoi.reduce_keys", icon="IPO_BEZIER")
        col.operator("anchorhoi.lock_feet", icon="SNAP_ON")
        row = col.row(align=True)
        row.operator_context = "EXEC_DEFAULT"  # the quick factors run at once, no dialog
        row.operator("anchorhoi.retime_clip", text="Retime ×0.5").factor = 0.5
        row.operator("anchorhoi.retime_clip", text="Retime ×2").factor = 2.0
        col.operator("anchorhoi.retime_clip", text="Retime…", icon="TIME")


class ANCHORHOI_PT_export(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "AnchorHOI"
    bl_label = "Export"
    bl_idname = "ANCHORHOI_PT_export"

    def draw(self, context):
        row = self.layout.row(align=True)
        for target, text in (("UNITY", "Unity"), ("UNREAL", "Unreal"), ("GENERIC", "Generic")):
            op = row.operator("anchorhoi.export_fbx", text=text, icon="EXPORT")
            op.target = target
            if target == "UNREAL":
                op.skeleton = "UE5"


def menu_animation(self, context):
    """Object › Animation and Pose: the clean-up operators and the export."""
    layout = self.layout
    layout.separator()
    layout.operator("anchorhoi.reduce_keys", text="AnchorHOI: Reduce Keys")
    layout.operator("anchorhoi.lock_feet", text="AnchorHOI: Lock Feet")
    layout.operator("anchorhoi.retime_clip", text="AnchorHOI: Retime Clip…")
    layout.operator("anchorhoi.export_fbx", text="AnchorHOI: Export FBX for Games…")


PANELS = (ANCHORHOI_PT_import, ANCHORHOI_PT_cleanup, ANCHORHOI_PT_export)
MENUS = ("VIEW3D_MT_object_animation", "VIEW3D_MT_pose")


def register():
    for cls in PANELS:
        bpy.utils.register_class(cls)
    for menu in MENUS:
        getattr(bpy.types, menu).append(menu_animation)


def unregister():
    for menu in MENUS:
        getattr(bpy.types, menu).remove(menu_animation)
    for cls in reversed(PANELS):
        bpy.utils.unregister_class(cls)
