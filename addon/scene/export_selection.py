"""What an FBX export of a clip selects, and the scene state held for its duration: the rig
with its body and object selected, and the armature under another name (restored after)."""

from __future__ import annotations

import bpy


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
