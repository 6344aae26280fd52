"""numpy forward kinematics and axis-angle conversions against the body model (torch)."""

from __future__ import annotations

import numpy as np
import torch
from helpers.motions import make_motion

from anchorhoi.body import BodyModel, BodyModelConfig
from anchorhoi.portable import kinematics
from anchorhoi.portable.skeleton import PARENTS


def test_posed_joints_and_skinning_equal_the_body_model():
    body = BodyModel(BodyModelConfig(), dtype=torch.float64)
    motion = make_motion(7, seed=1)
    rig = body.rig(motion.betas)
    with torch.no_grad():
        out = body.forward_motion(motion)
    pos, rot = kinematics.posed_joints(motion.full_pose(), rig.rest_joints, PARENTS, motion.trans)
    np.testing.assert_allclose(pos, out.joints.double().numpy(), atol=1e-6)
    verts = kinematics.skinned_vertices(rot, pos, rig.rest_joints, rig.rest_vertices,
                                        rig.weights)
    np.testing.assert_allclose(verts, out.vertices.double().numpy(), atol=1e-5)


def test_axis_angle_round_trip_including_zero_and_pi():
    rng = np.random.default_rng(0)
    axes = rng.normal(size=(50, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angles = np.concatenate([[0.0, 1e-9, np.pi, np.pi - 1e-6], rng.uniform(0, np.pi, 46)])
    aa = axes * angles[:, None]
    m = kinematics.axis_angle_to_matrix(aa)
    np.testing.assert_allclose(m @ np.swapaxes(m, -1, -2), np.broadcast_to(np.eye(3), m.shape),
                               atol=1e-12)
    back = kinematics.matrix_to_axis_angle(m)
    np.testing.assert_allclose(kinematics.axis_angle_to_matrix(back), m, atol=1e-7)
    np.testing.assert_allclose(back[4:], aa[4:], atol=1e-7)
