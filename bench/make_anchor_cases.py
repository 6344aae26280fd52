#!/usr/bin/env python3
"""Write the oracle-anchor bench cases (``bench/cases/anchor/<name>/object.obj`` + ``case.npz``).

Poses are given as rotations per joint in the body model's frame (Y up, facing +Z, the left
arm along +X at rest); the ground is the rest pose's sole level, y = −1.30 m. Each object is
placed against the posed (procedural) body so that it touches without intersecting
(``anchorhoi.oracles.anchor_authoring.place_box``): the seat's and the table's tops 5 mm below
the lowest body vertex over them (for the table, of those more than 50 cm above the ground:
not the feet under it) (their height is the rest down to the ground), the lifted box 5 mm
above the highest vertex under it. Run it again after changing a pose; the files are small and
committed so the bench needs no generator.

Usage: ``python bench/make_anchor_cases.py [--out DIR]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from anchorhoi.body import BodyModel
from anchorhoi.oracles.anchor_authoring import (
    BoxContact,
    box_obj,
    place_box,
    pose_body,
    posed_vertices,
    yaw_quaternion,
)
from anchorhoi.oracles.anchor_authoring import euler_rotvec as rot

OUT = Path(__file__).resolve().parent / "cases" / "anchor"


CASES = {
    # sitting on a box (about 40 cm high): hips and knees at ~90°, hands resting on the thighs
    "sit_on_box": dict(
        body=pose_body(left_hip=rot("x", -88), right_hip=rot("x", -88),
                       left_knee=rot("x", 85), right_knee=rot("x", 85), spine2=rot("x", 8),
                       left_shoulder=rot("zy", [-70, -25]),
                       right_shoulder=rot("zy", [70, 25]), left_elbow=rot("y", -40),
                       right_elbow=rot("y", 40)),
        trans=[0.0, -0.40, 0.0], yaw=0.0,
        box=BoxContact(size=(0.45, None, 0.40), centre_xz=(0.0, -0.08), rests="under")),
    # lifting a box (60 × 30 × 30 cm) over the head, resting on the raised hands
    "lift_box_overhead": dict(
        body=pose_body(left_shoulder=rot("z", 75), right_shoulder=rot("z", -75),
                       left_elbow=rot("y", -35), right_elbow=rot("y", 35),
                       spine3=rot("x", -5), left_hip=rot("z", 8), right_hip=rot("z", -8)),
        trans=[0.0, 0.0, 0.0], yaw=10.0,
        box=BoxContact(size=(0.60, 0.30, 0.30), centre_xz=(0.0, 0.05), rests="over")),
    # leaning on a table in front, both hands on its top
    "lean_on_table": dict(
        body=pose_body(spine1=rot("x", 12), spine2=rot("x", 12), spine3=rot("x", 10),
                       left_hip=rot("x", -15), right_hip=rot("x", -15),
                       left_shoulder=rot("yz", [-70, -35]),
                       right_shoulder=rot("yz", [70, 35]), left_elbow=rot("y", -10),
                       right_elbow=rot("y", 10)),
        trans=[0.0, -0.02, 0.0], yaw=-5.0,
        box=BoxContact(size=(0.9, None, 0.6), centre_xz=(0.0, 0.70), rests="under",
                       above=0.5)),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT, help="folder of the case folders")
    args = ap.parse_args(argv)
    body = BodyModel()
    for name, c in CASES.items():
        folder = args.out / name
        folder.mkdir(parents=True, exist_ok=True)
        size, centre = place_box(c["box"], posed_vertices(body, c["body"], c["trans"]),
                                 c["yaw"])
        (folder / "object.obj").write_text(box_obj(size))
        np.savez(folder / "case.npz", root_orient=np.zeros(3), pose_body=c["body"],
                 trans=np.array(c["trans"], float), betas=np.zeros(10),
                 obj_trans=np.array(centre, float), obj_rot=yaw_quaternion(c["yaw"]))
        print(f"wrote {folder}: box {np.round(size, 3)} m at {np.round(centre, 3)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
