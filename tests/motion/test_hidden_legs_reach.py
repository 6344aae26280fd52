"""A reach with the legs hidden in every frame (issue 11: occlusion, contact from evidence):
reach_low-7-16 of the case family, the legs below the frame, one hand on a box on the floor,
the body bending towards the camera. Phase 1's candidates fit such frames at depths metres
apart; the chosen path must not jump between them, and an estimate whose depth drifts on the
ground must not push the box."""

from __future__ import annotations

import pytest
import torch
from helpers.family_cases import family_case

from anchorhoi.body import BodyModel
from anchorhoi.motion import MotionConfig
from anchorhoi.motion.config import ContactConfig, MotionSchedule
from anchorhoi.motion.initialize import _viterbi
from anchorhoi.oracles.motion_oracle import run_oracle_motion


def test_the_candidate_path_does_not_jump_in_depth_for_a_slightly_better_fit():
    # no foot seen: two candidates: A fits every frame at 5 m; B fits frames 10-14 a little better (by 2,
    # under the switch cost's 3 twice) but 0.75 m deeper there
    t_count = 30
    cost = torch.zeros(2, t_count, dtype=torch.float64)
    cost[0, 10:15] = 2.0
    cost[1] = 4.0
    cost[1, 10:15] = 0.0
    points = torch.zeros(2, t_count, 3, dtype=torch.float64)
    points[:, :, 2] = 5.0
    points[1, 10:15, 2] = 5.75
    assert _viterbi(cost, 3.0).tolist() == [0] * 10 + [1] * 5 + [0] * 15
    assert _viterbi(cost, 3.0, points, 75.0).tolist() == [0] * t_count
    # where the feet are seen (no jump charged into those frames) it switches as before
    footless = torch.ones(t_count, dtype=torch.bool)
    footless[8:17] = False
    assert _viterbi(cost, 3.0, points, 75.0, footless).tolist() == [0] * 10 + [1] * 5 + [0] * 15
    # a candidate path as deep as A's switches as before
    same = points.clone()
    same[1, 10:15, 2] = 5.0
    assert _viterbi(cost, 3.0, same, 75.0).tolist() == [0] * 10 + [1] * 5 + [0] * 15


@pytest.mark.slow
def test_a_reach_with_the_legs_hidden_holds_its_depth_and_does_not_push_the_box(tmp_path,
                                                                                 one_thread):
    case = family_case(tmp_path, "reach_low", 7, 16)

    def run(schedule: MotionSchedule | None = None, contact: ContactConfig | None = None):
        config = MotionConfig(schedule=schedule or MotionSchedule(),
                              contact=contact or ContactConfig())
        return run_oracle_motion(case, body=BodyModel(), config=config, seed=7, noise_px=4.0,
                                 drop=0.2).figures()

    line = run()
    assert line["contact_mode"] == "resting" and line["obj_trans_err_cm"] <= 1.0
    assert line["mpjpe_mm"] <= 80.0 and line["foot_skate_mm"] <= 5.0
    # phase 1 free to jump between candidates' depths: the path leaves the body's depth
    # (MPJPE 152 mm), the estimate drifts 0.43 m on the ground with the hands and hips...
    jumps = MotionSchedule(initial_jump_cost=0.0)
    line = run(jumps)
    assert line["mpjpe_mm"] > 100.0
    # ... and the shoulders' unchanged width in the image is what keeps the box where it is
    assert line["contact_mode"] == "resting" and line["obj_trans_err_cm"] <= 1.0
    line = run(jumps, ContactConfig(slide_min_scale_share=0.0))
    assert line["contact_mode"] == "sliding" and line["obj_trans_err_cm"] > 10.0
