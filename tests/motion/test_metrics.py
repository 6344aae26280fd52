"""Stage E's scores on hand-made examples with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from anchorhoi.motion import metrics as M


@pytest.fixture
def joints():
    rng = np.random.default_rng(0)
    return rng.normal(size=(6, 22, 3))


def test_mpjpe_of_a_shifted_copy_is_the_shift(joints):
    assert M.mpjpe(joints + [0.03, 0.0, 0.04], joints) == pytest.approx(0.05)


def test_pa_mpjpe_is_zero_for_a_scaled_rotated_shifted_copy(joints):
    rot = Rotation.from_rotvec([0.3, -1.1, 0.7]).as_matrix()
    copy = 1.7 * joints @ rot.T + [0.5, -2.0, 3.0]
    assert M.mpjpe(copy, joints) > 1.0
    assert M.pa_mpjpe(copy, joints) == pytest.approx(0.0, abs=1e-9)
    # a reflection is not a rotation: the alignment must not use it
    mirrored = joints * [-1.0, 1.0, 1.0]
    assert M.pa_mpjpe(mirrored, joints) > 0.1


def test_procrustes_alignment_minimises_the_squared_error(joints):
    noisy = joints.copy()
    noisy[:, 3] += [0.0, 0.1, 0.0]  # one joint off by 10 cm: alignment spreads, not removes it
    aligned = M.procrustes_align(noisy, joints)
    assert ((aligned - joints) ** 2).sum() < ((noisy - joints) ** 2).sum()
    assert M.pa_mpjpe(noisy, joints) == pytest.approx(0.00968, abs=1e-5)  # pinned, seed 0


def test_accel_error(joints):
    fps = 30.0
    assert M.accel_error(joints + 0.2, joints, fps) == pytest.approx(0.0, abs=1e-9)
    t = np.arange(6)[:, None, None]
    drift = joints + 0.5 * 2.0 * (t / fps) ** 2 * np.array([1.0, 0.0, 0.0])  # 2 m/s² along x
    assert M.accel_error(drift, joints, fps) == pytest.approx(2.0)


def test_foot_skating_of_a_sliding_foot():
    t = 10
    gt = np.zeros((t, 22, 3))
    gt[:, :, 1] = 0.5  # everything high above the ground ...
    gt[:, 10] = [0.1, 0.03, 0.0]  # ... but the left foot, planted 3 cm above it
    gt[:, 11] = [-0.1, 0.03, 0.0]
    gt[5:, 11, 1] = 0.20  # the right foot lifts at frame 5: out of contact from pair 4
    pred = gt.copy()
    pred[:, 10, 0] += 0.01 * np.arange(t)  # the left foot slides 1 cm per frame
    pred[:, 11, 2] += 0.02 * np.arange(t)  # the right one 2 cm per frame
    contact = M.foot_contact_pairs(gt[:, [10, 11]], 0.0, 30.0)
    assert contact[:, 0].all() and contact[:4, 1].all() and not contact[4:, 1].any()
    expected = (9 * 0.01 + 4 * 0.02) / 13
    assert M.foot_skating(pred, gt, 0.0, 30.0) == pytest.approx(expected)
    assert M.foot_skating(gt, gt, 0.0, 30.0) == 0.0
    # a foot moving fast in the ground truth is not in contact, even near the ground
    fast = gt.copy()
    fast[:, 10, 0] += 0.01 * np.arange(t)  # 0.3 m/s
    assert not M.foot_contact_pairs(fast[:, [10, 11]], 0.0, 30.0)[:, 0].any()


def test_max_penetration_inside_a_box_and_below_ground():
    box = trimesh.creation.box(extents=(1.0, 1.0, 1.0))  # centred at the origin
    verts = np.zeros((2, 3, 3))
    verts[0] = [[0.0, 0.45, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 3.0]]  # 5 cm under the top
    verts[1] = [[0.0, 0.0, 0.0], [0.0, -2.0, 0.0], [0.0, 0.0, 3.0]]
    rot = np.stack([np.eye(3), np.eye(3)])
    trans = np.array([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0]])  # the box moved away in frame 1
    inside, below = M.max_penetration(verts, box.vertices, box.faces, rot, trans,
                                      ground_y=-1.9)
    assert inside == pytest.approx(0.05)
    assert below == pytest.approx(0.1)
    # turned and shifted: the same point in the box's frame gives the same depth
    r = Rotation.from_rotvec([0.0, 0.7, 0.2]).as_matrix()
    moved = verts[:1] @ r.T + [1.0, 2.0, 3.0]
    inside, below = M.max_penetration(moved, box.vertices, box.faces, r[None],
                                      np.array([[1.0, 2.0, 3.0]]))
    assert inside == pytest.approx(0.05) and below == 0.0


def test_object_translation_error():
    gt = np.zeros((4, 3))
    pred = gt + [0.03, 0.04, 0.0]
    assert M.object_translation_error(pred, gt) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="differ in shape"):
        M.object_translation_error(pred[:3], gt)
