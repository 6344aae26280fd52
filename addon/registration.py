"""Register the add-on's classes and menu entries (called from ``__init__``)."""

from __future__ import annotations

import bpy

from . import (ops_export, ops_generate, ops_import, ops_jobs, ops_keys, ops_setup, panel,
               preferences, props)

CLASSES = (
    preferences.AnchorHOIPreferences,
    ops_import.ANCHORHOI_OT_import_motion,
    ops_keys.ANCHORHOI_OT_reduce_keys,
    ops_export.ANCHORHOI_OT_export_fbx,
    ops_generate.ANCHORHOI_OT_generate,
    ops_generate.ANCHORHOI_OT_cancel,
    ops_setup.ANCHORHOI_OT_setup_backend,
    *ops_jobs.CLASSES,
)


@bpy.app.handlers.persistent
def clear_stale_job_status(*_args):
    """After a file load no generation runs any more (Blender ended its modal operator), but a
    window manager read from the file may still say so: clear it, or Generate stays greyed."""
    for wm in bpy.data.window_managers:
        if wm.anchorhoi_job.running:
            wm.anchorhoi_job.reset()


def register():
    props.register()
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    panel.register()
    bpy.app.handlers.load_post.append(clear_stale_job_status)
    bpy.types.TOPBAR_MT_file_import.append(ops_import.menu_import)
    bpy.types.TOPBAR_MT_file_export.append(ops_export.menu_export)


def unregister():
    if clear_stale_job_status in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(clear_stale_job_status)
    bpy.types.TOPBAR_MT_file_export.remove(ops_export.menu_export)
    bpy.types.TOPBAR_MT_file_import.remove(ops_import.menu_import)
    panel.unregister()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
    props.unregister()
