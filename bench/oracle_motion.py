#!/usr/bin/env python3
"""Oracle bench of stage E: recover a known motion from its own noisy, occluded 2D keypoints.

Usage: ``python bench/oracle_motion.py CASE_DIR [CASE_DIR ...] [--seed 0] [--frames N]`` or
``python bench/oracle_motion.py --random N --seed S`` (``N`` cases drawn from the case family,
``anchorhoi.oracles.family``, with seed ``--family-seed``, default ``S``; the keypoint noise is
seeded by ``S`` as for case folders; ``--keep DIR`` keeps the drawn case folders; ``--kinds
a,b`` draws only those kinds, in shuffled rounds, and runs only the case folders of those kinds).
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
   optimisation time per 100 frames, and the result's plausibility report
   (``anchorhoi.motion.plausibility``: ``plausibility_warnings`` and its figures).

After the last case it writes to stderr a per-kind table (case kinds by folder name
``<kind>-...``): the median and the worst of every figure and the count of cases missing any
target (MPJPE ≤ 80 mm, PA-MPJPE ≤ 50 mm, skating ≤ 5 mm per contact frame, penetration
≤ 10 mm, object ≤ 5 cm), with the time per 100 frames.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from anchorhoi.body import BodyModel
from anchorhoi.motion import MotionConfig
from anchorhoi.oracles.family import KINDS, draw_case, draw_family, kind_of, write_motion
from anchorhoi.oracles.family_table import MOTION_TARGETS, kind_table
from anchorhoi.oracles.motion_case import load_motion_case
from anchorhoi.oracles.motion_oracle import run_oracle_motion

TABLE_FIGURES = ("mpjpe_mm", "pa_mpjpe_mm", "foot_skate_mm", "max_penetration_mm",
                 "obj_trans_err_cm", "seconds_per_100_frames", "plausibility_warnings")


def with_field(config, path: str, value):
    """``config`` with the field ``path`` (``name`` or ``group.name``) set to ``value``."""
    name, _, rest = path.partition(".")
    if not rest:
        return replace(config, **{name: value})
    return replace(config, **{name: with_field(getattr(config, name), rest, value)})


def draw_kinds(model: BodyModel, count: int, seed: int, kinds: list[str] | None) -> list:
    """``count`` family cases from ``seed``: over every kind (``draw_family``), or shuffled
    rounds through ``kinds`` only."""
    if kinds is None:
        return draw_family(model, count, seed)
    rng = np.random.default_rng([seed, 11])
    order: list[str] = []
    while len(order) < count:
        order += [kinds[i] for i in rng.permutation(len(kinds))]
    return [draw_case(model, kind, seed, i) for i, kind in enumerate(order[:count])]


def add_case_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments that choose the cases, their keypoints and the config (``foot_plants.py``
    takes the same)."""
    parser.add_argument("cases", nargs="*", type=Path, help="case folders")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--random", type=int, default=0, metavar="N",
                        help="also run N cases drawn from the case family")
    parser.add_argument("--family-seed", type=int, default=None,
                        help="the drawn family's seed (default: --seed)")
    parser.add_argument("--kinds", type=str, default=None, metavar="A,B",
                        help="only these case kinds (drawn and given folders; default: all)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a MotionConfig field (JSON value), a group's field "
                        "dotted (schedule.root_iterations=40, weights.lambda_still=0), "
                        "repeatable")
    parser.add_argument("--noise-px", type=float, default=4.0)
    parser.add_argument("--drop", type=float, default=0.2)


def chosen_kinds(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str] | None:
    """``--kinds`` as a list (None: every kind); an unknown kind is a usage error, as is
    neither a case folder nor ``--random``."""
    if not args.cases and args.random <= 0:
        parser.error("give case folders or --random N")
    kinds = None if args.kinds is None else [k for k in args.kinds.split(",") if k]
    unknown = sorted(set(kinds or ()) - set(KINDS))
    if unknown:
        parser.error(f"unknown kinds {', '.join(unknown)}; choose from {', '.join(KINDS)}")
    return kinds


def set_fields(config: MotionConfig, items: list[str]) -> MotionConfig:
    """``config`` with every ``--set NAME=VALUE`` applied."""
    for item in items:
        name, _, value = item.partition("=")
        config = with_field(config, name, json.loads(value))
    return config


def case_folders(args: argparse.Namespace, kinds: list[str] | None, into: Path) -> list[Path]:
    """The given case folders of ``kinds`` and the ``--random`` draws, written into ``into``."""
    folders = [f for f in args.cases if kinds is None or kind_of(f.name) in kinds]
    if args.random > 0:
        family_seed = args.seed if args.family_seed is None else args.family_seed
        drawn = draw_kinds(BodyModel(dtype=torch.float64), args.random, family_seed, kinds)
        folders += [write_motion(c, into) for c in drawn]
    return folders


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_case_arguments(parser)
    parser.add_argument("--keep", type=Path, default=None,
                        help="write the drawn cases into this folder (default: a temp folder)")
    parser.add_argument("--frames", type=int, default=None, help="keep only the first N frames")
    parser.add_argument("--iterations", type=int, nargs=3, default=None,
                        metavar=("ROOT", "POSE", "CONTACT"), help="iterations per phase")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: on a small shared CPU, intra-op "
                        "threads cost more than they gain on these small tensors)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    args = parser.parse_args(argv)
    kinds = chosen_kinds(parser, args)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    config = set_fields(MotionConfig(), args.set)
    if args.iterations:
        config = replace(config, schedule=replace(
            config.schedule, root_iterations=args.iterations[0],
            pose_iterations=args.iterations[1], contact_iterations=args.iterations[2]))
    body = BodyModel()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for folder in case_folders(args, kinds, args.keep or Path(tmp)):
            case = load_motion_case(folder)
            if args.frames:
                case = case.truncated(args.frames)
            report = run_oracle_motion(case, body=body, config=config, seed=args.seed,
                                       noise_px=args.noise_px, drop=args.drop)
            rows.append(report.figures())
            print(json.dumps(rows[-1]), flush=True)
    print(kind_table(rows, MOTION_TARGETS, TABLE_FIGURES), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
