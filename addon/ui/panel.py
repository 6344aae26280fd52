"""3D View › Sidebar › AnchorHOI: prompt, object, timing, preset, Generate / Cancel, progress,
previews as they arrive, job history.

Preview thumbnails come from one ``bpy.utils.previews`` collection, created in ``register``
and removed in ``unregister`` (Blender's previews API needs it kept somewhere for the add-on's
lifetime: it is held by :class:`PreviewCache`'s single instance, the panel's only state).
Images are loaded when first drawn, never in the per-tick code.
"""

from __future__ import annotations

import os

import bpy

from ..client import job_history
from ..client.job_request import RequestError, frames_for
from ..client.quality_report import QualityCache
from ..client.result_object import generating_line
from . import preferences

HISTORY_ROWS = 8
THUMBNAIL_SUFFIXES = (".png", ".jpg", ".jpeg")


class PreviewCache:
    """Icons of preview images by path (loaded lazily, at draw time)."""

    def __init__(self):
        import bpy.utils.previews

        self.collection = bpy.utils.previews.new()

    def icon_id(self, path: str) -> int:
        """0 for a missing file or a format Blender's image loader does not read (GIF)."""
        if os.path.splitext(path)[1].lower() not in THUMBNAIL_SUFFIXES or \
                not os.path.isfile(path):
            return 0
        key = f"{path}:{os.path.getmtime(path)}"
        if key not in self.collection:
            self.collection.load(key, path, "IMAGE")
        return self.collection[key].icon_id

    def close(self):
        import bpy.utils.previews

        bpy.utils.previews.remove(self.collection)


class _Cache:
    instance: PreviewCache | None = None  # set by register(), cleared by unregister()
    quality: QualityCache | None = None  # the last job's plausibility rows (same lifetime)


class ANCHORHOI_PT_generate(bpy.types.Panel):
    bl_label = "AnchorHOI"
    bl_idname = "ANCHORHOI_PT_generate"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "AnchorHOI"

    def draw(self, context):
        layout = self.layout
        s = context.scene.anchorhoi
        status = context.window_manager.anchorhoi_job
        col = layout.column()
        col.enabled = not status.running
        col.prop(s, "prompt", text="")
        col.prop(s, "target")
        if s.target is None:
            col.prop(s, "object_prompt")
        if status.running and status.object_prompt:  # the words the backend found
            col.label(text=generating_line(status.object_prompt, False), icon="MESH_CUBE")
        else:
            col.label(text=generating_line(s.object_prompt, s.target is not None),
                      icon="MESH_CUBE")
        row = col.row(align=True)
        row.prop(s, "duration")
        row.prop(s, "fps")
        try:
            col.label(text=f"{frames_for(s.duration, s.fps)} frames")
        except RequestError as exc:
            col.label(text=str(exc), icon="ERROR")
        row = col.row(align=True)
        row.prop(s, "preset", text="")
        row.prop(s, "seed")
        if not preferences.resolved_backend_python(preferences.get(context)):
            col.label(text="Set 'Backend Python' in the add-on preferences", icon="ERROR")
        if status.running:
            layout.operator("anchorhoi.cancel", icon="CANCEL")
            layout.progress(factor=status.progress, type="BAR", text=status.text or "…")
        else:
            layout.operator("anchorhoi.generate", text="Generate Interaction", icon="PLAY")
            if status.message:
                layout.label(text=status.message,
                             icon="CHECKMARK" if status.state == "finished" else "INFO")
        draw_previews(layout, status)
        draw_quality(layout, status)
        draw_history(layout, context, s)


def draw_previews(layout, status):
    cache = _Cache.instance
    if cache is None or not status.previews:
        return
    grid = layout.grid_flow(columns=2, even_columns=True)
    for item in list(status.previews)[-4:]:
        icon = cache.icon_id(item.path)  # 0 where Blender makes no icons (background mode)
        cell = grid.column()
        if icon:
            cell.template_icon(icon_value=icon, scale=5.0)
        cell.label(text=f"{item.stage}: {os.path.basename(item.path)}")


def draw_quality(layout, status):
    """The finished job's plausibility report: one row per figure, pass or warn."""
    cache = _Cache.quality
    if cache is None or status.running or not status.job_dir:
        return
    source = cache.object_for(status.job_dir)
    if source:
        layout.label(text=source, icon="MESH_CUBE")
    rows = cache.rows_for(status.job_dir)
    if not rows:
        return
    box = layout.box()
    box.label(text="Plausibility", icon="CHECKMARK" if all(r.status != "warn" for r in rows)
              else "ERROR")
    for row in rows:
        line = box.row()
        line.label(text=row.label, icon=_QUALITY_ICONS[row.status])
        line.label(text=row.value)


_QUALITY_ICONS = {"pass": "CHECKMARK", "warn": "ERROR", "n/a": "BLANK1"}


def draw_history(layout, context, s):
    box = layout.box()
    box.prop(s, "show_history", icon="TRIA_DOWN" if s.show_history else "TRIA_RIGHT",
             emboss=False)
    if not s.show_history:
        return
    root = preferences.jobs_folder(preferences.get(context))
    jobs = job_history.list_jobs(root, limit=HISTORY_ROWS)
    if not jobs:
        box.label(text="No jobs yet")
    status = context.window_manager.anchorhoi_job
    running = status.running
    for entry in jobs:
        state = entry.status
        if state == "running" and not (running and status.job_dir == str(entry.path)):
            state = "incomplete"  # Blender closed while it ran
        row = box.row(align=True)
        row.label(text=f"{entry.created}  {entry.prompt or entry.name}",
                  icon=_STATUS_ICONS.get(state, "QUESTION"))
        if entry.has_result:
            row.operator("anchorhoi.import_job", text="", icon="IMPORT").job_dir = \
                str(entry.path)
        elif not running:
            op = row.operator("anchorhoi.generate", text="", icon="FILE_REFRESH")
            op.resume_dir = str(entry.path)
        row.operator("anchorhoi.open_job_folder", text="", icon="FILE_FOLDER").job_dir = \
            str(entry.path)
        row.operator("anchorhoi.delete_job", text="", icon="TRASH").job_dir = str(entry.path)
    more = job_history.count_folders(root) - len(jobs)
    if len(jobs) == HISTORY_ROWS and more > 0:
        box.label(text=f"… and {more} older folders in the jobs folder")


_STATUS_ICONS = {"finished": "CHECKMARK", "failed": "ERROR", "cancelled": "CANCEL",
                 "running": "TIME", "incomplete": "QUESTION"}


def register():
    _Cache.instance = PreviewCache()
    _Cache.quality = QualityCache()
    bpy.utils.register_class(ANCHORHOI_PT_generate)


def unregister():
    bpy.utils.unregister_class(ANCHORHOI_PT_generate)
    if _Cache.instance is not None:
        _Cache.instance.close()
        _Cache.instance = None
    _Cache.quality = None
