#!/usr/bin/env python3
"""Game export speed and size: a 3,000-frame clip (55 SMPL-X bones + root, body, object)
exported with ``anchorhoi.export_fbx`` for each target, and the FBX's size with and without
Reduce Keys first (one Blender process, no torch: the procedural body).

Prints one JSON line: seconds and megabytes per target (defaults: SMPL-X names, root as is,
prop as an object, sparse keys within 1 mm), the game set-up (Unreal, UE5 names, root motion,
prop bone), the generic file with a key on every frame (``key_reduction=False``), and the
generic file's size after ``anchorhoi.reduce_keys`` (sparse and every frame) with its key
counts. Blender runs as the
``bpy`` module with a private user folder. Usage: ``python bench/export_speed.py [--frames N]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
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


    n = args.frames
    folder = write_bench_clip(n)
    install_extension()
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.anchorhoi.import_motion(filepath=str(folder))
    arm = bpy.data.objects["Bench"]
    out = Path(tempfile.mkdtemp(prefix="anchorhoi-fbx-"))

    def export(name: str, **options) -> dict:
        bpy.context.view_layer.objects.active = arm
        path = out / f"{name}.fbx"
        t0 = time.perf_counter()
        assert bpy.ops.anchorhoi.export_fbx(filepath=str(path), **options) == {"FINISHED"}
        return {"s": round(time.perf_counter() - t0, 2),
                "mb": round(path.stat().st_size / 1e6, 2)}

    report: dict = {"frames": n}
    for target in ("UNITY", "UNREAL", "GENERIC"):
        report[target.lower()] = export(target, target=target)
    report["unreal_game"] = export("game", target="UNREAL", skeleton="UE5",
                                   root_motion="ROOT_MOTION", prop="BONE")
    report["generic_every_frame"] = export("dense", target="GENERIC", key_reduction=False)

    def keys() -> int:
        from bl_ext.user_default.anchorhoi.scene.action_write import action_fcurves, clip_actions
        return sum(len(fc.keyframe_points) for obj in (arm, bpy.data.objects["Box"])
                   for a in clip_actions(obj) for fc in action_fcurves(a, obj))

    before = keys()
    t0 = time.perf_counter()
    for obj in (arm, bpy.data.objects["Box"]):
        bpy.context.view_layer.objects.active = obj
        bpy.ops.anchorhoi.reduce_keys()
    reduce_s = time.perf_counter() - t0
    report["generic_after_reduce_keys"] = {**export("reduced", target="GENERIC"),
                                           "every_frame": export("reduced_dense",
                                                                 target="GENERIC",
                                                                 key_reduction=False),
                                           "keys_before": before, "keys_after": keys(),
                                           "reduce_keys_s": round(reduce_s, 2)}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
