"""The oracle check of stage E: recover a known motion from its own noisy, occluded 2D keypoints.

Per case (``motion_case.MotionCase``):

1. pose the ground-truth motion and project its 55 joints with the case's camera;
2. add Gaussian pixel noise (``noise_px``), hide the joints the object occludes (the segment
   from the camera centre to the joint crosses the placed object mesh before the joint) and
   drop a share ``drop`` of the rest at random (seeded per case and seed);
3. hand stage E only those keypoints, the key pose at ``anchor_frame`` and the object mesh with
   its placement at that frame (what stage B provides in the pipeline);
4. score the result: MPJPE and PA-MPJPE of the 22 body joints, acceleration error, foot skating
   (per ground-truth contact frame pair), penetration into the object and the ground, the
   object's translation error, and the optimisation's time; and make the result's own
   plausibility report (``motion.plausibility``, no ground truth: what ``result.json``
   carries).
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass

import numpy as np
import torch

from ..body import BodyModel
from ..body.pose import KeyPose
from ..motion import MotionConfig, MotionResult, optimize_motion
from ..motion import metrics as M
from ..motion.objective import Problem, build_problem
from ..motion.plausibility import PlausibilityReport, keypoint_misfit, plausibility_report
from ..nerf.cameras import project, world_to_camera
from ..objects.mesh_io import ObjectMesh
from .motion_case import MotionCase

BODY_JOINTS = 22
"""The joints scored (SMPL-X's body joints; hands and face are not seen by the keypoints)."""


@dataclass(frozen=True, eq=False)
class OracleMotionReport:
    """What stage E was given, what it returned and its scores (see the module docstring)."""

    case: MotionCase
    """The known motion."""
    keypoints: np.ndarray
    """(T, 55, 3) ``(u, v, confidence)`` handed to stage E; hidden and dropped ones are 0."""
    gt_joints: np.ndarray
    """(T, 55, 3) the ground-truth joints."""
    key_pose: KeyPose
    """The key pose handed to stage E (the ground truth at the anchor frame)."""
    result: MotionResult
    """What stage E returned."""
    mpjpe_mm: float
    """Mean joint error of the 22 body joints."""
    pa_mpjpe_mm: float
    """The same after a per-frame Procrustes alignment."""
    accel_err_mm_s2: float
    """Mean acceleration error of the 22 body joints."""
    foot_skate_mm: float
    """Foot sliding per ground-truth contact frame pair."""
    object_penetration_mm: float
    """Deepest body vertex inside the object, any frame."""
    ground_penetration_mm: float
    """Deepest body vertex under the ground, any frame."""
    obj_trans_err_cm: float
    """Mean distance of the object's translation from the known one."""
    seconds: float
    """The optimisation's wall time."""
    occluded_frac: float
    """Share of the joints the object hides."""
    seen_frac: float
    """Share of the joints handed to stage E."""
    plausibility: PlausibilityReport
    """The result's plausibility report (no ground truth)."""

    @property
    def max_penetration_mm(self) -> float:
        """The deeper of the object and the ground penetrations."""
        return max(self.object_penetration_mm, self.ground_penetration_mm)

    def figures(self) -> dict[str, float | int | str | dict[str, float | None]]:
        """The bench's JSON fields (rounded)."""
        frames = self.case.motion.num_frames
        r = self.result
        return {
            "case": self.case.name, "frames": frames,
            "mpjpe_mm": round(self.mpjpe_mm, 1), "pa_mpjpe_mm": round(self.pa_mpjpe_mm, 1),
            "accel_err_mm_s2": round(self.accel_err_mm_s2, 0),
            "foot_skate_mm": round(self.foot_skate_mm, 2),
            "max_penetration_mm": round(self.max_penetration_mm, 1),
            "object_penetration_mm": round(self.object_penetration_mm, 1),
            "ground_penetration_mm": round(self.ground_penetration_mm, 1),
            "obj_trans_err_cm": round(self.obj_trans_err_cm, 2),
            "seconds": round(self.seconds, 1),
            "seconds_per_100_frames": round(self.seconds * 100 / frames, 1),
            "contact_mode": r.contact_mode,
            "hand_contact_frames": int(r.hand_contact.any(1).sum()),
            "reprojection_px_median": round(r.quality["reprojection_px_median"], 2),
            "occluded_frac": round(self.occluded_frac, 3), "seen_frac": round(self.seen_frac, 3),
            "plausibility_warnings": len(self.plausibility.warnings()),
            "plausibility": {k: f.as_json()["value"]
                             for k, f in self.plausibility.figures.items()},
        }


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
                   noise_px: float, drop: float) -> tuple[np.ndarray, dict[str, float]]:
    """(T, 55, 3) ``(u, v, confidence)``: noisy projections of ``gt_joints (T, 55, 3)``,
    occluded, dropped and off-screen ones at 0; and the shares ``occluded_frac``,
    ``seen_frac``."""
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


@dataclass(frozen=True, eq=False)
class OracleInputs:
    """What the oracle hands stage E for a case, and the truth it is scored against."""

    gt_joints: np.ndarray
    """(T, 55, 3) the ground-truth joints."""
    keypoints: np.ndarray
    """(T, 55, 3) ``(u, v, confidence)``; hidden and dropped ones are 0."""
    key_pose: KeyPose
    """The ground truth at the anchor frame."""
    shares: dict[str, float]
    """``occluded_frac`` and ``seen_frac`` of the joints."""


def oracle_inputs(case: MotionCase, *, body: BodyModel, seed: int, noise_px: float = 4.0,
                  drop: float = 0.2) -> OracleInputs:
    """Steps 1–2 of the module docstring: the keypoints of ``case`` (noise and dropped joints
    drawn from ``(seed, case name)``) and its key pose."""
    rng = np.random.default_rng([seed, zlib.crc32(case.name.encode())])
    with torch.no_grad():
        gt_joints = body.forward_motion(case.motion).joints.double().numpy()
    kp, shares = make_keypoints(case, gt_joints, rng, noise_px=noise_px, drop=drop)
    a, m = case.anchor_frame, case.motion
    key = KeyPose(root_orient=m.root_orient[a], pose_body=m.pose_body[a],
                  pose_hand=m.pose_hand[a], trans=m.trans[a], betas=m.betas)
    return OracleInputs(gt_joints=gt_joints, keypoints=kp, key_pose=key, shares=shares)


def oracle_problem(case: MotionCase, given: OracleInputs, *, body: BodyModel,
                   config: MotionConfig, seed: int) -> Problem:
    """Stage E's problem for ``case`` from what the oracle hands it (``given``), as
    ``run_oracle_motion``'s optimisation builds it, without optimising (its plants, supports
    and contact evidence)."""
    a = case.anchor_frame
    return build_problem(
        body, keypoints=torch.as_tensor(given.keypoints, dtype=torch.float32),
        camera=case.camera.to(dtype=torch.float32), key_pose=given.key_pose, anchor=a,
        mesh=case.mesh, obj_rotation=case.obj_rot[a], obj_translation=case.obj_trans[a],
        fps=case.motion.fps, config=config, generator=torch.Generator().manual_seed(seed))


def run_oracle_motion(case: MotionCase, *, body: BodyModel, config: MotionConfig, seed: int,
                      noise_px: float = 4.0, drop: float = 0.2) -> OracleMotionReport:
    """Recover ``case`` with stage E from synthetic keypoints (see the module docstring); the
    noise and the dropped joints are drawn from ``(seed, case name)``, the optimisation's
    randomness from ``seed``."""
    given = oracle_inputs(case, body=body, seed=seed, noise_px=noise_px, drop=drop)
    gt_joints, kp, key, seen = given.gt_joints, given.keypoints, given.key_pose, given.shares
    a, m = case.anchor_frame, case.motion
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
    plausible = plausibility_report(
        vertices=pred.vertices.double().numpy(),
        lbs_weights=body.layer.lbs_weights.detach().cpu().numpy(), obj_vertices=case.mesh.vertices,
        obj_faces=case.mesh.faces, obj_rot=result.obj_rotation, obj_trans=result.obj_trans,
        floor_y=ground, fps=m.fps, held=result.hand_contact,
        supported=np.asarray(result.foot_contact).max(1) > 0.5,
        misfit=keypoint_misfit(pj, kp, case.camera))
    body_pred, body_gt = pj[:, :BODY_JOINTS], gt_joints[:, :BODY_JOINTS]
    return OracleMotionReport(
        case=case, keypoints=kp, gt_joints=gt_joints, key_pose=key, result=result,
        mpjpe_mm=1000 * M.mpjpe(body_pred, body_gt),
        pa_mpjpe_mm=1000 * M.pa_mpjpe(body_pred, body_gt),
        accel_err_mm_s2=1000 * M.accel_error(body_pred, body_gt, m.fps),
        foot_skate_mm=1000 * M.foot_skating(pj, gt_joints, ground, m.fps),
        object_penetration_mm=1000 * inside, ground_penetration_mm=1000 * below,
        obj_trans_err_cm=100 * M.object_translation_error(result.obj_trans, case.obj_trans),
        seconds=seconds, occluded_frac=seen["occluded_frac"], seen_frac=seen["seen_frac"],
        plausibility=plausible)
