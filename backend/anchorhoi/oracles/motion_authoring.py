"""Tools for authoring known motions (``motion_case``) procedurally on the body model.

* channels (pelvis position, pelvis pitch, spine bend, wrist targets) are given at a few key
  times and interpolated with PCHIP (C¹, no overshoot): :func:`smooth`;
* feet follow planted footprints (:func:`footsteps`: walking with a lifted, eased swing); the
  legs come from a planar two-link IK with the feet kept flat (:func:`leg_ik`), so planted feet
  do not slide;
* arms come from a small IK to wrist targets at the key times (:func:`arm_ik`, interpolated in
  between);
* carried or pushed objects ride rigidly on the left wrist from the grasp on
  (:func:`rigid_follow`); :func:`boxes_mesh` builds objects from boxes, sized by the caller
  from the body's hand or seat vertices so that the ground truth is contact without
  penetration;
* :func:`camera_for` stands a camera where it sees every joint of every frame.

Everything is in the body model's frame (Y up, facing +Z, metres), float64.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.interpolate import PchipInterpolator
from scipy.spatial.transform import Rotation

from ..body import BodyModel, axis_angle_to_matrix
from ..motion.posing import PosedSubset
from ..nerf.cameras import Cameras, intrinsics, look_at, project, to_json
from ..objects.inside import signed_distance
from ..portable.skeleton import JOINT_NAMES

J = {name: i for i, name in enumerate(JOINT_NAMES)}
"""Joint index by SMPL-X name."""
LEFT_HAND = [J["left_wrist"], *range(25, 40)]
"""The left wrist and the left hand's joints."""
RIGHT_HAND = [J["right_wrist"], *range(40, 55)]
"""The right wrist and the right hand's joints."""


# -- the body ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Body:
    """The body model in float64 with what authoring needs at hand."""

    model: BodyModel
    """The (procedural) body model, float64."""
    kin: PosedSubset
    """Joints only (one vertex): fast forward kinematics."""
    rest: np.ndarray
    """(55, 3) rest joints."""
    ground_y: float
    """The rest pose's sole level."""

    @staticmethod
    def build() -> Body:
        """The procedural body at betas 0."""
        model = BodyModel(dtype=torch.float64)
        kin = PosedSubset(model, torch.zeros(10), np.array([0]))
        rest = np.asarray(kin.rest_joints, dtype=np.float64)
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


def smooth(keys: Sequence[tuple[float, object]], frames: np.ndarray) -> np.ndarray:
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


# -- objects and camera ---------------------------------------------------------------------------


def boxes_mesh(boxes: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and faces (outward) of axis-aligned boxes ``[(lo (3,), hi (3,)), ...]``."""
    verts: list[tuple[float, float, float]] = []
    faces: list[tuple[int, int, int]] = []
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


def hand_vertex_ids(body: Body) -> tuple[np.ndarray, np.ndarray]:
    """Ids of the vertices the left and the right hand move most."""
    dom = body.model.layer.lbs_weights.numpy().argmax(1)
    return np.flatnonzero(np.isin(dom, LEFT_HAND)), np.flatnonzero(np.isin(dom, RIGHT_HAND))


def rigid_follow(frames_m: np.ndarray, start: int, obj0: np.ndarray) -> np.ndarray:
    """(T, 4, 4) object poses: ``obj0`` up to ``start``, then ``M_t M_start⁻¹ obj0``."""
    out = np.repeat(obj0[None], len(frames_m), 0)
    rel = frames_m[start:] @ np.linalg.inv(frames_m[start])
    out[start:] = rel @ obj0
    return out


def translate(x: float, y: float, z: float) -> np.ndarray:
    """(4, 4) translation."""
    m = np.eye(4)
    m[:3, 3] = (x, y, z)
    return m


def hanging_arms() -> np.ndarray:
    """(4, 3) shoulders and elbows (left, right) of arms hanging at the sides."""
    return np.array([[0, 0, -np.radians(70)], [0, 0, np.radians(70)], [0, -0.15, 0],
                     [0, 0.15, 0]])


def camera_for(joints: np.ndarray, azimuth_deg: float, *, elevation: float = 0.12,
               min_distance: float = 3.0) -> Cameras:
    """A 960×540 camera (50° vertical fov) on the azimuth ``azimuth_deg`` side (0 = in front,
    +Z), looking at the motion's centre from ``elevation`` (rise per metre; 0.12: about chest
    height), at least ``min_distance`` away and far enough to see every joint of every frame
    with a margin."""
    lo, hi = joints.reshape(-1, 3).min(0), joints.reshape(-1, 3).max(0)
    centre = (lo + hi) / 2
    az = np.radians(azimuth_deg)
    width, height = 960, 540
    K = intrinsics(50.0, width, height, dtype=torch.float64)
    for dist in np.arange(min_distance, min_distance + 6.0, 0.25):
        eye = centre + dist * np.array([np.sin(az), elevation, np.cos(az)])
        R, t = look_at(torch.as_tensor(eye)[None], torch.as_tensor(centre)[None])
        cam = Cameras(K=K[None], R=R, t=t, width=width, height=height)
        uv = project(cam, torch.as_tensor(joints.reshape(1, -1, 3)))[0].numpy()
        if uv[:, 0].min() > 60 and uv[:, 0].max() < width - 60 and uv[:, 1].min() > 40 \
                and uv[:, 1].max() < height - 40:
            return cam
    raise ValueError("no camera distance sees the whole motion")


# -- the authored case and its files --------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, eq=False)
class AuthoredMotion:
    """A known motion as authored, before it is written (``write_motion_case``)."""

    root_orient: np.ndarray
    """(T, 3) axis-angle of the root."""
    pose_body: np.ndarray
    """(T, 63) axis-angle of the 21 body joints."""
    trans: np.ndarray
    """(T, 3) the body's translation."""
    obj_vertices: np.ndarray
    """(V, 3) the object in its scene frame (centred in x/z, standing at y = 0)."""
    obj_faces: np.ndarray
    """(F, 3) the object's triangles, outward."""
    obj_poses: np.ndarray
    """(T, 4, 4) scene object frame → world."""
    anchor_frame: int
    """The frame whose pose stage E gets as the key pose."""
    camera_azimuth_deg: float
    """Where the camera stands around the motion (0: in front, +Z)."""


def ground_truth_checks(body: Body, motion: AuthoredMotion) -> dict[str, float]:
    """The authored motion's own contact quality: its deepest body vertex inside the object
    (every 5th frame) and under the ground, in mm (both should be about 0)."""
    verts, _ = body.forward(motion.root_orient, motion.pose_body, motion.trans)
    poses, ov = motion.obj_poses, motion.obj_vertices
    worst = 0.0
    for t in range(0, len(verts), 5):
        local = (verts[t] - poses[t, :3, 3]) @ poses[t, :3, :3]
        near = np.all((local > ov.min(0) - 0.05) & (local < ov.max(0) + 0.05), axis=1)
        if near.any():
            sd = signed_distance(torch.as_tensor(local[near]), ov, motion.obj_faces).numpy()
            worst = max(worst, float(-sd.min()))
    below = float(body.ground_y - verts[..., 1].min())
    return {"gt_object_penetration_mm": round(worst * 1000, 1),
            "gt_ground_penetration_mm": round(max(below, 0) * 1000, 1)}


def write_obj(path: Path, v: np.ndarray, f: np.ndarray) -> None:
    """OBJ text of vertices ``v (V, 3)`` and 0-based triangles ``f (F, 3)``, 5 decimals."""
    path.write_text("".join(f"v {a:.5f} {b:.5f} {c:.5f}\n" for a, b, c in v)
                    + "".join(f"f {a} {b} {c}\n" for a, b, c in f + 1))


def write_motion_case(folder: Path, body: Body, motion: AuthoredMotion, *, fps: float) -> None:
    """Write ``motion`` as a case folder (the files ``motion_case.load_motion_case`` reads),
    with a camera from :func:`camera_for` and the body's ground level."""
    folder.mkdir(parents=True, exist_ok=True)
    _, joints = body.forward(motion.root_orient, motion.pose_body, motion.trans)
    poses = motion.obj_poses
    write_obj(folder / "object.obj", motion.obj_vertices, motion.obj_faces)
    cam = camera_for(joints, motion.camera_azimuth_deg)
    (folder / "camera.json").write_text(json.dumps(to_json(cam), indent=1) + "\n")
    quat = Rotation.from_matrix(poses[:, :3, :3]).as_quat()  # x, y, z, w
    t = len(motion.trans)
    np.savez_compressed(folder / "motion.npz", trans=motion.trans,
                        root_orient=motion.root_orient, pose_body=motion.pose_body,
                        pose_hand=np.zeros((t, 90)), betas=np.zeros(10),
                        gender=np.array("neutral"), mocap_frame_rate=np.array(fps),
                        obj_trans=poses[:, :3, 3], obj_rot=quat[:, [3, 0, 1, 2]],
                        anchor_frame=np.array(motion.anchor_frame),
                        ground_y=np.array(body.ground_y))
