"""Phase 1 of stage E: the standing candidate starts upright with the key pose's heading, so
that a clip whose key pose bends far over (a reach down) starts its standing frames
standing."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from anchorhoi.body import BodyModel, axis_angle_to_matrix, matrix_to_rot6d, rot6d_to_matrix
from anchorhoi.body.pose import KeyPose
from anchorhoi.motion import MotionConfig
from anchorhoi.motion.initialize import fit_candidates, upright_root
from anchorhoi.motion.objective import build_problem
from anchorhoi.oracles.motion_case import load_motion_case
from anchorhoi.oracles.motion_oracle import make_keypoints

FAMILY = Path(__file__).resolve().parents[2] / "bench" / "cases" / "family" / "motion"


def test_upright_root_keeps_the_heading_and_drops_pitch_and_roll():
    yaw = axis_angle_to_matrix(torch.tensor([0.0, 0.7, 0.0], dtype=torch.float64))
    bend = axis_angle_to_matrix(torch.tensor([0.9, 0.0, 0.0], dtype=torch.float64)) \
        @ axis_angle_to_matrix(torch.tensor([0.0, 0.0, 0.2], dtype=torch.float64))  # pitch, roll
    up = rot6d_to_matrix(upright_root(matrix_to_rot6d(yaw @ bend)))
    assert torch.allclose(up, yaw, atol=1e-9)
    # facing backwards (heading π) survives too
    back = axis_angle_to_matrix(torch.tensor([0.0, 3.0, 0.0], dtype=torch.float64))
    up = rot6d_to_matrix(upright_root(matrix_to_rot6d(back @ bend)))
    assert torch.allclose(up, back, atol=1e-9)


@pytest.mark.slow
def test_a_reach_down_clip_starts_its_standing_frames_standing(one_thread):
    """reach_low-0-02 bends forward by ~50° at its key frame (31); frames 0–14 stand. With the
    key pose's pitch on the standing candidate they started 1.4 m off; upright, within a
    quarter metre (phase 2 refines from there)."""
    body = BodyModel()
    case = load_motion_case(FAMILY / "reach_low-0-02")
    rng = np.random.default_rng([0, zlib.crc32(case.name.encode())])
    with torch.no_grad():
        gt = body.forward_motion(case.motion).joints.double().numpy()
    kp, _ = make_keypoints(case, gt, rng, noise_px=4.0, drop=0.2)
    a, m = case.anchor_frame, case.motion
    key = KeyPose(root_orient=m.root_orient[a], pose_body=m.pose_body[a],
                  pose_hand=m.pose_hand[a], trans=m.trans[a], betas=m.betas)
    config = MotionConfig()
    problem = build_problem(
        body, keypoints=torch.as_tensor(kp, dtype=torch.float32),
        camera=case.camera.to(dtype=torch.float32), key_pose=key, anchor=a, mesh=case.mesh,
        obj_rotation=case.obj_rot[a], obj_translation=case.obj_trans[a], fps=m.fps,
        config=config, generator=torch.Generator().manual_seed(0))
    params = key.to_params(device=problem.keypoints.device, dtype=problem.keypoints.dtype)
    root6d, trans, body6d, choice = fit_candidates(
        problem.kin, problem.keypoints, problem.camera, params, problem.key_joints, a,
        problem.fps, problem.ground_y, config)
    standing = config.schedule.initial_poses.index("standing")
    assert bool((choice[:15] == standing).all())
    t = trans.shape[0]
    rot = torch.cat([rot6d_to_matrix(root6d)[:, None], rot6d_to_matrix(body6d),
                     torch.eye(3).expand(t, 3, 3, 3),
                     rot6d_to_matrix(params.hand[0]).expand(t, 30, 3, 3)], 1)
    with torch.no_grad():
        joints = problem.kin(rot, trans).joints.double().numpy()
    err = np.linalg.norm(joints[:15, :22] - gt[:15, :22], axis=-1).mean()
    assert err < 0.25


@pytest.mark.slow
def test_a_crouched_walk_starts_its_frames_with_bent_knees(one_thread):
    """step_onto-0-15 walks to and onto its box with the knees bent ~70° throughout. Without a
    bent-knee candidate the walk's first frames started from straight legs (8°), which phase 2
    never bent: the torso leaned 30–40° back along the camera ray to keep the pixels and the
    clip missed by 114 mm. The crouching candidate starts them bent."""
    body = BodyModel()
    case = load_motion_case(FAMILY / "step_onto-0-15")
    rng = np.random.default_rng([0, zlib.crc32(case.name.encode())])
    with torch.no_grad():
        gt = body.forward_motion(case.motion).joints.double().numpy()
    kp, _ = make_keypoints(case, gt, rng, noise_px=4.0, drop=0.2)
    a, m = case.anchor_frame, case.motion
    key = KeyPose(root_orient=m.root_orient[a], pose_body=m.pose_body[a],
                  pose_hand=m.pose_hand[a], trans=m.trans[a], betas=m.betas)
    config = MotionConfig()
    problem = build_problem(
        body, keypoints=torch.as_tensor(kp, dtype=torch.float32),
        camera=case.camera.to(dtype=torch.float32), key_pose=key, anchor=a, mesh=case.mesh,
        obj_rotation=case.obj_rot[a], obj_translation=case.obj_trans[a], fps=m.fps,
        config=config, generator=torch.Generator().manual_seed(0))
    params = key.to_params(device=problem.keypoints.device, dtype=problem.keypoints.dtype)
    _, _, body6d, choice = fit_candidates(
        problem.kin, problem.keypoints, problem.camera, params, problem.key_joints, a,
        problem.fps, problem.ground_y, config, plants=problem.plants,
        supports=problem.supports, soles=problem.soles)
    crouching = config.schedule.initial_poses.index("crouching")
    assert float((choice[:16] == crouching).double().mean()) >= 0.75
    knees = rot6d_to_matrix(body6d[:16, [3, 4]])  # left, right knee
    bend = torch.rad2deg(torch.arccos(((knees.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2)
                                      .clamp(-1, 1)))
    assert float(bend.mean()) > 40.0
