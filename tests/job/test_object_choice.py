"""Which object a job uses: the user's mesh wins; without one the object is generated from its
words (the request's ``object_prompt``, else the object the prompt names), which reach the
fingerprint, ``result.json`` and the result's name; a prompt naming no object is refused with
``BAD_PROMPT`` before any model is loaded."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import trimesh

from anchorhoi.anchor.output import AnchorOutput
from anchorhoi.body.pose import default_initial_pose
from anchorhoi.job.context import StageContext
from anchorhoi.job.errors import JobError, classify
from anchorhoi.job.folder import JobFolder
from anchorhoi.job.models import ModelChoice
from anchorhoi.job.pipeline import _fingerprints, run_job
from anchorhoi.job.presets import job_preset
from anchorhoi.job.reporting import Progress
from anchorhoi.job.request import GenerateRequest, request_from_json, validate
from anchorhoi.objects.extract import NoSurfaceError
from anchorhoi.objects.mesh_io import ObjectMesh


class _Messages:
    def __init__(self):
        self.sent = []

    def emit(self, type_, **data):
        self.sent.append((type_, data))
        return True


def _context(tmp_path, **fields) -> StageContext:
    request = validate(GenerateRequest(prompt="a person sits down on a wooden stool",
                                       job_dir=tmp_path / "job", preset="tiny", **fields))
    return StageContext(request=request, preset=job_preset("tiny"),
                        models=ModelChoice(image="i", video="v", detector="mediapipe"),
                        folder=JobFolder(tmp_path / "job"), device="cpu",
                        progress=Progress(_Messages(), threading.Event()))


def _box_file(tmp_path):
    trimesh.creation.box(extents=(0.4, 0.4, 0.4)).export(tmp_path / "box.obj")
    return tmp_path / "box.obj"


def _generated_output() -> AnchorOutput:
    box = trimesh.creation.box(extents=(0.3, 0.4, 0.3))
    colours = np.tile([0.8, 0.4, 0.1], (len(box.vertices), 1))
    mesh = ObjectMesh(vertices=np.asarray(box.vertices) + [0, 0.2, 0],
                      faces=np.asarray(box.faces), vertex_colors=colours,
                      corrections=["simplified from 900 to 12 faces"])
    return AnchorOutput(key_pose=default_initial_pose(10), object_placement=np.eye(4),
                        contact_vertices=np.zeros(0, dtype=np.int64), max_penetration=0.0,
                        object_mesh=mesh, object_prompt="a wooden stool")


def test_the_object_prompt_is_cleaned_checked_and_carried(tmp_path):
    req = validate(GenerateRequest(prompt="a person sits", job_dir=tmp_path,
                                   object_prompt=" a\x1b low\n stool "))
    assert req.object_prompt == "a low stool"
    assert validate(GenerateRequest(prompt="a person sits", job_dir=tmp_path,
                                    object_prompt=" \t")).object_prompt is None
    with pytest.raises(JobError) as info:
        validate(GenerateRequest(prompt="a person sits", job_dir=tmp_path,
                                 object_prompt="x" * 201))
    assert info.value.code == "BAD_PROMPT" and "201 characters" in info.value.message
    got = request_from_json({"prompt": "a person sits", "job_dir": str(tmp_path),
                             "object_prompt": "a stool"})
    assert got.object_prompt == "a stool"
    with pytest.raises(JobError, match="'object_prompt' has the wrong type"):
        request_from_json({"prompt": "a person sits", "job_dir": str(tmp_path),
                           "object_prompt": 3})


def test_without_a_mesh_the_object_is_generated_from_its_words(tmp_path):
    ctx = _context(tmp_path)
    assert ctx.generates_object and ctx.object_prompt == "a wooden stool"
    assert ctx.object_name == "a wooden stool"
    assert _context(tmp_path, object_prompt="a low stool").object_prompt == "a low stool"
    assert _context(tmp_path, object_name="Stool").object_name == "Stool"  # the user's name
    ctx.outputs["anchor"] = _generated_output()
    assert ctx.object_mesh is ctx.outputs["anchor"].object_mesh  # what stage A handed on
    info = ctx.object_info()
    assert info["generated"] == {"prompt": "a wooden stool", "file": "anchor/object.glb",
                                 "obj_file": "anchor/object.obj",
                                 "preview": "anchor/object_turntable.png"}
    assert info["source"].endswith("anchor/object.glb")
    assert info["corrections"] == ["simplified from 900 to 12 faces"]
    np.testing.assert_allclose(info["to_user"], np.eye(4))


def test_the_users_mesh_wins(tmp_path):
    ctx = _context(tmp_path, object=_box_file(tmp_path), object_prompt="a stool")
    assert not ctx.generates_object and ctx.object_prompt is None
    assert ctx.object_name == "Object" and len(ctx.object_mesh.faces) == 12
    info = ctx.object_info()
    assert info["generated"] is None and info["source"].endswith("box.obj")


def test_the_generated_objects_words_are_part_of_stage_As_fingerprint(tmp_path):
    stool, low = _fingerprints(_context(tmp_path)), _fingerprints(
        _context(tmp_path, object_prompt="a low stool"))
    assert stool["anchor"] != low["anchor"] and stool["motion"] != low["motion"]
    box = _box_file(tmp_path)
    mine = _fingerprints(_context(tmp_path, object=box))
    assert mine == _fingerprints(_context(tmp_path, object=box, object_prompt="a low stool"))


def test_a_prompt_naming_no_object_is_refused_before_any_model(tmp_path):
    reporter = _Messages()
    job = tmp_path / "job"
    with pytest.raises(JobError) as info:
        run_job(GenerateRequest(prompt="a person waves", job_dir=job, preset="tiny",
                                cache_dir=tmp_path / "cache"), reporter)
    err = info.value
    assert err.code == "BAD_PROMPT" and "'a person waves' names no object" in err.message
    assert "--object-prompt" in err.hint and "--object" in err.hint
    assert not (tmp_path / "cache").exists() and not (job / "config.json").exists()
    assert (job / "request.json").is_file() and not reporter.sent  # no 'accepted'
    # the same words with an object prompt or a mesh are fine
    _context(tmp_path, object_prompt="a flag")
    assert validate(GenerateRequest(prompt="a person waves", job_dir=job,
                                    object=_box_file(tmp_path))).object is not None


def test_a_generated_field_without_surface_has_a_hint_naming_what_to_change():
    err = classify(NoSurfaceError("The object field is empty"))
    assert err.code == "BAD_MESH" and "seed" in err.hint and "--object-prompt" in err.hint
