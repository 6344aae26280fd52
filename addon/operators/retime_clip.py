"""``bpy.ops.anchorhoi.retime_clip``: slow down or speed up the active clip as a whole.

The rig's and the prop's NLA strips are scaled together about the clip's first frame, and the
scene's range is set to the clip's new range. The actions are not touched: their keys stay
editable (after Reduce Keys, still the few Bézier keys, now played on the new timing), and an
export bakes the strips as they now play.
"""

from __future__ import annotations

import bpy

from ..plan.clip_range import ClipRangeError, retimed
from ..scene.clip_sample import clip_frames, clip_of, clip_strips


class ANCHORHOI_OT_retime_clip(bpy.types.Operator):
    """Scale the selected clip's rig and prop strips in time about the clip's start"""

    bl_idname = "anchorhoi.retime_clip"
    bl_label = "Retime Clip"
    bl_options = {"REGISTER", "UNDO"}

    factor: bpy.props.FloatProperty(
        name="Factor", default=2.0, min=0.01, max=100.0,
        description="New duration ÷ old duration: 2 plays the clip half as fast (twice the "
        "frames), 0.5 twice as fast")

    @classmethod
    def poll(cls, context):
        return context.object is not None

    def invoke(self, context, event):
        return context.window_manager.invoke_props_dialog(self)

    def execute(self, context):
        try:
            clip = clip_of(context.object)
            strips = clip_strips(clip)
            pivot, _ = clip_frames(clip)
            spans = [retimed(s.frame_start, s.frame_end, pivot, self.factor) for s in strips]
        except (ValueError, ClipRangeError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        for strip, (start, _) in zip(strips, spans):
            strip.scale *= self.factor
            strip.frame_start_ui = start
        start, end = clip_frames(clip)
        scene = context.scene
        scene.frame_start, scene.frame_end = start, end
        self.report({"INFO"}, f"'{clip.name}' now plays frames {start}–{end} "
                    f"(×{self.factor:g})")
        return {"FINISHED"}
