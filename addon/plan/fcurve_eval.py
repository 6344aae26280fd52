"""Blender's own F-curve evaluation of Bézier keys, re-implemented in numpy.

``evaluate`` gives, frame by frame, the numbers Blender computes for keys written as
:class:`BezierKeys`, with Blender's float32 storage and arithmetic: the key reduction checks
its result against it, and tests/addon/test_keyreduce_blender.py checks it against Blender.
"""

from __future__ import annotations

import numpy as np

from .bezier_keys import BezierKeys


def evaluate(keys: BezierKeys, frames: np.ndarray) -> np.ndarray:
    """(N, C) values of the keys' F-curves at ``frames``, exactly as Blender evaluates them.

    A re-implementation of ``fcurve_eval_keyframes`` (Blender 5.0, ``blenkernel/fcurve.cc``) for
    Bézier keys with FREE/ALIGNED handles, constant extrapolation (the F-curve default) and no
    modifiers, with Blender's float32 storage and arithmetic: key search with a 1e-4 frame
    threshold, the flat-segment shortcut, ``BKE_fcurve_correct_bezpart`` (handles clamped to
    the segment's length), ``findzero`` (the Bézier parameter of the frame from the cubic in x,
    solved in double) and ``berekeny`` (the cubic in y). Where ``findzero`` finds no root Blender
    returns 0.0, and so does this.
    """
    t = np.asarray(frames, dtype=np.float64)
    if t.ndim != 1:
        raise ValueError(f"frames must have shape (N,), got {t.shape}")
    t = t.astype(np.float32)
    x = np.asarray(keys.frames, dtype=np.float32)
    y = np.asarray(keys.values, dtype=np.float32)
    left = np.asarray(keys.left_handles, dtype=np.float32)
    right = np.asarray(keys.right_handles, dtype=np.float32)
    n, c = len(t), y.shape[1]
    out = np.zeros((n, c), dtype=np.float32)

    # 1. Extrapolation (constant): at or before the first key, at or after the last.
    before = t <= x[0]
    after = ~before & (t >= x[-1])
    out[before] = y[0]
    out[after] = y[-1]
    inner = np.flatnonzero(~(before | after))
    if inner.size == 0:
        return out.astype(np.float64)
    ti = t[inner]

    # 2. Binary search with threshold: within 1e-4 of a key → that key's value.
    nxt = np.searchsorted(x, ti, side="left")  # index of the first key after the frame
    prv = nxt - 1
    threshold = np.float32(1e-4)
    near_prev = (ti - x[prv]) <= threshold
    near_next = (x[nxt] - ti) <= threshold
    out[inner[near_prev]] = y[prv[near_prev]]
    exact = near_prev | near_next
    out[inner[near_next & ~near_prev]] = y[nxt[near_next & ~near_prev]]
    keep = ~exact
    inner, ti, prv, nxt = inner[keep], ti[keep], prv[keep], nxt[keep]
    if inner.size == 0:
        return out.astype(np.float64)

    # 3. A segment of zero duration holds the previous key's value.
    zero = (x[nxt] - x[prv]) == 0
    out[inner[zero]] = y[prv[zero]]
    keep = ~zero
    inner, ti, prv, nxt = inner[keep], ti[keep], prv[keep], nxt[keep]

    # 4. Bézier segment, per channel: (v1, v2) key + right handle, (v3, v4) left handle + key.
    m = len(inner)
    v1x = np.broadcast_to(x[prv][:, None], (m, c))
    v1y = y[prv]
    v2x, v2y = right[prv, :, 0], right[prv, :, 1]
    v3x, v3y = left[nxt, :, 0], left[nxt, :, 1]
    v4x = np.broadcast_to(x[nxt][:, None], (m, c))
    v4y = y[nxt]
    eps = np.float32(np.finfo(np.float32).eps)  # FLT_EPSILON
    flat = (
        (np.abs(v1y - v4y) < eps) & (np.abs(v2y - v3y) < eps) & (np.abs(v3y - v4y) < eps)
    )
    v2x, v2y, v3x, v3y = _correct_bezpart(v1x, v1y, v2x, v2y, v3x, v3y, v4x, v4y)
    u, found = _findzero(np.broadcast_to(ti[:, None], (m, c)), v1x, v2x, v3x, v4x)
    value = _berekeny(v1y, v2y, v3y, v4y, u)
    value = np.where(found, value, np.float32(0.0))
    value = np.where(flat, v1y, value)
    out[inner] = value
    return out.astype(np.float64)


# ---------------------------------------------------------------------------------------------
# Blender's Bézier segment evaluation (float32 where Blender uses float, float64 where double)


def _correct_bezpart(v1x, v1y, v2x, v2y, v3x, v3y, v4x, v4y):
    """``BKE_fcurve_correct_bezpart``: a handle longer (in x) than the segment is scaled back."""
    h1x, h1y = v1x - v2x, v1y - v2y
    h2x, h2y = v4x - v3x, v4y - v3y
    length = v4x - v1x
    len1, len2 = np.abs(h1x), np.abs(h2x)
    some = (len1 + len2) != 0
    with np.errstate(divide="ignore", invalid="ignore"):
        fix1 = some & (len1 > length)
        fac1 = length / len1
        v2x = np.where(fix1, v1x - fac1 * h1x, v2x)
        v2y = np.where(fix1, v1y - fac1 * h1y, v2y)
        fix2 = some & (len2 > length)
        fac2 = length / len2
        v3x = np.where(fix2, v4x - fac2 * h2x, v3x)
        v3y = np.where(fix2, v4y - fac2 * h2y, v3y)
    return v2x, v2y, v3x, v3y


def _findzero(x, q0, q1, q2, q3):
    """``findzero``: first root in [SMALL, 1.000001] of the Bézier x-cubic minus ``x``.

    Returns (float32 root, found). Coefficients in float32, solved in float64 (``solve_cubic``).
    """
    three, two = np.float32(3.0), np.float32(2.0)
    c0 = (q0 - x).astype(np.float64)
    c1 = (three * (q1 - q0)).astype(np.float64)
    c2 = (three * ((q0 - two * q1) + q2)).astype(np.float64)
    c3 = ((q3 - q0) + three * (q1 - q2)).astype(np.float64)
    return _solve_cubic(c0, c1, c2, c3)


def _solve_cubic(c0, c1, c2, c3):
    """``solve_cubic`` of ``c0 + c1·u + c2·u² + c3·u³``: the first root Blender accepts."""
    small, high = np.float32(-1.0e-10), np.float32(1.000001)
    root = np.zeros(c0.shape, dtype=np.float32)
    found = np.zeros(c0.shape, dtype=bool)

    def offer(mask, candidate):
        r = candidate.astype(np.float32)
        ok = mask & ~found & (r >= small) & (r <= high)
        root[ok] = r[ok]
        found[ok] = True

    with np.errstate(all="ignore"):
        cubic = c3 != 0.0
        a = c2 / c3 / 3
        b = c1 / c3
        c = c0 / c3
        p = b / 3 - a * a
        q = (2 * a * a * a - a * b + c) / 2
        d = q * q + p * p * p
        # d > 0: one real root.
        t = np.sqrt(d)
        offer(cubic & (d > 0.0), _sqrt3d(-q + t) + _sqrt3d(-q - t) - a)
        # d == 0: two (a double root).
        t = _sqrt3d(-q)
        offer(cubic & (d == 0.0), 2 * t - a)
        offer(cubic & (d == 0.0), -t - a)
        # d < 0: three real roots (trigonometric form).
        three_roots = cubic & (d < 0.0)
        phi = np.arccos(-q / np.sqrt(-(p * p * p)))
        t = np.sqrt(-p)
        pp = np.cos(phi / 3)
        qq = np.sqrt(3 - 3 * pp * pp)
        offer(three_roots, 2 * t * pp - a)
        offer(three_roots, -t * (pp + qq) - a)
        offer(three_roots, -t * (pp - qq) - a)
        # Quadratic.
        quad = ~cubic & (c2 != 0.0)
        disc = c1 * c1 - 4 * c2 * c0
        s = np.sqrt(disc)
        offer(quad & (disc > 0), (-c1 - s) / (2 * c2))
        offer(quad & (disc > 0), (-c1 + s) / (2 * c2))
        offer(quad & (disc == 0), -c1 / (2 * c2))
        # Linear.
        offer(~cubic & (c2 == 0.0) & (c1 != 0.0), -c0 / c1)
    # Constant zero polynomial: any parameter solves it; Blender takes 0.
    zero = ~cubic & (c2 == 0.0) & (c1 == 0.0) & (c0 == 0.0)
    root[zero] = 0.0
    found |= zero
    return root, found


def _sqrt3d(d):
    """Blender's cube root: ``±exp(log(|d|) / 3)``, 0 for 0."""
    with np.errstate(all="ignore"):
        r = np.exp(np.log(np.abs(d)) / 3.0)
    return np.where(d == 0.0, 0.0, np.where(d < 0.0, -r, r))


def _berekeny(f1, f2, f3, f4, u):
    """``berekeny``: the Bézier y-cubic at parameter ``u``, in float32 and Blender's order."""
    three, two = np.float32(3.0), np.float32(2.0)
    c0 = f1
    c1 = three * (f2 - f1)
    c2 = three * ((f1 - two * f2) + f3)
    c3 = (f4 - f1) + three * (f2 - f3)
    uu = u * u
    return ((c0 + u * c1) + uu * c2) + (uu * u) * c3
