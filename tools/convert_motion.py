#!/usr/bin/env python3
"""Headless conversion: a motion file → a ``.blend`` with the animated SMPL-X rig + a game FBX.

Runs Blender as a Python module (``bpy``): builds the extension, installs it into a private
Blender user folder (your own Blender configuration is never touched), imports the motion with
``anchorhoi.import_motion``, optionally reduces keys, and exports with ``anchorhoi.export_fbx``.

    python tools/convert_motion.py MOTION [--out DIR] [--target UNITY|UNREAL|GENERIC]
                                   [--smplx-dir DIR] [--reduce-keys]
    python tools/convert_motion.py --demo --out out/      # a built-in demo clip

MOTION is an AnchorHOI result (folder, result.json or motion.npz) or an AMASS SMPL-X .npz.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def demo_result(folder: Path) -> Path:
    """A 4-second clip written as a result v1: the procedural body squats, waves and turns while
    a box is lifted from the ground (a stand-in until generation lands). The body's height is
    set per frame so that its lowest foot point touches the floor."""
    import numpy as np

    sys.path.insert(0, str(ROOT / "backend"))
    from anchorhoi.portable import kinematics, result_v1, smplx_files
    from anchorhoi.portable.motion import MotionClip, ObjectTrack, SmplxMotion
    from anchorhoi.portable.procedural_body import build_procedural_model

    t = np.linspace(0.0, 4.0, 120)[:, None]
    squat = 0.5 * (1 - np.cos(np.pi * np.clip(t, 0, 2)))  # 0 → 1 over two seconds
    body = np.zeros((120, 63))
    for hip in (0, 1):
        body[:, 3 * hip] = -1.4 * squat[:, 0]  # hips flex
    for knee in (3, 4):
        body[:, 3 * knee] = 2.0 * squat[:, 0]  # knees bend
    for ankle in (6, 7):
        body[:, 3 * ankle] = -0.6 * squat[:, 0]
    body[:, 3 * 16 + 2] = -1.2 + 0.3 * np.sin(6 * t[:, 0])  # right shoulder waves
    body[:, 3 * 18 + 1] = 1.0 * squat[:, 0]
    root = np.concatenate([0.5 * squat, 0.6 * np.sin(0.8 * t), 0 * t], axis=1)
    trans = np.concatenate([0 * t, 0 * t, 0.1 * squat], axis=1)
    motion = SmplxMotion(trans=trans, root_orient=root, pose_body=body,
                         pose_hand=np.zeros((120, 90)), pose_jaw=np.zeros((120, 3)),
                         pose_eye=np.zeros((120, 6)), betas=np.zeros(10), fps=30.0)
    rig = smplx_files.rig_from_model(build_procedural_model(), motion.betas)
    feet = rig.rest_vertices[:, 1] < rig.rest_vertices[:, 1].min() + 0.2  # soles, ankles
    pos, rot = kinematics.posed_joints(motion.full_pose(), rig.rest_joints, rig.parents)
    lowest = kinematics.skinned_vertices(rot, pos, rig.rest_joints, rig.rest_vertices[feet],
                                         rig.weights[feet])[..., 1].min(axis=1)
    lift = np.stack([0 * lowest, -lowest, 0 * lowest], axis=1)  # the floor: y = 0 (Y up)
    motion = dataclasses.replace(motion, trans=trans + lift)
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    box = ObjectTrack(
        name="Box", vertices=0.15 * corners,
        faces=np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                        [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]]),
        trans=np.concatenate([0 * t + 0.3, 0.15 + 0.6 * np.clip(t - 2, 0, 1), 0 * t + 0.4], 1),
        rot=np.tile([1.0, 0.0, 0.0, 0.0], (120, 1)))
    result_v1.write_result(folder, MotionClip(motion=motion, rig=rig, obj=box, name="Demo"),
                           result_v1.ResultInfo(prompt="demo: squat, wave and lift a box"))
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("motion", nargs="?", type=Path, help="result folder/file or AMASS .npz")
    parser.add_argument("--demo", action="store_true", help="convert a built-in demo clip")
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder")
    parser.add_argument("--target", choices=("UNITY", "UNREAL", "GENERIC"), default="UNITY")
    parser.add_argument("--smplx-dir", type=Path, default=None,
                        help="folder with the official SMPLX_*.npz (default: procedural body)")
    parser.add_argument("--reduce-keys", action="store_true",
                        help="reduce to sparse Bézier keys (0.5°, 1 mm) before export")
    args = parser.parse_args(argv)
    if (args.motion is None) == (not args.demo):
        parser.error("give a MOTION file or --demo (not both)")
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="anchorhoi-blender-")
    started = time.perf_counter()
    motion = demo_result(args.out / "demo_result") if args.demo else args.motion.resolve()

    sys.path.insert(0, str(ROOT))
    import bpy

    import build

    zip_path = build.build(out_dir=Path(tempfile.mkdtemp(prefix="anchorhoi-dist-")))
    bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo="user_default",
                                             enable_on_install=True)
    prefs = bpy.context.preferences.addons["bl_ext.user_default.anchorhoi"].preferences
    prefs.smplx_dir = str(args.smplx_dir or "")
    bpy.ops.wm.read_homefile(use_empty=True)
    try:
        bpy.ops.anchorhoi.import_motion(filepath=str(motion))
        if args.reduce_keys:
            bpy.ops.anchorhoi.reduce_keys()
        name = bpy.context.view_layer.objects.active.name
        fbx = args.out / f"{name}_{args.target.lower()}.fbx"
        bpy.ops.anchorhoi.export_fbx(filepath=str(fbx), target=args.target)
        blend = args.out / f"{name}.blend"
        bpy.ops.wm.save_as_mainfile(filepath=str(blend.resolve()))
    except RuntimeError as exc:  # operators report their errors this way
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {blend} and {fbx} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
