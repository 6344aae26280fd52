"""Reduce the keys of F-curves in place: sample a group of curves on whole frames, reduce them
with ``plan.keyreduce``, write the Bézier keys back (``foreach_set``)."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from ..plan import keyreduce
from ..plan.bezier_keys import HANDLE_TYPE, INTERPOLATION, BezierKeys
from .action_write import enum_value


def group_curves(fcurves) -> dict[str, list]:
    """F-curves by data path: the channels of one property (e.g. the 4 of a quaternion)."""
    groups = defaultdict(list)
    for fc in fcurves:
        groups[fc.data_path].append(fc)
    return groups


def reduce_group(curves, *, rotation_tolerance_deg: float, location_tolerance_m: float
                 ) -> tuple[int, int]:
    """Reduce the channels of one property on shared frames; returns the key counts (before,
    after). Quaternions are held to ``rotation_tolerance_deg`` as a rotation angle, Euler and
    axis-angle channels to it in radians per vector, everything else (locations) to
    ``location_tolerance_m``."""
    curves = sorted(curves, key=lambda fc: fc.array_index)
    keyed = [fc for fc in curves if len(fc.keyframe_points)]
    if not keyed:
        return 0, 0
    first = min(fc.keyframe_points[0].co[0] for fc in keyed)
    last = max(fc.keyframe_points[-1].co[0] for fc in keyed)
    frames = np.arange(math.floor(first), math.ceil(last) + 1, dtype=np.float64)
    values = np.array([[fc.evaluate(f) for fc in curves] for f in frames])
    before = sum(len(fc.keyframe_points) for fc in curves)
    path = curves[0].data_path
    if all(k.interpolation == "CONSTANT" for fc in keyed for k in fc.keyframe_points):
        return before, sum(reduce_steps(fc) for fc in curves)  # contacts: 0/1 steps
    if path.endswith("rotation_quaternion") and len(curves) == 4:
        keys = keyreduce.reduce_quaternion(frames, values, rotation_tolerance_deg)
    elif path.endswith(("rotation_euler", "rotation_axis_angle")):
        keys = keyreduce.reduce_vector(frames, values, math.radians(rotation_tolerance_deg))
    else:
        keys = keyreduce.reduce_vector(frames, values, location_tolerance_m)
    for c, fc in enumerate(curves):
        write_bezier(fc, keys, c)
    return before, len(keys.frames) * len(curves)


def write_bezier(fc, keys: BezierKeys, channel: int) -> None:
    """Replace ``fc``'s keys by ``keys`` (channel ``channel``). Handle types are set before the
    handle coordinates: Blender recomputes automatic handles, never FREE ones."""
    points = fc.keyframe_points
    points.clear()
    k = len(keys.frames)
    points.add(k)
    interp = enum_value(points[0], "interpolation", INTERPOLATION)
    handle = enum_value(points[0], "handle_left_type", HANDLE_TYPE)
    points.foreach_set("interpolation", np.full(k, interp, np.int32))
    points.foreach_set("handle_left_type", np.full(k, handle, np.int32))
    points.foreach_set("handle_right_type", np.full(k, handle, np.int32))
    co = np.stack([keys.frames, keys.values[:, channel]], axis=1)
    points.foreach_set("co", co.astype(np.float32).ravel())
    points.foreach_set("handle_left", keys.left_handles[:, channel].astype(np.float32).ravel())
    points.foreach_set("handle_right", keys.right_handles[:, channel].astype(np.float32).ravel())
    fc.update()


def reduce_steps(fc) -> int:
    """Keep only the keys of a constant-interpolated curve where its value changes (and the
    first): the same step function with few keys. Returns the keys left."""
    points = fc.keyframe_points
    n = len(points)
    if n == 0:
        return 0
    co = np.empty(2 * n, dtype=np.float32)
    points.foreach_get("co", co)
    co = co.reshape(n, 2)
    keep = np.concatenate([[True], co[1:, 1] != co[:-1, 1]])
    kept = co[keep]
    points.clear()
    points.add(len(kept))
    points.foreach_set("co", kept.ravel())
    constant = enum_value(points[0], "interpolation", "CONSTANT")
    points.foreach_set("interpolation", np.full(len(kept), constant, np.int32))
    fc.update()
    return len(kept)
