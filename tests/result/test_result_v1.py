"""Result format v1: round trip with pinned values, and every kind of bad input rejected with a
message naming the key and the problem."""

from __future__ import annotations

import dataclasses
import json
import zipfile

import numpy as np
import pytest
from helpers.motions import make_motion, make_object
from helpers.synthetic_smplx import synthetic_smplx_model

from anchorhoi.portable import result_v1
from anchorhoi.portable.arrays import MotionFileError, load_npz
from anchorhoi.portable.motion import MotionClip
from anchorhoi.portable.skeleton import PARENTS
from anchorhoi.portable.smplx_files import load_model_arrays, rig_from_model


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    joints = np.zeros((55, 3))
    for j in range(1, 55):
        joints[j] = joints[PARENTS[j]] + [0.01 * (j % 5), 0.05, 0.002 * j]
    path = tmp_path_factory.mktemp("model") / "SMPLX_NEUTRAL.npz"
    np.savez(path, **synthetic_smplx_model(joints))
    motion = make_motion(12)
    rig = rig_from_model(load_model_arrays(path), motion.betas)
    return MotionClip(motion=motion, rig=rig, obj=make_object(12), name="Clip",
                      body_kind="smplx")


def write(tmp_path, clip, **changes):
    """Write ``clip`` and then overwrite arrays of motion.npz with ``changes`` (None deletes)."""
    result_v1.write_result(tmp_path, clip, result_v1.ResultInfo(prompt="sit", seed=7))
    if changes:
        arrays = load_npz(tmp_path / "motion.npz")
        for key, value in changes.items():
            if value is None:
                arrays.pop(key)
            else:
                arrays[key] = value
        np.savez(tmp_path / "motion.npz", **arrays)
    return tmp_path


def test_round_trip_keeps_values(tmp_path, clip):
    write(tmp_path, clip)
    got, doc = result_v1.read_result(tmp_path / "motion.npz")
    assert doc["schema"] == "anchorhoi.result" and doc["version"] == "1.2"
    assert doc["prompt"] == "sit" and doc["seed"] == 7 and doc["frame_count"] == 12
    assert doc["units"] == "meters" and doc["up_axis"] == "Z"
    np.testing.assert_allclose(got.motion.pose_body, clip.motion.pose_body, atol=1e-6)
    np.testing.assert_allclose(got.motion.trans, clip.motion.trans, atol=1e-6)
    np.testing.assert_allclose(got.rig.rest_joints, clip.rig.rest_joints, atol=1e-9)
    np.testing.assert_allclose(got.obj.rot, clip.obj.rot, atol=1e-9)
    assert got.motion.fps == 30.0 and got.motion.gender == "neutral"
    assert got.obj.name == "Box" and got.body_kind == "smplx"
    assert got.motion.pose_body[3, 9] == pytest.approx(clip.motion.pose_body[3, 9], abs=1e-6)
    # AMASS readers see float32 arrays under the usual keys
    raw = load_npz(tmp_path / "motion.npz")
    assert raw["pose_hand"].dtype == np.float32 and raw["pose_hand"].shape == (12, 90)
    assert str(raw["gender"]) == "neutral" and float(raw["mocap_frame_rate"]) == 30.0


def test_folder_and_json_paths(tmp_path, clip):
    write(tmp_path, clip)
    for p in (tmp_path, tmp_path / "result.json"):
        assert result_v1.read_result(p)[0].motion.num_frames == 12


def test_no_temp_files_left(tmp_path, clip):
    write(tmp_path, clip)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["motion.npz", "result.json"]


@pytest.mark.parametrize("changes, key, words", [
    ({"pose_body": None}, "pose_body", "missing key"),
    ({"trans": np.zeros((12, 2), np.float32)}, "trans", "expected shape (N, 3)"),
    ({"pose_hand": np.zeros((12, 90), bool)}, "pose_hand", "expected numbers"),
    ({"root_orient": np.full((12, 3), np.nan, np.float32)}, "root_orient", "NaN/Inf"),
    ({"pose_jaw": np.zeros((11, 3), np.float32)}, "pose_jaw", "frame counts disagree"),
    ({"obj_trans": np.zeros((13, 3))}, "obj_trans", "frame counts disagree"),
    ({"obj_rot": np.zeros((12, 4))}, "obj_rot", "unit quaternions"),
    ({"obj_faces": None}, "obj_faces", "an object needs all"),
    ({"rig_weights": np.zeros((10475, 55), np.float32)}, "rig_weights", "sum to 1"),
    ({"rig_faces": np.full((5, 3), 99999, np.int32)}, "rig_faces", "face indices"),
    ({"rig_parents": np.zeros(55, np.int64)}, "rig_parents", "parents differ"),
    ({"gender": np.array("robot")}, "gender", "unknown gender"),
    ({"betas": np.array([[1.0], [2.0]])}, "betas", "per-frame body shapes"),
    ({"obj_vertex_colors": np.zeros((3, 3), np.float32)}, "obj_vertex_colors",
     "expected shape"),
    ({"obj_vertex_colors": np.full((8, 3), 1.5, np.float32)}, "obj_vertex_colors", "[0, 1]"),
])
def test_bad_arrays_named(tmp_path, clip, changes, key, words):
    write(tmp_path, clip, **changes)
    with pytest.raises(MotionFileError) as err:
        result_v1.read_result(tmp_path)
    assert err.value.key == key
    assert f"'{key}'" in str(err.value) and words in str(err.value)


def test_object_colours_round_trip_and_are_optional(tmp_path, clip):
    """From 1.2 the object may carry vertex colours; a file without them reads as before."""
    colours = np.linspace(0.0, 1.0, len(clip.obj.vertices) * 3).reshape(-1, 3)
    coloured = dataclasses.replace(clip, obj=dataclasses.replace(clip.obj,
                                                                 vertex_colors=colours))
    write(tmp_path / "coloured", coloured)
    got, _ = result_v1.read_result(tmp_path / "coloured")
    np.testing.assert_allclose(got.obj.vertex_colors, colours, atol=1e-6)
    write(tmp_path / "plain", clip)
    assert "obj_vertex_colors" not in load_npz(tmp_path / "plain" / "motion.npz")
    assert result_v1.read_result(tmp_path / "plain")[0].obj.vertex_colors is None


def test_object_arrays_are_never_unpickled(tmp_path, clip):
    write(tmp_path, clip, betas=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(MotionFileError, match="'betas': holds Python objects, which are never"):
        result_v1.read_result(tmp_path)


def test_unknown_major_version(tmp_path, clip):
    write(tmp_path, clip)
    doc = json.loads((tmp_path / "result.json").read_text())
    doc["version"] = "2.0"
    (tmp_path / "result.json").write_text(json.dumps(doc))
    with pytest.raises(MotionFileError, match="version 2.0 is not supported .* reads 1.x"):
        result_v1.read_result(tmp_path)
    doc["version"] = "1.7"  # a newer minor version is readable
    (tmp_path / "result.json").write_text(json.dumps(doc))
    assert result_v1.read_result(tmp_path)[0].motion.num_frames == 12


def test_frame_count_must_match_json(tmp_path, clip):
    write(tmp_path, clip)
    doc = json.loads((tmp_path / "result.json").read_text())
    doc["frame_count"] = 99
    (tmp_path / "result.json").write_text(json.dumps(doc))
    with pytest.raises(MotionFileError, match="12 frames but result.json says 99"):
        result_v1.read_result(tmp_path)


def test_truncated_files(tmp_path, clip):
    write(tmp_path, clip)
    data = (tmp_path / "motion.npz").read_bytes()
    (tmp_path / "motion.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(MotionFileError, match="truncated or corrupt"):
        result_v1.read_result(tmp_path)
    text = (tmp_path / "result.json").read_text()
    (tmp_path / "result.json").write_text(text[: len(text) // 2])
    with pytest.raises(MotionFileError, match="not valid JSON"):
        result_v1.read_result(tmp_path)


def test_truncated_member_inside_valid_zip(tmp_path, clip):
    """A zip whose central directory is fine but one array's data is cut short."""
    write(tmp_path, clip)
    src = tmp_path / "motion.npz"
    with zipfile.ZipFile(src) as zin:
        members = {n: zin.read(n) for n in zin.namelist()}
    members["trans.npy"] = members["trans.npy"][:-20]
    with zipfile.ZipFile(src, "w") as zout:
        for n, b in members.items():
            zout.writestr(n, b)
    with pytest.raises(MotionFileError, match="'trans'"):
        result_v1.read_result(tmp_path)


def test_not_a_result(tmp_path):
    (tmp_path / "result.json").write_text(json.dumps({"schema": "other"}))
    with pytest.raises(MotionFileError, match="not an AnchorHOI result"):
        result_v1.read_result(tmp_path)
    with pytest.raises(MotionFileError, match="not found"):
        result_v1.read_result(tmp_path / "nothing")
