"""``bpy.ops.anchorhoi.reduce_keys``: error-bounded reduction of dense keys to editable Béziers."""

from __future__ import annotations

import bpy

from ..scene.action_write import action_fcurves, clip_actions
from ..scene.fcurve_keys import group_curves, reduce_group


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
                b, a = reduce_group(curves, rotation_tolerance_deg=self.rotation_tolerance_deg,
                                    location_tolerance_m=self.location_tolerance_m)
                before += b
                after += a
        self.report({"INFO"}, f"Keys: {before} → {after} ({before / max(after, 1):.1f}× fewer)")
        return {"FINISHED"}
