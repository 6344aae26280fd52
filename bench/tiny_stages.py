#!/usr/bin/env python3
"""Stages C–E with the ``tiny`` preset on the CPU, timed: the pipeline check's cost.

Builds the tiny random Wan from config into a temporary folder (reloaded through
``from_pretrained`` offline), then runs ``run_video_stage`` → ``run_keypoint_stage`` (the real
MediaPipe detector) → ``run_motion_stage`` on the procedural body standing beside a box, and
prints one JSON line per stage (seconds; the detector's milliseconds per frame; the motion
optimisation's seconds per 100 frames) and one for the whole run. Usage:
``python bench/tiny_stages.py [--frames N] [--fps F] [--threads T] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import trimesh

from anchorhoi.body import BodyModel
from anchorhoi.body.pose import default_initial_pose
from anchorhoi.job.presets import PRESETS
from anchorhoi.keypoints import MediaPipePoseDetector
from anchorhoi.keypoints.stage import run_keypoint_stage
from anchorhoi.motion.stage import run_motion_stage
from anchorhoi.objects.mesh_io import ObjectMesh
from anchorhoi.portable.result_v1 import read_result
from anchorhoi.video.registry import make_video_prior
from anchorhoi.video.stage import run_video_stage
from anchorhoi.video.tiny import build_tiny_wan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=None, help="default: the preset's")
    parser.add_argument("--fps", type=float, default=None, help="default: the preset's")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--out", type=Path, default=None, help="job folder (default: a temp)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    root = args.out or Path(tempfile.mkdtemp(prefix="anchorhoi-tiny-stages-"))
    p = PRESETS["tiny"]
    frames, fps = args.frames or p.frames, args.fps or p.fps
    started = time.perf_counter()
    body = BodyModel()
    key = default_initial_pose()
    box = trimesh.creation.box(extents=(0.4, 0.45, 0.4))
    box.vertices[:, 1] += 0.225
    mesh = ObjectMesh(vertices=np.asarray(box.vertices, dtype=np.float64),
                      faces=np.asarray(box.faces, dtype=np.int64))
    placement = np.eye(4)
    placement[:3, 3] = [0.45, float(body.rig(key.betas).rest_vertices[:, 1].min()), 0.35]
    prior = make_video_prior(str(build_tiny_wan(root / "tiny_wan")), p.video.sampling)
    t_model = time.perf_counter()
    c = run_video_stage(prompt="a person stands beside a box", key_pose=key, obj_mesh=mesh,
                        object_placement=placement, body=body, config=p.video, prior=prior,
                        out_dir=root / "video", generator=torch.Generator().manual_seed(0),
                        num_frames=frames, fps=fps)
    t_video = time.perf_counter()
    detector = MediaPipePoseDetector()
    d = run_keypoint_stage(frames=c.video.frames, fps=c.video.fps, camera=c.camera, key_pose=key,
                           body=body, anchor_frame=c.anchor_frame, detector=detector,
                           config=p.keypoints, out_dir=root / "keypoints")
    t_keypoints = time.perf_counter()
    e = run_motion_stage(keypoints=d.keypoints, camera=c.camera, key_pose=key,
                         anchor_frame=c.anchor_frame, obj_mesh=mesh, object_placement=placement,
                         body=body, config=p.motion, fps=fps, out_dir=root / "result",
                         generator=torch.Generator().manual_seed(0))
    t_motion = time.perf_counter()
    clip, doc = read_result(root / "result")
    common = {"preset": "tiny", "frames": frames, "fps": fps,
              "size": [p.video.width, p.video.height],
              "threads": torch.get_num_threads()}
    lines = [
        {"bench": "tiny_stages", "stage": "setup (body, tiny Wan build + load)",
         "seconds": round(t_model - started, 2)},
        {"bench": "tiny_stages", "stage": "C video", "seconds": round(t_video - t_model, 2),
         "video_steps": max(1, round(p.video.sampling.conditioning_strength
                                     * p.video.sampling.steps))},
        {"bench": "tiny_stages", "stage": "D keypoints", "seconds": round(t_keypoints - t_video, 2),
         "detector_ms_per_frame": round(detector.last_ms_per_frame, 1),
         "frames_with_person": d.stats.frames_with_person,
         "side_swaps": d.stats.side_swaps},
        {"bench": "tiny_stages", "stage": "E motion", "seconds": round(t_motion - t_keypoints, 2),
         "seconds_per_100_frames": round(100 * (e.seconds or 0.0) / frames, 2),
         "reprojection_px_median": round(e.info.quality["reprojection_px_median"], 2)},
        {"bench": "tiny_stages", "stage": "total", "seconds": round(t_motion - started, 2),
         "result_frames": doc["frame_count"], "result_fps": doc["fps"],
         "result": str(root / "result" / "result.json")},
    ]
    for line in lines:
        print(json.dumps({**line, **common}), flush=True)
    del clip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
