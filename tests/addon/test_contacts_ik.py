"""Contact spans, derived foot plants and the two-bone leg IK (bpy-free)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.motions import make_motion

from addon.plan import quaternions
from addon.plan.contact_spans import (
    FOOT_HEIGHT_M,
    derive_contacts,
    lock_weights,
    spans,
)
from addon.plan.leg_ik import LegPose, chain, lock_leg, solve_two_bone
from anchorhoi.portable.contacts import CONTACT_KEYS, contacts_from_arrays, contacts_from_stage
from anchorhoi.portable.motion import MotionClip, SmplxMotion
from anchorhoi.portable.procedural_body import build_procedural_model
from anchorhoi.portable.smplx_files import rig_from_model


def test_spans_and_lock_weights():
    v = np.array([0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0])
    assert spans(v) == [(1, 2), (8, 8)]
    assert spans(np.ones(3)) == [(0, 2)] and spans(np.zeros(4)) == []
    w = lock_weights(v, blend=2)
    assert (w[[1, 2, 8]] == 1).all()
    assert 0 < w[9] < 1 and 0 < w[10] < w[9] and w[11:].max() == 0 and w[5] == 0
    assert np.array_equal(lock_weights(v, blend=0), v.astype(float))


def test_stage_contacts_and_reading():
    feet = np.zeros((5, 4))
    feet[1, 0] = 0.9  # left ankle
    feet[3, 3] = 0.7  # right toes
    feet[4, 1] = 0.3  # below one half: not planted
    hands = np.array([[0, 0], [1, 0], [1, 1], [0, 0], [0, 1]], bool)
    c = contacts_from_stage(feet, hands)
    assert list(c) == list(CONTACT_KEYS)
    assert c["contact_foot_l"].tolist() == [0, 1, 0, 0, 0]
    assert c["contact_foot_r"].tolist() == [0, 0, 0, 1, 0]
    assert c["contact_hand_r"].tolist() == [0, 0, 1, 0, 1] and c["contact_foot_l"].dtype == np.uint8
    assert contacts_from_arrays("m.npz", {}, 5) is None
    with pytest.raises(ValueError, match="'contact_foot_r': missing key"):
        contacts_from_arrays("m.npz", {"contact_foot_l": c["contact_foot_l"]}, 5)
    with pytest.raises(ValueError, match="'contact_foot_l': expected 5 values of 0 or 1"):
        contacts_from_arrays("m.npz", {**c, "contact_foot_l": np.full(5, 2)}, 5)


def test_derived_foot_plants_follow_a_lifted_foot():
    """Standing still, then the left thigh swings forward and back (frames 10–25)."""
    t = 40
    base = make_motion(t)
    body = np.zeros((t, 63))
    lift = np.sin(np.pi * np.clip((np.arange(t) - 10) / 15.0, 0, 1))
    body[:, 0] = -1.0 * lift  # left hip flexes by up to ~57°
    body[:, 9] = 1.2 * lift  # left knee bends
    motion = SmplxMotion(trans=np.tile([0.0, 1.3, 0.0], (t, 1)), root_orient=np.zeros((t, 3)),
                         pose_body=body, pose_hand=np.zeros((t, 90)), pose_jaw=np.zeros((t, 3)),
                         pose_eye=np.zeros((t, 6)), betas=base.betas, fps=30.0)
    rig = rig_from_model(build_procedural_model(), motion.betas)
    c = derive_contacts(MotionClip(motion=motion, rig=rig))
    left, right = c["contact_foot_l"], c["contact_foot_r"]
    assert right.all()  # the standing foot stays planted
    assert left[:9].all() and left[27:].all()
    assert not left[13:23].any()  # in the air (well over FOOT_HEIGHT_M or fast)
    assert FOOT_HEIGHT_M == 0.05
    assert not c["contact_hand_l"].any() and not c["contact_hand_r"].any()


def test_two_bone_ik_reaches_and_keeps_lengths():
    rng = np.random.default_rng(0)
    hip, knee, ankle = np.zeros(3), np.array([0.0, 0.05, -0.42]), np.array([0.0, 0.0, -0.83])
    reach = np.linalg.norm(knee - hip) + np.linalg.norm(ankle - knee)
    for _ in range(50):
        target = 0.8 * ankle + rng.normal(scale=0.04, size=3)
        assert np.linalg.norm(target - hip) < reach
        r1, r2, reached = solve_two_bone(hip, knee, ankle, target, np.array([0.0, -1.0, 0.0]))
        np.testing.assert_allclose(reached, target, atol=1e-9)
        for r in (r1, r2):
            np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
        new_knee = hip + r1 @ (knee - hip)
        assert np.linalg.norm(new_knee - hip) == pytest.approx(np.linalg.norm(knee - hip))
        assert np.linalg.norm(reached - new_knee) == pytest.approx(np.linalg.norm(ankle - knee))
        u = (target - hip) / np.linalg.norm(target - hip)
        def off_line(p, u=u):
            return (p - hip) - ((p - hip) @ u) * u
        assert off_line(new_knee) @ off_line(knee) > 0  # the knee bends the way it bent
    far = np.array([0.0, 0.0, -2.0])  # out of reach: the leg straightens towards it
    _, _, reached = solve_two_bone(hip, knee, ankle, far, np.array([0.0, -1.0, 0.0]))
    length = np.linalg.norm(knee - hip) + np.linalg.norm(ankle - knee)
    np.testing.assert_allclose(reached, [0.0, 0.0, -length], atol=1e-6)


def test_lock_leg_holds_the_ankle_in_its_spans():
    t = 30
    rng = np.random.default_rng(1)
    pelvis = np.tile(np.eye(4), (t, 1, 1))
    pelvis[:, :3, 3] = [0.0, 0.0, 0.9] + np.cumsum(rng.normal(scale=0.004, size=(t, 3)), 0)
    rest = np.tile(np.eye(4), (3, 1, 1))
    rest[:, :3, 3] = [[0.1, 0.0, -0.1], [0.0, 0.04, -0.4], [0.0, -0.02, -0.4]]
    angles = 0.2 + 0.05 * np.sin(np.linspace(0, 3, t))
    basis = np.tile(np.eye(4), (t, 3, 1, 1))
    basis[:, 0, :3, :3] = quaternions.to_matrix(
        np.stack([np.cos(angles / 2), np.sin(angles / 2), 0 * angles, 0 * angles], 1))
    basis[:, 1, :3, :3] = quaternions.to_matrix([np.cos(-0.3), np.sin(-0.3), 0.0, 0.0])
    leg = LegPose(pelvis=pelvis, rest=rest, basis=basis)
    planted = np.zeros(t)
    planted[8:20] = 1
    lock = lock_leg(leg, planted, blend=3, forward=np.array([0.0, -1.0, 0.0]))
    assert lock.frames.tolist() == list(range(5, 23))
    new_basis = basis.copy()
    for i, f in enumerate(lock.frames):
        for b in range(3):
            new_basis[f, b, :3, :3] = quaternions.to_matrix(lock.rotations[i, b])
    after = chain(LegPose(pelvis=pelvis, rest=rest, basis=new_basis))
    held = after[8:20, 2]
    assert np.linalg.norm(held[:, :3, 3] - held[0, :3, 3], axis=1).max() < 1e-9
    assert np.abs(held[:, :3, :3] - held[0, :3, :3]).max() < 1e-9  # the foot does not turn
    assert lock.residual_m.max() < 1e-9 and lock.correction_m.max() > 0.001
    before = chain(leg)
    np.testing.assert_array_equal(after[:5], before[:5])
