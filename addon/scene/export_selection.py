"""What an FBX export of a clip selects, and the scene state held for its duration: the rig
with its body and object selected, and the armature under another name (restored after)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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


@contextmanager
def selection_of(context, objects, active) -> Iterator[None]:
    """Select exactly ``objects`` with ``active`` active; restore the selection afterwards."""
    layer = context.view_layer
    prev_active = layer.objects.active
    prev_selected = [o for o in layer.objects if o.select_get()]
    for o in layer.objects:
        o.select_set(o in objects)
    layer.objects.active = active
    try:
        yield
    finally:
        for o in layer.objects:
            o.select_set(o in prev_selected)
        layer.objects.active = prev_active


@contextmanager
def armature_named(arm, name: str | None) -> Iterator[None]:
    """Give ``arm`` the name ``name`` for the duration (swapping with an object holding it);
    ``None``: keep its name."""
    old = arm.name
    if name is None or old == name:
        yield
        return
    other = bpy.data.objects.get(name)
    if other is not None:
        other.name = "__anchorhoi_swap__"
    arm.name = name
    try:
        yield
    finally:
        arm.name = "__anchorhoi_tmp__"
        if other is not None:
            other.name = name
        arm.name = old
