"""Keep the scene exactly as it was when an operation fails half-way.

``SceneGuard`` records the scene settings an import changes and every datablock created
inside it; on an exception it removes the new datablocks and restores the settings.
"""

from __future__ import annotations

import bpy

_COLLECTIONS = ("objects", "meshes", "armatures", "actions", "materials", "collections")


class SceneGuard:
    def __init__(self, context):
        self.scene = context.scene
        self.view_layer = context.view_layer

    def __enter__(self):
        s = self.scene
        self.settings = (s.render.fps, s.render.fps_base, s.frame_start, s.frame_end,
                         s.frame_current)
        self.before = {name: set(getattr(bpy.data, name)[:]) for name in _COLLECTIONS}
        self.active = self.view_layer.objects.active
        self.selected = [o for o in self.view_layer.objects if o.select_get()]
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            return False
        for name in _COLLECTIONS:  # objects first: they use the data blocks after them
            data = getattr(bpy.data, name)
            for block in [b for b in data[:] if b not in self.before[name]]:
                data.remove(block)
        s = self.scene
        s.render.fps, s.render.fps_base, s.frame_start, s.frame_end, frame = self.settings
        s.frame_set(frame)
        for o in self.view_layer.objects:
            o.select_set(o in self.selected)
        self.view_layer.objects.active = self.active
        return False
