#!/usr/bin/env python3
"""Oracle bench of stage E: recover a known motion from its own noisy, occluded 2D keypoints.

Usage: ``python bench/oracle_motion.py CASE_DIR [CASE_DIR ...] [--seed 0] [--frames N]``.
A case folder (see ``bench/make_motion_cases.py``; the format in
``anchorhoi.oracles.motion_case``) holds ``object.obj``, ``camera.json`` and ``motion.npz``. Per
case the bench (``anchorhoi.oracles.motion_oracle.run_oracle_motion``)

1. poses the ground-truth motion and projects its 55 joints with the camera;
2. adds Gaussian pixel noise (``--noise-px``, default 4), hides the joints the object occludes
   (the segment from the camera centre to the joint crosses the placed object mesh before the
   joint) and drops ``--drop`` (default 20 %) of the rest at random (seeded per case);
3. hands stage E only those keypoints, the key pose at ``anchor_frame`` and the object mesh with
   its placement at that frame (what stage B provides in the pipeline);
4. scores the result and prints one JSON line: ``mpjpe_mm``, ``pa_mpjpe_mm`` (22 body joints),
   ``accel_err_mm_s2``, ``foot_skate_mm`` (per ground-truth contact frame pair),
   ``max_penetration_mm`` (object or ground), ``obj_trans_err_cm``, ``seconds`` and the
   optimisation time per 100 frames.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

import torch

from anchorhoi.body import BodyModel
from anchorhoi.motion import MotionConfig
from anchorhoi.oracles.motion_case import load_motion_case
from anchorhoi.oracles.motion_oracle import run_oracle_motion


def with_field(config, path: str, value):
    """``config`` with the field ``path`` (``name`` or ``group.name``) set to ``value``."""
    name, _, rest = path.partition(".")
    if not rest:
        return replace(config, **{name: value})
    return replace(config, **{name: with_field(getattr(config, name), rest, value)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="+", type=Path, help="case folders")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a MotionConfig field (JSON value), a group's field "
                        "dotted (schedule.root_iterations=40, weights.lambda_still=0), "
                        "repeatable")
    parser.add_argument("--noise-px", type=float, default=4.0)
    parser.add_argument("--drop", type=float, default=0.2)
    parser.add_argument("--frames", type=int, default=None, help="keep only the first N frames")
    parser.add_argument("--iterations", type=int, nargs=3, default=None,
                        metavar=("ROOT", "POSE", "CONTACT"), help="iterations per phase")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: on a small shared CPU, intra-op "
                        "threads cost more than they gain on these small tensors)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    config = MotionConfig()
    for item in args.set:
        name, _, value = item.partition("=")
        config = with_field(config, name, json.loads(value))
    if args.iterations:
        config = replace(config, schedule=replace(
            config.schedule, root_iterations=args.iterations[0],
            pose_iterations=args.iterations[1], contact_iterations=args.iterations[2]))
    body = BodyModel()
    for folder in args.cases:
        case = load_motion_case(folder)
        if args.frames:
            case = case.truncated(args.frames)
        report = run_oracle_motion(case, body=body, config=config, seed=args.seed,
                                   noise_px=args.noise_px, drop=args.drop)
        print(json.dumps(report.figures()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
