"""``BodyModel``: both body sources through smplx's layer; joints are forward kinematics of the
rig's rest joints (what the add-on's armature reproduces); clear errors for bad model folders."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.motions import make_motion
from helpers.synthetic_smplx import write_synthetic_smplx

from anchorhoi.body import BodyModel, BodyModelConfig, axis_angle_to_matrix
from anchorhoi.portable.arrays import MotionFileError
from anchorhoi.portable.skeleton import PARENTS


def forward_kinematics(rest_joints: np.ndarray, full_pose: np.ndarray, trans: np.ndarray):
    """(T, 55, 3) joints by plain FK in numpy (rotations about each rest joint)."""
    rot = axis_angle_to_matrix(torch.as_tensor(full_pose)).numpy()
    t = len(full_pose)
    glob_r = np.zeros((t, 55, 3, 3))
    glob_p = np.zeros((t, 55, 3))
    for j in range(55):
        p = PARENTS[j]
        if p < 0:
            glob_r[:, j], glob_p[:, j] = rot[:, j], rest_joints[j]
        else:
            glob_r[:, j] = glob_r[:, p] @ rot[:, j]
            glob_p[:, j] = glob_p[:, p] + np.einsum("tij,j->ti", glob_r[:, p],
                                                    rest_joints[j] - rest_joints[p])
    return glob_p + trans[:, None]


@pytest.fixture(scope="module")
def procedural():
    return BodyModel(BodyModelConfig(), dtype=torch.float64)


def test_procedural_joints_are_fk_of_rig(procedural):
    motion = make_motion(6)
    out = procedural.forward_motion(motion)
    rig = procedural.rig(motion.betas)
    want = forward_kinematics(rig.rest_joints, motion.full_pose(), motion.trans)
    # smplx keeps some buffers in float32
    np.testing.assert_allclose(out.joints.numpy(), want, atol=1e-6)
    assert out.vertices.shape == (6, rig.num_vertices, 3)
    assert procedural.kind == "procedural"


def test_rest_pose_is_rig(procedural):
    eye = torch.eye(3, dtype=torch.float64)
    out = procedural(global_orient=eye[None], body_pose=eye.expand(1, 21, 3, 3))
    rig = procedural.rig()
    np.testing.assert_allclose(out.joints[0].numpy(), rig.rest_joints, atol=1e-6)
    np.testing.assert_allclose(out.vertices[0].numpy(), rig.rest_vertices, atol=1e-6)


def test_official_format_folder(tmp_path, procedural):
    joints = procedural.rig().rest_joints
    write_synthetic_smplx(tmp_path, joints, "FEMALE")
    body = BodyModel(BodyModelConfig(smplx_dir=tmp_path, gender="female", num_betas=16),
                     dtype=torch.float64)
    assert body.kind == "smplx" and body.faces.shape[1] == 3
    motion = make_motion(4, seed=9)
    betas = np.zeros(16)
    betas[:10] = motion.betas
    out = body.forward_motion(motion)
    want = forward_kinematics(body.rig(betas).rest_joints, motion.full_pose(), motion.trans)
    # smplx keeps some buffers in float32
    np.testing.assert_allclose(out.joints.numpy(), want, atol=1e-6)
    # beta 0 of the synthetic model stretches the body vertically: joints follow
    tall = body.rig(np.r_[2.0, np.zeros(15)]).rest_joints
    assert tall[15, 1] - tall[0, 1] == pytest.approx((joints[15, 1] - joints[0, 1]) * 1.06,
                                                     rel=1e-6)


def test_missing_and_pickle_model_files(tmp_path):
    with pytest.raises(MotionFileError, match="SMPL-X folder not found"):
        BodyModel(BodyModelConfig(smplx_dir=tmp_path / "nope"))
    with pytest.raises(MotionFileError, match="SMPLX_NEUTRAL.npz from the official"):
        BodyModel(BodyModelConfig(smplx_dir=tmp_path))
    (tmp_path / "SMPLX_MALE.pkl").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(MotionFileError, match="pickle model files are not read"):
        BodyModel(BodyModelConfig(smplx_dir=tmp_path, gender="male"))


def test_broken_model_file(tmp_path, procedural):
    from helpers.synthetic_smplx import synthetic_smplx_model

    model = synthetic_smplx_model(procedural.rig().rest_joints)
    model["weights"] = model["weights"][:100]
    np.savez(tmp_path / "SMPLX_NEUTRAL.npz", **model)
    with pytest.raises(MotionFileError, match="'weights': has 100 rows but the template has 10475"):
        BodyModel(BodyModelConfig(smplx_dir=tmp_path))
