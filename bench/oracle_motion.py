#!/usr/bin/env python3
"""Oracle bench of stage E: recover a known motion from its own noisy, occluded 2D keypoints.

Usage: ``python bench/oracle_motion.py CASE_DIR [CASE_DIR ...] [--seed 0] [--frames N]``.
A case folder (see ``bench/make_motion_cases.py``) holds ``object.obj``, ``camera.json`` and
``motion.npz``. Per case the bench

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
import time
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from anchorhoi.body.pose import KeyPose
from anchorhoi.body import BodyModel, axis_angle_to_matrix
from anchorhoi.motion import MotionConfig, optimize_motion
from anchorhoi.motion import metrics as M
from anchorhoi.nerf.cameras import Cameras, from_json, project, world_to_camera
from anchorhoi.objects.mesh_io import ObjectMesh, load_object_mesh
from anchorhoi.portable.amass import motion_from_arrays
from anchorhoi.portable.arrays import float_array, load_npz
from anchorhoi.portable.motion import SmplxMotion

BODY_JOINTS = 22


@dataclass(frozen=True)
class MotionCase:
    name: str
    motion: SmplxMotion  # ground truth
    camera: Cameras
    mesh: ObjectMesh  # scene object frame
    obj_rot: np.ndarray  # (T, 3, 3) scene object frame → world
    obj_trans: np.ndarray  # (T, 3)
    anchor_frame: int
    ground_y: float | None

    def truncated(self, frames: int) -> MotionCase:
        """The first ``frames`` frames (the anchor frame moved inside if needed)."""
        t = min(frames, self.motion.num_frames)
        m = self.motion
        cut = SmplxMotion(trans=m.trans[:t], root_orient=m.root_orient[:t],
                          pose_body=m.pose_body[:t], pose_hand=m.pose_hand[:t],
                          pose_jaw=m.pose_jaw[:t], pose_eye=m.pose_eye[:t], betas=m.betas,
                          gender=m.gender, fps=m.fps)
        return replace(self, motion=cut, obj_rot=self.obj_rot[:t], obj_trans=self.obj_trans[:t],
                       anchor_frame=min(self.anchor_frame, t - 1))

    def window(self, start: int, frames: int) -> MotionCase:
        """Frames ``start .. start + frames − 1``."""
        m = self.motion
        s = slice(start, start + frames)
        cut = SmplxMotion(trans=m.trans[s], root_orient=m.root_orient[s],
                          pose_body=m.pose_body[s], pose_hand=m.pose_hand[s],
                          pose_jaw=m.pose_jaw[s], pose_eye=m.pose_eye[s], betas=m.betas,
                          gender=m.gender, fps=m.fps)
        t = cut.num_frames
        return replace(self, motion=cut, obj_rot=self.obj_rot[s], obj_trans=self.obj_trans[s],
                       anchor_frame=int(np.clip(self.anchor_frame - start, 0, t - 1)))


def load_case(folder: str | Path) -> MotionCase:
    folder = Path(folder)
    path = folder / "motion.npz"
    arrays = load_npz(path)
    motion = motion_from_arrays(path, arrays, strict=False)
    t = motion.num_frames
    q = float_array(path, arrays, "obj_rot", (t, 4))
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    r_file = axis_angle_to_matrix(torch.as_tensor(_quat_to_axis_angle(q))).numpy()
    mesh = load_object_mesh(folder / "object.obj")
    u = mesh.to_user  # scene object frame → file coordinates; world = R·file + t
    rot = r_file @ (u.scale * np.asarray(u.rotation))
    trans = r_file @ np.asarray(u.translation) + float_array(path, arrays, "obj_trans", (t, 3))
    camera = from_json(json.loads((folder / "camera.json").read_text()), dtype=torch.float64)
    ground = float(arrays["ground_y"]) if "ground_y" in arrays else None
    return MotionCase(name=folder.name, motion=motion, camera=camera, mesh=mesh, obj_rot=rot,
                      obj_trans=trans, anchor_frame=int(arrays["anchor_frame"]), ground_y=ground)


def _quat_to_axis_angle(q: np.ndarray) -> np.ndarray:
    """(T, 4) w, x, y, z → (T, 3)."""
    q = np.where(q[:, :1] < 0, -q, q)
    s = np.linalg.norm(q[:, 1:], axis=1, keepdims=True)
    angle = 2 * np.arctan2(s, q[:, :1])
    return np.where(s > 1e-12, q[:, 1:] / np.maximum(s, 1e-12) * angle, 0.0)


def occluded_by_object(centre: np.ndarray, joints: np.ndarray, mesh: ObjectMesh,
                       rot: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """``(T, J)`` True where the segment camera centre → joint crosses a triangle of the placed
    mesh before reaching the joint (Möller–Trumbore, every frame's mesh placed by ``rot``,
    ``trans``)."""
    out = np.zeros(joints.shape[:2], dtype=bool)
    for t in range(len(joints)):
        tri = (mesh.vertices @ rot[t].T + trans[t])[mesh.faces]  # (F, 3, 3)
        d = joints[t] - centre  # (J, 3): s ∈ (0, 1) along it
        e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
        p = np.cross(d[:, None], e2[None])  # (J, F, 3)
        det = (p * e1[None]).sum(-1)
        ok = np.abs(det) > 1e-12
        inv = np.where(ok, 1 / np.where(ok, det, 1), 0)
        s_vec = centre - tri[:, 0]  # (F, 3)
        u = (p * s_vec[None]).sum(-1) * inv
        q = np.cross(s_vec, e1)  # (F, 3)
        v = (d[:, None] * q[None]).sum(-1) * inv
        s = (e2 * q).sum(-1)[None] * inv
        hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (s > 1e-6) & (s < 1 - 1e-4)
        out[t] = hit.any(1)
    return out


def make_keypoints(case: MotionCase, gt_joints: np.ndarray, rng: np.random.Generator, *,
                   noise_px: float, drop: float) -> tuple[np.ndarray, dict]:
    """(T, 55, 3) ``(u, v, confidence)``: noisy projections, occluded and dropped ones at 0."""
    cam = case.camera
    pts = torch.as_tensor(gt_joints.reshape(1, -1, 3))
    uv = project(cam, pts)[0].numpy().reshape(*gt_joints.shape[:2], 2)
    depth = world_to_camera(cam, pts)[0, :, 2].numpy().reshape(gt_joints.shape[:2])
    uv = uv + rng.normal(scale=noise_px, size=uv.shape)
    hidden = occluded_by_object(cam.centers[0].numpy(), gt_joints, case.mesh, case.obj_rot,
                                case.obj_trans)
    dropped = rng.random(hidden.shape) < drop
    outside = (uv[..., 0] < 0) | (uv[..., 0] > cam.width - 1) | (uv[..., 1] < 0) \
        | (uv[..., 1] > cam.height - 1) | (depth <= 0)
    seen = ~(hidden | dropped | outside)
    kp = np.concatenate([np.where(seen[..., None], uv, 0.0), seen[..., None].astype(float)], -1)
    return kp, {"occluded_frac": float(hidden.mean()), "seen_frac": float(seen.mean())}


def run_case(case: MotionCase, body: BodyModel, config: MotionConfig, *, seed: int,
             noise_px: float, drop: float) -> dict:
    rng = np.random.default_rng([seed, zlib.crc32(case.name.encode())])
    gt = body.forward_motion(case.motion)
    gt_joints = gt.joints.detach().double().numpy()
    kp, seen = make_keypoints(case, gt_joints, rng, noise_px=noise_px, drop=drop)
    a, m = case.anchor_frame, case.motion
    key = KeyPose(root_orient=m.root_orient[a], pose_body=m.pose_body[a],
                  pose_hand=m.pose_hand[a], trans=m.trans[a], betas=m.betas)
    started = time.perf_counter()
    result = optimize_motion(
        body, keypoints=torch.as_tensor(kp, dtype=torch.float32),
        camera=case.camera.to(dtype=torch.float32), key_pose=key, anchor_frame=a,
        obj_mesh=case.mesh, obj_rotation=case.obj_rot[a], obj_translation=case.obj_trans[a],
        fps=m.fps, config=config, generator=torch.Generator().manual_seed(seed))
    seconds = time.perf_counter() - started
    with torch.no_grad():
        pred = body.forward_motion(result.motion)
    pj = pred.joints.double().numpy()
    ground = case.ground_y if case.ground_y is not None else result.ground_y
    inside, below = M.max_penetration(pred.vertices.double().numpy(), case.mesh.vertices,
                                      case.mesh.faces, result.obj_rotation, result.obj_trans,
                                      ground)
    return {
        "case": case.name, "frames": m.num_frames,
        "mpjpe_mm": round(1000 * M.mpjpe(pj[:, :BODY_JOINTS], gt_joints[:, :BODY_JOINTS]), 1),
        "pa_mpjpe_mm": round(1000 * M.pa_mpjpe(pj[:, :BODY_JOINTS],
                                               gt_joints[:, :BODY_JOINTS]), 1),
        "accel_err_mm_s2": round(1000 * M.accel_error(pj[:, :BODY_JOINTS],
                                                      gt_joints[:, :BODY_JOINTS], m.fps), 0),
        "foot_skate_mm": round(1000 * M.foot_skating(pj, gt_joints, ground, m.fps), 2),
        "max_penetration_mm": round(1000 * max(inside, below), 1),
        "object_penetration_mm": round(1000 * inside, 1),
        "ground_penetration_mm": round(1000 * below, 1),
        "obj_trans_err_cm": round(100 * M.object_translation_error(result.obj_trans,
                                                                   case.obj_trans), 2),
        "seconds": round(seconds, 1),
        "seconds_per_100_frames": round(seconds * 100 / m.num_frames, 1),
        "contact_mode": result.contact_mode,
        "hand_contact_frames": int(result.hand_contact.any(1).sum()),
        "reprojection_px_median": round(result.quality["reprojection_px_median"], 2),
        **{k: round(v, 3) for k, v in seen.items()},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="+", type=Path, help="case folders")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a MotionConfig field (JSON value), repeatable")
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
        config = replace(config, **{name: json.loads(value)})
    if args.iterations:
        config = replace(config, iterations_root=args.iterations[0],
                         iterations_pose=args.iterations[1],
                         iterations_contact=args.iterations[2])
    body = BodyModel()
    for folder in args.cases:
        case = load_case(folder)
        if args.frames:
            case = case.truncated(args.frames)
        line = run_case(case, body, config, seed=args.seed, noise_px=args.noise_px,
                        drop=args.drop)
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
