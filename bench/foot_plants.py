#!/usr/bin/env python3
"""Foot plants against the truth: stage E's plant detection on oracle cases, in seconds per case.

Usage: ``python bench/foot_plants.py CASE_DIR [CASE_DIR ...] [--seed 0]`` or ``python
bench/foot_plants.py --random N --seed S`` (cases and their keypoints exactly as
``bench/oracle_motion.py`` makes them: the same case folders, family draws, ``--kinds``,
``--set``, ``--noise-px`` and ``--drop``). Per case it builds stage E's problem from the
keypoints (``oracles.motion_oracle.oracle_problem``: the plants, their footprints and supports, no
optimisation) and scores its plants against the true foot joints
(``anchorhoi.oracles.plant_check.plant_scores``): one JSON line with ``false_release`` (the
share of seen still joint-frames not planted), ``false_plant`` (the share of seen moving
joint-frames planted), ``false_swing_plant`` (the share planted of those moving faster than
1 m/s: a swing's middle, not its slow ends), ``footprint_err_cm`` (median distance of a
pulling footprint from its still true joint) and ``footprint_worst_cm`` (the worst plant's
median). After the last case it writes to stderr the shares pooled over all cases and the
worst case of each figure.

A still foot let go is where skating starts (the optimiser moves it freely); a moving foot held
is a step the body cannot take (in a swing's slow first and last frames it costs little, in its
middle the body is dragged after the footprint); a footprint off along the camera ray drags the
foot and the body's depth. A change to ``MotionConfig.plants`` shows its trade here before a
family run of ``bench/oracle_motion.py`` does.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch
from oracle_motion import add_case_arguments, case_folders, chosen_kinds, set_fields

from anchorhoi.body import BodyModel
from anchorhoi.motion import MotionConfig
from anchorhoi.motion.contact import FOOT_JOINTS
from anchorhoi.oracles.motion_case import load_motion_case
from anchorhoi.oracles.motion_oracle import oracle_inputs, oracle_problem
from anchorhoi.oracles.plant_check import PlantScores, plant_scores, pooled_scores

FIGURES = ("false_release", "false_plant", "false_swing_plant", "footprint_err_cm",
           "footprint_worst_cm")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_case_arguments(parser)
    args = parser.parse_args(argv)
    kinds = chosen_kinds(parser, args)
    torch.set_num_threads(1)
    config = set_fields(MotionConfig(), args.set)
    body = BodyModel()
    rows: list[dict] = []
    scored: list[PlantScores] = []
    with tempfile.TemporaryDirectory() as tmp:
        for folder in case_folders(args, kinds, Path(tmp)):
            case = load_motion_case(folder)
            given = oracle_inputs(case, body=body, seed=args.seed, noise_px=args.noise_px,
                                  drop=args.drop)
            problem = oracle_problem(case, given, body=body, config=config, seed=args.seed)
            if problem.plants is None:
                print(json.dumps({"case": case.name, "plants": None}), flush=True)
                continue
            feet = list(FOOT_JOINTS)
            scores = plant_scores(problem.plants, given.gt_joints[:, feet],
                                  given.keypoints[:, feet, 2] > 0, case.motion.fps)
            scored.append(scores)
            rows.append({"case": case.name, "frames": case.motion.num_frames,
                         "plants": problem.plants.plant_count, **scores.as_json()})
            print(json.dumps(rows[-1]), flush=True)
    print(summary(rows, pooled_scores(scored)), file=sys.stderr, flush=True)
    return 0


def summary(rows: list[dict], pooled: PlantScores) -> str:
    """The shares pooled over every case's joint-frames and the worst case of each figure."""
    lines = [f"{len(rows)} cases: false release {pooled.false_release:.4f} of "
             f"{pooled.still_frames} still joint-frames, false plant {pooled.false_plant:.4f} "
             f"of {pooled.moving_frames} moving ({pooled.false_swing_plant:.4f} of the "
             f"{pooled.swing_frames} in mid-swing)"]
    for name in FIGURES:
        scored = [r for r in rows if r.get(name) is not None]
        if scored:
            worst = max(scored, key=lambda r: r[name])
            lines.append(f"worst {name}: {worst[name]} ({worst['case']})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
