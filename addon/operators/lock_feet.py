"""``bpy.ops.anchorhoi.lock_feet``: hold planted feet still over their contact spans."""

from __future__ import annotations

import time

import bpy

from ..scene.foot_lock import FootLockError, rig_clip, solve, write_locks


class ANCHORHOI_OT_lock_feet(bpy.types.Operator):
    """Hold each planted foot still in world space over its contact spans (the clip's
    contact_foot_l/r) with a two-bone leg IK, easing out over a few frames; the keys stay
    editable"""

    bl_idname = "anchorhoi.lock_feet"
    bl_label = "Lock Feet"
    bl_options = {"REGISTER", "UNDO"}

    blend_frames: bpy.props.IntProperty(
        name="Blend Frames", default=4, min=0, max=60,
        description="Frames on each side of a contact span over which the lock eases out")

    @classmethod
    def poll(cls, context):
        return context.object is not None and context.object.type == "ARMATURE"

    def execute(self, context):
        started = time.perf_counter()
        try:
            clip = rig_clip(context.object)
            locks = solve(clip, blend=self.blend_frames)
        except FootLockError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        try:
            write_locks(clip, locks)
        except Exception as exc:  # the touched curves are restored
            self.report({"ERROR"}, f"Lock Feet failed, keys left unchanged: {exc}")
            return {"CANCELLED"}
        context.scene.frame_set(context.scene.frame_current)
        frames = sum(len(lock.frames) for lock in locks.values())
        largest = max((float(lock.correction_m.max()) for lock in locks.values()), default=0.0)
        missed = max((float(lock.residual_m.max()) for lock in locks.values()), default=0.0)
        note = f"; out of the leg's reach by up to {missed * 1000:.1f} mm" if missed > 1e-3 \
            else ""
        self.report({"INFO"}, f"Locked feet on {frames} leg frames, largest correction "
                    f"{largest * 1000:.1f} mm{note} ({time.perf_counter() - started:.2f} s)")
        return {"FINISHED"}
