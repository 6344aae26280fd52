"""Quaternions at the Blender boundary: the add-on's helpers (addon/plan/quaternions.py) and the
sign continuity shared with the backend (portable/quaternions.py)."""

from __future__ import annotations

import numpy as np

from addon.plan import quaternions
from addon.portable.quaternions import make_continuous


def test_sign_continuity_flips_into_the_previous_hemisphere():
    q = np.array([[1.0, 0, 0, 0], [-0.9, -0.1, 0, 0], [0.8, 0.2, 0, 0], [-0.7, -0.3, 0, 0]])
    before = q.copy()
    out = make_continuous(q)
    np.testing.assert_array_equal(out, np.abs(q))  # every one in the first one's hemisphere
    np.testing.assert_array_equal(q, before)  # the input is left alone
    assert np.all(np.sum(out[1:] * out[:-1], axis=-1) >= 0)
    first_negative = make_continuous(-q)
    np.testing.assert_array_equal(first_negative, -np.abs(q))  # the first one keeps its sign


def test_sign_continuity_along_any_axis_of_a_batch():
    rng = np.random.default_rng(3)
    q = rng.normal(size=(55, 30, 4)) * rng.choice([-1.0, 1.0], size=(55, 30, 1))
    out = make_continuous(q, axis=1)  # (bones, frames, 4): time is axis 1
    assert np.all(np.sum(out[:, 1:] * out[:, :-1], axis=-1) >= 0)
    np.testing.assert_array_equal(np.abs(out), np.abs(q))  # only signs change
    np.testing.assert_array_equal(out[:, 0], q[:, 0])
    np.testing.assert_array_equal(make_continuous(q[:1], axis=0), q[:1])  # one frame: as is


def test_quaternion_helpers_agree_with_each_other():
    rng = np.random.default_rng(5)
    aa = rng.normal(size=(20, 3))
    q = quaternions.from_axis_angle(aa)
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0)
    m = quaternions.to_matrix(q)
    np.testing.assert_allclose(m @ np.swapaxes(m, -1, -2), np.broadcast_to(np.eye(3), m.shape),
                               atol=1e-12)
    for qi, mi in zip(q, m):
        back = quaternions.from_matrix(mi)
        np.testing.assert_allclose(back, qi if qi[0] >= 0 else -qi, atol=1e-12)
    # the product composes rotations as the matrices do
    np.testing.assert_allclose(quaternions.to_matrix(quaternions.multiply(q[:10], q[10:])),
                               m[:10] @ m[10:], atol=1e-12)
    np.testing.assert_array_equal(quaternions.from_axis_angle(np.zeros(3)), [1.0, 0, 0, 0])
