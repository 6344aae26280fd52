"""Bounded inputs: one simplified copy of the object for every stage that needs geometry (the
original kept for the result), a face limit, a file-size limit, a ``.gltf`` copied with its
``.bin``, a guessed unit shown to the user, and hints that name options that exist."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import trimesh

from anchorhoi.job.context import StageContext
from anchorhoi.job.errors import JobError
from anchorhoi.job.folder import JobFolder
from anchorhoi.job.models import ModelChoice
from anchorhoi.job.object_copy import copy_object, object_files
from anchorhoi.job.presets import job_preset
from anchorhoi.job.reporting import Progress
from anchorhoi.job.request import GenerateRequest, validate
from anchorhoi.objects import mesh_io
from anchorhoi.objects.mesh_io import MeshError, load_object_mesh


class _Quiet:
    def emit(self, type_, **data):
        return True


def _context(tmp_path, obj, preset="tiny"):
    request = GenerateRequest(prompt="a person sits", job_dir=tmp_path / "job", object=obj,
                              preset=preset)
    return StageContext(request=request, preset=job_preset(preset),
                        models=ModelChoice(image="i", video="v", detector="mediapipe"),
                        folder=JobFolder(tmp_path / "job"), device="cpu",
                        progress=Progress(_Quiet(), threading.Event()))


def test_one_simplified_copy_for_the_stages_and_the_original_for_the_result(tmp_path):
    sphere = trimesh.creation.icosphere(subdivisions=6, radius=0.3)  # 81 920 faces
    sphere.export(tmp_path / "ball.obj")
    ctx = _context(tmp_path, tmp_path / "ball.obj")
    assert len(ctx.object_mesh.faces) == 81_920
    geometry = ctx.geometry_mesh
    assert 4 <= len(geometry.faces) <= ctx.preset.object_faces == 2000
    assert ctx.geometry_mesh is geometry  # simplified once, shared by every stage
    # the same frame: the simplified ball sits where the original does
    np.testing.assert_allclose(geometry.vertices.mean(0), ctx.object_mesh.vertices.mean(0),
                               atol=0.02)
    assert ctx.object_info()["corrections"] == list(ctx.object_mesh.corrections)
    trimesh.creation.box(extents=(0.5, 0.45, 0.45)).export(tmp_path / "box.obj")
    small = _context(tmp_path, tmp_path / "box.obj")  # below every budget: not touched
    assert small.geometry_mesh is small.object_mesh
    for name in ("draft", "standard", "high"):
        assert job_preset(name).object_faces >= 2000


def test_the_stage_runners_get_the_simplified_copy():
    import inspect

    from anchorhoi.job import runs

    # anchor (when the user gave the mesh; else it generates one), video
    assert "else ctx.geometry_mesh" in inspect.getsource(runs.run_anchor)
    assert "obj_mesh=ctx.geometry_mesh" in inspect.getsource(runs.run_video)
    assert "geometry_mesh=ctx.geometry_mesh" in inspect.getsource(runs.run_motion)


def test_too_many_faces_is_refused_naming_the_limit(tmp_path, monkeypatch):
    trimesh.creation.icosphere(subdivisions=3).export(tmp_path / "ball.obj")  # 1280 faces
    monkeypatch.setattr(mesh_io, "MAX_FACES", 1000)
    with pytest.raises(MeshError, match=r"1,280 faces, over the limit of 1,000"):
        load_object_mesh(tmp_path / "ball.obj")


def test_a_file_over_the_size_limit_is_refused_before_any_work(tmp_path, monkeypatch):
    trimesh.creation.box().export(tmp_path / "box.obj")
    monkeypatch.setattr("anchorhoi.job.object_copy.MAX_OBJECT_BYTES", 100)
    with pytest.raises(JobError) as info:
        validate(GenerateRequest(prompt="a person sits", job_dir=tmp_path / "job",
                                 object=tmp_path / "box.obj"))
    assert info.value.code == "BAD_MESH" and "over the limit" in info.value.message
    assert not (tmp_path / "job").exists()


def test_a_gltf_is_copied_with_its_bin_and_loads_from_the_copy(tmp_path):
    src = tmp_path / "user" / "chair.gltf"
    src.parent.mkdir()
    files = trimesh.creation.box(extents=(0.5, 0.9, 0.5)).export(file_type="gltf")
    for name, data in files.items():
        (src.parent / ("chair.gltf" if name == "model.gltf" else name)).write_bytes(data)
    assert object_files(src)[0] == "chair.gltf" and len(object_files(src)) >= 2
    assert all(name.endswith(".bin") for name in object_files(src)[1:])
    copy = copy_object(src, tmp_path / "job" / "input")
    assert sorted(p.name for p in copy.parent.iterdir()) == sorted(object_files(src))
    mesh = load_object_mesh(copy)
    np.testing.assert_allclose(mesh.bounds[1] - mesh.bounds[0], (0.5, 0.9, 0.5), atol=1e-6)


def test_a_gltf_pointing_outside_its_folder_is_bad_mesh(tmp_path):
    (tmp_path / "secret.bin").write_bytes(b"\0" * 8)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.gltf").write_text('{"buffers": [{"uri": "../secret.bin"}]}')
    with pytest.raises(JobError, match="outside its folder") as info:
        object_files(tmp_path / "d" / "x.gltf")
    assert info.value.code == "BAD_MESH"


def test_a_1_km_box_is_a_stated_conversion_and_hints_name_what_exists(tmp_path):
    trimesh.creation.box(extents=(1000.0, 1000.0, 1000.0)).export(tmp_path / "km.obj")
    mesh = load_object_mesh(tmp_path / "km.obj")
    guess = [c for c in mesh.corrections if mesh_io.UNIT_GUESS in c]
    assert guess and "millimetres" in guess[0] and "re-export the object in metres" in guess[0]
    trimesh.creation.box(extents=(9000.0, 9000.0, 9000.0)).export(tmp_path / "huge.obj")
    with pytest.raises(MeshError) as info:
        load_object_mesh(tmp_path / "huge.obj")
    assert "target_size_m" not in str(info.value) and "Unit Scale" in str(info.value)
