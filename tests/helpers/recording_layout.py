"""A stand-in for Blender's ``UILayout`` in background mode (no window to draw into)."""

from __future__ import annotations

from types import SimpleNamespace

import bpy

ICONS = {e.identifier for e in
         bpy.types.UILayout.bl_rna.functions["label"].parameters["icon"].enum_items}


class RecordingLayout:
    """Stands in for ``UILayout`` in background mode (no window to draw into): records what
    the panel draws and checks that every property, operator and icon it uses exists."""

    def __init__(self, log):
        self.log = log
        self.enabled = True

    def _child(self, *a, **k):
        return RecordingLayout(self.log)

    column = row = box = grid_flow = _child

    def prop(self, data, name, icon="NONE", **kwargs):
        assert name in data.bl_rna.properties, name
        assert icon in ICONS, icon
        self.log.append(("prop", name))

    def label(self, text="", icon="NONE"):
        assert icon in ICONS, icon
        self.log.append(("label", text))

    def operator(self, idname, icon="NONE", **kwargs):
        category, name = idname.split(".")
        assert hasattr(getattr(bpy.ops, category), name), idname
        assert icon in ICONS, icon
        self.log.append(("operator", idname))
        return SimpleNamespace()

    def separator(self, **kwargs):
        self.log.append(("separator",))

    def progress(self, factor=0.0, type="BAR", text=""):
        self.log.append(("progress", round(factor, 3), text))

    def template_icon(self, icon_value=0, scale=1.0):
        self.log.append(("icon", icon_value > 0))
