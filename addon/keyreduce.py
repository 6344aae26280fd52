"""Error-bounded key reduction: dense per-frame samples → sparse, editable Bézier F-curve keys.

bpy-free (numpy + stdlib): it runs inside Blender's Python and is tested with plain pytest.

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
5. The final keys are checked with :func:`evaluate`, a float32-faithful re-implementation of
   Blender's own F-curve evaluation, and refined further if that check fails anywhere.

The error of a group is measured at every input frame: for a quaternion, the rotation angle
between the normalised curve value and the sample; for a vector, the Euclidean distance.

Blender must keep the handles as written: set both handle types of every key point to
:data:`HANDLE_TYPE` and the interpolation to :data:`INTERPOLATION` before calling
``FCurve.update()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Final, Literal

import numpy as np

HANDLE_TYPE: Final = "FREE"
"""Handle type for both handles of every key point. ``FCurve.update()`` (and every other handle
recalculation) leaves FREE handles exactly as written. ALIGNED handles are re-aligned there: one
handle of each key is recomputed from the other, which for these collinear handles is float
rounding, but they are no longer exactly what was written. AUTO, AUTO_CLAMPED (the type
``keyframe_points.add`` gives) and VECTOR handles are recomputed from the keys, which changes the
curve far beyond the tolerance. Set the types before writing the handle coordinates."""

INTERPOLATION: Final = "BEZIER"
"""Interpolation of every key point (the segment after a key uses that key's interpolation)."""

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
# Weight (frames²) pulling least-squares slopes towards central differences. Against the data
# term (about L³/105 per neighbouring segment of L frames) it is weak on long segments and strong
# on short ones, where the few samples would otherwise let slopes swing: on noisy input (1° noise)
# a weight of 1e-3 let the curve wander 6.8° between frames while staying within 0.5° on them;
# with 1 it stays under 0.9° there, and smooth input needs no more keys.
_SLOPE_PRIOR_WEIGHT = 1.0


@dataclass(frozen=True, kw_only=True, eq=False)  # eq=False: fields are arrays
class BezierKeys:
    """Bézier keys of one group of F-curves; all channels share the key frames."""

    frames: np.ndarray
    """(K,) float64 key frames: whole frames, strictly increasing, a subset of the input frames
    including the first and the last."""
    values: np.ndarray
    """(K, C) key values per channel (``keyframe_points[i].co[1]`` of channel ``c``)."""
    left_handles: np.ndarray
    """(K, C, 2) (frame, value) of each key's left handle per channel, as
    ``keyframe_points[i].handle_left``."""
    right_handles: np.ndarray
    """(K, C, 2) (frame, value) of each key's right handle per channel, as
    ``keyframe_points[i].handle_right``."""

    def __post_init__(self) -> None:
        k = np.shape(self.frames)
        if len(k) != 1 or k[0] < 1:
            raise ValueError(f"BezierKeys.frames must have shape (K,) with K >= 1, got {k}")
        if np.ndim(self.values) != 2 or np.shape(self.values)[0] != k[0]:
            raise ValueError(
                f"BezierKeys.values must have shape ({k[0]}, C), got {np.shape(self.values)}"
            )
        want = (k[0], np.shape(self.values)[1], 2)
        for name in ("left_handles", "right_handles"):
            if np.shape(getattr(self, name)) != want:
                raise ValueError(
                    f"BezierKeys.{name} must have shape {want}, "
                    f"got {np.shape(getattr(self, name))}"
                )
        if np.any(np.diff(self.frames) <= 0):
            raise ValueError("BezierKeys.frames must be strictly increasing")

    @property
    def num_keys(self) -> int:
        return len(self.frames)


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
    q = q / norms[:, None]
    # Sign continuity: flip each sample into the hemisphere of its (already fixed) predecessor.
    dots = np.einsum("ij,ij->i", q[1:], q[:-1])
    signs = np.cumprod(np.concatenate([[1.0], np.where(dots < 0.0, -1.0, 1.0)]))
    q = q * signs[:, None]

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
    central = _central_slopes(frames, values)
    if n == 1:
        return _bezier_keys(frames, values, np.array([0]), central[:1])
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
        fit = _fit_segments(frames, values, idx)
        slopes = _least_squares_slopes(fit, central[idx]) if least_squares else central[idx]
        keys = _bezier_keys(frames, values, idx, slopes)
        error = error_of(evaluate(keys, frames), None)
        error[idx] = 0.0  # a key's own error is float32 rounding; another key cannot fix it
        new = _worst_frames(error, idx, tolerance)
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
        seg = _segment_of_samples(rows, idx)
        i0, i1 = idx[seg], idx[seg + 1]
        error[rows] = error_of(
            _hermite_rows(frames, values, rows, i0, i1, central[i0], central[i1]), rows
        )
        new = _worst_frames(error, idx, tolerance)
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
        fit = _fit_segments(frames, values, idx)
        slopes = _least_squares_slopes(fit, central[idx]) if least_squares else central[idx]
        new = _worst_frames(error_of(fit.curve(values, slopes), None), idx, tolerance)
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
    fit = _fit_segments(frames, values, idx)
    slopes = _least_squares_slopes(fit, central[idx])
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
            fit = _fit_segments(frames, values, idx)
            slopes = _least_squares_slopes(fit, central[idx])
            worst = _worst_frames(error_of(fit.curve(values, slopes), None), idx, tolerance)
            if worst.size == 0:
                break
            bad = np.zeros(len(idx) - 1, dtype=bool)
            bad[_segment_of_samples(worst, idx)] = True
            removed = removed[~is_key[removed]]
            back = removed[bad[_segment_of_samples(removed, idx)]]
            lost_keys = np.zeros(len(idx) - 1, dtype=bool)
            lost_keys[_segment_of_samples(back, idx)] = True
            insert = worst[~lost_keys[_segment_of_samples(worst, idx)]]
            is_key[back] = True
            is_key[insert] = True
            removable[insert] = False


def _removal_errors(
    frames: np.ndarray,
    values: np.ndarray,
    idx: np.ndarray,
    fit: _SegmentFit,
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
    h00, h10, h01, h11 = _hermite_basis(t)
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
    w0 = _SLOPE_PRIOR_WEIGHT
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


def _worst_frames(error: np.ndarray, idx: np.ndarray, tolerance: float) -> np.ndarray:
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


def _segment_of_samples(samples: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Segment index of the given sample indices; the last key belongs to the last segment."""
    return np.clip(np.searchsorted(idx, samples, side="right") - 1, 0, len(idx) - 2)


def _hermite_rows(
    frames: np.ndarray,
    values: np.ndarray,
    rows: np.ndarray,
    i0: np.ndarray,
    i1: np.ndarray,
    m0: np.ndarray,
    m1: np.ndarray,
) -> np.ndarray:
    """(M, C) Hermite segment from sample ``i0`` to ``i1`` with slopes ``m0``, ``m1`` (M, C),
    at the frames of samples ``rows`` (all per row).

    With handles at a third of the segment, a Bézier segment is exactly this cubic Hermite
    segment, with the Bézier parameter linear in the frame.
    """
    x0 = frames[i0]
    length = frames[i1] - x0
    t = (frames[rows] - x0) / length
    t2 = t * t
    t3 = t2 * t
    y0 = values[i0]
    return (
        y0
        + (3.0 * t2 - 2.0 * t3)[:, None] * (values[i1] - y0)
        + (length * (t3 - 2.0 * t2 + t))[:, None] * m0
        + (length * (t3 - t2))[:, None] * m1
    )


def _hermite_basis(t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(h00, h10, h01, h11) of the cubic Hermite segment at ``t`` in [0, 1]."""
    t2 = t * t
    t3 = t2 * t
    return 2 * t3 - 3 * t2 + 1, t3 - 2 * t2 + t, 3 * t2 - 2 * t3, t3 - t2


def _central_slopes(frames: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(N, C) central differences of the samples (one-sided at the ends; zero for one frame)."""
    if len(frames) == 1:
        return np.zeros_like(values)
    slopes = np.empty_like(values)
    slopes[1:-1] = (values[2:] - values[:-2]) / (frames[2:] - frames[:-2])[:, None]
    slopes[0] = (values[1] - values[0]) / (frames[1] - frames[0])
    slopes[-1] = (values[-1] - values[-2]) / (frames[-1] - frames[-2])
    return slopes


@dataclass(frozen=True, kw_only=True, eq=False)
class _SegmentFit:
    """The Hermite curve of a key set as a linear function of the key slopes.

    At a sample of segment s (keys s, s+1) the curve minus the sample is ``a·m_s + b·m_{s+1} -
    d`` with ``a = L·h10(t)``, ``b = L·h11(t)``, ``d = v - h00(t)·y_s - h01(t)·y_{s+1}``.
    """

    seg: np.ndarray
    """(N,) segment of each sample (the last key belongs to the last segment)."""
    a: np.ndarray
    """(N,)"""
    b: np.ndarray
    """(N,)"""
    d: np.ndarray
    """(N, C)"""
    saa: np.ndarray
    """(K-1,) per-segment sum of a²."""
    sbb: np.ndarray
    """(K-1,) per-segment sum of b²."""
    sab: np.ndarray
    """(K-1,) per-segment sum of a·b."""
    sad: np.ndarray
    """(K-1, C) per-segment sum of a·d."""
    sbd: np.ndarray
    """(K-1, C) per-segment sum of b·d."""

    def curve(self, values: np.ndarray, slopes: np.ndarray) -> np.ndarray:
        """(N, C) curve at every sample for key ``slopes`` (K, C)."""
        return self.curve_with(values, slopes[self.seg], slopes[self.seg + 1])

    def curve_with(self, values: np.ndarray, m0: np.ndarray, m1: np.ndarray) -> np.ndarray:
        """(N, C) curve with per-sample start and end slopes ``m0``, ``m1`` (N, C)."""
        return values - self.d + self.a[:, None] * m0 + self.b[:, None] * m1


def _fit_segments(frames: np.ndarray, values: np.ndarray, idx: np.ndarray) -> _SegmentFit:
    """:class:`_SegmentFit` of the keys at sample indices ``idx`` (K >= 2)."""
    seg = _segment_of_samples(np.arange(len(frames)), idx)
    i0, i1 = idx[seg], idx[seg + 1]
    length = frames[i1] - frames[i0]
    t = (frames - frames[i0]) / length
    h00, h10, h01, h11 = _hermite_basis(t)
    a = length * h10
    b = length * h11
    d = values - h00[:, None] * values[i0] - h01[:, None] * values[i1]
    starts = idx[:-1]  # key samples add nothing (t = 0 or 1: a = b = d = 0)
    return _SegmentFit(
        seg=seg,
        a=a,
        b=b,
        d=d,
        saa=np.add.reduceat(a * a, starts),
        sbb=np.add.reduceat(b * b, starts),
        sab=np.add.reduceat(a * b, starts),
        sad=np.add.reduceat(a[:, None] * d, starts, axis=0),
        sbd=np.add.reduceat(b[:, None] * d, starts, axis=0),
    )


def _least_squares_slopes(fit: _SegmentFit, prior: np.ndarray) -> np.ndarray:
    """(K, C) key slopes minimising the squared error at all samples plus ``w·|m - prior|²``.

    The normal equations couple neighbouring keys only: one tridiagonal (K × K) system shared by
    all channels.
    """
    diag = np.full(len(prior), _SLOPE_PRIOR_WEIGHT)
    diag[:-1] += fit.saa
    diag[1:] += fit.sbb
    rhs = _SLOPE_PRIOR_WEIGHT * prior
    rhs[:-1] += fit.sad
    rhs[1:] += fit.sbd
    lower = np.concatenate([[0.0], fit.sab])
    upper = np.concatenate([fit.sab, [0.0]])
    return _solve_tridiagonal(lower, diag, upper, rhs)


def _solve_tridiagonal(
    lower: np.ndarray, diag: np.ndarray, upper: np.ndarray, rhs: np.ndarray
) -> np.ndarray:
    """Solve ``lower[i]·x[i-1] + diag[i]·x[i] + upper[i]·x[i+1] = rhs[i]`` for (K, C) ``x``.

    Parallel cyclic reduction (log2 K vectorised steps); stable for the diagonally dominant
    normal equations built here. ``lower[0]`` and ``upper[-1]`` must be 0.
    """
    a, b, c, d = lower.copy(), diag.copy(), upper.copy(), rhs.copy()
    k = len(b)
    stride = 1
    while stride < k:
        # Row i eliminates x[i - stride] with row i - stride and x[i + stride] with i + stride.
        alpha = -a[stride:] / b[:-stride]
        gamma = -c[:-stride] / b[stride:]
        new_a = np.zeros(k)
        new_c = np.zeros(k)
        new_a[stride:] = alpha * a[:-stride]
        new_c[:-stride] = gamma * c[stride:]
        new_b = b.copy()
        new_b[stride:] += alpha * c[:-stride]
        new_b[:-stride] += gamma * a[stride:]
        new_d = d.copy()
        new_d[stride:] += alpha[:, None] * d[:-stride]
        new_d[:-stride] += gamma[:, None] * d[stride:]
        a, b, c, d = new_a, new_b, new_c, new_d
        stride *= 2
    return d / b[:, None]


def _bezier_keys(
    frames: np.ndarray, values: np.ndarray, idx: np.ndarray, slopes: np.ndarray
) -> BezierKeys:
    """Keys at samples ``idx`` with handles at a third of the neighbouring interval."""
    x = frames[idx]
    y = values[idx]
    if len(idx) == 1:
        left_dx = right_dx = np.array([1.0 / 3.0])
    else:
        gaps = np.diff(x) / 3.0
        left_dx = np.concatenate([gaps[:1], gaps])
        right_dx = np.concatenate([gaps, gaps[-1:]])
    channels = y.shape[1]
    left = np.empty((len(idx), channels, 2))
    right = np.empty((len(idx), channels, 2))
    left[:, :, 0] = (x - left_dx)[:, None]
    left[:, :, 1] = y - slopes * left_dx[:, None]
    right[:, :, 0] = (x + right_dx)[:, None]
    right[:, :, 1] = y + slopes * right_dx[:, None]
    return BezierKeys(frames=x.copy(), values=y.copy(), left_handles=left, right_handles=right)


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
