"""A load in both hands, end to end on cases drawn from the family: a box lifted overhead rides
between the palms wherever the hands point, and a box picked up by hands the camera does not
see in depth rests, before the pick-up, where the body's own frames put it
(``optimize._fit_resting`` from several starts along the camera ray)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.family_cases import family_case

from anchorhoi.body import BodyModel
from anchorhoi.motion import MotionConfig
from anchorhoi.motion.config import ContactConfig, RestingObjectConfig
from anchorhoi.oracles.motion_case import load_motion_case
from anchorhoi.oracles.motion_oracle import run_oracle_motion

FAMILY = Path(__file__).resolve().parents[2] / "bench" / "cases" / "family" / "motion"
CASES = Path(__file__).resolve().parent / "cases"
"""Cases kept as they were drawn (the family's draws change with its generator)."""


@pytest.mark.slow
def test_a_box_lifted_overhead_rides_between_the_palms(tmp_path, one_thread):
    """lift_overhead-5-10: captured overhead, the grip frame of the wrists carried the box
    6.4 cm off on average (9 cm at the chest: lower and nearer the body than between the
    palms). Between the palms it was 3.8-4.4 cm off; with the noise-aware stillness
    (``contact.still_noise_sigmas``) it ends 5.4 cm off, over issue 11's 5 cm target (a
    known miss): the bound here is the wrists' grip's failure."""
    case = family_case(tmp_path, "lift_overhead", 5, 10)
    line = run_oracle_motion(case, body=BodyModel(), config=MotionConfig(), seed=5,
                             noise_px=4.0, drop=0.2).figures()
    assert line["contact_mode"] == "held"
    assert line["obj_trans_err_cm"] <= 6.0
    assert line["mpjpe_mm"] <= 80.0 and line["max_penetration_mm"] <= 10.0


@pytest.mark.slow
def test_a_lift_seen_from_the_side_with_the_far_hand_hidden_keeps_the_box_between_them(
        one_thread):
    """lift_overhead-0-05 (the shipped family): the camera sees the lift from the side; the
    far wrist is hidden in every frame, the legs and the torso keep still. The hidden hand
    was held still (the body's stillness) while the seen one rose, and both swung sideways
    along the camera's rays with the box between them (7.5 cm off on average, 20 cm mid-lift);
    an unseen joint is not held still now, and the grip keeps its side of the hips."""
    case = load_motion_case(FAMILY / "lift_overhead-0-05")
    line = run_oracle_motion(case, body=BodyModel(), config=MotionConfig(), seed=0,
                             noise_px=4.0, drop=0.2).figures()
    assert line["contact_mode"] == "held"
    assert line["obj_trans_err_cm"] <= 5.0
    assert line["mpjpe_mm"] <= 80.0 and line["pa_mpjpe_mm"] <= 50.0


@pytest.mark.slow
def test_a_box_picked_up_along_the_camera_ray_rests_where_the_body_leaves_room(one_thread):
    """pick_up_carry-5-12, seen from the front: the hands take the box reaching along the
    camera ray, and where they left it, the fit from there stopped with the legs inside the
    box (penetration 48 mm, box 11 cm off). From 30 cm nearer the camera the fit ends with a
    loss 25 times lower; with that start alone (``ray_starts_m`` empty) the old failure comes
    back. Over the whole clip the box was 3.4 cm off; with the noise-aware stillness
    (``contact.still_noise_sigmas``) the carry ends 6.7 cm off, over issue 11's 5 cm target
    (a known miss): the bound here is the old failure's 11 cm. The case is kept as the family
    drew it before its knee fix (``cases/``; its squat crosses the knees): drawn again,
    pick_up_carry-5-12 no longer reaches along the ray."""
    case = load_motion_case(CASES / "pick_up_carry-5-12")
    lines = {}
    for name, starts in (("rays", RestingObjectConfig().ray_starts_m), ("hands", ())):
        config = MotionConfig(resting=RestingObjectConfig(ray_starts_m=starts))
        report = run_oracle_motion(case, body=BodyModel(), config=config, seed=5,
                                   noise_px=4.0, drop=0.2)
        held = report.result.hand_contact.any(1)
        first = int(np.flatnonzero(held)[0])
        before = np.linalg.norm(report.result.obj_trans[:first] - case.obj_trans[:first], axis=1)
        lines[name] = (report.figures(), float(before.max()))
    line, before = lines["rays"]
    assert line["contact_mode"] == "held"
    assert before <= 0.05 and line["obj_trans_err_cm"] <= 8.0
    assert line["max_penetration_mm"] <= 10.0
    assert lines["hands"][1] > 0.05


@pytest.mark.slow
def test_a_box_picked_up_from_the_floor_is_held_from_where_the_hands_keep_still_on_it(
        one_thread):
    """pick_up_carry-0-17 (the shipped family): the body squats, its hands come down onto the
    box and keep still on it, then lift it. The held frames grow from the anchor while the
    box is in the air, so they begin only where the estimate's box reaches the floor, after
    the truth's lift began. The hands hold it from where they kept still on it
    (``contact.grasp_frames``): it rests there attached to their grip, which sets their depth
    by its place on the floor. The box before the lift comes nearer the truth and the body
    with it than with the hands holding it only while it is carried."""
    case = load_motion_case(FAMILY / "pick_up_carry-0-17")
    moved = np.linalg.norm(case.obj_trans - case.obj_trans[0], axis=1) > 0.005
    lift = int(np.flatnonzero(moved)[0])
    lines = {}
    for gap in (ContactConfig().grasp_max_gap_frames, 0):
        config = MotionConfig(contact=ContactConfig(grasp_max_gap_frames=gap))
        report = run_oracle_motion(case, body=BodyModel(), config=config, seed=0)
        held = report.result.hand_contact.any(1)
        before = np.linalg.norm(report.result.obj_trans[:lift] - case.obj_trans[:lift], axis=1)
        lines[gap] = (report.figures(), int(np.flatnonzero(held)[0]), float(before.mean()))
    (line, first, before), (_, first_off, before_off) = lines.values()
    assert line["contact_mode"] == "held"
    assert lift - 12 <= first < lift < first_off
    assert before < before_off - 0.01
    assert line["mpjpe_mm"] <= lines[0][0]["mpjpe_mm"]
