"""A clip in the scene and its motion sampled as world matrices.

A clip is one imported rig (an armature with the SMPL-X bones) with its prop (the object the
import stored in ``armature["anchorhoi_object"]``); it plays through NLA strips on both. The
clip is named after the armature. Sampling evaluates Blender itself at every frame (NLA
strips, their scale and timing, any edits), then puts the scene's current frame back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import bpy
import numpy as np

from ..plan.clip_range import strip_range
from ..portable.skeleton import JOINT_NAMES


@dataclass(frozen=True)
class Clip:
    name: str
    armature: bpy.types.Object
    prop: bpy.types.Object | None


def is_clip_rig(obj) -> bool:
    return obj is not None and obj.type == "ARMATURE" and \
        all(n in obj.data.bones for n in JOINT_NAMES)


def clip_of(obj) -> Clip:
    """The clip of the selected rig, its body mesh or its prop."""
    arm = obj if is_clip_rig(obj) else obj.parent if obj is not None and is_clip_rig(
        obj.parent) else None
    if arm is None and obj is not None:
        arm = next((o for o in bpy.data.objects if is_clip_rig(o) and
                    o.get("anchorhoi_object") == obj), None)
    if arm is None:
        name = obj.name if obj is not None else "Nothing"
        raise ValueError(f"'{name}' is not an armature or a mesh parented to one: select the "
                         "imported SMPL-X rig")
    return _clip(arm)


def clip_named(scene, name: str) -> Clip:
    obj = scene.objects.get(name)
    if not is_clip_rig(obj):
        names = ", ".join(c.name for c in scene_clips(scene)) or "none"
        raise ValueError(f"no clip named '{name}' in the scene (clips: {names})")
    return _clip(obj)


def scene_clips(scene) -> list[Clip]:
    return [_clip(o) for o in sorted(scene.objects, key=lambda o: o.name) if is_clip_rig(o)]


def _clip(arm) -> Clip:
    prop = arm.get("anchorhoi_object")
    return Clip(arm.name, arm, prop if isinstance(prop, bpy.types.Object) else None)


def clip_strips(clip: Clip) -> list:
    """The unmuted NLA strips of the clip's rig and prop."""
    out: list = []
    for obj in (clip.armature, clip.prop):
        ad = obj.animation_data if obj is not None else None
        if ad is None:
            continue
        for track in ad.nla_tracks:
            if not track.mute:
                out.extend(s for s in track.strips if not s.mute)
    return out


def clip_frames(clip: Clip) -> tuple[int, int]:
    """The clip's range as whole frames: the union of its strips."""
    return strip_range((s.frame_start, s.frame_end) for s in clip_strips(clip))


@dataclass(frozen=True)
class Sampled:
    bones: dict[str, np.ndarray]
    """bone name → (T, 4, 4) world matrices of the source rig's bones."""
    rest: dict[str, np.ndarray]
    """bone name → (4, 4) rest world matrix (the armature's world matrix at the first frame)."""
    prop: np.ndarray | None
    """(T, 4, 4) world matrices of the prop object, or None."""
    curves: dict[str, np.ndarray]
    """The rig's numeric custom properties named ``contact_*`` → (T,) values per frame."""


CURVE_PREFIX = "contact_"


def sample(scene, clip: Clip, frames: range) -> Sampled:
    """The clip's rig and prop evaluated by ``scene`` at each of ``frames`` (the scene's
    current frame is put back)."""
    arm, prop = clip.armature, clip.prop
    bones = cast(bpy.types.Armature, arm.data).bones
    names = [b.name for b in bones]
    mats = np.empty((len(frames), len(names), 4, 4))
    arm_world = np.empty((len(frames), 4, 4))
    prop_world = np.empty((len(frames), 4, 4)) if prop is not None else None
    keys = [k for k in list(arm.keys()) if k.startswith(CURVE_PREFIX) and
            isinstance(arm[k], (int, float)) and not isinstance(arm[k], bool)]
    curves = {k: np.empty(len(frames)) for k in keys}
    current = scene.frame_current
    try:
        for i, f in enumerate(frames):
            scene.frame_set(f)
            depsgraph = scene.view_layers[0].depsgraph  # made by the first frame_set
            ev = arm.evaluated_get(depsgraph)  # what this scene's evaluation made of the rig
            arm_world[i] = np.array(ev.matrix_world)
            pose = cast(Any, ev.pose).bones
            mats[i] = [np.array(pose[n].matrix) for n in names]
            if prop_world is not None and prop is not None:
                prop_world[i] = np.array(prop.evaluated_get(depsgraph).matrix_world)
            for k in keys:
                curves[k][i] = float(ev[k])
    finally:
        scene.frame_set(current)
    world = arm_world[:, None] @ mats
    rest = {n: arm_world[0] @ np.array(bones[n].matrix_local) for n in names}
    return Sampled({n: world[:, j] for j, n in enumerate(names)}, rest, prop_world, curves)
