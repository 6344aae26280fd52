"""Show the rest pose at the current frame while an FBX is written.

Blender's FBX exporter writes every node's local transform as evaluated at the current frame,
and engines take that as the rig's default pose. To write the rest pose we evaluate at a frame
before the scene's range where no strip plays: the clip's NLA strips are set to extrapolate
"Nothing" there, so Blender's NLA puts every animated channel back to its default (identity
rotation, zero location). An active action (not on the NLA) is moved into a temporary NLA
track for the duration. The baked animation covers the scene's range and is unaffected.
Everything is put back afterwards, including the current frame.
"""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def rest_pose_at_current_frame(context, objects):
    scene = context.scene
    frame = scene.frame_current
    extrapolations, moved = [], []
    try:
        earliest = scene.frame_start
        for obj in objects:
            ad = obj.animation_data
            if ad is None:
                continue
            if ad.action is not None and not ad.use_tweak_mode:
                action, slot = ad.action, getattr(ad, "action_slot", None)
                track = ad.nla_tracks.new()
                track.name = "__anchorhoi_rest__"
                strip = track.strips.new(action.name, int(action.frame_range[0]), action)
                if slot is not None:
                    strip.action_slot = slot
                ad.action = None
                moved.append((ad, track, action, slot))
            for track in ad.nla_tracks:
                for strip in track.strips:
                    extrapolations.append((strip, strip.extrapolation))
                    strip.extrapolation = "NOTHING"
                    earliest = min(earliest, int(strip.frame_start))
        scene.frame_set(earliest - 1)
        yield
    finally:
        for strip, value in extrapolations:
            strip.extrapolation = value
        for ad, track, action, slot in moved:
            ad.nla_tracks.remove(track)
            ad.action = action
            if slot is not None:
                ad.action_slot = slot
        scene.frame_set(frame)
