"""Stage B's posture hypotheses: the rigid phase ranks standing, crouched and leaning starts by
its total, so an anchor of a crouched body keeps the crouch and a standing one stays standing;
the best heading's half turn goes on with it; the schedule refuses a malformed posture list."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from anchorhoi.anchor import FitConfig, fit_body
from anchorhoi.anchor.fit import AnchorLattice, FitSampling, FitSchedule
from anchorhoi.anchor.phases import _half_turn
from anchorhoi.anchor.stage import posed_body_field
from anchorhoi.body.pose import KeyPose, default_initial_pose
from anchorhoi.portable.skeleton import JOINT_NAMES

BODY = {name: i - 1 for i, name in enumerate(JOINT_NAMES)}  # index into pose_body's 21 joints
STANDING, CROUCH, LEAN = (0.0, 0.0, 0.0), (-1.3, 1.6, 0.0), (0.0, 0.0, 0.6)


def crouched(start: KeyPose) -> KeyPose:
    """``start`` with both hips flexed 1.2 rad and both knees 1.5 rad (about x)."""
    pose = start.pose_body.reshape(21, 3).copy()
    for side in ("left", "right"):
        pose[BODY[f"{side}_hip"], 0] = -1.2
        pose[BODY[f"{side}_knee"], 0] = 1.5
    return dataclasses.replace(start, pose_body=pose.reshape(-1))


def rigid_only(postures: tuple[tuple[float, float, float], ...]) -> FitConfig:
    """The rigid phase alone decides: one heading, one hypothesis kept, no pose steps."""
    return FitConfig(schedule=FitSchedule(rigid_iterations=10, keep_hypotheses=1, search_rounds=1,
                                          search_iterations=0, pose_iterations=0,
                                          detail_iterations=0, yaw_hypotheses_deg=(0.0,),
                                          posture_hypotheses=postures),
                     limb_search=None, lattice=AnchorLattice(resolution=32),
                     sampling=FitSampling(num_body_samples=400, num_anchor_samples=800))


def knee_flexion(pose: KeyPose) -> float:
    """Mean of the two knees' rotation about x (radians; the fit keeps it fixed here)."""
    body = pose.pose_body.reshape(21, 3)
    return float(np.mean([body[BODY["left_knee"], 0], body[BODY["right_knee"], 0]]))


@pytest.mark.parametrize("anchor_crouched", [True, False])
def test_rigid_total_picks_the_anchor_posture(body, anchor_crouched):
    start = default_initial_pose(10)
    target = crouched(start) if anchor_crouched else start
    field = posed_body_field(body, target)
    result = fit_body(body, human_density=lambda x: field.density(x).detach(), init=start,
                      config=rigid_only((STANDING, CROUCH, LEAN)),
                      generator=torch.Generator().manual_seed(0))
    knee = knee_flexion(result.key_pose)
    if anchor_crouched:
        assert knee == pytest.approx(CROUCH[1], abs=1e-3)
    else:
        assert knee == pytest.approx(0.0, abs=1e-3)


def test_schedule_refuses_malformed_postures():
    with pytest.raises(ValueError, match=r"posture_hypotheses wants one or more"):
        FitSchedule(posture_hypotheses=())
    with pytest.raises(ValueError, match=r"posture_hypotheses wants one or more"):
        FitSchedule(posture_hypotheses=((0.0, 1.0),))  # type: ignore[arg-type]


def test_the_best_headings_half_turn_goes_on_to_the_search():
    # a walking torso fits its rigid shape about as well facing back: the best heading's half
    # turn (same posture) joins the kept hypotheses; headings without one add nothing
    yaws = (0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0)
    assert _half_turn(2, yaws) == [6]  # 90° → 270°
    assert _half_turn(8 + 6, yaws) == [8 + 2]  # the second posture's 270° → its 90°
    assert _half_turn(0, (0.0, 90.0)) == []
    assert _half_turn(1, (-90.0, 90.0)) == [0]  # −90° is 270°
