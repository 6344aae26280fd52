#!/usr/bin/env python3
"""Write the oracle-motion bench cases (``bench/cases/motion/<name>/``), deterministically.

Each case folder holds ``object.obj``, ``camera.json`` and ``motion.npz`` (the format is
documented in ``anchorhoi.oracles.motion_case``). The motions are authored procedurally on the
procedural body with the tools of ``anchorhoi.oracles.motion_authoring``: PCHIP channels
(pelvis, pitch, spine, wrist targets), planted footprints with a two-link leg IK (no sliding),
an arm IK to wrist targets, and objects built from boxes sized against the body's hand or seat
vertices (contact without penetration) that ride rigidly on the left wrist once grasped.

Usage: ``python bench/make_motion_cases.py [--out DIR]``. The files are small and committed, so
the bench needs no generator; run it again after changing a motion. Prints one JSON line per
case with the ground truth's own penetration into the object and the ground (both ≈ 0).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from anchorhoi.oracles.motion_authoring import (
    AuthoredMotion,
    Body,
    J,
    arm_ik,
    assemble,
    boxes_mesh,
    footsteps,
    ground_truth_checks,
    hand_vertex_ids,
    hanging_arms,
    rigid_follow,
    smooth,
    translate,
    write_motion_case,
)

OUT = Path(__file__).resolve().parent / "cases" / "motion"
FPS = 30.0


def sit_on_chair(body: Body) -> AuthoredMotion:
    frames = np.arange(75.0)
    r, g = body.rest, body.ground_y
    lean = 0.0
    pelvis = smooth([(0, (0, r[0, 1] - 0.015, r[0, 2])), (15, (0, r[0, 1] - 0.015, r[0, 2])),
                     (36, (0, -0.60, -0.22)), (55, (0, -0.715, -0.40)),
                     (75, (0, -0.715, -0.40))], frames)
    pitch = smooth([(0, lean), (15, lean), (36, np.radians(32)), (55, np.radians(10)),
                    (75, np.radians(10))], frames)
    spine = smooth([(0, (0, 0, 0)), (15, (0, 0, 0)), (36, np.radians((8, 8, 4))),
                    (55, np.radians((-3, -3, 0))), (75, np.radians((-3, -3, 0)))], frames)
    feet = [np.repeat(r[J[f"{s}_foot"]][None], len(frames), 0) for s in ("left", "right")]
    hang = hanging_arms()
    # seated: hands rest on the thighs
    k = 55
    hip_y = pelvis[k, 1] - 0.09
    lap = arm_ik(body, pelvis[k], pitch[k], spine[k],
                 np.array([[0.13, hip_y + 0.13, pelvis[k, 2] + 0.30],
                           [-0.13, hip_y + 0.13, pelvis[k, 2] + 0.30]]),
                 np.array([[0.3, 0.8, -1.0], [0.3, -0.8, 1.0], [0, -0.6, 0], [0, 0.6, 0]]))
    arms = smooth([(0, hang), (12, hang), (34, lap), (75, lap)], frames)
    root, pose, trans = assemble(body, frames, pelvis, pitch, spine, feet, arms)
    verts, joints = body.forward(root[k:k + 1], pose[k:k + 1], trans[k:k + 1])
    v = verts[0]
    knee_z = joints[0, J["left_knee"], 2]
    front = knee_z - 0.10
    depth, width = 0.44, 0.46
    back = front - depth
    under = (v[:, 2] > back) & (v[:, 2] < front) & (np.abs(v[:, 0]) < width / 2) \
        & (v[:, 1] > g + 0.2)
    seat_top = float(v[under, 1].min()) - 0.003
    height = seat_top - g
    boxes = [(np.array([-width / 2, 0, -depth / 2]), np.array([width / 2, height, depth / 2])),
             (np.array([-width / 2, height, -depth / 2]),
              np.array([width / 2, height + 0.45, -depth / 2 + 0.05]))]
    ov, of = boxes_mesh(boxes)
    pose0 = translate(0.0, g, (front + back) / 2)
    return AuthoredMotion(root_orient=root, pose_body=pose, trans=trans, obj_vertices=ov,
                          obj_faces=of, obj_poses=np.repeat(pose0[None], len(frames), 0),
                          anchor_frame=60, camera_azimuth_deg=35.0)


def pick_up_and_carry(body: Body) -> AuthoredMotion:
    frames = np.arange(90.0)
    r, g = body.rest, body.ground_y
    stand = (0, r[0, 1] - 0.015, r[0, 2])
    grasp_f, rise_f = 26, 44
    squat = (0, -1.0, -0.12)
    carry = (0, r[0, 1] - 0.04, r[0, 2] - 0.03)
    walk0 = 50
    steps_r = [(walk0, walk0 + 9, 0.0, 0.35), (walk0 + 20, walk0 + 29, 0.35, 1.05)]
    steps_l = [(walk0 + 10, walk0 + 19, 0.0, 0.70), (walk0 + 30, walk0 + 39, 0.70, 1.05)]
    feet = [footsteps(r[J["left_foot"]], frames, steps_l),
            footsteps(r[J["right_foot"]], frames, steps_r)]
    mid_z = (feet[0][:, 2] + feet[1][:, 2]) / 2 - r[J["left_foot"], 2]
    pelvis = smooth([(0, stand), (5, stand), (grasp_f, squat), (grasp_f + 4, squat),
                     (rise_f, carry), (90, carry)], frames)
    pelvis[:, 2] += mid_z
    lean, carry_lean = np.radians(18), np.radians(8)
    pitch = smooth([(0, 0.0), (5, 0.0), (grasp_f, lean), (grasp_f + 4, lean),
                    (rise_f, carry_lean), (90, carry_lean)], frames)
    bend, carry_bend = np.radians((6, 6, 3)), np.radians((3, 3, 2))
    spine = smooth([(0, (0, 0, 0)), (5, (0, 0, 0)), (grasp_f, bend), (grasp_f + 4, bend),
                    (rise_f, carry_bend), (90, carry_bend)], frames)
    k = grasp_f
    reach = arm_ik(body, pelvis[k], pitch[k], spine[k],
                   np.array([[0.20, g + 0.36, 0.38], [-0.20, g + 0.36, 0.38]]),
                   np.array([[0.0, 0.9, -1.2], [0.0, -0.9, 1.2], [0, -0.3, 0], [0, 0.3, 0]]))
    hang = hanging_arms()
    arms = smooth([(0, hang), (5, hang), (grasp_f - 4, reach), (90, reach)], frames)
    root, pose, trans = assemble(body, frames, pelvis, pitch, spine, feet, arms)
    verts, _ = body.forward(root[k:k + 1], pose[k:k + 1], trans[k:k + 1])
    lh, rh = hand_vertex_ids(body)
    v = verts[0]
    inner_l, inner_r = v[lh, 0].min(), v[rh, 0].max()
    cx = (inner_l + inner_r) / 2
    half_w = (inner_l - inner_r) / 2 - 0.004
    cy = (v[lh, 1].mean() + v[rh, 1].mean()) / 2
    cz = (v[lh, 2].mean() + v[rh, 2].mean()) / 2
    height = 2 * (cy - g)
    boxes = [(np.array([-half_w, 0, -0.125]), np.array([half_w, height, 0.125]))]
    ov, of = boxes_mesh(boxes)
    pose0 = translate(cx, g, cz)
    poses = rigid_follow(body.wrist_frames(root, pose, trans), k, pose0)
    return AuthoredMotion(root_orient=root, pose_body=pose, trans=trans, obj_vertices=ov,
                          obj_faces=of, obj_poses=poses, anchor_frame=50,
                          camera_azimuth_deg=-30.0)


def push_table(body: Body) -> AuthoredMotion:
    frames = np.arange(80.0)
    r, g = body.rest, body.ground_y
    walk0 = 12
    steps_r = [(walk0, walk0 + 10, 0.0, 0.30), (walk0 + 22, walk0 + 32, 0.30, 0.90)]
    steps_l = [(walk0 + 11, walk0 + 21, 0.0, 0.60), (walk0 + 33, walk0 + 43, 0.60, 1.20),
               ]
    steps_r.append((walk0 + 44, walk0 + 54, 0.90, 1.20))
    feet = [footsteps(r[J["left_foot"]], frames, steps_l),
            footsteps(r[J["right_foot"]], frames, steps_r)]
    mid_z = (feet[0][:, 2] + feet[1][:, 2]) / 2 - r[J["left_foot"], 2]
    pelvis = np.repeat(np.array([[0, r[0, 1] - 0.05, r[0, 2] - 0.08]]), len(frames), 0)
    pelvis[:, 2] += mid_z
    pitch = np.full(len(frames), np.radians(18))
    spine = np.repeat(np.radians([[8, 8, 6]]), len(frames), 0)
    k = 0
    _, sj = body.forward(*assemble(body, frames[:1], pelvis[:1], pitch[:1], spine[:1],
                                   [f[:1] for f in feet], np.zeros((1, 4, 3))))
    down = np.radians(50)  # the arms reach forward, this far below the horizontal
    wrists = sj[0, [J["left_shoulder"], J["right_shoulder"]]] \
        + 0.47 * np.array([0.0, -np.sin(down), np.cos(down)])
    wrists[:, 0] = [0.22, -0.22]
    arms0 = arm_ik(body, pelvis[k], pitch[k], spine[k], wrists,
                   np.array([[0.0, 1.1, -0.7], [0.0, -1.1, 0.7], [0, -0.3, 0], [0, 0.3, 0]]))
    arms = np.repeat(arms0[None], len(frames), 0)
    root, pose, trans = assemble(body, frames, pelvis, pitch, spine, feet, arms)
    verts, _ = body.forward(root[k:k + 1], pose[k:k + 1], trans[k:k + 1])
    lh, rh = hand_vertex_ids(body)
    hands = np.concatenate([lh, rh])
    v = verts[0, hands]
    top = float(v[:, 1].min()) - 0.003
    near = float(np.percentile(v[:, 2], 30))
    width, depth, leg = 0.9, 0.6, 0.05
    height = top - g
    boxes = [(np.array([-width / 2, height - 0.04, -depth / 2]),
              np.array([width / 2, height, depth / 2]))]
    for sx in (-1, 1):
        for sz in (-1, 1):
            x0 = sx * (width / 2 - 0.03) - leg / 2
            z0 = sz * (depth / 2 - 0.03) - leg / 2
            boxes.append((np.array([x0, 0, z0]), np.array([x0 + leg, height - 0.04, z0 + leg])))
    ov, of = boxes_mesh(boxes)
    pose0 = translate(0.0, g, near + depth / 2)
    poses = rigid_follow(body.wrist_frames(root, pose, trans), 0, pose0)
    return AuthoredMotion(root_orient=root, pose_body=pose, trans=trans, obj_vertices=ov,
                          obj_faces=of, obj_poses=poses, anchor_frame=40,
                          camera_azimuth_deg=40.0)


CASES = {"sit_on_chair": sit_on_chair, "pick_up_and_carry": pick_up_and_carry,
         "push_table": push_table}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    body = Body.build()
    for name, make in CASES.items():
        motion = make(body)
        write_motion_case(args.out / name, body, motion, fps=FPS)
        poses = motion.obj_poses
        print(json.dumps({"case": name, "frames": len(motion.trans),
                          "anchor_frame": motion.anchor_frame,
                          **ground_truth_checks(body, motion),
                          "object_size_m": np.round(np.ptp(motion.obj_vertices, 0), 3).tolist(),
                          "object_travel_m": round(float(np.linalg.norm(
                              poses[-1, :3, 3] - poses[0, :3, 3])), 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
