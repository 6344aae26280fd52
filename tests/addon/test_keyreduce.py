"""Error-bounded key reduction (addon/plan/keyreduce.py), without bpy.

Errors are checked at every input frame through ``fcurve_eval.evaluate`` (the float32-faithful
re-implementation of Blender's F-curve evaluation; tests/addon/test_keyreduce_blender.py checks it
against Blender itself) with an angle/distance computed here independently of the module.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers.quaternion_checks import axis_angle_to_quat, rotation_angle_deg

from addon.plan import keyreduce
from addon.plan.bezier_keys import HANDLE_TYPE, INTERPOLATION, BezierKeys
from addon.plan.fcurve_eval import evaluate

FPS = 30.0


# --- helpers -----------------------------------------------------------------------------------


def smooth_quaternions(n: int = 120) -> np.ndarray:
    t = np.arange(n) / FPS
    aa = np.stack(
        [
            0.6 * np.sin(2 * np.pi * 0.3 * t) + 0.2,
            0.4 * np.sin(2 * np.pi * 0.5 * t + 1.0),
            0.3 * np.cos(2 * np.pi * 0.4 * t),
        ],
        axis=1,
    )
    return axis_angle_to_quat(aa)


def smooth_location(n: int = 120) -> np.ndarray:
    """A walk forward with sway and a vertical bob, metres."""
    t = np.arange(n) / FPS
    return np.stack(
        [0.8 * t, 0.3 * np.sin(2 * np.pi * 0.5 * t), 0.9 + 0.05 * np.sin(2 * np.pi * 1.0 * t)],
        axis=1,
    )


def random_motion(rng: np.random.Generator, n: int, amplitude: float = 0.6) -> np.ndarray:
    """(n, 3) sum of four random sinusoids (0.1–1.5 Hz at 30 fps) plus an offset."""
    t = np.arange(n) / FPS
    out = np.zeros((n, 3))
    for _ in range(4):
        freq = rng.uniform(0.1, 1.5)
        phase = rng.uniform(0, 2 * np.pi, 3)
        amp = rng.normal(0, amplitude / 4, 3)
        out += amp * np.sin(2 * np.pi * freq * t[:, None] + phase)
    return out + rng.normal(0, 0.5, 3)


def assert_valid_keys(keys, frames: np.ndarray, channels: int) -> None:
    """Structure every result must have: shared whole key frames from the input, ends kept,
    handles a third of the neighbouring interval away and on one line through the key (C1)."""
    k = keys.num_keys
    assert keys.frames.shape == (k,) and keys.frames.dtype == np.float64
    assert keys.values.shape == (k, channels)
    assert keys.left_handles.shape == keys.right_handles.shape == (k, channels, 2)
    assert np.all(np.isin(keys.frames, frames))
    assert keys.frames[0] == frames[0] and keys.frames[-1] == frames[-1]
    assert np.all(np.diff(keys.frames) > 0)
    if k >= 2:
        gaps = np.diff(keys.frames)[:, None] / 3
        right_x = np.broadcast_to(keys.frames[:-1, None] + gaps, (k - 1, channels))
        left_x = np.broadcast_to(keys.frames[1:, None] - gaps, (k - 1, channels))
        np.testing.assert_allclose(keys.right_handles[:-1, :, 0], right_x)
        np.testing.assert_allclose(keys.left_handles[1:, :, 0], left_x)
    # C1: left handle, key and right handle are collinear (the same slope on both sides).
    x = keys.frames[:, None]
    left = (keys.values - keys.left_handles[..., 1]) / (x - keys.left_handles[..., 0])
    right = (keys.right_handles[..., 1] - keys.values) / (keys.right_handles[..., 0] - x)
    np.testing.assert_allclose(left, right, rtol=1e-9, atol=1e-12)


def quaternion_error(keys, frames, quats) -> np.ndarray:
    return rotation_angle_deg(evaluate(keys, frames), quats)


def vector_error(keys, frames, values) -> np.ndarray:
    return np.linalg.norm(evaluate(keys, frames) - values, axis=1)


def test_handle_type_is_one_blender_leaves_alone():
    assert HANDLE_TYPE == "FREE"
    assert INTERPOLATION == "BEZIER"


# --- smooth motion ------------------------------------------------------------------------------


def test_smooth_quaternion_within_tolerance_and_reduced():
    frames = np.arange(1, 121)
    quats = smooth_quaternions()
    keys = keyreduce.reduce_quaternion(frames, quats)  # default 0.5°
    assert_valid_keys(keys, frames, 4)
    assert quaternion_error(keys, frames, quats).max() <= 0.5
    assert len(frames) / keys.num_keys >= 5
    assert keys.num_keys == 7
    np.testing.assert_array_equal(keys.frames, [1, 15, 37, 66, 86, 97, 120])


def test_smooth_location_within_tolerance_and_reduced():
    frames = np.arange(1, 121)
    loc = smooth_location()
    keys = keyreduce.reduce_vector(frames, loc)  # default 1 mm
    assert_valid_keys(keys, frames, 3)
    assert vector_error(keys, frames, loc).max() <= 1e-3
    assert len(frames) / keys.num_keys >= 5
    assert keys.num_keys == 15


def test_key_values_are_the_samples():
    frames = np.arange(1, 121)
    loc = smooth_location()
    keys = keyreduce.reduce_vector(frames, loc)
    np.testing.assert_array_equal(keys.values, loc[np.searchsorted(frames, keys.frames)])


def test_least_squares_slopes_need_fewer_keys_than_central_differences():
    frames = np.arange(1, 121)
    quats, loc = smooth_quaternions(), smooth_location()
    central_q = keyreduce.reduce_quaternion(frames, quats, tangents="central")
    central_v = keyreduce.reduce_vector(frames, loc, tangents="central")
    assert quaternion_error(central_q, frames, quats).max() <= 0.5
    assert vector_error(central_v, frames, loc).max() <= 1e-3
    assert (central_q.num_keys, central_v.num_keys) == (13, 22)
    assert keyreduce.reduce_quaternion(frames, quats).num_keys < central_q.num_keys
    assert keyreduce.reduce_vector(frames, loc).num_keys < central_v.num_keys


@pytest.mark.parametrize("tolerance_deg", [0.05, 0.5, 2.0])
def test_quaternion_tolerance_is_respected(tolerance_deg):
    frames = np.arange(1, 121)
    quats = smooth_quaternions()
    keys = keyreduce.reduce_quaternion(frames, quats, tolerance_deg)
    assert quaternion_error(keys, frames, quats).max() <= tolerance_deg


def test_tighter_tolerance_gives_more_keys():
    frames = np.arange(1, 121)
    loc = smooth_location()
    counts = [keyreduce.reduce_vector(frames, loc, tol).num_keys for tol in (1e-2, 1e-3, 1e-4)]
    assert counts[0] < counts[1] < counts[2]


# --- noisy, jerky and irregular input ---------------------------------------------------------


def test_noisy_jerky_quaternions_within_tolerance():
    rng = np.random.default_rng(3)
    n = 240
    aa = random_motion(rng, n) + rng.normal(0, 0.02, (n, 3))  # ~1° noise: above tolerance
    aa[100:] += [0.5, -0.3, 0.2]  # a sudden ~35° jump
    aa[170:175] += rng.normal(0, 0.3, (5, 3))  # a few wild frames
    frames = np.arange(n)
    quats = axis_angle_to_quat(aa)
    keys = keyreduce.reduce_quaternion(frames, quats)
    assert_valid_keys(keys, frames, 4)
    assert quaternion_error(keys, frames, quats).max() <= 0.5
    assert keys.num_keys <= n


def test_noisy_jerky_location_within_tolerance():
    rng = np.random.default_rng(4)
    n = 240
    loc = np.cumsum(rng.normal(0, 0.005, (n, 3)), axis=0)  # random walk, 5 mm steps
    loc[50:] += [1.0, 0.0, 0.0]  # teleport by a metre
    frames = np.arange(n)
    keys = keyreduce.reduce_vector(frames, loc)
    assert_valid_keys(keys, frames, 3)
    assert vector_error(keys, frames, loc).max() <= 1e-3


def test_noisy_input_does_not_swing_between_frames():
    # Only whole frames are constrained; the slope prior keeps the least-squares slopes from
    # buying a fit on them with swings in between (seen when retiming or with motion blur).
    rng = np.random.default_rng(10)
    n = 600
    frames = np.arange(n)
    quats = axis_angle_to_quat(random_motion(rng, n) + rng.normal(0, 0.02, (n, 3)))  # ~1° noise
    keys = keyreduce.reduce_quaternion(frames, quats)
    assert quaternion_error(keys, frames, quats).max() <= 0.5
    halfway = evaluate(keys, frames[:-1] + 0.5)
    assert rotation_angle_deg(halfway, quats[:-1] + quats[1:]).max() < 1.5


def test_white_noise_keeps_nearly_every_frame():
    rng = np.random.default_rng(5)
    frames = np.arange(100)
    values = rng.normal(0, 1.0, (100, 2))
    keys = keyreduce.reduce_vector(frames, values, 1e-3)
    assert vector_error(keys, frames, values).max() <= 1e-3
    assert keys.num_keys >= 90


def test_irregular_frames():
    rng = np.random.default_rng(6)
    frames = np.sort(rng.choice(np.arange(-200, 400), 150, replace=False))
    t = frames / FPS
    quats = axis_angle_to_quat(np.stack([np.sin(t), 0.5 * np.cos(0.7 * t), 0.2 * t], axis=1))
    loc = np.stack([np.sin(t), t, np.cos(2 * t)], axis=1)
    kq = keyreduce.reduce_quaternion(frames, quats)
    kv = keyreduce.reduce_vector(frames, loc)
    assert_valid_keys(kq, frames, 4)
    assert_valid_keys(kv, frames, 3)
    assert quaternion_error(kq, frames, quats).max() <= 0.5
    assert vector_error(kv, frames, loc).max() <= 1e-3


def test_large_frame_numbers():
    frames = np.arange(100_000, 100_600)
    loc = smooth_location(600)
    keys = keyreduce.reduce_vector(frames, loc)
    assert vector_error(keys, frames, loc).max() <= 1e-3


# --- quaternion signs and lengths ----------------------------------------------------------------


def test_sign_flipped_quaternions():
    frames = np.arange(1, 121)
    quats = smooth_quaternions()
    flipped = quats * np.where(np.arange(120) % 2 == 0, 1.0, -1.0)[:, None]  # q, -q, q, -q ...
    reference = keyreduce.reduce_quaternion(frames, quats)
    keys = keyreduce.reduce_quaternion(frames, flipped)
    assert quaternion_error(keys, frames, flipped).max() <= 0.5
    np.testing.assert_array_equal(keys.frames, reference.frames)
    np.testing.assert_allclose(keys.values, reference.values, atol=1e-12)
    # Keys are sign-continuous, so the curves do not swing through the other hemisphere.
    assert np.all(np.sum(keys.values[1:] * keys.values[:-1], axis=1) > 0)


def test_randomly_flipped_and_scaled_quaternions():
    rng = np.random.default_rng(8)
    frames = np.arange(1, 121)
    quats = smooth_quaternions()
    messy = quats * rng.choice([-1.0, 1.0], 120)[:, None] * rng.uniform(0.5, 3.0, 120)[:, None]
    messy[0] = quats[0]  # the first key keeps the input's sign
    keys = keyreduce.reduce_quaternion(frames, messy)
    reference = keyreduce.reduce_quaternion(frames, quats)
    assert quaternion_error(keys, frames, messy).max() <= 0.5
    np.testing.assert_array_equal(keys.frames, reference.frames)
    np.testing.assert_allclose(keys.values, reference.values, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(keys.values, axis=1), 1.0)


# --- degenerate input ----------------------------------------------------------------------------


def test_constant_channels_give_two_flat_keys():
    frames = np.arange(1, 121)
    q = np.tile([0.5, 0.5, -0.5, 0.5], (120, 1))
    q[1::3] *= -1.0  # the same rotation
    kq = keyreduce.reduce_quaternion(frames, q)
    kv = keyreduce.reduce_vector(frames, np.tile([1.0, -2.0, 0.25], (120, 1)))
    for keys in (kq, kv):
        assert keys.num_keys == 2
        np.testing.assert_array_equal(keys.frames, [1, 120])
        np.testing.assert_allclose(keys.left_handles[..., 1], keys.values, atol=1e-12)
        np.testing.assert_allclose(keys.right_handles[..., 1], keys.values, atol=1e-12)
    assert quaternion_error(kq, frames, q).max() <= 1e-4


def test_straight_line_gives_two_keys():
    frames = np.arange(1, 121)
    loc = np.outer(frames, [0.01, -0.02, 0.005]) + [1.0, 2.0, 3.0]
    keys = keyreduce.reduce_vector(frames, loc)
    assert keys.num_keys == 2
    assert vector_error(keys, frames, loc).max() <= 1e-6


def test_two_frames():
    frames = np.array([10, 11])
    loc = np.array([[0.0, 1.0, 2.0], [0.5, 1.0, 1.0]])
    keys = keyreduce.reduce_vector(frames, loc)
    assert_valid_keys(keys, frames, 3)
    assert keys.num_keys == 2
    np.testing.assert_allclose(evaluate(keys, frames), loc, atol=1e-7)
    quats = axis_angle_to_quat(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 2.0]]))
    kq = keyreduce.reduce_quaternion(frames, quats)
    assert kq.num_keys == 2
    assert quaternion_error(kq, frames, quats).max() <= 1e-4


def test_one_frame():
    keys = keyreduce.reduce_vector([7], [[1.0, 2.0]])
    assert keys.num_keys == 1
    np.testing.assert_array_equal(keys.frames, [7.0])
    np.testing.assert_array_equal(keys.values, [[1.0, 2.0]])
    np.testing.assert_allclose(keys.left_handles, [[[7 - 1 / 3, 1.0], [7 - 1 / 3, 2.0]]])
    np.testing.assert_allclose(keys.right_handles, [[[7 + 1 / 3, 1.0], [7 + 1 / 3, 2.0]]])
    np.testing.assert_allclose(evaluate(keys, [6.0, 7.0, 8.5]), [[1.0, 2.0]] * 3)
    kq = keyreduce.reduce_quaternion([3], [[0.0, 0.0, 0.0, -2.0]])
    np.testing.assert_array_equal(kq.values, [[0.0, 0.0, 0.0, -1.0]])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: keyreduce.reduce_vector([0, 1.5], [[0.0], [1.0]]), "whole frame"),
        (lambda: keyreduce.reduce_vector([0, 2, 1], [[0.0], [1.0], [2.0]]), "strictly increasing"),
        (lambda: keyreduce.reduce_vector([0, 0], [[0.0], [1.0]]), "strictly increasing"),
        (lambda: keyreduce.reduce_vector([0, 1], [[0.0], [1.0], [2.0]]), "shape"),
        (lambda: keyreduce.reduce_vector([], np.zeros((0, 3))), "shape"),
        (lambda: keyreduce.reduce_vector([0, 1], [[0.0], [np.nan]]), "NaN"),
        (lambda: keyreduce.reduce_vector([0, 1], [[0.0], [1.0]], 0.0), "positive"),
        (lambda: keyreduce.reduce_vector([0, 1], [[0.0], [1.0]], tangents="auto"), "tangents"),
        (lambda: keyreduce.reduce_quaternion([0, 1], [[1.0, 0, 0, 0], [0, 0, 0, 0]]),
         "zero quaternion"),
        (lambda: keyreduce.reduce_quaternion([0, 1], [[1.0, 0, 0], [1.0, 0, 0]]), "w, x, y, z"),
        (lambda: keyreduce.reduce_quaternion([0, 1], np.ones((2, 4)), -1.0), "positive"),
    ],
)
def test_bad_input_gives_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- evaluate: Blender's Bézier segment evaluation ----------------------------------------------


def one_channel_keys(frames, values, left, right):
    return BezierKeys(
        frames=np.asarray(frames, dtype=np.float64),
        values=np.asarray(values, dtype=np.float64)[:, None],
        left_handles=np.asarray(left, dtype=np.float64)[:, None, :],
        right_handles=np.asarray(right, dtype=np.float64)[:, None, :],
    )


def bezier_reference(p0, p1, p2, p3, frame):
    """Float64 reference: solve x(u) = frame by bisection (x monotonic), return y(u)."""

    def point(u, axis):
        w = ((1 - u) ** 3, 3 * u * (1 - u) ** 2, 3 * u * u * (1 - u), u**3)
        return sum(wi * p[axis] for wi, p in zip(w, (p0, p1, p2, p3)))

    lo, hi = 0.0, 1.0
    for _ in range(80):
        u = (lo + hi) / 2
        lo, hi = (u, hi) if point(u, 0) < frame else (lo, u)
    return point((lo + hi) / 2, 1)


def test_evaluate_matches_a_float64_bezier_for_free_handles():
    rng = np.random.default_rng(9)
    for _ in range(20):
        x0, x3 = 10.0, 10.0 + rng.integers(1, 40)
        length = x3 - x0
        p0 = (x0, rng.normal())
        p3 = (x3, rng.normal())
        p1 = (x0 + rng.uniform(0, 1) * length, rng.normal())  # any length within the segment
        p2 = (x3 - rng.uniform(0, 1) * length, rng.normal())
        keys = one_channel_keys(
            [x0, x3], [p0[1], p3[1]], [(x0 - 1, p0[1]), p2], [p1, (x3 + 1, p3[1])]
        )
        for frame in rng.uniform(x0, x3, 10):
            got = evaluate(keys, [frame])[0, 0]
            assert got == pytest.approx(bezier_reference(p0, p1, p2, p3, frame), abs=2e-5)


def test_evaluate_extrapolates_constant_and_hits_keys():
    keys = one_channel_keys([0, 10], [1.0, 3.0], [(-3, 0.0), (7, 3.0)], [(3, 2.0), (13, 9.0)])
    got = evaluate(keys, [-5.0, 0.0, 10.0, 25.0])[:, 0]
    np.testing.assert_array_equal(got, [1.0, 1.0, 3.0, 3.0])


def test_evaluate_straight_handles_give_a_straight_line():
    keys = one_channel_keys([0, 9], [0.0, 0.9], [(-3, -0.3), (6, 0.6)], [(3, 0.3), (12, 1.2)])
    frames = np.linspace(0, 9, 37)
    np.testing.assert_allclose(evaluate(keys, frames)[:, 0], frames / 10, atol=1e-6)


def test_evaluate_snaps_to_a_key_within_blenders_search_threshold():
    keys = one_channel_keys([0, 10], [0.0, 1.0], [(-3, -1.0), (7, 2.0)], [(3, 1.0), (13, 0.0)])
    near, off = evaluate(keys, [10 - 5e-5, 10 - 5e-3])[:, 0]
    assert near == np.float32(1.0)
    assert off != np.float32(1.0)


def test_evaluate_clamps_handles_longer_than_the_segment():
    # A right handle reaching 30 frames into a 10-frame segment is scaled back onto the next key's
    # frame (BKE_fcurve_correct_bezpart): the same curve as writing the clamped handle directly.
    long = one_channel_keys([0, 10], [0.0, 1.0], [(-1, 0.0), (7, 1.0)], [(30, 3.0), (11, 1.0)])
    clamped = one_channel_keys([0, 10], [0.0, 1.0], [(-1, 0.0), (7, 1.0)], [(10, 1.0), (11, 1.0)])
    frames = np.linspace(0.1, 9.9, 50)
    np.testing.assert_array_equal(evaluate(long, frames), evaluate(clamped, frames))
    expected = [bezier_reference((0, 0), (10, 1), (7, 1), (10, 1), f) for f in frames]
    np.testing.assert_allclose(evaluate(long, frames)[:, 0], expected, atol=2e-5)


def test_evaluate_flat_segment_is_exactly_flat():
    keys = one_channel_keys([0, 10], [0.3, 0.3], [(-1, 0.3), (7, 0.3)], [(3, 0.3), (11, 0.3)])
    got = evaluate(keys, np.linspace(0, 10, 21))[:, 0]
    np.testing.assert_array_equal(got, np.float32(0.3))


def test_bezier_keys_check_shapes():
    with pytest.raises(ValueError, match="left_handles"):
        BezierKeys(
            frames=np.zeros(2), values=np.zeros((2, 3)),
            left_handles=np.zeros((2, 3)), right_handles=np.zeros((2, 3, 2)),
        )
    with pytest.raises(ValueError, match="strictly increasing"):
        one_channel_keys([1, 1], [0, 0], [(0, 0), (0, 0)], [(2, 0), (2, 0)])


# --- how few keys, at the tolerance ------------------------------------------------------------


def test_fitted_tangents_need_fewer_keys_than_central_ones():
    rng = np.random.default_rng(7)
    frames = np.arange(300)
    quats = axis_angle_to_quat(random_motion(rng, 300))
    loc = random_motion(rng, 300, amplitude=0.5)
    q_fit = keyreduce.reduce_quaternion(frames, quats)
    q_central = keyreduce.reduce_quaternion(frames, quats, tangents="central")
    v_fit = keyreduce.reduce_vector(frames, loc)
    v_central = keyreduce.reduce_vector(frames, loc, tangents="central")
    # the least-squares tangents are what makes the keys sparse: never more than central ones,
    # and a smooth motion needs a key every few frames at most
    assert q_fit.num_keys <= q_central.num_keys and v_fit.num_keys <= v_central.num_keys
    assert q_fit.num_keys <= len(frames) // 5 and v_fit.num_keys <= len(frames) // 3
    for keys in (q_fit, q_central):
        assert quaternion_error(keys, frames, quats).max() <= 0.5


def test_55_bones_of_3000_frames():
    frames = np.arange(3000)
    bones = [
        axis_angle_to_quat(random_motion(np.random.default_rng(bone), 3000)) for bone in range(55)
    ]
    keys = [keyreduce.reduce_quaternion(frames, q) for q in bones]  # speed: bench/import_speed.py
    total = sum(k.num_keys for k in keys)
    assert total <= 55 * 3000 // 5  # several times fewer keys than frames
    for k, q in zip(keys, bones):
        assert quaternion_error(k, frames, q).max() <= 0.5
