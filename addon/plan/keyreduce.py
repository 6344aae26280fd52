"""Error-bounded key reduction: dense per-frame samples → sparse, editable Bézier F-curve keys.

This module selects the keys; the curve through them and its least-squares slopes are
``hermite_fit``, Blender's evaluation of the written keys is ``fcurve_eval``, and the keys
themselves are :class:`~.bezier_keys.BezierKeys`.

A *group* is the channels of one property that an artist expects to be keyed together (the 4
components of a quaternion, the 3 of a location). All channels of a group share the key frames;
each channel has its own values and handles.

How a group is reduced:

1. Keys sit on input frames and take the sample values there; the first and last frames are
   always keys.
2. Each key has one slope per channel. Its handles lie on that slope, one third of the
   neighbouring interval away in x, so the curve is C1 at keys and, on every segment, x is
   linear in the Bézier parameter: the curve is a cubic Hermite spline in the frame, which the
   fit evaluates directly.
3. Douglas–Peucker refinement with the slopes taken from central differences of the samples:
   in every segment whose worst frame is out of tolerance, that frame becomes a key; repeat.
   With a key on every frame the error is zero, so this terminates.
4. The slopes are refitted by least squares to all samples (one tridiagonal system per group,
   shared by its channels, lightly pulled towards the central differences), which fits the same
   keys much better; keys that became redundant are then removed in rounds, each removal
   checked against the refitted curve (``tangents="central"`` skips this step).
5. The final keys are checked with :func:`~.fcurve_eval.evaluate`, a float32-faithful
   re-implementation of Blender's own F-curve evaluation, and refined further if that check
   fails anywhere.

The error of a group is measured at every input frame: for a quaternion, the rotation angle
between the normalised curve value and the sample; for a vector, the Euclidean distance.

Blender must keep the handles as written: set both handle types of every key point to
:data:`~.bezier_keys.HANDLE_TYPE` and the interpolation to :data:`~.bezier_keys.INTERPOLATION`
before calling ``FCurve.update()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Literal

import numpy as np

from ..portable.quaternions import make_continuous
from .bezier_keys import BezierKeys
from .fcurve_eval import evaluate
from .hermite_fit import (
    SLOPE_PRIOR_WEIGHT,
    SegmentFit,
    bezier_keys,
    central_slopes,
    fit_segments,
    hermite_basis,
    hermite_rows,
    least_squares_slopes,
    segment_of_samples,
)

DEFAULT_TOLERANCE_DEG: Final = 0.5
"""Default rotation tolerance of :func:`reduce_quaternion`, degrees."""

DEFAULT_TOLERANCE: Final = 1e-3
"""Default tolerance of :func:`reduce_vector`, in the units of the values (1 mm for metres)."""

TangentMethod = Literal["least_squares", "central"]

ErrorFn = Callable[[np.ndarray, np.ndarray | None], np.ndarray]
"""Group error: ``(curve (M, C), sample rows (M,) or None for all N samples) -> (M,)``."""

# The fit aims this much below the tolerance, so float32 storage in Blender cannot push a frame
# over it (the final check with `evaluate` catches whatever still does).
_FIT_MARGIN = 1e-3


# ---------------------------------------------------------------------------------------------
# Public API


def reduce_quaternion(
    frames: np.ndarray,
    quats: np.ndarray,
    tolerance_deg: float = DEFAULT_TOLERANCE_DEG,
    *,
    tangents: TangentMethod = "least_squares",
) -> BezierKeys:
    """Reduce a quaternion channel group to Bézier keys within ``tolerance_deg`` at every frame.

    ``frames`` (N,) whole, strictly increasing frames; ``quats`` (N, 4) w, x, y, z (need not be
    unit length; q and -q may alternate). The error at a frame is the rotation angle between the
    normalised evaluated quaternion (Blender normalises object and pose-bone quaternions before
    use) and the sample, with q ≡ -q. Key values are the normalised samples made sign-continuous
    (each has a non-negative dot product with the previous sample), starting with the input's
    sign at the first frame: Blender interpolates the four components independently, so a sign
    flip between keys would swing the rotation through the opposite hemisphere.
    """
    q = _as_values(quats, "quats")
    if q.shape[1] != 4:
        raise ValueError(f"quats must have shape (N, 4) (w, x, y, z), got {q.shape}")
    f = _as_frames(frames, len(q))
    tol = _as_tolerance(tolerance_deg, "tolerance_deg")
    norms = np.linalg.norm(q, axis=1)
    if np.any(norms < 1e-12):
        bad = int(np.flatnonzero(norms < 1e-12)[0])
        raise ValueError(f"quats has a zero quaternion at frame {f[bad]:g}")
    q = make_continuous(q / norms[:, None])

    def chord(curve: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        return _quaternion_chord(curve, q if rows is None else q[rows])

    # The rotation angle is measured as the (monotonic) quaternion chord.
    return _reduce(f, q, chord, _chord_of_angle(tol), tangents)


def reduce_vector(
    frames: np.ndarray,
    values: np.ndarray,
    tolerance: float = DEFAULT_TOLERANCE,
    *,
    tangents: TangentMethod = "least_squares",
) -> BezierKeys:
    """Reduce a vector channel group (e.g. a location, (N, 3) metres) to Bézier keys.

    ``frames`` (N,) whole, strictly increasing frames; ``values`` (N, C). The error at a frame is
    the Euclidean norm of the C-vector difference between the evaluated curves and the sample.

    Blender stores keys as float32: a tolerance finer than the float32 resolution of the values
    (about 1e-7 of their magnitude) cannot be met between keys, and the result then keeps every
    frame; at the keys themselves only that rounding remains.
    """
    v = _as_values(values, "values")
    f = _as_frames(frames, len(v))
    tol = _as_tolerance(tolerance, "tolerance")

    def distance(curve: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        diff = curve - (v if rows is None else v[rows])
        return np.sqrt(np.einsum("ij,ij->i", diff, diff))

    return _reduce(f, v, distance, tol, tangents)




# ---------------------------------------------------------------------------------------------
# Reduction


def _reduce(
    frames: np.ndarray,
    values: np.ndarray,
    error_of: ErrorFn,
    tolerance: float,
    tangents: TangentMethod,
) -> BezierKeys:
    """Key selection shared by both group kinds (see the module docstring)."""
    if tangents not in ("least_squares", "central"):
        raise ValueError(f"tangents must be 'least_squares' or 'central', got {tangents!r}")
    n = len(frames)
    central = central_slopes(frames, values)
    if n == 1:
        return bezier_keys(frames, values, np.array([0]), central[:1])
    least_squares = tangents == "least_squares"
    fit_tolerance = tolerance * (1.0 - _FIT_MARGIN)
    is_key = np.zeros(n, dtype=bool)
    is_key[[0, -1]] = True
    # 1. Central slopes make segments independent: Douglas–Peucker refinement.
    _douglas_peucker(frames, values, central, error_of, fit_tolerance, is_key)
    if least_squares:
        # 2. Least-squares slopes fit the same keys better; drop the keys that became redundant.
        _refine(frames, values, central, True, error_of, fit_tolerance, is_key)
        _decimate(frames, values, central, error_of, fit_tolerance, is_key)
    # 3. Final check through Blender's own evaluation (float32 keys, handles and arithmetic).
    while True:
        idx = np.flatnonzero(is_key)
        fit = fit_segments(frames, values, idx)
        slopes = least_squares_slopes(fit, central[idx]) if least_squares else central[idx]
        keys = bezier_keys(frames, values, idx, slopes)
        error = error_of(evaluate(keys, frames), None)
        error[idx] = 0.0  # a key's own error is float32 rounding; another key cannot fix it
        new = worst_frames(error, idx, tolerance)
        if new.size == 0:
            return keys
        is_key[new] = True
        _refine(frames, values, central, least_squares, error_of, fit_tolerance, is_key)


def _douglas_peucker(
    frames: np.ndarray,
    values: np.ndarray,
    central: np.ndarray,
    error_of: ErrorFn,
    tolerance: float,
    is_key: np.ndarray,
) -> None:
    """:func:`_refine` with the central slopes (N, C): a segment's curve then depends on its
    own two keys only, so only the segments split by new keys are re-evaluated."""
    idx = np.flatnonzero(is_key)
    error = np.zeros(len(frames))
    rows = np.arange(len(frames))
    while True:
        seg = segment_of_samples(rows, idx)
        i0, i1 = idx[seg], idx[seg + 1]
        error[rows] = error_of(
            hermite_rows(frames, values, rows, i0, i1, central[i0], central[i1]), rows
        )
        new = worst_frames(error, idx, tolerance)
        if new.size == 0:
            return
        is_key[new] = True
        idx = np.flatnonzero(is_key)
        at = np.searchsorted(idx, new)
        _, rows = _ragged(idx[at - 1], idx[at + 1])


def _refine(
    frames: np.ndarray,
    values: np.ndarray,
    central: np.ndarray,
    least_squares: bool,
    error_of: ErrorFn,
    tolerance: float,
    is_key: np.ndarray,
) -> None:
    """Insert keys (in place in ``is_key``) at the worst frame of every segment out of
    ``tolerance`` until none is. Terminates: with a key on every frame the error is zero."""
    while True:
        idx = np.flatnonzero(is_key)
        fit = fit_segments(frames, values, idx)
        slopes = least_squares_slopes(fit, central[idx]) if least_squares else central[idx]
        new = worst_frames(error_of(fit.curve(values, slopes), None), idx, tolerance)
        if new.size == 0:
            return
        is_key[new] = True


def _decimate(
    frames: np.ndarray,
    values: np.ndarray,
    central: np.ndarray,
    error_of: ErrorFn,
    tolerance: float,
    is_key: np.ndarray,
) -> None:
    """Remove keys (in place in ``is_key``) while the least-squares curve stays in tolerance.

    ``is_key`` must be within tolerance on entry and is again after every round. A round
    estimates, for every key, the error if it alone were removed (:func:`_removal_errors`),
    removes the keys whose estimate is within tolerance and a local minimum (never two
    neighbours), refits all slopes, and then repairs every segment that went out of tolerance:
    its removed keys come back for good (or, if it lost none, its worst frame becomes a key for
    good). Every round takes keys out of the removable set for good, so this terminates.
    """
    removable = is_key.copy()
    removable[[0, -1]] = False
    idx = np.flatnonzero(is_key)
    fit = fit_segments(frames, values, idx)
    slopes = least_squares_slopes(fit, central[idx])
    while len(idx) > 2:
        estimate = _removal_errors(frames, values, idx, fit, slopes, central[idx], error_of)
        estimate[~removable[idx]] = np.inf
        before = np.concatenate([[np.inf], estimate[:-1]])
        after = np.concatenate([estimate[1:], [np.inf]])
        pick = (estimate <= tolerance) & (estimate < before) & (estimate <= after)
        if not np.any(pick):
            return
        removed = idx[pick]
        is_key[removed] = False
        removable[removed] = False
        while True:  # repair
            idx = np.flatnonzero(is_key)
            fit = fit_segments(frames, values, idx)
            slopes = least_squares_slopes(fit, central[idx])
            worst = worst_frames(error_of(fit.curve(values, slopes), None), idx, tolerance)
            if worst.size == 0:
                break
            bad = np.zeros(len(idx) - 1, dtype=bool)
            bad[segment_of_samples(worst, idx)] = True
            removed = removed[~is_key[removed]]
            back = removed[bad[segment_of_samples(removed, idx)]]
            lost_keys = np.zeros(len(idx) - 1, dtype=bool)
            lost_keys[segment_of_samples(back, idx)] = True
            insert = worst[~lost_keys[segment_of_samples(worst, idx)]]
            is_key[back] = True
            is_key[insert] = True
            removable[insert] = False


def _removal_errors(
    frames: np.ndarray,
    values: np.ndarray,
    idx: np.ndarray,
    fit: SegmentFit,
    slopes: np.ndarray,
    prior: np.ndarray,
    error_of: ErrorFn,
) -> np.ndarray:
    """(K,) estimated worst error if key k alone were removed; infinite for the end keys.

    The slopes of the two neighbours (k-1, k+1) are refitted by least squares over the merged
    segment and the two segments beyond them (with the slopes of keys k-2 and k+2 fixed), and
    the error is the worst over those three segments.
    """
    k = len(idx)
    out = np.full(k, np.inf)
    if k <= 2:
        return out
    j = np.arange(1, k - 1)  # candidates (key j), stored at j - 1
    # Merged segment (key j-1 .. key j+1), at least one sample (key j) inside.
    owner, rows = _ragged(idx[j - 1], idx[j + 1])
    i0, i1 = idx[j - 1][owner], idx[j + 1][owner]
    length = frames[i1] - frames[i0]
    t = (frames[rows] - frames[i0]) / length
    h00, h10, h01, h11 = hermite_basis(t)
    a, b = length * h10, length * h11
    d = values[rows] - h00[:, None] * values[i0] - h01[:, None] * values[i1]
    starts = np.cumsum(idx[j + 1] - idx[j - 1] - 1) - (idx[j + 1] - idx[j - 1] - 1)
    saa = np.add.reduceat(a * a, starts)
    sbb = np.add.reduceat(b * b, starts)
    sab = np.add.reduceat(a * b, starts)
    sad = np.add.reduceat(a[:, None] * d, starts, axis=0)
    sbd = np.add.reduceat(b[:, None] * d, starts, axis=0)
    # 2 × 2 normal equations for (slope of key j-1, slope of key j+1), per channel; the segment
    # key j-2 .. key j-1 (index j-2) and key j+1 .. key j+2 (index j+1) join where they exist.
    has_left = j >= 2
    has_right = j + 2 <= k - 1
    jl, jr = np.maximum(j - 2, 0), np.minimum(j + 1, k - 2)
    w0 = SLOPE_PRIOR_WEIGHT
    p = w0 + saa + np.where(has_left, fit.sbb[jl], 0.0)
    r = w0 + sbb + np.where(has_right, fit.saa[jr], 0.0)
    q = sab
    u = w0 * prior[j - 1] + sad
    u += np.where(has_left[:, None], fit.sbd[jl] - fit.sab[jl][:, None] * slopes[jl], 0.0)
    w = w0 * prior[j + 1] + sbd
    w += np.where(has_right[:, None], fit.sad[jr] - fit.sab[jr][:, None] * slopes[jr + 1], 0.0)
    det = (p * r - q * q)[:, None]
    new_left = (r[:, None] * u - q[:, None] * w) / det  # slope of key j-1
    new_right = (p[:, None] * w - q[:, None] * u) / det  # slope of key j+1
    # Worst error over the merged segment ...
    curve = values[rows] - d + a[:, None] * new_left[owner] + b[:, None] * new_right[owner]
    worst = np.maximum.reduceat(_finite_or_inf(error_of(curve, rows)), starts)
    # ... and the outer segments: segment s is the left one of candidate s+2 (its end slope
    # becomes that candidate's new_left) and the right one of candidate s-1 (its start slope
    # becomes that candidate's new_right).
    seg = fit.seg
    left_of = np.clip(seg + 2, 1, k - 2) - 1  # candidate position, valid where seg + 2 <= k-2
    curve = fit.curve_with(values, slopes[seg], new_left[left_of])
    left_max = np.maximum.reduceat(_finite_or_inf(error_of(curve, None)), idx[:-1])
    right_of = np.clip(seg - 1, 1, k - 2) - 1  # valid where seg >= 2
    curve = fit.curve_with(values, new_right[right_of], slopes[seg + 1])
    right_max = np.maximum.reduceat(_finite_or_inf(error_of(curve, None)), idx[:-1])
    worst[has_left] = np.maximum(worst[has_left], left_max[j[has_left] - 2])
    worst[has_right] = np.maximum(worst[has_right], right_max[j[has_right] + 1])
    out[1:-1] = worst
    return out


def _finite_or_inf(error: np.ndarray) -> np.ndarray:
    """NaN (e.g. a zero quaternion) counts as infinitely wrong."""
    return np.where(np.isnan(error), np.inf, error)


def _ragged(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All ``r`` with ``lo[i] < r < hi[i]``, concatenated: (owner i, r) per row."""
    counts = np.maximum(hi - lo - 1, 0)
    owner = np.repeat(np.arange(len(lo)), counts)
    starts = np.cumsum(counts) - counts
    rows = lo[owner] + 1 + (np.arange(len(owner)) - starts[owner])
    return owner, rows


def worst_frames(error: np.ndarray, idx: np.ndarray, tolerance: float) -> np.ndarray:
    """Sample index of the worst frame of every segment whose worst error exceeds ``tolerance``.

    ``error`` (N,); ``idx`` (K,) sample indices of the keys (K >= 2). NaN counts as infinite.
    """
    error = _finite_or_inf(error)
    seg_max = np.maximum.reduceat(error, idx[:-1])  # segment j: samples idx[j] .. idx[j+1]-1
    bad = np.flatnonzero(seg_max > tolerance)
    if bad.size == 0:
        return np.empty(0, dtype=np.int64)
    owner, rows = _ragged(idx[bad] - 1, idx[bad + 1] + (bad + 1 == len(idx) - 1))
    hit = error[rows] == seg_max[bad][owner]
    _, first = np.unique(owner[hit], return_index=True)
    return rows[hit][first]


def _quaternion_chord(curve: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """(N,) ``min(|â - b|, |â + b|)`` for normalised ``curve`` rows â and unit ``samples`` b.

    For unit quaternions ``|a - b| = 2·sin(θ/4)`` with θ the rotation angle between them, and
    the smaller of the two accounts for q ≡ -q: a monotonic measure of θ without the arcsine.
    A zero curve quaternion gives NaN.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = curve / np.sqrt(np.einsum("ij,ij->i", curve, curve))[:, None]
    diff = unit - samples
    chord2 = np.einsum("ij,ij->i", diff, diff)  # |a - b|²; |a + b|² = 4 - |a - b|²
    return np.sqrt(np.clip(np.minimum(chord2, 4.0 - chord2), 0.0, None))


def _chord_of_angle(angle_deg: float) -> float:
    """The :func:`_quaternion_chord` of a rotation by ``angle_deg`` (2 for 360° and more)."""
    return 2.0 * np.sin(np.radians(min(angle_deg, 360.0)) / 4.0)


# ---------------------------------------------------------------------------------------------
# Input checks


def _as_values(values: np.ndarray, name: str) -> np.ndarray:
    v = np.array(values, dtype=np.float64)  # a copy: callers' arrays are never modified
    if v.ndim != 2 or len(v) == 0 or v.shape[1] == 0:
        raise ValueError(f"{name} must have shape (N, C) with N, C >= 1, got {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return v


def _as_frames(frames: np.ndarray, n: int) -> np.ndarray:
    f = np.asarray(frames, dtype=np.float64)
    if f.shape != (n,):
        raise ValueError(f"frames must have shape ({n},) to match the values, got {f.shape}")
    if not np.all(np.isfinite(f)) or np.any(f != np.round(f)):
        raise ValueError("frames must be whole frame numbers (keys stay on whole frames)")
    if np.any(np.diff(f) <= 0):
        raise ValueError("frames must be strictly increasing")
    return f.copy()


def _as_tolerance(tolerance: float, name: str) -> float:
    tol = float(tolerance)
    if not np.isfinite(tol) or tol <= 0.0:
        raise ValueError(f"{name} must be a positive number, got {tolerance!r}")
    return tol
