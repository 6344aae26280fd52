"""Hidden limbs in stage E (issue 11, item 3): what a hidden joint's rotation is pulled
towards, on hand-made visibility tracks with known answers — a limb hidden for 40 frames
between two seen stretches, legs hidden up to the clip's start while the key pose crouches."""

from __future__ import annotations

import math

import torch

from anchorhoi.body import axis_angle_to_matrix, matrix_to_rot6d
from anchorhoi.motion.occlusion import hidden_targets, prior_target, rotation_visibility

T = 60
ANCHOR = 30


def about_x(deg: float) -> torch.Tensor:
    """The 6D rotation of ``deg`` degrees about x (a knee's or a hip's bend)."""
    aa = torch.tensor([deg * math.pi / 180, 0.0, 0.0], dtype=torch.float64)
    return matrix_to_rot6d(axis_angle_to_matrix(aa))


def angle(rot6d: torch.Tensor) -> torch.Tensor:
    """Bend about x in degrees of 6D rotations ``(..., 6)`` (first column (1, 0, 0), second
    (0, cos, sin))."""
    return torch.rad2deg(torch.atan2(rot6d[..., 5], rot6d[..., 4]))


def test_a_limb_hidden_for_40_frames_moves_from_where_it_was_seen_to_where_it_is_seen_next():
    # one joint seen bent 20° over frames 0–9 and 80° over 50–59, hidden in between; the key
    # pose (anchor frame 30) has it at 60°; phase 1 started it at 0°
    estimate = torch.cat([about_x(20).expand(10, 6), about_x(45).expand(40, 6),
                          about_x(80).expand(10, 6)])[:, None]
    seen = torch.zeros(T, 1, dtype=torch.float64)
    seen[:10] = seen[50:] = 1.0
    target = hidden_targets(estimate, seen, ANCHOR, about_x(60)[None],
                            about_x(0).expand(T, 1, 6))
    bend = angle(target[:, 0])
    assert torch.allclose(bend[:10], torch.tensor(20.0, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(bend[50:], torch.tensor(80.0, dtype=torch.float64), atol=1e-6)
    assert abs(float(bend[ANCHOR]) - 60.0) < 1e-6
    # between the seen frames and the key pose the bend goes monotonically through the gap
    # (6D interpolation: the angle is not linear in time, but close)
    assert bool((bend[9:31].diff() >= -1e-9).all()) and bool((bend[30:51].diff() >= -1e-9).all())
    assert abs(float(bend[20]) - 40.0) < 3.0 and abs(float(bend[40]) - 70.0) < 3.0


def test_legs_hidden_up_to_the_clip_start_take_phase_1s_start_pose_not_the_key_crouch():
    # legs behind a box in every frame; the key pose crouches (knee 120°) at frame 30;
    # phase 1 started frames 0–19 standing (5°) from the seen torso, 20–59 from the key pose
    start = torch.cat([about_x(5).expand(20, 6), about_x(120).expand(40, 6)])[:, None]
    estimate = about_x(100).expand(T, 1, 6)  # wherever the optimiser currently has them
    hidden = torch.zeros(T, 1, dtype=torch.float64)
    target = hidden_targets(estimate, hidden, ANCHOR, about_x(120)[None], start)
    bend = angle(target[:, 0])
    assert torch.allclose(bend[:20], torch.tensor(5.0, dtype=torch.float64), atol=1e-6)
    # the crouch holds only from where phase 1 saw the body crouch: no pull of standing legs
    # into the key pose's crouch (where the box stands)
    assert torch.allclose(bend[20:], torch.tensor(120.0, dtype=torch.float64), atol=1e-6)


def test_the_prior_pulls_seen_joints_to_the_key_pose_and_hidden_ones_to_their_target():
    key = about_x(60)[None]
    hidden = about_x(0).expand(3, 1, 6)
    visibility = torch.tensor([[1.0], [0.0], [0.5]], dtype=torch.float64)
    weight, target = prior_target(visibility, key, hidden, seen_weight=0.02, hidden_weight=2.0)
    assert torch.allclose(weight[:, 0], torch.tensor([0.02, 2.0, 1.01], dtype=torch.float64))
    assert torch.allclose(target[0], key) and torch.allclose(target[1], hidden[1])
    # the one term equals the two it replaces up to a constant: same gradient at any x
    x = about_x(30).expand(3, 1, 6).clone().requires_grad_(True)
    two = (0.02 * visibility * ((x - key) ** 2).sum(-1)
           + 2.0 * (1 - visibility) * ((x - hidden) ** 2).sum(-1)).sum()
    one = (weight * ((x - target) ** 2).sum(-1)).sum()
    g_two, = torch.autograd.grad(two, x)
    g_one, = torch.autograd.grad(one, x)
    assert torch.allclose(g_two, g_one)


def test_a_rotation_is_seen_as_well_as_the_joints_it_moves():
    conf = torch.ones(4, 55, dtype=torch.float64)
    conf[:, 7] = 0.0  # left ankle hidden: the left knee's rotation (joint 4) is unseen
    vis = rotation_visibility(conf)
    assert torch.allclose(vis[:, 3], torch.zeros(4, dtype=torch.float64))
    assert torch.allclose(vis[:, 4], torch.ones(4, dtype=torch.float64))  # right knee
