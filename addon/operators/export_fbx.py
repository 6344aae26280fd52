"""``bpy.ops.anchorhoi.export_fbx``: clips as an FBX for a game engine.

The export bakes each clip's NLA strip range as it is now (after any retime or move) into a
take named after the clip that starts at frame 0, on a game skeleton: ``root`` as bone 0 on
the floor (root motion options), the chosen engine's bone names, the prop as an object or as
a ``prop`` bone. It works on a temporary copy (``scene/export_rig.py``), so the user's scene
is unchanged whether it succeeds or fails.

Handled pitfalls of engines: no ``_end`` leaf bones, the file written at the rest pose
(importers take the pose at export time as the bind pose), Unity's −90° X / 100× scale on the
root avoided by baking the axis change and scale into the data, and Unreal's extra root bone
avoided by naming the armature "Armature" in the file. Elsewhere the armature is
"<clip>_rig" in the file: a node named like a take breaks readers (Assimp's glTF writer).
"""

from __future__ import annotations

import os
from pathlib import Path

import bpy
import numpy as np
from bpy_extras.io_utils import ExportHelper

from ..plan.clip_range import ClipRangeError, export_range
from ..plan.fbx_presets import export_settings
from ..plan.skeleton_map import bone_names
from ..scene.clip_sample import clip_frames, clip_named, clip_of, scene_clips
from ..scene.export_rig import ExportScene, RigOptions, Take
from ..scene.fbx_curves import add_property_curves
from ..scene.fbx_keys import sparse_keys


class ANCHORHOI_OT_export_fbx(bpy.types.Operator, ExportHelper):
    """Export AnchorHOI clips (rig, body, object) as an FBX for a game engine"""

    bl_idname = "anchorhoi.export_fbx"
    bl_label = "Export AnchorHOI FBX"
    bl_options = {"REGISTER"}

    filename_ext = ".fbx"
    filter_glob: bpy.props.StringProperty(default="*.fbx", options={"HIDDEN"},
                                          description="File types shown in the browser")
    target: bpy.props.EnumProperty(
        name="Target", description="The engine the file is for: its axes and units",
        items=[("UNITY", "Unity", "Metres, Y up, no root rotation or scale on import"),
               ("UNREAL", "Unreal", "Centimetres, no extra root bone"),
               ("GENERIC", "Generic", "Blender's default FBX axes and units")],
        default="GENERIC")
    clip: bpy.props.StringProperty(
        name="Clip", default="",
        description="Name of the clip (imported rig) to export; empty: the selected one")
    all_clips: bpy.props.BoolProperty(
        name="All Clips", default=False,
        description="Write one take per clip in the scene, each named after its clip")
    root_motion: bpy.props.EnumProperty(
        name="Root Motion", default="AS_IS",
        description="What the root bone does in the file",
        items=[("AS_IS", "As Is", "The root bone keeps the rig's own motion"),
               ("ROOT_MOTION", "Root Motion", "The root follows the pelvis over the floor "
                "(engines move the character by it); joints keep their world positions"),
               ("IN_PLACE", "In Place", "The root stays still and the pelvis's horizontal "
                "travel is removed (the character animates on the spot)")])
    root_yaw: bpy.props.BoolProperty(
        name="Root Yaw", default=True,
        description="With Root Motion: the root also turns with the pelvis's heading")
    skeleton: bpy.props.EnumProperty(
        name="Skeleton", default="SMPLX",
        description="Bone names in the file, so engines and retargeters find the chains",
        items=[("SMPLX", "SMPL-X", "SMPL-X's own joint names"),
               ("UE5", "UE5 Mannequin", "Unreal Engine 5 Mannequin names (pelvis, "
                "spine_01, thigh_l, …)"),
               ("MIXAMO", "Mixamo", "Mixamo names (mixamorig:Hips, mixamorig:LeftUpLeg, …)")])
    prop: bpy.props.EnumProperty(
        name="Prop", default="OBJECT",
        description="How the interaction object is written",
        items=[("OBJECT", "Object", "A separate object with its own animation"),
               ("BONE", "Bone", "A 'prop' bone under the root carries it, its mesh skinned "
                "to that bone (survives in an Unreal AnimSequence)")])
    use_frame_range: bpy.props.BoolProperty(
        name="Frame Range", default=False,
        description="Bake the frames below instead of the clip's own strip range (they must "
        "cover it)")
    frame_start: bpy.props.IntProperty(
        name="Start", default=1, description="First frame baked with 'Frame Range'")
    frame_end: bpy.props.IntProperty(
        name="End", default=250, description="Last frame baked with 'Frame Range'")
    key_reduction: bpy.props.BoolProperty(
        name="Sparse Keys", default=True,
        description="Write only the keys needed to keep every joint and the object within "
        "Max Error of the per-frame bake (checked at every frame, as engines, Blender and "
        "Assimp interpolate); off: a key on every frame")
    max_error_mm: bpy.props.FloatProperty(
        name="Max Error (mm)", default=0.5, min=0.01, soft_max=10.0,
        description="With Sparse Keys: the largest distance, in millimetres, any joint or "
        "point of the object may move from its per-frame position")

    @classmethod
    def poll(cls, context):
        return context.scene is not None

    def execute(self, context):
        path = Path(bpy.path.abspath(self.filepath))
        if path.suffix.lower() != ".fbx":
            path = path.with_suffix(".fbx")
        if not path.parent.is_dir():
            self.report({"ERROR"}, f"Folder {path.parent} does not exist")
            return {"CANCELLED"}
        try:
            active, takes = self.plan_takes(context)
        except (ValueError, ClipRangeError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        options = RigOptions(skeleton=self.skeleton, root_motion=self.root_motion,
                             root_yaw=self.root_yaw, prop=self.prop,
                             armature_name="Armature" if self.target == "UNREAL"
                             else f"{active.name}_rig")
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.fbx")
        try:
            export = ExportScene(context, active, takes, options)
            with export as scene, \
                    context.temp_override(scene=scene, view_layer=scene.view_layers[0]):
                result = bpy.ops.export_scene.fbx(filepath=str(tmp), **export_settings(self.target))
            if "FINISHED" not in result:
                raise RuntimeError("Blender's FBX exporter did not finish")
            if self.key_reduction:
                sparse_keys(tmp, max_error=self.max_error_mm / 1000.0,
                            reach=prop_reach(active, bone_names(self.skeleton)["prop"]
                                             if self.prop == "BONE" else None))
            curves = {take: c for take, c in export.curves.items() if c}
            if curves:
                add_property_curves(tmp, node=bone_names(self.skeleton)["root"], takes=curves,
                                    fps=context.scene.render.fps / context.scene.render.fps_base)
            os.replace(tmp, path)
        except Exception as exc:
            self.report({"ERROR"}, f"FBX export failed, scene left unchanged: {exc}")
            return {"CANCELLED"}
        finally:
            if tmp.is_file():
                tmp.unlink()
        spans = ", ".join(f"{t.clip.name} ({len(t.frames)} frames)" for t in takes)
        notes = []
        if export.reshaped:
            worst = max(export.reshaped.values()) * 1000.0
            notes.append(f"{', '.join(sorted(export.reshaped))} played on {active.name}'s "
                         f"skeleton with their own bone offsets (up to {worst:.0f} mm: another "
                         f"body), keyed as bone locations")
        others = other_props(active, takes)
        if others:
            what = active.prop.name if active.prop is not None else "no object"
            notes.append(f"the file holds one object, {what}: the takes of "
                         f"{', '.join(others)} move it along their own objects' paths (export "
                         f"those clips alone to get their objects)")
        self.report({"WARNING"} if others else {"INFO"},
                    f"Exported {spans} to {path} ({self.target}, {self.skeleton})"
                    + "".join(f"; {n}" for n in notes))
        return {"FINISHED"}

    def plan_takes(self, context):
        """The clip whose rig is written and the takes (clip, frames) to bake."""
        scene = context.scene
        if self.all_clips:
            clips = scene_clips(scene)
            if not clips:
                raise ValueError("the scene has no AnchorHOI clips: import a motion first")
            try:
                active = clip_of(context.object) if context.object else clips[0]
            except ValueError:
                active = clips[0]
        else:
            active = clip_named(scene, self.clip) if self.clip else clip_of(context.object)
            clips = [active]
        requested = (self.frame_start, self.frame_end) if self.use_frame_range else None
        takes = []
        for c in clips:
            start, end = export_range(c.name, clip_frames(c), requested)
            takes.append(Take(c, range(start, end + 1)))
        return active, takes


def other_props(active, takes) -> list[str]:
    """Clips of ``takes`` whose object is not the active clip's (another mesh, or none where it
    has one): the file writes the active clip's object only."""
    def shape(obj):
        if obj is None or obj.type != "MESH":
            return None
        co = np.empty(3 * len(obj.data.vertices))
        obj.data.vertices.foreach_get("co", co)
        return co

    mine = shape(active.prop)
    out = []
    for take in takes:
        theirs = shape(take.clip.prop)
        if take.clip.name == active.name or (mine is None and theirs is None):
            continue
        if mine is None or theirs is None or mine.shape != theirs.shape or \
                np.abs(mine - theirs).max() > 1e-6:
            out.append(take.clip.name)
    return out


def prop_reach(clip, bone: str | None) -> dict[str, float]:
    """Node name in the file → half-size (metres) of a cube about its origin holding the
    clip's object mesh (``bone``: the prop bone's name with ``prop='BONE'``)."""
    obj = clip.prop
    if obj is None or obj.type != "MESH" or not len(obj.data.vertices):
        return {}
    co = np.empty(3 * len(obj.data.vertices))
    obj.data.vertices.foreach_get("co", co)
    half = float(np.abs(co).max()) * max(obj.matrix_world.to_scale())
    return {bone or obj.name: half}


def menu_export(self, context):
    self.layout.operator(ANCHORHOI_OT_export_fbx.bl_idname, text="AnchorHOI rig for games (.fbx)")
