#!/usr/bin/env python3
"""Write the oracle-motion bench cases (``bench/cases/motion/<name>/``), deterministically.

Each case folder holds ``object.obj`` (scene object frame: centred in x/z, standing at y = 0,
metres), ``camera.json`` (``K``, ``R``, ``t``, ``width``, ``height``; world → camera, OpenCV)
and ``motion.npz``: AMASS keys ``trans (T,3)``, ``root_orient (T,3)``, ``pose_body (T,63)``,
``pose_hand (T,90)``, ``betas (10,)``, ``mocap_frame_rate``, plus ``obj_trans (T,3)``,
``obj_rot (T,4)`` (w, x, y, z; object.obj coordinates → world), ``anchor_frame`` and
``ground_y`` — all in the body model's frame (Y up, facing +Z, metres).

The motions are authored procedurally on the procedural body:

* channels (pelvis position, pelvis pitch, spine bend, wrist targets) are given at a few key
  times and interpolated with PCHIP (C¹, no overshoot);
* feet follow planted footprints (walking: footsteps with a lifted, eased swing); the legs come
  from a planar two-link IK with the feet kept flat, so planted feet do not slide;
* arms come from a small IK to wrist targets at the key times (interpolated in between);
* carried/pushed objects ride rigidly on the left wrist from the grasp on; objects are sized and
  placed from the body's hand/seat vertices so that the ground truth is contact without
  penetration.

Usage: ``python bench/make_motion_cases.py [--out DIR]``. The files are small and committed, so
the bench needs no generator; run it again after changing a motion.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.interpolate import PchipInterpolator
from scipy.spatial.transform import Rotation as Rot

from anchorhoi.body import BodyModel, axis_angle_to_matrix
from anchorhoi.motion.posing import PosedSubset
from anchorhoi.nerf.cameras import Cameras, intrinsics, look_at, project, to_json
from anchorhoi.objects.inside import signed_distance
from anchorhoi.portable.skeleton import JOINT_NAMES

OUT = Path(__file__).resolve().parent / "cases" / "motion"
FPS = 30.0
J = {name: i for i, name in enumerate(JOINT_NAMES)}
LEFT_HAND = [J["left_wrist"], *range(25, 40)]
RIGHT_HAND = [J["right_wrist"], *range(40, 55)]


# -- body helpers ---------------------------------------------------------------------------


@dataclass
class Body:
    model: BodyModel
    kin: PosedSubset  # joints only (one vertex)
    rest: np.ndarray  # (55, 3) rest joints
    ground_y: float  # the rest pose's sole level

    @staticmethod
    def build() -> Body:
        model = BodyModel(dtype=torch.float64)
        kin = PosedSubset(model, torch.zeros(10), np.array([0]))
        rest = kin.rest_joints.numpy()
        ground = float(model.layer.v_template[:, 1].min())
        return Body(model, kin, rest, ground)

    def forward(self, root_orient, pose_body, trans):
        """Full mesh + joints, numpy (T, V, 3), (T, 55, 3)."""
        t = len(trans)
        rot = axis_angle_to_matrix(torch.as_tensor(
            np.concatenate([root_orient, pose_body], 1).reshape(t, 22, 3)))
        with torch.no_grad():
            out = self.model(global_orient=rot[:, 0], body_pose=rot[:, 1:22],
                             transl=torch.as_tensor(trans))
        return out.vertices.numpy(), out.joints.numpy()

    def wrist_frames(self, root_orient, pose_body, trans):
        """(T, 4, 4) world transform of the left wrist's frame."""
        t = len(trans)
        rot = torch.eye(3, dtype=torch.float64).repeat(t, 55, 1, 1)
        rot[:, :22] = axis_angle_to_matrix(torch.as_tensor(
            np.concatenate([root_orient, pose_body], 1).reshape(t, 22, 3)))
        with torch.no_grad():
            out = self.kin(rot, torch.as_tensor(trans))
        m = np.tile(np.eye(4), (t, 1, 1))
        m[:, :3, :3] = out.rotations[:, J["left_wrist"]].numpy()
        m[:, :3, 3] = out.joints[:, J["left_wrist"]].numpy()
        return m


def smooth(keys: list[tuple[float, object]], frames: np.ndarray) -> np.ndarray:
    """PCHIP through ``(frame, value)`` keys, held constant outside them → (T, ...)."""
    times = np.array([k for k, _ in keys], dtype=float)
    values = np.array([np.asarray(v, dtype=float) for _, v in keys])
    if len(keys) == 1:
        return np.repeat(values, len(frames), 0)
    return PchipInterpolator(times, values, axis=0)(np.clip(frames, times[0], times[-1]))


def ease(s: np.ndarray) -> np.ndarray:
    s = np.clip(s, 0.0, 1.0)
    return s * s * s * (10 - 15 * s + 6 * s * s)  # quintic smoothstep: C² at both ends


def footsteps(rest_foot: np.ndarray, frames: np.ndarray, steps, lift: float = 0.06):
    """(T, 3) foot-joint position: planted at ``rest_foot`` shifted by z, swinging during
    ``steps = [(f0, f1, z_from, z_to), ...]`` (eased in z, lifted by ``lift·sin(πs)``)."""
    pos = np.repeat(rest_foot[None], len(frames), 0)
    z = np.zeros(len(frames))
    y = np.zeros(len(frames))
    for f0, f1, z0, z1 in steps:
        s = (frames - f0) / (f1 - f0)
        inside = (s >= 0) & (s <= 1)
        z = np.where(s > 1, z1, z)
        z = np.where(inside, z0 + (z1 - z0) * ease(s), z)
        y = np.where(inside, lift * np.sin(np.pi * ease(s)), y)
    pos[:, 2] += z
    pos[:, 1] += y
    return pos


def leg_ik(body: Body, pelvis: np.ndarray, pitch: np.ndarray, foot: np.ndarray, side: str):
    """Hip, knee and ankle angles about x (T,) putting the ``side`` foot joint at ``foot (T,3)``
    with the foot flat, for pelvis joint at ``pelvis (T,3)`` pitched by ``pitch (T,)``."""
    r = body.rest
    hip, knee, ankle, toe = (J[f"{side}_{n}"] for n in ("hip", "knee", "ankle", "foot"))
    c, s = np.cos(pitch), np.sin(pitch)
    off = r[hip] - r[0]
    hip_w = pelvis.copy()
    hip_w[:, 1] += off[1] * c - off[2] * s
    hip_w[:, 2] += off[1] * s + off[2] * c
    target = foot - (r[toe] - r[ankle])  # the ankle, foot flat
    d = (target[:, 1] - hip_w[:, 1]) + 1j * (target[:, 2] - hip_w[:, 2])
    u1 = complex(*(r[knee] - r[hip])[1:])
    u2 = complex(*(r[ankle] - r[knee])[1:])
    l1, l2 = abs(u1), abs(u2)
    dist = np.abs(d)
    if np.any(dist > 0.999 * (l1 + l2)):
        raise ValueError(f"{side} leg cannot reach its foot (max stretch "
                         f"{dist.max() / (l1 + l2):.3f})")
    delta = np.arccos(np.clip((l1 ** 2 + dist ** 2 - l2 ** 2) / (2 * l1 * dist), -1, 1))
    # knee forward (+z): in the (y + iz) plane the thigh turns clockwise from hip→ankle by δ
    w1 = l1 * np.exp(1j * (np.angle(d) - delta))
    w2 = d - w1
    alpha = np.angle(w1) - np.angle(u1)  # world thigh angle
    beta = np.angle(w2) - np.angle(u2)  # world shank angle
    wrap = lambda a: (a + np.pi) % (2 * np.pi) - np.pi  # noqa: E731
    return wrap(alpha - pitch), wrap(beta - alpha), wrap(-beta)


def assemble(body: Body, frames, pelvis, pitch, spine, feet, arms):
    """Root orient (T,3), pose_body (T,63), trans (T,3) from the authored channels.

    ``spine (T,3)`` bends spine1..3 about x; ``arms (T,4,3)`` axis-angle of the left/right
    shoulder and elbow; the neck keeps the head level-ish."""
    t = len(frames)
    body_aa = np.zeros((t, 21, 3))
    for side, foot in zip(("left", "right"), feet):
        h, k, a = leg_ik(body, pelvis, pitch, foot, side)
        body_aa[:, J[f"{side}_hip"] - 1, 0] = h
        body_aa[:, J[f"{side}_knee"] - 1, 0] = k
        body_aa[:, J[f"{side}_ankle"] - 1, 0] = a
    for i, name in enumerate(("spine1", "spine2", "spine3")):
        body_aa[:, J[name] - 1, 0] = spine[:, i]
    body_aa[:, J["neck"] - 1, 0] = -0.5 * (pitch + spine.sum(1))
    for i, name in enumerate(("left_shoulder", "right_shoulder", "left_elbow", "right_elbow")):
        body_aa[:, J[name] - 1] = arms[:, i]
    root = np.zeros((t, 3))
    root[:, 0] = pitch
    return root, body_aa.reshape(t, 63), pelvis - body.rest[0]


def arm_ik(body: Body, pelvis, pitch, spine, wrists: np.ndarray, guess: np.ndarray,
           iters: int = 200) -> np.ndarray:
    """Shoulder and elbow axis-angles (4, 3) putting the wrists at ``wrists (2, 3)`` for one
    frame of the trunk; elbows bend about their hinge (y) only, regularised to ``guess``."""
    root, pose, trans = assemble(body, np.zeros(1), pelvis[None], np.array([pitch]),
                                 spine[None], _standing_feet(body, pelvis), np.zeros((1, 4, 3)))
    base = axis_angle_to_matrix(torch.as_tensor(
        np.concatenate([root, pose], 1).reshape(1, 22, 3)))
    rot0 = torch.eye(3, dtype=torch.float64).repeat(1, 55, 1, 1)
    rot0[:, :22] = base
    shoulders = torch.tensor(guess[:2], requires_grad=True)
    bends = torch.tensor([-guess[2, 1], guess[3, 1]], requires_grad=True)
    target = torch.as_tensor(wrists)
    opt = torch.optim.LBFGS([shoulders, bends], lr=1, max_iter=iters,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-12,
                            tolerance_change=1e-14)
    ids = [J["left_shoulder"], J["right_shoulder"], J["left_elbow"], J["right_elbow"]]

    def wrist_error():
        zero = torch.zeros_like(bends)
        elbows = torch.stack([torch.stack([zero[0], -bends[0], zero[0]]),
                              torch.stack([zero[1], bends[1], zero[1]])])
        rot = rot0.clone()
        rot[0, ids] = axis_angle_to_matrix(torch.cat([shoulders, elbows]))
        out = body.kin(rot, torch.as_tensor(trans))
        return out.joints[0, [J["left_wrist"], J["right_wrist"]]] - target

    def closure():
        opt.zero_grad()
        loss = (wrist_error() ** 2).sum() + 1e-4 * (
            (shoulders - torch.as_tensor(guess[:2])) ** 2).sum() + torch.relu(-bends).pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        wr = wrist_error()
    err = float(wr.norm(dim=1).max())
    if err > 0.01:
        raise ValueError(f"arm IK misses its wrist target by {err * 100:.1f} cm")
    b = bends.detach().numpy()
    return np.array([*shoulders.detach().numpy(), [0, -b[0], 0], [0, b[1], 0]])


def _standing_feet(body: Body, pelvis):
    """Feet under the hips at a reachable place (only the upper body matters for arm IK)."""
    r = body.rest
    return [np.array([[r[J[f"{s}_foot"], 0] + pelvis[0], pelvis[1] - 0.8,
                       pelvis[2] + 0.05]]) for s in ("left", "right")]


# -- objects --------------------------------------------------------------------------------


def boxes_obj(boxes) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and faces (outward) of axis-aligned boxes ``[(lo (3,), hi (3,)), ...]``."""
    verts, faces = [], []
    quads = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    for lo, hi in boxes:
        base = len(verts)
        verts += [(x, y, z) for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]
        for a, b, c, d in quads:
            faces += [(base + a, base + b, base + c), (base + a, base + c, base + d)]
    v, f = np.array(verts, float), np.array(faces, np.int64)
    # orient outward: flip faces whose normal points towards their box's centre
    for k, (lo, hi) in enumerate(boxes):
        sl = slice(12 * k, 12 * k + 12)
        tri = v[f[sl]]
        n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        out = (tri.mean(1) - (np.asarray(lo) + np.asarray(hi)) / 2)
        flip = (n * out).sum(1) < 0
        f[sl][flip] = f[sl][flip][:, [0, 2, 1]]
    return v, f


def write_obj(path: Path, v: np.ndarray, f: np.ndarray) -> None:
    path.write_text("".join(f"v {a:.5f} {b:.5f} {c:.5f}\n" for a, b, c in v)
                    + "".join(f"f {a} {b} {c}\n" for a, b, c in f + 1))


def hand_vertex_ids(body: Body) -> tuple[np.ndarray, np.ndarray]:
    dom = body.model.layer.lbs_weights.numpy().argmax(1)
    return np.flatnonzero(np.isin(dom, LEFT_HAND)), np.flatnonzero(np.isin(dom, RIGHT_HAND))


def rigid_follow(frames_m: np.ndarray, start: int, obj0: np.ndarray) -> np.ndarray:
    """(T, 4, 4) object poses: ``obj0`` up to ``start``, then ``M_t M_start⁻¹ obj0``."""
    out = np.repeat(obj0[None], len(frames_m), 0)
    rel = frames_m[start:] @ np.linalg.inv(frames_m[start])
    out[start:] = rel @ obj0
    return out


def translate(x, y, z) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = (x, y, z)
    return m


# -- cases ----------------------------------------------------------------------------------


@dataclass
class Case:
    root_orient: np.ndarray
    pose_body: np.ndarray
    trans: np.ndarray
    obj_vertices: np.ndarray
    obj_faces: np.ndarray
    obj_poses: np.ndarray  # (T, 4, 4)
    anchor_frame: int
    camera_azimuth_deg: float


def hanging_arms() -> np.ndarray:
    return np.array([[0, 0, -np.radians(70)], [0, 0, np.radians(70)], [0, -0.15, 0],
                     [0, 0.15, 0]])


def sit_on_chair(body: Body) -> Case:
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
    ov, of = boxes_obj(boxes)
    pose0 = translate(0.0, g, (front + back) / 2)
    return Case(root, pose, trans, ov, of, np.repeat(pose0[None], len(frames), 0), 60, 35.0)


def pick_up_and_carry(body: Body) -> Case:
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
    ov, of = boxes_obj(boxes)
    pose0 = translate(cx, g, cz)
    poses = rigid_follow(body.wrist_frames(root, pose, trans), k, pose0)
    return Case(root, pose, trans, ov, of, poses, 50, -30.0)


def push_table(body: Body) -> Case:
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
    ov, of = boxes_obj(boxes)
    pose0 = translate(0.0, g, near + depth / 2)
    poses = rigid_follow(body.wrist_frames(root, pose, trans), 0, pose0)
    return Case(root, pose, trans, ov, of, poses, 40, 40.0)


CASES = {"sit_on_chair": sit_on_chair, "pick_up_and_carry": pick_up_and_carry,
         "push_table": push_table}


# -- camera, checks, writing ----------------------------------------------------------------


def camera_for(joints: np.ndarray, azimuth_deg: float) -> Cameras:
    """A 960×540 camera (50° vertical fov) at chest height on the azimuth ``azimuth_deg`` side
    (0 = in front, +Z), far enough to see every joint of every frame with a margin."""
    lo, hi = joints.reshape(-1, 3).min(0), joints.reshape(-1, 3).max(0)
    centre = (lo + hi) / 2
    az = np.radians(azimuth_deg)
    width, height = 960, 540
    K = intrinsics(50.0, width, height, dtype=torch.float64)
    for dist in np.arange(3.0, 9.0, 0.25):
        eye = centre + dist * np.array([np.sin(az), 0.12, np.cos(az)])
        R, t = look_at(torch.as_tensor(eye)[None], torch.as_tensor(centre)[None])
        cam = Cameras(K=K[None], R=R, t=t, width=width, height=height)
        uv = project(cam, torch.as_tensor(joints.reshape(1, -1, 3)))[0].numpy()
        if uv[:, 0].min() > 60 and uv[:, 0].max() < width - 60 and uv[:, 1].min() > 40 \
                and uv[:, 1].max() < height - 40:
            return cam
    raise ValueError("no camera distance sees the whole motion")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    body = Body.build()
    for name, make in CASES.items():
        case = make(body)
        folder = args.out / name
        folder.mkdir(parents=True, exist_ok=True)
        verts, joints = body.forward(case.root_orient, case.pose_body, case.trans)
        poses = case.obj_poses
        # ground-truth sanity: penetration into the object and the ground, foot sliding
        worst = 0.0
        for t in range(0, len(verts), 5):
            local = (verts[t] - poses[t, :3, 3]) @ poses[t, :3, :3]
            near = np.all((local > case.obj_vertices.min(0) - 0.05)
                          & (local < case.obj_vertices.max(0) + 0.05), axis=1)
            if near.any():
                sd = signed_distance(torch.as_tensor(local[near]), case.obj_vertices,
                                     case.obj_faces).numpy()
                worst = max(worst, float(-sd.min()))
        below = float(body.ground_y - verts[..., 1].min())
        write_obj(folder / "object.obj", case.obj_vertices, case.obj_faces)
        cam = camera_for(joints, case.camera_azimuth_deg)
        (folder / "camera.json").write_text(json.dumps(to_json(cam), indent=1) + "\n")
        quat = Rot.from_matrix(poses[:, :3, :3]).as_quat()  # x, y, z, w
        np.savez_compressed(folder / "motion.npz", trans=case.trans, root_orient=case.root_orient,
                 pose_body=case.pose_body, pose_hand=np.zeros((len(case.trans), 90)),
                 betas=np.zeros(10), gender=np.array("neutral"),
                 mocap_frame_rate=np.array(FPS), obj_trans=poses[:, :3, 3],
                 obj_rot=quat[:, [3, 0, 1, 2]], anchor_frame=np.array(case.anchor_frame),
                 ground_y=np.array(body.ground_y))
        print(json.dumps({"case": name, "frames": len(case.trans),
                          "anchor_frame": case.anchor_frame,
                          "gt_object_penetration_mm": round(worst * 1000, 1),
                          "gt_ground_penetration_mm": round(max(below, 0) * 1000, 1),
                          "object_size_m": np.round(np.ptp(case.obj_vertices, 0), 3).tolist(),
                          "object_travel_m": round(float(np.linalg.norm(
                              poses[-1, :3, 3] - poses[0, :3, 3])), 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
