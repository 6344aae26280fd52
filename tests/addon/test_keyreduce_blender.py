"""Reduced keys written into a real Blender 5.0 slotted action, evaluated by Blender itself.

Checks, at every original frame: ``FCurve.evaluate`` and ``fcurve_eval.evaluate`` agree; the
object's evaluated rotation/location (``scene.frame_set`` + ``matrix_world``) is within tolerance;
``FCurve.update()`` leaves the handles exactly as written with ``bezier_keys.HANDLE_TYPE``.
"""

from __future__ import annotations

import bpy
import numpy as np
import pytest
from helpers.quaternion_checks import axis_angle_to_quat, rotation_angle_deg

from addon.plan import keyreduce
from addon.plan.bezier_keys import HANDLE_TYPE, INTERPOLATION, BezierKeys
from addon.plan.fcurve_eval import evaluate

pytestmark = pytest.mark.blender

FPS = 30.0


@pytest.fixture(autouse=True)
def fresh_blender():
    # an empty scene; not factory settings, which would also disable the add-on installed for
    # the other Blender tests of this worker process (pytest-xdist runs files in one process)
    bpy.ops.wm.read_homefile(use_empty=True)
    yield
    bpy.ops.wm.read_homefile(use_empty=True)


# --- helpers -----------------------------------------------------------------------------------


def motion(seed: int, n: int, amplitude: float) -> np.ndarray:
    """(n, 3) sum of four random sinusoids (0.1–1.5 Hz at 30 fps) plus an offset."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FPS
    out = np.zeros((n, 3))
    for _ in range(4):
        freq = rng.uniform(0.1, 1.5)
        phase = rng.uniform(0, 2 * np.pi, 3)
        out += rng.normal(0, amplitude / 4, 3) * np.sin(2 * np.pi * freq * t[:, None] + phase)
    return out + rng.normal(0, 0.5, 3)


def animated_object(name: str = "Thing"):
    """An empty in the scene with a fresh slotted action; returns (object, channelbag)."""
    obj = bpy.data.objects.new(name, None)
    bpy.context.scene.collection.objects.link(obj)
    obj.rotation_mode = "QUATERNION"
    action = bpy.data.actions.new(f"{name}Action")
    slot = action.slots.new(id_type="OBJECT", name=obj.name)
    strip = action.layers.new("Layer").strips.new(type="KEYFRAME")
    channelbag = strip.channelbag(slot, ensure=True)
    obj.animation_data_create()
    obj.animation_data.action = action
    obj.animation_data.action_slot = slot
    return obj, channelbag


def write_keys(channelbag, data_path: str, keys, handle_type: str = HANDLE_TYPE) -> list:
    """Write one group of keys as F-curves ``data_path[0..C-1]`` (the test's own writer)."""
    props = bpy.types.Keyframe.bl_rna.properties
    handle_code = props["handle_left_type"].enum_items[handle_type].value
    bezier = props["interpolation"].enum_items[INTERPOLATION].value
    k = keys.num_keys
    curves = []
    for c in range(keys.values.shape[1]):
        fc = channelbag.fcurves.new(data_path, index=c)
        points = fc.keyframe_points
        points.add(k)
        # Types first: keyframe_points.add makes AUTO_CLAMPED points.
        points.foreach_set("interpolation", [bezier] * k)
        points.foreach_set("handle_left_type", [handle_code] * k)
        points.foreach_set("handle_right_type", [handle_code] * k)
        points.foreach_set("co", np.column_stack([keys.frames, keys.values[:, c]]).ravel())
        points.foreach_set("handle_left", keys.left_handles[:, c].ravel())
        points.foreach_set("handle_right", keys.right_handles[:, c].ravel())
        fc.update()
        curves.append(fc)
    return curves


def read_handles(fc) -> tuple[np.ndarray, np.ndarray]:
    k = len(fc.keyframe_points)
    left = np.zeros(2 * k, dtype=np.float32)
    right = np.zeros(2 * k, dtype=np.float32)
    fc.keyframe_points.foreach_get("handle_left", left)
    fc.keyframe_points.foreach_get("handle_right", right)
    return left.reshape(k, 2), right.reshape(k, 2)


def handles_moved(curves, keys) -> int:
    """Number of handles (over all channels) that differ from the float32 of what was written."""
    moved = 0
    for c, fc in enumerate(curves):
        left, right = read_handles(fc)
        moved += int(np.sum(np.any(left != keys.left_handles[:, c].astype(np.float32), axis=1)))
        moved += int(np.sum(np.any(right != keys.right_handles[:, c].astype(np.float32), axis=1)))
    return moved


def blender_curves(curves, frames) -> np.ndarray:
    return np.array([[fc.evaluate(float(f)) for fc in curves] for f in frames])


# --- tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_quaternion_keys_evaluate_within_tolerance_in_blender(seed):
    frames = np.arange(1, 601)
    quats = axis_angle_to_quat(motion(seed, 600, amplitude=0.6))
    quats[1::2] *= -1.0  # the sampler's signs alternate: q and -q are the same rotation
    keys = keyreduce.reduce_quaternion(frames, quats, 0.5)
    assert keys.num_keys < 600 / 4
    obj, channelbag = animated_object()
    curves = write_keys(channelbag, "rotation_quaternion", keys)

    assert handles_moved(curves, keys) == 0  # fc.update() kept them
    ours = evaluate(keys, frames)
    theirs = blender_curves(curves, frames)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    assert rotation_angle_deg(theirs, quats).max() <= 0.5

    scene = bpy.context.scene
    evaluated = np.zeros((len(frames), 4))
    for i, f in enumerate(frames):
        scene.frame_set(int(f))
        evaluated[i] = obj.matrix_world.to_quaternion()
    assert rotation_angle_deg(evaluated, quats).max() <= 0.5


def test_location_keys_evaluate_within_tolerance_in_blender():
    frames = np.arange(1, 601)
    loc = motion(7, 600, amplitude=0.5)
    keys = keyreduce.reduce_vector(frames, loc, 1e-3)
    assert keys.num_keys < 600 / 2
    obj, channelbag = animated_object()
    curves = write_keys(channelbag, "location", keys)

    assert handles_moved(curves, keys) == 0
    theirs = blender_curves(curves, frames)
    np.testing.assert_allclose(evaluate(keys, frames), theirs, rtol=0, atol=1e-6)
    assert np.linalg.norm(theirs - loc, axis=1).max() <= 1e-3

    scene = bpy.context.scene
    evaluated = np.zeros((len(frames), 3))
    for i, f in enumerate(frames):
        scene.frame_set(int(f))
        evaluated[i] = obj.matrix_world.translation
    assert np.linalg.norm(evaluated - loc, axis=1).max() <= 1e-3


def test_rotation_and_location_share_one_action():
    frames = np.arange(1, 121)
    t = frames / FPS
    quats = axis_angle_to_quat(np.stack([0.6 * np.sin(2 * t), 0.4 * np.cos(3 * t), 0.3 * t], 1))
    loc = np.stack([0.8 * t, 0.3 * np.sin(np.pi * t), 0.9 + 0.05 * np.sin(2 * np.pi * t)], 1)
    kq = keyreduce.reduce_quaternion(frames, quats)
    kv = keyreduce.reduce_vector(frames, loc)
    obj, channelbag = animated_object()
    write_keys(channelbag, "rotation_quaternion", kq)
    write_keys(channelbag, "location", kv)
    assert len(channelbag.fcurves) == 7
    scene = bpy.context.scene
    for i, f in enumerate(frames):
        scene.frame_set(int(f))
        rot = np.array(obj.matrix_world.to_quaternion())[None]
        assert rotation_angle_deg(rot, quats[i : i + 1])[0] <= 0.5
        assert np.linalg.norm(np.array(obj.matrix_world.translation) - loc[i]) <= 1e-3


def test_only_the_chosen_handle_type_keeps_the_handles():
    frames = np.arange(1, 601)
    quats = axis_angle_to_quat(motion(2, 600, amplitude=0.6))
    keys = keyreduce.reduce_quaternion(frames, quats)
    _, channelbag = animated_object()
    assert HANDLE_TYPE == "FREE"
    free = write_keys(channelbag, "rotation_quaternion", keys, "FREE")
    assert handles_moved(free, keys) == 0
    # ALIGNED: update() recomputes one handle of each key from the other (ours are collinear, so
    # only float rounding changes, but the handles are no longer exactly what was written).
    aligned = write_keys(channelbag, "delta_rotation_quaternion", keys, "ALIGNED")
    assert handles_moved(aligned, keys) > 0
    # AUTO_CLAMPED, the type keyframe_points.add gives: the handles are recomputed from the keys.
    auto = write_keys(channelbag, "scale", keyreduce.reduce_vector(frames, quats[:, 1:]),
                      "AUTO_CLAMPED")
    assert handles_moved(auto, keyreduce.reduce_vector(frames, quats[:, 1:])) > 0


def test_evaluate_matches_blender_on_arbitrary_free_handles():
    """Random FREE handles (also longer than their segment, so Blender clamps them), fractional
    key frames, flat segments, frames near keys and outside the keyed range."""
    rng = np.random.default_rng(11)
    _, channelbag = animated_object()
    fc = channelbag.fcurves.new("location", index=0)
    for trial in range(60):
        k = int(rng.integers(1, 8))
        x = np.sort(rng.choice(np.arange(-50, 3000), k, replace=False)).astype(np.float64)
        if trial % 3 == 0:
            x /= 7.0
        y = rng.normal(0, 10 ** rng.uniform(-3, 2), k)
        gaps = np.diff(x) if k > 1 else np.ones(1)
        before = np.concatenate([gaps[:1], gaps]) if k > 1 else gaps
        after = np.concatenate([gaps, gaps[-1:]]) if k > 1 else gaps
        reach = rng.choice([0.33, 1.0, 2.5])
        spread = np.abs(y).max()
        left = np.stack(
            [x - rng.uniform(0, reach, k) * before, y + rng.normal(0, 1, k) * spread], axis=1
        )
        right = np.stack(
            [x + rng.uniform(0, reach, k) * after, y + rng.normal(0, 1, k) * spread], axis=1
        )
        if trial % 5 == 0:
            y[:] = 0.25
            left[:, 1] = right[:, 1] = 0.25
        keys = BezierKeys(
            frames=x, values=y[:, None], left_handles=left[:, None], right_handles=right[:, None]
        )
        points = fc.keyframe_points
        points.clear()
        points.add(k)
        points.foreach_set("interpolation", [2] * k)  # BEZIER
        points.foreach_set("handle_left_type", [0] * k)  # FREE
        points.foreach_set("handle_right_type", [0] * k)
        points.foreach_set("co", np.column_stack([x, y]).ravel())
        points.foreach_set("handle_left", left.ravel())
        points.foreach_set("handle_right", right.ravel())
        fc.update()
        t = np.concatenate([x, x + 5e-5, x - 2e-3, rng.uniform(x.min() - 3, x.max() + 3, 100)])
        theirs = np.array([fc.evaluate(float(v)) for v in t])
        ours = evaluate(keys, t)[:, 0]
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
