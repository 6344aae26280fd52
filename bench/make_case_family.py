#!/usr/bin/env python3
"""Write a family of oracle cases drawn at random from interaction kinds, deterministically.

Kinds (``anchorhoi.oracles.family.KINDS``): walking straight or curved, turning in place,
sitting down / standing up, crouching behind a box, kneeling, reaching low or high (onto the
toes), picking up and carrying, pushing / pulling, lifting overhead, leaning on, stepping onto;
with random objects (boxes, cylinders, tables, shelves, stools, poles, balls), sizes, body
shapes (betas), cameras (height, distance, azimuth) and timing. Every draw is checked to be
physically sensible (body on the floor, object not inside the body, contacts where the kind
says, knees apart) before it is kept.

Usage: ``python bench/make_case_family.py [--count 26] [--seed 0] [--out DIR]`` writes
``DIR/motion/<kind>-<seed>-<nn>/`` (``bench/oracle_motion.py``'s format) and
``DIR/anchor/<kind>-<seed>-<nn>/`` (``bench/oracle_anchor.py``'s: the key frame, the pelvis
over the origin). The shipped family, ``bench/cases/family``, is ``--count 26 --seed 0`` (two
cases of every kind). Prints one JSON line per case.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import torch

from anchorhoi.body import BodyModel
from anchorhoi.oracles.family import KINDS, draw_case, kinds_for, write_anchor, write_motion

OUT = Path(__file__).resolve().parent / "cases" / "family"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=26, help="cases of each format (default 26)")
    ap.add_argument("--seed", type=int, default=0, help="the family's seed (default 0)")
    ap.add_argument("--out", type=Path, default=OUT, help="folder of motion/ and anchor/")
    ap.add_argument("--only", choices=("motion", "anchor"), default=None,
                    help="write one format only")
    ap.add_argument("--kinds", nargs="+", choices=sorted(KINDS), default=None,
                    help="write only the cases of these kinds (the others are not drawn)")
    ap.add_argument("--missing", action="store_true",
                    help="draw only the cases whose folders are not written yet")
    ap.add_argument("-v", "--verbose", action="store_true", help="log rejected draws")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(1)
    model = BodyModel(dtype=torch.float64)
    failed = 0
    for index, kind in enumerate(kinds_for(args.count, args.seed)):
        if args.kinds and kind not in args.kinds:
            continue
        case = None
        for fmt in ("motion", "anchor"):
            if args.only not in (None, fmt):
                continue
            done = args.out / fmt / f"{kind}-{args.seed}-{index:02d}" / \
                ("motion.npz" if fmt == "motion" else "case.npz")
            if args.missing and done.is_file():
                continue
            try:
                if case is None or fmt == "motion":
                    case = draw_case(model, kind, args.seed, index, anchor=fmt == "anchor")
                if fmt == "motion":
                    folder = write_motion(case, args.out / fmt)
                else:
                    try:  # the motion's frame nearest its key frame that fits the oracle's box
                        folder = write_anchor(case, args.out / fmt)
                    except ValueError:
                        case = draw_case(model, kind, args.seed, index, anchor=True)
                        folder = write_anchor(case, args.out / fmt)
            except ValueError as exc:
                failed += 1
                print(json.dumps({"format": fmt, "kind": kind, "index": index,
                                  "error": str(exc)}), flush=True)
                continue
            print(json.dumps({"format": fmt, "case": case.name, "folder": str(folder),
                              "frames": len(case.drawn.clip.trans),
                              "betas": [round(float(b), 3) for b in case.body.betas[:2]]}),
                  flush=True)
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main())
