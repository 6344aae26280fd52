"""Phase 1 of stage E run the way the optimiser runs it, on an oracle case's noisy keypoints
(the candidate tests share it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from anchorhoi.body import BodyModel, rot6d_to_matrix
from anchorhoi.body.pose import PoseParams
from anchorhoi.motion import MotionConfig
from anchorhoi.motion.initialize import fit_candidates
from anchorhoi.motion.objective import Problem
from anchorhoi.oracles.motion_case import MotionCase
from anchorhoi.oracles.motion_oracle import oracle_inputs, oracle_problem


@dataclass(frozen=True)
class Phase1:
    """What phase 1 started each frame from, with the case's ground-truth joints."""

    problem: Problem
    params: PoseParams
    gt: np.ndarray  # (T, 55, 3)
    root6d: torch.Tensor
    trans: torch.Tensor
    body6d: torch.Tensor
    choice: torch.Tensor  # (T,) index into config.schedule.initial_poses
    names: list[str]  # the chosen candidate's name per frame

    def joints(self) -> np.ndarray:
        """(T, 55, 3) the start poses' joints."""
        t = self.trans.shape[0]
        rot = torch.cat([rot6d_to_matrix(self.root6d)[:, None], rot6d_to_matrix(self.body6d),
                         torch.eye(3).expand(t, 3, 3, 3),
                         rot6d_to_matrix(self.params.hand[0]).expand(t, 30, 3, 3)], 1)
        with torch.no_grad():
            return self.problem.kin(rot, self.trans).joints.double().numpy()


def phase1(case: MotionCase, seed: int = 0, config: MotionConfig = MotionConfig()) -> Phase1:
    """Phase 1 on ``case`` seen through the oracle's keypoints (4 px noise, 20 % dropped,
    drawn from ``seed`` like the bench)."""
    body = BodyModel()
    given = oracle_inputs(case, body=body, seed=seed)
    gt, key, a = given.gt_joints, given.key_pose, case.anchor_frame
    problem = oracle_problem(case, given, body=body, config=config, seed=seed)
    params = key.to_params(device=problem.keypoints.device, dtype=problem.keypoints.dtype)
    root6d, trans, body6d, choice = fit_candidates(
        problem.kin, problem.keypoints, problem.camera, params, problem.key_joints, a,
        problem.fps, problem.ground_y, config, plants=problem.plants,
        supports=problem.supports, soles=problem.soles, seat=(problem.sdf, problem.obj_anchor),
        hands_busy=problem.held_in_air)
    names = list(config.schedule.initial_poses)
    return Phase1(problem=problem, params=params, gt=gt, root6d=root6d, trans=trans,
                  body6d=body6d, choice=choice, names=[names[int(c)] for c in choice])
