"""Phase 1's per-frame translation is not pulled towards the camera by keypoint noise
(``initialize.initial_translation``).

A linear least-squares solve on the torso keypoints' rays weighs each image error by the
joint's depth, so with noisy keypoints a nearer body scores lower. With only the head,
shoulders and collars seen (the legs and hips behind a pushed table) and 4 px noise at 5 m,
it put the body about a quarter metre nearer the camera on average, and the later phases,
which see depth along the ray barely, kept it there (push_pull-11-04 and 5-09 of the case
family: MPJPE 144 and 171 mm, the table 14 and 17 cm off)."""

from __future__ import annotations

import pytest
import torch
from helpers.family_cases import family_case

from anchorhoi.body import BodyModel
from anchorhoi.motion import MotionConfig
from anchorhoi.motion.initialize import initial_translation
from anchorhoi.nerf.cameras import Cameras, intrinsics, look_at
from anchorhoi.oracles.motion_oracle import run_oracle_motion

LEGS = (0, 1, 2, 3, 4, 5, 7, 8, 10, 11)
"""Pelvis, hips, the lowest spine joint, knees, ankles, balls of the feet: behind the table."""


def _noisy_views(frames: int = 300, noise_px: float = 4.0, seed: int = 0):
    eye3 = torch.eye(3)
    with torch.no_grad():  # the rest pose at zero translation, as phase 1 poses a candidate
        rel = BodyModel().forward(global_orient=eye3[None],
                                  body_pose=eye3.expand(1, 21, 3, 3)).joints[0].float()
    # translated so that the pelvis is 1 m above the floor, 5 m away; the camera 0.7 m above
    # the floor, level
    truth = torch.tensor([0.0, 1.0, 0.0]) - rel[0]
    eye = torch.tensor([[0.0, 0.7, -5.0]])
    R, t = look_at(eye, torch.tensor([[0.0, 0.7, 0.0]]))
    camera = Cameras(K=intrinsics(50.0, 960, 540)[None], R=R, t=t, width=960, height=540)
    p = (rel + truth) @ R[0].T + t[0]
    uv = (p[:, :2] / p[:, 2:]) @ camera.K[0, :2, :2].T + camera.K[0, :2, 2]
    g = torch.Generator().manual_seed(seed)
    kp = torch.zeros(frames, 55, 3)
    kp[..., :2] = uv + noise_px * torch.randn(frames, 55, 2, generator=g)
    kp[..., 2] = 1.0
    kp[:, list(LEGS), 2] = 0.0
    depth = p[0, 2]  # the pelvis's true camera depth (the anchor frame's, in stage E)
    return kp, camera, rel, depth, truth


def _mean_depth_error(steps: int) -> float:
    kp, camera, rel, depth, _ = _noisy_views()
    trans = initial_translation(kp, camera, rel, depth, refine_steps=steps)
    pelvis_depth = (trans + rel[0]) @ camera.R[0][2] + camera.t[0][2]
    return float((pelvis_depth - depth).mean())


def test_the_refined_translation_is_unbiased_in_depth(one_thread):
    assert abs(_mean_depth_error(steps=4)) < 0.03


def test_the_linear_solve_alone_pulls_the_body_nearer(one_thread):
    """The failure the refinement mends, reproduced: without it the mean is well nearer."""
    assert _mean_depth_error(steps=0) < -0.08


def test_frames_with_a_foot_seen_keep_their_start(one_thread):
    """A seen foot's ground contact places its frame later; only the other frames are
    refined."""
    kp, camera, rel, depth, _ = _noisy_views(frames=40)
    kp[0::2, 7, 2] = 1.0  # the left ankle seen in every other frame
    linear = initial_translation(kp, camera, rel, depth, refine_steps=0)
    refined = initial_translation(kp, camera, rel, depth)
    assert torch.equal(refined[0::2], linear[0::2])
    assert not torch.allclose(refined[1::2], linear[1::2], atol=1e-3)


def test_exact_keypoints_give_the_exact_translation(one_thread):
    kp, camera, rel, depth, truth = _noisy_views(frames=4, noise_px=0.0)
    trans = initial_translation(kp, camera, rel, depth)
    assert torch.allclose(trans, truth.expand(4, 3), atol=1e-3)


@pytest.mark.slow
def test_a_table_pushed_towards_the_camera_with_the_legs_hidden(tmp_path, one_thread,
                                                               monkeypatch):
    """push_pull-5-09 of the case family, end to end: the camera in front, the table hides
    the legs and hips in every frame. Phase 1's linear start put the body a quarter metre
    nearer the camera; nothing later moved it back (MPJPE 171 mm, the table 17 cm off), and
    without the refinement that failure comes back."""
    from anchorhoi.motion import initialize

    case = family_case(tmp_path, "push_pull", 5, 9)

    def run() -> dict:
        return run_oracle_motion(case, body=BodyModel(), config=MotionConfig(), seed=5,
                                 noise_px=4.0, drop=0.2).figures()

    line = run()
    assert line["contact_mode"] == "sliding"
    assert line["mpjpe_mm"] <= 120.0 and line["obj_trans_err_cm"] <= 10.0
    monkeypatch.setattr(initialize, "_refine_translation", lambda sol, *a, **k: sol)
    assert run()["obj_trans_err_cm"] > 12.0
