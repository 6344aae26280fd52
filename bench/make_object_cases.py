#!/usr/bin/env python3
"""Write the object-generation oracle cases (``bench/cases/anchor_objects/<name>/``).

Same format as ``make_anchor_cases.py`` (``object.obj`` + ``case.npz``), other shapes: the
generated-object bench (``oracle_anchor.py … --generate-object``) recovers them from renders.
With ``sit_on_box`` (``bench/cases/anchor``) they make the set: a box, a cylinder, a chair,
a ball and a table on legs.

- ``sit_on_cylinder``: the sitting pose of ``sit_on_box`` on a round seat (radius 22 cm) whose
  top is 5 mm below the lowest body vertex over it;
- ``sit_on_chair``: the same pose on a chair (44 × 44 cm seat at that height on four legs, a
  45 cm backrest along its back edge, 15 cm behind the sitter's back);
- ``ball_on_floor``: standing, a ball of radius 15 cm on the floor 45 cm in front;
- ``lean_on_table_legs``: the leaning pose of ``lean_on_table`` on a table (90 × 60 cm top,
  5 cm thick, 8 cm legs) whose top is 5 mm below the lowest hand vertex over it.

Usage: ``python bench/make_object_cases.py [--out DIR]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from make_anchor_cases import CASES

from anchorhoi.body import BodyModel
from anchorhoi.oracles.anchor_authoring import (
    GROUND_Y,
    BoxContact,
    place_box,
    pose_body,
    posed_vertices,
    yaw_quaternion,
)
from anchorhoi.oracles.family_shapes import ball, chair, cylinder, table
from anchorhoi.oracles.motion_authoring import write_obj

OUT = Path(__file__).resolve().parent / "cases" / "anchor_objects"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT, help="folder of the case folders")
    args = ap.parse_args(argv)
    body = BodyModel()
    sit, lean = CASES["sit_on_box"], CASES["lean_on_table"]
    sit_v = posed_vertices(body, sit["body"], sit["trans"])
    (_, seat_h, _), _ = place_box(BoxContact(size=(0.44, None, 0.44), centre_xz=(0.0, -0.08),
                                             rests="under"), sit_v, 0.0)
    lean_v = posed_vertices(body, lean["body"], lean["trans"])
    (_, table_h, _), _ = place_box(BoxContact(size=(0.9, None, 0.6), centre_xz=(0.0, 0.70),
                                              rests="under", above=0.5), lean_v, 0.0)
    stand = dict(body=pose_body(), trans=[0.0, 0.0, 0.0])
    cases = {  # name: (pose, mesh standing on y = 0, its bottom centre in the world)
        "sit_on_cylinder": (sit, cylinder(0.22, seat_h, segments=24), (0.0, -0.08)),
        "sit_on_chair": (sit, chair(0.44, 0.44, seat_h, 0.45), (0.0, -0.08)),
        "ball_on_floor": (stand, ball(0.15, rings=12, segments=24), (0.0, 0.45)),
        "lean_on_table_legs": (lean, table(0.9, 0.6, table_h, top=0.05, leg=0.08),
                               (0.0, 0.70)),
    }
    for name, (pose, (v, f), (cx, cz)) in cases.items():
        folder = args.out / name
        folder.mkdir(parents=True, exist_ok=True)
        write_obj(folder / "object.obj", v, f)
        np.savez(folder / "case.npz", root_orient=np.zeros(3), pose_body=pose["body"],
                 trans=np.array(pose["trans"], float), betas=np.zeros(10),
                 obj_trans=np.array([cx, GROUND_Y, cz]), obj_rot=yaw_quaternion(0.0))
        print(f"wrote {folder}: size {np.round(np.ptp(v, 0), 3)} m at ({cx}, {GROUND_Y}, {cz})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
