"""The bpy-free parts of Generate Interaction: the request, the object's OBJ export, the
placement at the picked object, the job history, the backend set-up's commands."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

from addon.client import backend_setup, job_history
from addon.client.job_request import GenerateSettings, RequestError, build_request, frames_for
from addon.plan import axes, placement, quaternions
from addon.plan.object_export import ObjectExportError, obj_text, plan_export, write_obj
from anchorhoi.portable.motion import MotionClip, ObjectTrack

ROOT = Path(__file__).resolve().parents[2]

CUBE = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
QUADS = np.array([(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4),
                  (1, 5, 7, 3)])


# -- request ---------------------------------------------------------------------------------

def test_request_fields_and_checks():
    s = GenerateSettings(prompt="  a person   sits on\tthe box ", preset="tiny", duration_s=2.0,
                         fps=8.0, seed=7, models={"image": " my/sd ", "video": "", "x": "y"})
    r = build_request(s, job_dir="/jobs/1", object_path="/jobs/1/input/object.obj",
                      object_name="Cube")
    assert r == {"prompt": "a person sits on the box", "job_dir": "/jobs/1",
                 "object": "/jobs/1/input/object.obj", "object_name": "Cube",
                 "object_prompt": None, "preset": "tiny",
                 "frames": 16, "fps": 8.0, "seed": 7, "device": "auto",
                 "models": {"image": "my/sd"}, "smplx_dir": None, "cache_dir": None}
    with pytest.raises(RequestError, match="Type a prompt first"):
        build_request(GenerateSettings(prompt=" \n "), job_dir="j", object_path=None,
                      object_name=None)
    with pytest.raises(RequestError, match="1200 frames is too long"):
        build_request(GenerateSettings(prompt="p", duration_s=40, fps=30), job_dir="j",
                      object_path=None, object_name=None)
    assert frames_for(2.5, 30) == 75 and frames_for(0.01, 24) == 2
    # the object's words go with a generated object only: a picked mesh is the object
    worded = GenerateSettings(prompt="a person sits", object_prompt="  a   wooden stool ")
    assert build_request(worded, job_dir="j", object_path=None,
                         object_name=None)["object_prompt"] == "a wooden stool"
    assert build_request(worded, job_dir="j", object_path="j/input/object.obj",
                         object_name="Cube")["object_prompt"] is None
    assert build_request(GenerateSettings(prompt="p", object_prompt=" "), job_dir="j",
                         object_path=None, object_name=None)["object_prompt"] is None
    with pytest.raises(RequestError, match="must be positive"):
        frames_for(0.0, 30)


# -- object export ---------------------------------------------------------------------------

def test_object_export_to_y_up_metres(tmp_path):
    world = CUBE * [0.5, 0.25, 0.1] + [2.0, 3.0, 0.1]  # Blender units, Z up
    mesh = plan_export("My Cube", world, np.full(6, 4), QUADS.ravel(), unit_scale=0.5)
    # Blender (x, y, z) → Y-up (x, z, −y), then × 0.5 m per unit
    np.testing.assert_allclose(mesh.vertices[7], [1.25, 0.1, -1.625])
    np.testing.assert_allclose(axes.points_to_blender(mesh.vertices) / 0.5, world)
    text = obj_text(mesh)
    lines = text.splitlines()
    assert lines[:3] == ["# AnchorHOI object 'My Cube': metres, Y up", "o My_Cube",
                         "v 0.750000 0.000000 -1.375000"]
    assert lines[-6] == "f 1 2 4 3" and len(lines) == 2 + 8 + 6
    path = write_obj(mesh, tmp_path / "input")
    assert path == tmp_path / "input" / "object.obj" and path.read_text() == text
    # mixed polygons
    mixed = plan_export("m", CUBE, np.array([3, 4]), np.array([0, 1, 2, 4, 5, 7, 6]))
    assert obj_text(mixed).splitlines()[-2:] == ["f 1 2 3", "f 5 6 8 7"]


def test_object_export_errors():
    with pytest.raises(ObjectExportError, match="'Plane' has no faces"):
        plan_export("Plane", CUBE, np.zeros(0), np.zeros(0))
    with pytest.raises(ObjectExportError, match="inconsistent polygons"):
        plan_export("Bad", CUBE, np.array([4]), np.array([0, 1, 2, 99]))
    with pytest.raises(ObjectExportError, match="mm across: scale it"):
        plan_export("Dust", CUBE * 1e-4, np.full(6, 4), QUADS.ravel())
    with pytest.raises(ObjectExportError, match="must be smaller than 10 m"):
        plan_export("House", CUBE * 4, np.full(6, 4), QUADS.ravel())
    with pytest.raises(ObjectExportError, match="infinite or undefined"):
        plan_export("Nan", CUBE * np.nan, np.full(6, 4), QUADS.ravel())


# -- placement -------------------------------------------------------------------------------

def _clip_with_object(ref_rot, ref_trans, frames=5):
    from helpers.motions import make_motion

    from anchorhoi.body import BodyModel

    motion = make_motion(frames)
    rot = np.tile(ref_rot, (frames, 1))
    trans = np.tile(ref_trans, (frames, 1)) + np.arange(frames)[:, None] * [0.1, 0, 0]
    obj = ObjectTrack(name="Box", vertices=CUBE * 0.2, faces=np.array([[0, 1, 2]]),
                      trans=trans, rot=rot)
    return MotionClip(motion=motion, rig=BodyModel().rig(motion.betas), obj=obj)


def test_placement_puts_the_result_object_on_the_picked_object():
    angle = 0.7
    q_ref = np.array([np.cos(angle / 2), 0, np.sin(angle / 2), 0])  # about Y (up)
    clip = _clip_with_object(q_ref, [0.3, 0.0, -0.2])
    # the backend centred the user's mesh: to_user = its centring undone, plus a turn about Y
    to_user = np.eye(4)
    to_user[:3, :3] = quaternions.to_matrix([np.cos(0.2), 0, np.sin(0.2), 0])
    to_user[:3, 3] = [2.0, 0.5, -3.0]
    doc = {"object": {"to_user": to_user.tolist(), "reference_frame": 2}}
    m = placement.placement_for(doc, clip, unit_scale=1.0)
    # the result's object at frame 2, placed, equals the user's object (to_user · v) in Blender
    t2 = np.eye(4)
    t2[:3, :3] = quaternions.to_matrix(clip.obj.rot[2])
    t2[:3, 3] = clip.obj.trans[2]
    v = np.c_[clip.obj.vertices, np.ones(8)]
    placed = (m @ axes.c_matrix() @ t2 @ v.T).T[:, :3]
    want = axes.points_to_blender((to_user @ v.T).T[:, :3])
    np.testing.assert_allclose(placed, want, atol=1e-12)
    # with a unit scale of 0.01 (centimetre scenes) Blender numbers are 100× larger
    m_cm = placement.placement_for(doc, clip, unit_scale=0.01)
    np.testing.assert_allclose((m_cm @ axes.c_matrix() @ t2 @ v.T).T[:, :3], want * 100,
                               atol=1e-9)
    # no keys: identity
    assert np.array_equal(placement.placement_for({"object": {"name": "Box"}}, clip,
                                                  unit_scale=1.0), np.eye(4))


def test_place_plan_moves_root_and_object_keys():
    from addon.plan.import_plan import plan_import

    clip = _clip_with_object(np.array([1.0, 0, 0, 0]), [0.3, 0.0, -0.2])
    plan = plan_import(clip)
    m = np.eye(4)
    m[:3, :3] = 2.0 * quaternions.to_matrix([np.cos(0.5), 0, 0, np.sin(0.5)])
    m[:3, 3] = [1.0, 2.0, 3.0]
    placed = placement.place_plan(plan, m)
    np.testing.assert_allclose(placed.root_matrix, m @ plan.root_matrix)
    assert np.array_equal(placed.bone_rotations, plan.bone_rotations)  # the rig is untouched
    for t in range(plan.num_frames):
        before = np.eye(4)
        before[:3, :3] = quaternions.to_matrix(plan.obj.rotation[t])
        before[:3, 3] = plan.obj.location[t]
        after = np.eye(4)
        after[:3, :3] = placed.obj.scale * quaternions.to_matrix(placed.obj.rotation[t])
        after[:3, 3] = placed.obj.location[t]
        np.testing.assert_allclose(after, m @ before, atol=1e-12)
    assert placed.obj.scale == pytest.approx(2.0)
    with pytest.raises(placement.PlacementError, match="uniform scale"):
        placement.place_plan(plan, np.diag([1.0, 2.0, 1.0, 1.0]))
    with pytest.raises(placement.PlacementError, match="reference_frame must be a frame index"):
        placement.object_offset({"object": {"to_user": np.eye(4).tolist(),
                                            "reference_frame": 99}}, clip)


# -- job history -----------------------------------------------------------------------------

def test_job_folders_history_and_delete(tmp_path):
    jobs = tmp_path / "jobs"
    t = time.mktime((2026, 12, 1, 21, 4, 5, 0, 0, -1))
    a = job_history.new_job_dir(jobs, "A person sits down on the chair!", now=t)
    b = job_history.new_job_dir(jobs, "A person sits down on the chair!", now=t)
    assert a.name == "20261201-210405-a-person-sits-down-on"
    assert b.name == "20261201-210405-a-person-sits-down-on-2"
    job_history.write_job_info(a, {"request": {"prompt": "A person sits"}, "created": t,
                                   "status": "running"})
    job_history.update_status(a, "cancelled", "Cancelled")
    job_history.write_job_info(b, {"request": {"prompt": "lift"}, "created": t + 60})
    (b / "result.json").write_text(json.dumps({"prompt": "lift"}))
    (jobs / "stray").mkdir()  # not a job: ignored, and never deleted
    entries = job_history.list_jobs(jobs)
    assert [(e.name, e.prompt, e.status, e.created) for e in entries] == [
        (b.name, "lift", "finished", "2026-12-01 21:05"),
        (a.name, "A person sits", "cancelled", "2026-12-01 21:04")]
    assert entries[1].message == "Cancelled" and entries[0].has_result
    assert [e.name for e in job_history.list_jobs(jobs, limit=1)] == [b.name]
    assert job_history.count_folders(jobs) == 3
    with pytest.raises(ValueError, match="does not look like a job folder"):
        job_history.delete_job(jobs, jobs / "stray")
    with pytest.raises(ValueError, match="is not a job folder of"):
        job_history.delete_job(jobs, tmp_path)
    job_history.delete_job(jobs, a)
    assert not a.exists() and (jobs / "stray").is_dir()
    assert job_history.list_jobs(tmp_path / "none") == []


# -- backend set-up --------------------------------------------------------------------------

def test_setup_commands_and_refusals(tmp_path):
    venv = tmp_path / "backend-venv"
    bundled = tmp_path / "ext" / "backend_src"
    bundled.mkdir(parents=True)
    (bundled / "pyproject.toml").write_text("[project]\nname = 'anchorhoi'\n")
    with pytest.raises(backend_setup.SetupRefused, match="carries no backend source"):
        backend_setup.bundled_backend_spec(tmp_path / "nowhere")
    cmds = backend_setup.setup_commands("/blender/python3.11", venv, torch_build="cuda",
                                        backend_spec=backend_setup.bundled_backend_spec(bundled))
    # the source tree has no bundled backend (only the built zip does): a clear refusal
    with pytest.raises(backend_setup.SetupRefused, match="carries no backend source"):
        backend_setup.setup_commands("/p", venv, backend_spec="")
    py = str(venv / "bin" / "python")
    pip = [py, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    constraints = str(backend_setup.CONSTRAINTS)
    torch_pin, pip_pin = backend_setup.pinned("torch"), backend_setup.pinned("pip")
    assert cmds == [
        ["/blender/python3.11", "-m", "venv", str(venv)],
        pip + [pip_pin],
        pip + ["-c", constraints, torch_pin, "--index-url",
               "https://download.pytorch.org/whl/cu128"],
        pip + ["-c", constraints, f"{bundled}[keypoints]", "--index-url",
               "https://pypi.org/simple"],
        [py, "-m", "anchorhoi", "doctor"]]
    cpu = backend_setup.setup_commands("/p", venv, torch_build="cpu", backend_spec="/src/ah")
    assert cpu[2][-1] == "https://download.pytorch.org/whl/cpu" and cpu[3][len(pip):][:3] == [
        "-c", constraints, "/src/ah"]
    # pip, torch and every backend dependency at one exact version, shipped in the extension
    import tomllib
    from importlib.metadata import version

    pins = dict(line.split("==") for line in backend_setup.CONSTRAINTS.read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for req in project["dependencies"] + project["optional-dependencies"]["keypoints"]:
        name = re.split(r"[<>=!~\[ ]", req, maxsplit=1)[0].lower()
        assert name in pins, name
        assert pins[name] == version(name).split("+")[0], name  # what the tests run with
    assert pip_pin.startswith("pip==") and torch_pin.startswith("torch==")
    assert "download.pytorch.org/whl/cu128" in " ".join(backend_setup.summary_lines("cuda"))
    with pytest.raises(backend_setup.SetupRefused, match="Online access is disabled"):
        backend_setup.check_can_set_up(online_access=False, base_python="/p")
    with pytest.raises(backend_setup.SetupRefused,
                       match=r"Python is 3\.13, the backend needs 3\.11"):
        backend_setup.check_can_set_up(online_access=True, base_python="/p", version=(3, 13))
    backend_setup.check_can_set_up(online_access=True, base_python=os.__file__,
                                   version=(3, 11))
    assert "2.5–5 GB" in backend_setup.summary_lines("cuda")[0]


def test_setup_run_steps_without_waiting(tmp_path):
    import sys

    run = backend_setup.SetupRun(
        commands=[[sys.executable, "-c", "print('one')"], [sys.executable, "-c",
                                                           "import sys; sys.exit(4)"]],
        log_path=tmp_path / "setup_log.txt")
    t_end = time.monotonic() + 30
    while not run.poll():
        assert time.monotonic() < t_end
        time.sleep(0.02)
    assert run.returncode == 4 and run.step == 1
    assert "failed at step 2 of 2 (exit code 4)" in run.status()
    log = run.log_path.read_text()
    assert "one\n" in log and log.count("$ ") == 2
