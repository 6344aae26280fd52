"""Stage E's problem on an authored case's first frames, with the state at their true poses
(the tests of single loss terms share it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from anchorhoi.body import BodyModel, axis_angle_to_matrix, matrix_to_rot6d
from anchorhoi.body.pose import KeyPose
from anchorhoi.motion import MotionConfig
from anchorhoi.motion.objective import Problem, State, build_problem
from anchorhoi.objects.mesh_io import ObjectMesh
from anchorhoi.oracles.motion_case import load_motion_case
from anchorhoi.oracles.motion_oracle import make_keypoints


def true_pose_problem(body: BodyModel, case_dir: Path, frames: slice,
                      obj: ObjectMesh) -> tuple[Problem, State]:
    """The problem of the case's ``frames`` (noisy keypoints, the key pose at the anchor
    frame's truth, anchored at the first frame) with the object ``obj`` placed 5 m below the
    floor, and the state at the true poses: the object at the world origin, no hand holding
    it (the tests place it and decide the contacts)."""
    case = load_motion_case(case_dir)
    m = case.motion
    with torch.no_grad():
        gt = body.forward_motion(m).joints.double().numpy()
    kp, _ = make_keypoints(case, gt, np.random.default_rng(0), noise_px=4.0, drop=0.2)
    a = case.anchor_frame
    key = KeyPose(root_orient=m.root_orient[a], pose_body=m.pose_body[a],
                  pose_hand=m.pose_hand[a], trans=m.trans[a], betas=m.betas)
    problem = build_problem(
        body, keypoints=torch.as_tensor(kp[frames], dtype=torch.float32),
        camera=case.camera.to(dtype=torch.float32), key_pose=key, anchor=0, mesh=obj,
        obj_rotation=np.eye(3), obj_translation=np.array([0.0, -5.0, 0.0]), fps=m.fps,
        config=MotionConfig(), generator=torch.Generator().manual_seed(0))
    pose = axis_angle_to_matrix(torch.as_tensor(m.full_pose()[frames], dtype=torch.float32))
    t = pose.shape[0]
    state = State(root6d=matrix_to_rot6d(pose[:, 0]), body6d=matrix_to_rot6d(pose[:, 1:22]),
                  hand6d=matrix_to_rot6d(pose[:, 25:55]),
                  trans=torch.as_tensor(m.trans[frames], dtype=torch.float32),
                  obj6d=matrix_to_rot6d(torch.eye(3)).expand(t, 6).clone(),
                  obj_trans=torch.zeros(t, 3),
                  held=torch.zeros(t, 2, dtype=torch.bool))
    return problem, state
