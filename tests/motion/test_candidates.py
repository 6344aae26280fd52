"""Phase 1 of stage E: the standing candidate starts upright with the key pose's heading, so
that a clip whose key pose bends far over (a reach down) starts its standing frames
standing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.phase1 import phase1

from anchorhoi.body import axis_angle_to_matrix, matrix_to_rot6d, rot6d_to_matrix
from anchorhoi.motion import MotionConfig
from anchorhoi.motion.initialize import upright_root
from anchorhoi.oracles.motion_case import load_motion_case

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
    config = MotionConfig()
    start = phase1(load_motion_case(FAMILY / "reach_low-0-02"), 0, config)
    standing = config.schedule.initial_poses.index("standing")
    assert bool((start.choice[:15] == standing).all())
    err = np.linalg.norm(start.joints()[:15, :22] - start.gt[:15, :22], axis=-1).mean()
    assert err < 0.25


@pytest.mark.slow
def test_a_crouched_walk_starts_its_frames_with_bent_knees(one_thread):
    """step_onto-0-15 walks to and onto its box with the knees bent ~70° throughout. Without a
    bent-knee candidate the walk's first frames started from straight legs (8°), which phase 2
    never bent: the torso leaned 30–40° back along the camera ray to keep the pixels and the
    clip missed by 114 mm. The crouching candidate starts them bent."""
    config = MotionConfig()
    start = phase1(load_motion_case(FAMILY / "step_onto-0-15"), 0, config)
    choice, body6d = start.choice, start.body6d
    crouching = config.schedule.initial_poses.index("crouching")
    assert float((choice[:16] == crouching).double().mean()) >= 0.75
    knees = rot6d_to_matrix(body6d[:16, [3, 4]])  # left, right knee
    bend = torch.rad2deg(torch.arccos(((knees.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2)
                                      .clamp(-1, 1)))
    assert float(bend.mean()) > 40.0
