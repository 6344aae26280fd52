"""Generate Interaction end to end with the REAL backend (``<venv python> -m anchorhoi serve``,
preset ``tiny``) in a clean Blender user folder: the built extension installed from its zip,
the interpreter set in its preferences, a cube as the object.

One EXEC run is shared by the module (a tiny run takes a minute or two on two CPU cores); the
cancel/resume test makes its own job.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers.blender_scene import snapshot
from helpers.tick_timer import TickTimer

bpy = pytest.importorskip("bpy")


def backend_serve_available() -> bool:
    return importlib.util.find_spec("anchorhoi.cli.serve") is not None and \
        importlib.util.find_spec("anchorhoi.job.pipeline") is not None


pytestmark = [pytest.mark.blender, pytest.mark.slow,
              pytest.mark.skipif(not backend_serve_available(),
                                 reason="the backend's 'serve' command is not installed")]

ADDON = "bl_ext.user_default.anchorhoi"
STAGES = ["anchor", "video", "keypoints", "motion"]


def prepare_scene(prefs, jobs_dir):
    """An empty scene with a 45 cm cube standing at (1, 0.5) and the tiny preset."""
    bpy.ops.wm.read_homefile(use_empty=True)
    if ADDON not in bpy.context.preferences.addons:
        bpy.ops.preferences.addon_enable(module=ADDON)
    prefs = bpy.context.preferences.addons[ADDON].preferences
    prefs.smplx_dir = ""
    prefs.backend_python = sys.executable  # the venv's python, which has the backend
    prefs.jobs_dir = str(jobs_dir)
    prefs.device = "cpu"
    bpy.ops.mesh.primitive_cube_add(size=0.45, location=(1.0, 0.5, 0.225))
    cube = bpy.context.active_object
    s = bpy.context.scene.anchorhoi
    s.prompt, s.target, s.preset, s.duration, s.fps, s.seed = \
        "a person sits down on the box", cube, "tiny", 1.5, 8, 0
    bpy.context.window_manager.anchorhoi_job.reset()
    return prefs, cube


def world_bounds(obj) -> np.ndarray:
    m = np.array(obj.matrix_world)
    v = np.array([vert.co for vert in obj.data.vertices])
    w = v @ m[:3, :3].T + m[:3, 3]
    return np.stack([w.min(0), w.max(0)])


@pytest.fixture(scope="module")
def real_run(installed_addon, tmp_path_factory):
    """One EXEC run of the tiny preset; what the tests need, captured right after it."""
    from bl_ext.user_default.anchorhoi.operators import generate

    jobs = tmp_path_factory.mktemp("jobs")
    prefs, cube = prepare_scene(None, jobs)
    cube_bounds = world_bounds(cube)
    t0 = time.perf_counter()
    with TickTimer(generate) as ticks:
        result = bpy.ops.anchorhoi.generate()
    seconds = time.perf_counter() - t0
    status = bpy.context.window_manager.anchorhoi_job
    arms = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    arm = arms[0] if len(arms) == 1 else None
    obj = arm.get("anchorhoi_object") if arm is not None else None
    scene = bpy.context.scene
    scene.frame_set(1)  # the result's reference frame 0
    heads = {} if arm is None else {
        n: np.array(arm.matrix_world) @ np.append(np.array(arm.pose.bones[n].head), 1.0)
        for n in ("root", "pelvis", "head")}
    out = dict(
        result=result, seconds=seconds, state=status.state, exit_code=status.exit_code,
        ticks=len(ticks.wall), max_tick_ms=1000 * max(ticks.wall),
        max_tick_cpu_ms=1000 * max(ticks.cpu), resumed=status.resumed,
        previews=[(p.stage, p.path) for p in status.previews], job_dir=Path(status.job_dir),
        arms=len(arms), arm=None if arm is None else arm.name,
        bones=0 if arm is None else len(arm.data.bones), heads=heads,
        body=[c.name for c in arm.children if c.type == "MESH"] if arm else [],
        nla=0 if arm is None else len(arm.animation_data.nla_tracks),
        obj=None if obj is None else obj.name, obj_bounds=None if obj is None else
        world_bounds(obj), cube=cube.name, cube_bounds=cube_bounds,
        cube_after=world_bounds(cube), frames=(scene.frame_start, scene.frame_end),
        fps=scene.render.fps, obj_animated=bool(obj and obj.animation_data and
                                                obj.animation_data.nla_tracks))
    yield out
    prefs.backend_python = ""
    prefs.jobs_dir = ""
    prefs.device = "auto"


def test_exec_generates_rig_body_object_and_animation(real_run):
    r = real_run
    assert r["result"] == {"FINISHED"}, r
    assert (r["state"], r["exit_code"], r["resumed"]) == ("finished", 0, "")
    assert r["arms"] == 1 and r["bones"] == 56 and len(r["body"]) == 1 and r["nla"] >= 1
    assert r["obj"] is not None and r["obj"] != r["cube"] and r["obj_animated"]
    assert r["frames"] == (1, 12) and r["fps"] == 8
    # placed at the picked cube: the result's object at the reference frame is the cube
    np.testing.assert_allclose(r["obj_bounds"], r["cube_bounds"], atol=2e-3)
    np.testing.assert_allclose(r["cube_after"], r["cube_bounds"])  # the cube is untouched
    job = r["job_dir"]
    assert (job / "result.json").is_file() and (job / "motion.npz").is_file()
    doc = json.loads((job / "result.json").read_text())
    assert (doc["version"], doc["up_axis"]) == ("1.2", "Z")  # AMASS's world from 1.1
    heads = r["heads"]  # the result v1.1 imported upright: head over pelvis over the floor
    assert heads["head"][2] > heads["pelvis"][2] > heads["root"][2] + 0.2, heads
    assert abs(heads["root"][2]) < 0.1, heads  # root on the floor the cube stands on (tiny: ±cm)
    assert (job / "log.txt").is_file() and (job / "input" / "object.obj").is_file()
    assert json.loads((job / "input" / "job.json").read_text())["status"] == "finished"
    stages = {stage for stage, _ in r["previews"]}
    assert {"anchor", "video", "keypoints"} <= stages
    assert all(Path(p).is_file() for _, p in r["previews"])
    print(f"tiny EXEC run: {r['seconds']:.1f} s, {r['ticks']} ticks, "
          f"longest {r['max_tick_ms']:.2f} ms")


def test_no_tick_blocks_over_50_ms(real_run):
    """Every tick of the whole run is timed around tick_run (the modal's per-tick code): its
    own work (CPU time, as in the cancel test: on a loaded 2-core machine the wall clock also
    counts the time the tick spent preempted by the backend's process — CI saw 58 ms wall)."""
    assert real_run["ticks"] > 100
    assert real_run["max_tick_cpu_ms"] < 50.0, real_run


def test_cancel_mid_run_keeps_stages_and_resume_skips_them(installed_addon, tmp_path):
    from bl_ext.user_default.anchorhoi.operators import generate

    prefs, _ = prepare_scene(None, tmp_path / "jobs")
    context = bpy.context
    status = context.window_manager.anchorhoi_job
    before = snapshot(bpy)
    run = generate.begin_run(context)
    t_end = time.monotonic() + 600
    with TickTimer(generate) as ticks:
        while run.job.progress.index < 1:  # the anchor stage is complete once 'video' starts
            assert not generate.tick_run(run, status), run.job.outcome
            assert time.monotonic() < t_end
            time.sleep(0.05)
        assert run.job.progress.stage == "video"
        assert bpy.ops.anchorhoi.cancel() == {"FINISHED"}  # what the panel's Cancel button does
        while not generate.tick_run(run, status):
            time.sleep(0.05)
    result, level, _ = generate.finish_run(context, run, status)
    assert (result, level) == ({"CANCELLED"}, "WARNING")
    assert run.job.outcome.status == "cancelled" and status.exit_code == 3
    assert 0.0 <= ticks.cancel_to_exit_s < 5.0, ticks.cancel_to_exit_s
    # every tick of this run, the cancel and the exit included: its own work stays far below
    # 50 ms (CPU time: on a loaded machine the wall clock also counts time spent preempted)
    worst = int(np.argmax(ticks.wall))
    print(f"cancel run: {len(ticks.wall)} ticks, longest {1000 * max(ticks.wall):.1f} ms wall "
          f"(tick {worst}, {1000 * ticks.cpu[worst]:.1f} ms CPU), "
          f"max CPU {1000 * max(ticks.cpu):.1f} ms")
    assert max(ticks.cpu) < 0.05
    assert snapshot(bpy) == before
    job = run.job_dir
    state = json.loads((job / "state.json").read_text())
    assert "anchor" in str(state) and not (job / "result.json").exists()
    anchor_files = {p: p.stat().st_mtime_ns for p in (job / "anchor").iterdir()}
    assert anchor_files
    # resume: the backend reports the anchor stage as done and does not redo it
    assert bpy.ops.anchorhoi.generate(resume_dir=str(job)) == {"FINISHED"}
    assert status.resumed == "anchor" and status.state == "finished"
    assert {p: p.stat().st_mtime_ns for p in anchor_files} == anchor_files
    assert (job / "result.json").is_file()
    prefs.backend_python = ""
    prefs.jobs_dir = ""
    prefs.device = "auto"


def test_real_backend_sigkilled_mid_run(installed_addon, tmp_path):
    import os
    import signal

    from bl_ext.user_default.anchorhoi.operators import generate

    prefs, _ = prepare_scene(None, tmp_path / "jobs")
    status = bpy.context.window_manager.anchorhoi_job
    before = snapshot(bpy)
    run = generate.begin_run(bpy.context)
    t_end = time.monotonic() + 300
    while run.job.progress.step < 1:  # the first progress step of the anchor stage
        assert not generate.tick_run(run, status), run.job.outcome
        assert time.monotonic() < t_end
        time.sleep(0.05)
    os.kill(run.job.process.pid, signal.SIGKILL)
    while not generate.tick_run(run, status):
        time.sleep(0.05)
    result, level, text = generate.finish_run(bpy.context, run, status)
    assert (result, level, status.exit_code) == ({"CANCELLED"}, "ERROR", -9)
    assert "The backend stopped unexpectedly (killed by SIGKILL) without a result" in text
    assert snapshot(bpy) == before and not status.running
    assert bpy.ops.mesh.primitive_monkey_add() == {"FINISHED"}  # Blender keeps working
    assert json.loads((run.job_dir / "input" / "job.json").read_text())["status"] == "failed"
    prefs.backend_python = ""
    prefs.jobs_dir = ""
    prefs.device = "auto"

