"""Write sampled channels into an Action in bulk, and place it on the NLA as one strip.

Blender ≥ 4.4 has slotted (layered) actions, and 5.0 removed ``Action.fcurves``; 4.2/4.3
have only the legacy F-curve list. Both paths write every channel with
``keyframe_points.add`` + ``foreach_set``: a 3,000-frame clip takes milliseconds, where
per-frame ``keyframe_insert`` takes minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import bpy
import numpy as np

SLOTTED = bpy.app.version >= (4, 4, 0)


@dataclass(frozen=True)
class Channel:
    data_path: str
    index: int
    group: str
    values: np.ndarray  # (T,)


def enum_value(struct, prop: str, identifier: str) -> int:
    return struct.bl_rna.properties[prop].enum_items[identifier].value


def new_action(name: str, obj) -> tuple[bpy.types.Action, object]:
    """A new action with a slot for ``obj`` (slot is None on Blender < 4.4)."""
    action = bpy.data.actions.new(name)
    if not SLOTTED:  # Action.id_root is gone in 5.0, whose API stubs these are checked against
        cast(Any, action).id_root = "OBJECT"
    slot = action.slots.new(id_type="OBJECT", name=obj.name) if SLOTTED else None
    return action, slot


def channel_fcurves(action, slot):
    """The container F-curves are created in: the slot's channelbag, or the legacy action."""
    if not SLOTTED:
        return None
    layer = action.layers[0] if action.layers else action.layers.new("Layer")
    strip = layer.strips[0] if layer.strips else layer.strips.new(type="KEYFRAME")
    return strip.channelbag(slot, ensure=True)


def write_channels(action, slot, frames: np.ndarray, channels: list[Channel],
                   interpolation: str = "LINEAR") -> None:
    """One F-curve per channel with a key on every frame of ``frames`` (T,)."""
    bag = channel_fcurves(action, slot)
    groups: dict[str, object] = {}
    n = len(frames)
    co = np.empty((n, 2), dtype=np.float32)
    co[:, 0] = frames
    interp = None
    for ch in channels:
        if bag is not None:
            fc = bag.fcurves.new(ch.data_path, index=ch.index)
            if ch.group:
                if ch.group not in groups:
                    groups[ch.group] = bag.groups.new(ch.group)
                fc.group = groups[ch.group]
        else:
            fc = action.fcurves.new(ch.data_path, index=ch.index, action_group=ch.group)
        points = fc.keyframe_points
        points.add(n)
        co[:, 1] = ch.values
        points.foreach_set("co", co.ravel())
        if interp is None:
            interp = np.full(n, enum_value(points[0], "interpolation", interpolation), np.int32)
        points.foreach_set("interpolation", interp)
        fc.update()


def push_to_nla(obj, action, slot, start: int, name: str):
    """Place ``action`` on a new NLA track of ``obj`` as one strip starting at ``start``; the
    strip can then be moved or scaled as a whole (retiming the clip). No active action is left
    on top of it, so what plays is the strip."""
    ad = obj.animation_data or obj.animation_data_create()
    if SLOTTED:  # assign first so the slot is bound to this object, then hand it to the strip
        ad.action = action
        ad.action_slot = slot
        ad.action = None
    track = ad.nla_tracks.new()
    track.name = name
    strip = track.strips.new(name, int(start), action)
    if SLOTTED and strip.action_slot != slot:
        strip.action_slot = slot
    strip.extrapolation = "HOLD"
    return strip


def clip_actions(obj) -> list:
    """The actions that animate ``obj``: its active action and those of its NLA strips."""
    ad = obj.animation_data
    if ad is None:
        return []
    found = [ad.action] if ad.action else []
    for track in ad.nla_tracks:
        for strip in track.strips:
            if strip.action and strip.action not in found:
                found.append(strip.action)
    return found


def action_fcurves(action, obj=None) -> list:
    """All F-curves of ``action`` (for ``obj``'s slot when slotted), legacy or layered."""
    if not SLOTTED:
        return list(action.fcurves)
    curves = []
    for layer in action.layers:
        for strip in layer.strips:
            for bag in strip.channelbags:
                if obj is None or _slot_for(obj, action) in (None, bag.slot):
                    curves.extend(bag.fcurves)
    return curves


def _slot_for(obj, action):
    ad = obj.animation_data
    if ad is None:
        return None
    if ad.action == action:
        return ad.action_slot
    for track in ad.nla_tracks:
        for strip in track.strips:
            if strip.action == action:
                return strip.action_slot
    return None
