"""Sparse linear FBX keys (addon/plan/linear_keys.py), without bpy: the kept keys of a chain,
interpolated channel by channel (FBX: linear XYZ Euler) or as normalised quaternion blends,
keep the chain's joints within the bound at every frame; the per-node tolerances of any chain
add up to at most the bound; a noisy track keeps more keys than a smooth one."""

from __future__ import annotations

import numpy as np

from addon.plan.linear_keys import euler_xyz, key_indices, local_matrices, tolerances


def _axis(angle: float, k: int) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    i, j = (k + 1) % 3, (k + 2) % 3
    m = np.eye(3)
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


def test_euler_is_fbx_xyz_order():
    deg = np.array([30.0, -50.0, 120.0])
    x, y, z = np.radians(deg)
    want = _axis(z, 2) @ _axis(y, 1) @ _axis(x, 0)
    np.testing.assert_allclose(euler_xyz(deg), want, atol=1e-12)


def test_tolerances_of_every_chain_sum_to_the_bound():
    #      0 - 1 - 2 - 3        (node 4 hangs off 1, node 5 off 4; node 0 not animated)
    parents = [-1, 0, 1, 2, 1, 4]
    animated = [False, True, True, True, True, True]
    tol = tolerances(parents, animated, 1.0)
    for leaf in (3, 5):
        chain, j = [], leaf
        while j >= 0:
            chain.append(j)
            j = parents[j]
        assert sum(tol[j] for j in chain if animated[j]) <= 1.0 + 1e-12
    assert tol[1] == 1.0 / 3


def _chain(n: int, noise: float, seed: int) -> np.ndarray:
    """(2, N, 9) channels of a two-node chain: a moving, turning parent and a swinging child
    0.5 units along its x axis."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, n)[:, None]
    ch = np.zeros((2, n, 9))
    ch[:, :, 6:] = 1.0
    ch[0, :, :3] = np.hstack([0.3 * t, 0.9 + 0.05 * np.sin(6 * t), 0 * t])
    ch[0, :, 3:6] = np.hstack([20 * np.sin(3 * t), 400 * t, 10 * t])  # past ±180° (no wrap)
    ch[1, :, 0] = 0.5
    ch[1, :, 3:6] = np.hstack([40 * np.sin(2 * np.pi * t), 0 * t, 30 * np.cos(5 * t)])
    ch[:, :, 3:6] += noise * rng.normal(size=(2, n, 3))
    return ch


def _tip(ch0: np.ndarray, ch1: np.ndarray) -> np.ndarray:
    """(N, 3) world position of a point 0.3 along the child's x axis."""
    m = local_matrices(ch0) @ local_matrices(ch1)
    return m[:, :3, :3] @ np.array([0.3, 0.0, 0.0]) + m[:, :3, 3]


def _reduce(ch: np.ndarray, bound: float) -> list[np.ndarray]:
    tol = tolerances([-1, 0], [True, True], bound)
    n = ch.shape[1]
    rel = local_matrices(ch[1])
    tip = np.array([0.3, 0.0, 0.0, 1.0])
    parent_points = np.stack([np.zeros((n, 3)), rel[:, :3, 3], (rel @ tip)[:, :3]], axis=1)
    child_points = np.broadcast_to(np.array([[0.0, 0.0, 0.0], [0.3, 0.0, 0.0]]), (n, 2, 3))
    return [key_indices(ch[0], parent_points, np.ones(n), float(tol[0])),
            key_indices(ch[1], child_points, np.ones(n), float(tol[1]))]


def test_kept_keys_hold_the_chain_within_the_bound():
    n, bound = 600, 1e-3
    ch = _chain(n, 0.0, seed=1)
    keys = _reduce(ch, bound)
    assert all(k[0] == 0 and k[-1] == n - 1 for k in keys)
    assert sum(len(k) for k in keys) < 0.3 * 2 * n
    frames = np.arange(n)
    euler = [np.stack([np.interp(frames, k, c[k, i]) for i in range(9)], axis=1)
             for c, k in zip(ch, keys)]
    err = np.linalg.norm(_tip(*euler) - _tip(*ch), axis=-1)
    assert err.max() <= bound, f"linear Euler: {err.max() * 1e3:.3f} mm"
    # the same keys read as quaternions blended linearly (Blender's importer)
    from addon.plan.pose_locals import matrix_quaternions
    blended = []
    for c, k, e in zip(ch, keys, euler):
        q = matrix_quaternions(euler_xyz(c[k, 3:6]))
        for i in range(1, len(q)):
            q[i] *= np.sign(np.dot(q[i - 1], q[i])) or 1.0
        qi = np.stack([np.interp(frames, k, q[:, i]) for i in range(4)], axis=1)
        qi /= np.linalg.norm(qi, axis=1, keepdims=True)
        w, x, y, z = qi.T
        rot = np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
                        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
                        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
                       axis=1).reshape(n, 3, 3)
        m = np.tile(np.eye(4), (n, 1, 1))
        m[:, :3, :3], m[:, :3, 3] = rot, e[:, :3]
        blended.append(m)
    world = blended[0] @ blended[1]
    got = world[:, :3, :3] @ np.array([0.3, 0.0, 0.0]) + world[:, :3, 3]
    err = np.linalg.norm(got - _tip(*ch), axis=-1)
    assert err.max() <= bound, f"quaternion blend: {err.max() * 1e3:.3f} mm"


def test_noise_keeps_more_keys():
    smooth = sum(len(k) for k in _reduce(_chain(300, 0.0, seed=2), 1e-3))
    noisy = sum(len(k) for k in _reduce(_chain(300, 0.5, seed=2), 1e-3))
    assert noisy > 2 * smooth
