"""Malformed results through the real import operator: each row of issue 14's table is one
clear error report (never a Python traceback), with the scene unchanged; control characters in
a result's names never reach Blender's object names."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from helpers.blender_scene import snapshot
from helpers.motions import make_motion, make_object

from anchorhoi.body import BodyModel, BodyModelConfig
from anchorhoi.portable import result_v1
from anchorhoi.portable.motion import MotionClip

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.blender


@pytest.fixture(scope="module")
def body():
    return BodyModel(BodyModelConfig(), dtype=torch.float64)


def _result(folder, body, name="Sit", object_name="Box"):
    motion, obj = make_motion(8, seed=2), make_object(8)
    obj = dataclasses.replace(obj, name=object_name)
    result_v1.write_result(folder, MotionClip(motion=motion, rig=body.rig(motion.betas),
                                              obj=obj, name=name))
    return folder / "result.json"


def _edit(doc_path, **changes):
    doc = json.loads(doc_path.read_text())
    doc.update(changes)
    doc_path.write_text(json.dumps(doc))


ROWS = {
    "npy renamed npz": "not an .npz archive",
    "files: []": "'files': must be an object",
    'object: "x"': "'object': must be an object",
    "non-numeric to_user": "object.to_user must be a 4×4 matrix of numbers",
    "deep nesting": "nested more than 32 levels deep",
    "unit_scale 0": "unit_scale must be a positive number",
    "files.motion outside": "'files.motion': must be the name of a file beside result.json",
}


@pytest.mark.parametrize("row", list(ROWS))
def test_malformed_result_is_one_clear_error_and_the_scene_stays(addon, tmp_path, body, row):
    doc_path = _result(tmp_path / "job", body)
    if row == "npy renamed npz":
        np.save(tmp_path / "one.npy", np.zeros((8, 3)))
        (tmp_path / "job" / "motion.npz").write_bytes((tmp_path / "one.npy").read_bytes())
    elif row == "files: []":
        _edit(doc_path, files=[])
    elif row == 'object: "x"':
        _edit(doc_path, object="x")
    elif row == "non-numeric to_user":
        doc = json.loads(doc_path.read_text())
        doc["object"]["to_user"] = [["a", "b", "c", "d"]] * 4
        doc_path.write_text(json.dumps(doc))
    elif row == "deep nesting":
        doc_path.write_text('{"schema": "anchorhoi.result", "extra": ' + "[" * 100_000
                            + "]" * 100_000 + "}")
    elif row == "unit_scale 0":
        doc = json.loads(doc_path.read_text())
        doc["object"]["to_user"] = np.eye(4).tolist()
        doc_path.write_text(json.dumps(doc))
        (tmp_path / "job" / "input").mkdir()
        (tmp_path / "job" / "input" / "job.json").write_text(json.dumps({"unit_scale": 0}))
    else:
        _edit(doc_path, files={"motion": "../../elsewhere.npz"})
    bpy.ops.mesh.primitive_monkey_add()
    before = snapshot(bpy)
    with pytest.raises(RuntimeError) as err:
        bpy.ops.anchorhoi.import_motion(filepath=str(doc_path))
    assert ROWS[row] in str(err.value) and "Traceback" not in str(err.value)
    assert snapshot(bpy) == before


def test_a_single_npy_renamed_npz_as_a_motion_file(addon, tmp_path):
    path = tmp_path / "walk_stageii.npz"
    np.save(tmp_path / "x.npy", np.zeros((8, 3)))
    path.write_bytes((tmp_path / "x.npy").read_bytes())
    with pytest.raises(RuntimeError) as err:
        bpy.ops.anchorhoi.import_motion(filepath=str(path))
    assert "not an .npz archive" in str(err.value) and "Traceback" not in str(err.value)


def test_control_characters_never_reach_blender_names(addon, tmp_path, body):
    doc_path = _result(tmp_path / "job", body, name="sit\x00down\x1b[31m\u202e",
                       object_name="Ch\x07air\n")
    assert bpy.ops.anchorhoi.import_motion(filepath=str(doc_path)) == {"FINISHED"}
    names = [o.name for o in bpy.data.objects] + [a.name for a in bpy.data.actions]
    assert "Ch air" in names
    for name in names:
        assert all(ch.isprintable() for ch in name), repr(name)
