"""``bpy.ops.anchorhoi.reduce_keys``: error-bounded reduction of dense keys to editable Béziers."""

from __future__ import annotations

import math
from collections import defaultdict

import bpy
import numpy as np

from . import keyreduce
from .action_write import action_fcurves, clip_actions, enum_value


class ANCHORHOI_OT_reduce_keys(bpy.types.Operator):
    """Replace dense keys of the active object's clip by few Bézier keys, within tolerance at
    every original frame"""

    bl_idname = "anchorhoi.reduce_keys"
    bl_label = "Reduce Keys"
    bl_options = {"REGISTER", "UNDO"}

    rotation_tolerance_deg: bpy.props.FloatProperty(
        name="Rotation Tolerance", default=0.5, min=1e-4, max=45.0, subtype="NONE",
        description="Largest rotation error allowed at any original frame, in degrees")
    location_tolerance_m: bpy.props.FloatProperty(
        name="Location Tolerance", default=0.001, min=1e-6, max=1.0, unit="LENGTH",
        description="Largest location error allowed at any original frame, in metres")

    @classmethod
    def poll(cls, context):
        return context.object is not None

    def execute(self, context):
        obj = context.object
        actions = clip_actions(obj)
        if not actions:
            self.report({"ERROR"}, f"'{obj.name}' has no animation to reduce: select the "
                        "imported armature or object")
            return {"CANCELLED"}
        before = after = 0
        for action in actions:
            for curves in group_curves(action_fcurves(action, obj)).values():
                b, a = self.reduce_group(curves)
                before += b
                after += a
        self.report({"INFO"}, f"Keys: {before} → {after} ({before / max(after, 1):.1f}× fewer)")
        return {"FINISHED"}

    def reduce_group(self, curves) -> tuple[int, int]:
        """Reduce the channels of one property (e.g. the 4 of a quaternion) on shared frames."""
        curves = sorted(curves, key=lambda fc: fc.array_index)
        keyed = [fc for fc in curves if len(fc.keyframe_points)]
        if not keyed:
            return 0, 0
        first = min(fc.keyframe_points[0].co[0] for fc in keyed)
        last = max(fc.keyframe_points[-1].co[0] for fc in keyed)
        frames = np.arange(math.floor(first), math.ceil(last) + 1, dtype=np.float64)
        values = np.array([[fc.evaluate(f) for fc in curves] for f in frames])
        before = sum(len(fc.keyframe_points) for fc in curves)
        path = curves[0].data_path
        if path.endswith("rotation_quaternion") and len(curves) == 4:
            keys = keyreduce.reduce_quaternion(frames, values, self.rotation_tolerance_deg)
        elif path.endswith("rotation_euler") or path.endswith("rotation_axis_angle"):
            keys = keyreduce.reduce_vector(frames, values, math.radians(self.rotation_tolerance_deg))
        else:
            keys = keyreduce.reduce_vector(frames, values, self.location_tolerance_m)
        for c, fc in enumerate(curves):
            write_bezier(fc, keys, c)
        return before, len(keys.frames) * len(curves)


def group_curves(fcurves) -> dict[str, list]:
    groups = defaultdict(list)
    for fc in fcurves:
        groups[fc.data_path].append(fc)
    return groups


def write_bezier(fc, keys: keyreduce.BezierKeys, channel: int) -> None:
    """Replace ``fc``'s keys by ``keys`` (channel ``channel``). Handle types are set before the
    handle coordinates: Blender recomputes automatic handles, never FREE ones."""
    points = fc.keyframe_points
    points.clear()
    k = len(keys.frames)
    points.add(k)
    interp = enum_value(points[0], "interpolation", keyreduce.INTERPOLATION)
    handle = enum_value(points[0], "handle_left_type", keyreduce.HANDLE_TYPE)
    points.foreach_set("interpolation", np.full(k, interp, np.int32))
    points.foreach_set("handle_left_type", np.full(k, handle, np.int32))
    points.foreach_set("handle_right_type", np.full(k, handle, np.int32))
    co = np.stack([keys.frames, keys.values[:, channel]], axis=1)
    points.foreach_set("co", co.astype(np.float32).ravel())
    points.foreach_set("handle_left", keys.left_handles[:, channel].astype(np.float32).ravel())
    points.foreach_set("handle_right", keys.right_handles[:, channel].astype(np.float32).ravel())
    fc.update()
