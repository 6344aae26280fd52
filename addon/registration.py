"""Register the add-on's classes, menu entries and handler (called from ``__init__``)."""

from __future__ import annotations

import bpy

from .operators import (
    export_fbx,
    generate,
    import_batch,
    import_motion,
    jobs,
    lock_feet,
    reduce_keys,
    retime_clip,
    setup_backend,
)
from .ui import clip_panels, panel, preferences, props

CLASSES = (
    preferences.AnchorHOIPreferences,
    import_motion.ANCHORHOI_OT_import_motion,
    import_batch.ANCHORHOI_OT_import_batch,
    reduce_keys.ANCHORHOI_OT_reduce_keys,
    retime_clip.ANCHORHOI_OT_retime_clip,
    lock_feet.ANCHORHOI_OT_lock_feet,
    export_fbx.ANCHORHOI_OT_export_fbx,
    generate.ANCHORHOI_OT_generate,
    generate.ANCHORHOI_OT_cancel,
    setup_backend.ANCHORHOI_OT_setup_backend,
    *jobs.CLASSES,
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
    clip_panels.register()
    bpy.app.handlers.load_post.append(clear_stale_job_status)
    bpy.types.TOPBAR_MT_file_import.append(import_motion.menu_import)
    bpy.types.TOPBAR_MT_file_import.append(import_batch.menu_import)
    bpy.types.TOPBAR_MT_file_export.append(export_fbx.menu_export)


def unregister():
    if clear_stale_job_status in bpy.app.handlers.load_post:
        bpy.app.handlers.load_post.remove(clear_stale_job_status)
    bpy.types.TOPBAR_MT_file_export.remove(export_fbx.menu_export)
    bpy.types.TOPBAR_MT_file_import.remove(import_batch.menu_import)
    bpy.types.TOPBAR_MT_file_import.remove(import_motion.menu_import)
    clip_panels.unregister()
    panel.unregister()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
    props.unregister()
