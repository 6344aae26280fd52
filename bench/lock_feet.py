#!/usr/bin/env python3
"""Lock Feet speed: ``anchorhoi.lock_feet`` on an imported clip, seconds per 1,000 frames.

The clip is a crouched person turning and drifting (its feet slide), with stage E-style
contacts alternating between the feet (spans of 30 frames, 10 free between), written as a
result v1.1 and imported. Prints one JSON line: ``frames``, ``leg_frames`` (frames × legs
solved), ``lock_feet_s``, ``seconds_per_1000_frames``, ``largest_correction_mm`` and
``planted_drift_mm`` (how far a locked ankle still moves inside a span, from Blender's own
evaluation of a sample of spans). Blender runs as the ``bpy`` module with a private user
folder. Usage: ``python bench/lock_feet.py [--frames 1000]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from blender_bench import install_extension, private_blender

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=1000)
    args = parser.parse_args()
    private_blender()
    import bpy
    import numpy as np
    import torch
    from helpers.motions import standing_amass

    from anchorhoi.body import BodyModel, BodyModelConfig
    from anchorhoi.portable import result_v1
    from anchorhoi.portable.contacts import CONTACT_KEYS
    from anchorhoi.portable.motion import MotionClip
    from anchorhoi.portable.up_axis import turn_clip

    torch.set_num_threads(1)
    n = args.frames
    body = BodyModel(BodyModelConfig(), dtype=torch.float64)
    _, motion = standing_amass(body, num_frames=n, fps=30.0, knee_bend=0.6)
    clip = turn_clip(MotionClip(motion=motion, rig=body.rig(motion.betas), name="Bench"),
                     from_up="Z", to_up="Y")
    contacts = {k: np.zeros(n, np.uint8) for k in CONTACT_KEYS}
    spans = []
    for k, start in enumerate(range(5, n - 30, 40)):
        key = ("contact_foot_l", "contact_foot_r")[k % 2]
        contacts[key][start:start + 30] = 1
        spans.append((key, start, start + 29))
    clip = MotionClip(motion=clip.motion, rig=clip.rig, name="Bench", contacts=contacts)
    folder = Path(tempfile.mkdtemp(prefix="anchorhoi-clip-"))
    result_v1.write_result(folder, clip)
    install_extension()
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.anchorhoi.import_motion(filepath=str(folder))
    arm = bpy.data.objects["Bench"]
    bpy.context.view_layer.objects.active = arm
    from bl_ext.user_default.anchorhoi.scene import foot_lock

    rig = foot_lock.rig_clip(arm)
    locks = foot_lock.solve(rig, blend=4)
    t0 = time.perf_counter()
    bpy.ops.anchorhoi.lock_feet()
    seconds = time.perf_counter() - t0
    scene, drift = bpy.context.scene, 0.0
    for key, a, b in spans[:4]:
        bone = arm.pose.bones["left_ankle" if key.endswith("_l") else "right_ankle"]
        heads = []
        for f in range(a, b + 1):
            scene.frame_set(1 + f)
            heads.append(np.array(bone.head))
        drift = max(drift, float(np.linalg.norm(np.array(heads) - heads[0], axis=1).max()))
    print(json.dumps({
        "frames": n, "leg_frames": int(sum(len(lock.frames) for lock in locks.values())),
        "lock_feet_s": round(seconds, 3),
        "seconds_per_1000_frames": round(seconds * 1000.0 / n, 3),
        "largest_correction_mm": round(1000 * max(float(lock.correction_m.max())
                                                  for lock in locks.values()), 1),
        "planted_drift_mm": round(1000 * drift, 3),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
