#!/usr/bin/env python3
"""Write the oracle-anchor bench cases (``bench/cases/anchor/<name>/object.obj`` + ``case.npz``).

Poses are given as rotations per joint in the body model's frame (Y up, facing +Z, the left
arm along +X at rest); the ground is the rest pose's sole level, y = −1.30 m. Each object is
placed against the posed (procedural) body so that it touches without intersecting: the seat's
and the table's tops 5 mm below the lowest body vertex over them (for the table, of those
more than 50 cm above the ground: not the feet under it) (their height is the rest down
to the ground), the lifted box 5 mm above the highest vertex under it. Run it again after
changing a pose; the files are small and committed so the bench needs no generator.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from scipy.spatial.transform import Rotation as Rot

from anchorhoi.body import BodyModel, axis_angle_to_matrix

OUT = Path(__file__).resolve().parent / "cases" / "anchor"
GROUND_Y = -1.30
JOINT = {"left_hip": 1, "right_hip": 2, "spine1": 3, "left_knee": 4, "right_knee": 5,
         "spine2": 6, "left_ankle": 7, "right_ankle": 8, "spine3": 9, "neck": 12,
         "left_collar": 13, "right_collar": 14, "head": 15, "left_shoulder": 16,
         "right_shoulder": 17, "left_elbow": 18, "right_elbow": 19}


def rot(spec: str, degrees) -> np.ndarray:
    return Rot.from_euler(spec, degrees, degrees=True).as_rotvec()


def pose(**joints) -> np.ndarray:
    body = np.zeros(63)
    for name, rv in joints.items():
        j = JOINT[name]
        body[3 * (j - 1):3 * j] = rv
    return body


def box_obj(size) -> str:
    sx, sy, sz = (s / 2 for s in size)
    v = [(x, y, z) for x in (-sx, sx) for y in (-sy, sy) for z in (-sz, sz)]
    f = [(1, 2, 4), (1, 4, 3), (5, 7, 8), (5, 8, 6), (1, 5, 6), (1, 6, 2),
         (3, 4, 8), (3, 8, 7), (1, 3, 7), (1, 7, 5), (2, 6, 8), (2, 8, 4)]
    return "".join(f"v {a:.4f} {b:.4f} {c:.4f}\n" for a, b, c in v) + \
        "".join(f"f {a} {b} {c}\n" for a, b, c in f)


CASES = {
    # sitting on a box (about 40 cm high): hips and knees at ~90°, hands resting on the thighs
    "sit_on_box": dict(
        body=pose(left_hip=rot("x", -88), right_hip=rot("x", -88), left_knee=rot("x", 85),
                  right_knee=rot("x", 85), spine2=rot("x", 8),
                  left_shoulder=rot("zy", [-70, -25]), right_shoulder=rot("zy", [70, 25]),
                  left_elbow=rot("y", -40), right_elbow=rot("y", 40)),
        trans=[0.0, -0.40, 0.0], size=(0.45, None, 0.40), obj_centre=(0.0, "on_ground", -0.08),
        rests="under"),
    # lifting a box (60 × 30 × 30 cm) over the head, resting on the raised hands
    "lift_box_overhead": dict(
        body=pose(left_shoulder=rot("z", 75), right_shoulder=rot("z", -75),
                  left_elbow=rot("y", -35), right_elbow=rot("y", 35), spine3=rot("x", -5),
                  left_hip=rot("z", 8), right_hip=rot("z", -8)),
        trans=[0.0, 0.0, 0.0], size=(0.60, 0.30, 0.30), obj_centre=(0.0, "above", 0.05),
        rests="over"),
    # leaning on a table in front, both hands on its top
    "lean_on_table": dict(
        body=pose(spine1=rot("x", 12), spine2=rot("x", 12), spine3=rot("x", 10),
                  left_hip=rot("x", -15), right_hip=rot("x", -15),
                  left_shoulder=rot("yz", [-70, -35]), right_shoulder=rot("yz", [70, 35]),
                  left_elbow=rot("y", -10), right_elbow=rot("y", 10)),
        trans=[0.0, -0.02, 0.0], size=(0.9, None, 0.6), obj_centre=(0.0, "on_ground", 0.70),
        rests="under", above=0.5),
}


def posed_vertices(body: BodyModel, pose_body: np.ndarray, trans) -> np.ndarray:
    rot = axis_angle_to_matrix(torch.as_tensor(
        np.concatenate([np.zeros(3), pose_body]).reshape(22, 3), dtype=torch.float32))
    with torch.no_grad():
        out = body(global_orient=rot[None, 0], body_pose=rot[None, 1:],
                   transl=torch.tensor(trans, dtype=torch.float32)[None],
                   betas=torch.zeros(1, body.config.num_betas))
    return out.vertices[0].double().numpy()


def place(c: dict, vertices: np.ndarray, yaw_deg: float) -> tuple[tuple, tuple]:
    """(size, centre) of the box touching the body (see the module docstring)."""
    sx, sy, sz = c["size"]
    cx, _, cz = c["obj_centre"]
    r = Rot.from_euler("y", yaw_deg, degrees=True).as_matrix()
    local = (vertices - np.array([cx, 0.0, cz])) @ r  # into the box's (yawed) frame
    over = (np.abs(local[:, 0]) <= sx / 2) & (np.abs(local[:, 2]) <= sz / 2) \
        & (vertices[:, 1] > GROUND_Y + c.get("above", 0.0))  # the table: not the feet under it
    if c["rests"] == "under":  # the body rests on the box: top just below the lowest vertex
        top = vertices[over, 1].min() - 0.005
        return (sx, top - GROUND_Y, sz), (cx, (top + GROUND_Y) / 2, cz)
    bottom = vertices[over, 1].max() + 0.005  # the box rests on the body (the hands)
    return (sx, sy, sz), (cx, bottom + sy / 2, cz)


def main() -> int:
    body = BodyModel()
    for name, c in CASES.items():
        folder = OUT / name
        folder.mkdir(parents=True, exist_ok=True)
        yaw = {"sit_on_box": 0.0, "lift_box_overhead": 10.0, "lean_on_table": -5.0}[name]
        size, centre = place(c, posed_vertices(body, c["body"], c["trans"]), yaw)
        (folder / "object.obj").write_text(box_obj(size))
        q = Rot.from_euler("y", yaw, degrees=True).as_quat()  # x, y, z, w
        np.savez(folder / "case.npz", root_orient=np.zeros(3), pose_body=c["body"],
                 trans=np.array(c["trans"], float), betas=np.zeros(10),
                 obj_trans=np.array(centre, float),
                 obj_rot=np.array([q[3], q[0], q[1], q[2]]))
        print(f"wrote {folder}: box {np.round(size, 3)} m at {np.round(centre, 3)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
