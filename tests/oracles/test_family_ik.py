"""The case family's inverse kinematics (``anchorhoi.oracles.family_ik``): an arm whose wrist
target lies nearer than the arm's length starts bent to it, so the solve puts the wrist on the
target instead of holding it a centimetre or more off (the lean-on kind drew no case in 12
attempts that way), and a drawn lean-on case rests both hands on the top it leans on; a knee
tracks over its foot, never inside its leg (a pick-up's deep squat crossed its thighs)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from anchorhoi.body import BodyModel
from anchorhoi.motion.plausibility import object_distances
from anchorhoi.oracles.family import draw_case, knees_together, placed_vertices
from anchorhoi.oracles.family_ik import SOLVED, J, ShapedBody, bent_arm, knees_inside, solve
from anchorhoi.oracles.family_place import hand_ids


@pytest.fixture(scope="module")
def body():
    torch.set_num_threads(1)
    return ShapedBody.build(BodyModel(dtype=torch.float64), np.array([1.0, -0.5] + [0.0] * 8))


def test_the_bent_arm_reaches_the_distance_asked_for(body):
    straight = float(np.linalg.norm(bent_arm(body, "left", np.array([9.0]))[1]))
    reach = np.array([0.2, 0.3, 0.4, 0.5]) * straight / 0.55
    for side, sign in (("left", -1.0), ("right", 1.0)):
        bend, offset = bent_arm(body, side, reach)
        np.testing.assert_allclose(np.linalg.norm(offset, axis=1), reach, atol=1e-3)
        assert (sign * bend > 0).all() and (np.diff(sign * bend) < 0).all()  # nearer: more bent
        far, _ = bent_arm(body, side, np.array([straight + 0.1]))
        assert abs(float(far[0])) < 1e-6  # beyond the arm: straight


def test_wrist_targets_near_the_shoulders_are_met(body):
    """Wrists of a pose with the elbows bent about 1.5 rad, the trunk leaning forward: the solve
    (from arms aimed at them) puts the wrists on them within 3 mm."""
    t = 4
    bends = np.linspace(1.5, 1.56, t)
    pose = np.zeros((t, 21, 3))
    pose[:, J["spine1"] - 1, 0] = 0.2
    pose[:, J["left_shoulder"] - 1] = [0.0, 0.4, -0.9]
    pose[:, J["right_shoulder"] - 1] = [0.0, -0.4, 0.9]
    pose[:, J["left_elbow"] - 1, 1] = -bends
    pose[:, J["right_elbow"] - 1, 1] = bends
    root = np.tile([0.4, 0.0, 0.0], (t, 1))
    trans = np.tile([0.0, 0.9, 0.0], (t, 1))
    _, joints = body.forward(root, pose.reshape(t, 63), trans)
    trunk = pose.copy()
    trunk[:, [J[n] - 1 for n in SOLVED]] = 0.0
    targets = {f"{s}_wrist": joints[:, J[f"{s}_wrist"]] for s in ("left", "right")}
    solved, got_trans = solve(body, root_orient=root, pelvis=joints[:, 0], trunk=trunk,
                              targets=targets, tolerance_m=0.003)
    _, got = body.forward(root, solved, got_trans)
    for name, goal in targets.items():
        assert np.linalg.norm(got[:, J[name]] - goal, axis=1).max() < 0.003, name


@pytest.mark.slow
def test_lean_on_draws_at_once_with_both_hands_on_the_top(body, caplog):
    with caplog.at_level(logging.INFO, logger="anchorhoi.oracles.family"):
        case = draw_case(body.model, "lean_on", 3, 0)
    assert not [r for r in caplog.records if "rejected" in r.getMessage()]
    d, a = case.drawn, case.drawn.anchor_frame
    left, right = hand_ids(case.body)
    top = float(placed_vertices(d)[a, :, 1].max())
    for hand in (left, right):  # each hand on the top (not in it, not above it)
        lowest = float(d.clip.verts[a, hand, 1].min())
        assert 0.0 <= lowest - top <= 0.005
        near = object_distances(d.clip.verts[[a]], d.mesh[0], d.mesh[1], d.obj_poses[[a], :3, :3],
                                d.obj_poses[[a], :3, 3], groups={"hand": hand}, reach=0.1)
        assert near["hand"][0] <= 0.01


def test_knees_inside_counts_a_knee_only_inside_both_its_hip_and_its_ankle():
    """The pelvis faces +z, its left along +x: the left leg's hip at x = 0.08, its ankle at
    0.12. A knee at 0.10 or further out costs nothing; one at 0.03 costs (0.08 − 0.03)²; the
    right leg mirrors it."""
    joints = torch.zeros(1, 55, 3, dtype=torch.float64)
    side = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    for sign, leg in ((1.0, "left"), (-1.0, "right")):
        joints[0, J[f"{leg}_hip"], 0] = sign * 0.08
        joints[0, J[f"{leg}_ankle"], 0] = sign * 0.12
        joints[0, J[f"{leg}_knee"], 0] = sign * 0.10
    assert float(knees_inside(joints, side, room=0.0)) == 0.0
    joints[0, J["left_knee"], 0] = 0.15  # out over the toes: free
    assert float(knees_inside(joints, side, room=0.0)) == 0.0
    joints[0, J["left_knee"], 0] = 0.03
    assert float(knees_inside(joints, side, room=0.0)) == pytest.approx(0.05 ** 2)
    joints[0, J["right_knee"], 0] = 0.02  # crossed to the left side
    assert float(knees_inside(joints, side, room=0.0)) == pytest.approx(0.05 ** 2 + 0.10 ** 2)
    assert float(knees_inside(joints, side, room=0.01)) == pytest.approx(0.04 ** 2 + 0.09 ** 2)


def test_a_pick_ups_squat_keeps_its_knees_over_its_feet():
    """pick_up_carry-0-01 squats ~0.65 m to its box: the solve turned both knees in until the
    left one lay 12 cm on the body's right, the thighs through each other. Now each knee stays
    at least as far out as its hip in every frame."""
    torch.set_num_threads(1)
    model = BodyModel(dtype=torch.float64)
    case = draw_case(model, "pick_up_carry", 0, 1)
    clip = case.drawn.clip
    assert not knees_together(clip.root_orient, clip.joints).any()
    side = torch.as_tensor(Rotation.from_rotvec(clip.root_orient).as_matrix()[:, :, 0])
    lat = (torch.as_tensor(clip.joints) * side[:, None]).sum(-1).numpy()  # (T, 55)
    deep = int(np.argmin(clip.joints[:, J["pelvis"], 1]))
    assert clip.joints[deep, J["pelvis"], 1] < clip.joints[0, J["pelvis"], 1] - 0.5  # squats
    assert (lat[:, J["left_knee"]] >= lat[:, J["left_hip"]] - 0.005).all()
    assert (lat[:, J["right_knee"]] <= lat[:, J["right_hip"]] + 0.005).all()
