"""Result format v1: ``result.json`` + ``motion.npz`` in a job folder (DESIGN.md, "Contracts").

``motion.npz`` holds the AMASS SMPL-X keys (``trans``, ``root_orient``, ``pose_body``,
``pose_hand``, ``pose_jaw``, ``pose_eye``, ``betas``, ``gender``, ``mocap_frame_rate``), the
object's trajectory and mesh (``obj_*``) and the rig (``rig_*``) so that a reader can build
the skinned body without smplx. ``result.json`` names the schema and version and carries the
metadata. The reader checks everything before anything is built and raises
:class:`MotionFileError` naming the key and the problem.

Up axis: from version 1.1 the arrays are in AMASS's Z-up world (``"up_axis": "Z"``), so any
AMASS tool reads them the right way up; 1.0 files are Y up. In memory a clip is always in the
body model's Y-up world: the writer turns it to Z up, the reader turns what it reads back
(``up_axis.turn_clip``).

Writes are atomic, motion first and ``result.json`` last: a folder with a ``result.json`` has
a whole result.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .amass import motion_from_arrays, motion_to_arrays
from .arrays import (
    MotionFileError,
    check_frames,
    float_array,
    int_array,
    load_npz,
    save_npz_atomic,
    write_text_atomic,
)
from .bounded_json import JSONLimitError, loads_bounded
from .contacts import CONTACT_KEYS, contacts_from_arrays
from .motion import MotionClip, ObjectTrack, Rig
from .names import clean_name
from .skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS
from .up_axis import UP_AXES, turn_clip

SCHEMA = "anchorhoi.result"
VERSION = (1, 2)
UP_AXIS = "Z"
"""The world this version writes (AMASS's); 1.0 wrote ``"Y"``."""
RESULT_JSON = "result.json"
MOTION_NPZ = "motion.npz"
MAX_RESULT_JSON_BYTES = 16 << 20
"""Largest ``result.json`` read (16 MiB; a real one has a few kB)."""
BODY_KINDS = ("procedural", "smplx")
OBJECT_KEYS = ("obj_trans", "obj_rot", "obj_vertices", "obj_faces")
OBJECT_COLOURS_KEY = "obj_vertex_colors"
"""Optional (from 1.2): the object's vertex colours ``(Vo, 3)``, linear RGB in [0, 1]."""


@dataclass(frozen=True, kw_only=True)
class ResultInfo:
    """The metadata of ``result.json`` beyond what the arrays say."""

    prompt: str = ""
    seed: int = 0
    object_name: str | None = None
    timings: dict[str, Any] = field(default_factory=dict)  # stage -> {"seconds", ...}
    quality: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def write_result(folder: str | os.PathLike, clip: MotionClip,
                 info: ResultInfo = ResultInfo()) -> Path:
    """Write ``clip`` (in the body model's Y-up world) as a result v1 into ``folder``, its
    arrays in the Z-up world; returns the path of ``result.json``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    turned = turn_clip(clip, from_up="Y", to_up=UP_AXIS)
    m, rig, obj = turned.motion, turned.rig, turned.obj
    arrays = motion_to_arrays(m)
    arrays.update(
        rig_joint_names=np.array(rig.joint_names),
        rig_parents=np.asarray(rig.parents, dtype=np.int64),
        rig_rest_joints=np.asarray(rig.rest_joints, dtype=np.float64),
        rig_rest_vertices=np.asarray(rig.rest_vertices, dtype=np.float32),
        rig_faces=np.asarray(rig.faces, dtype=np.int32),
        rig_weights=np.asarray(rig.weights, dtype=np.float32),
    )
    if clip.contacts is not None:
        arrays.update({k: np.asarray(clip.contacts[k], dtype=np.uint8) for k in CONTACT_KEYS})
    if obj is not None:
        arrays.update(obj_trans=obj.trans.astype(np.float64), obj_rot=obj.rot.astype(np.float64),
                      obj_vertices=obj.vertices.astype(np.float32),
                      obj_faces=obj.faces.astype(np.int32))
        if obj.vertex_colors is not None:
            arrays[OBJECT_COLOURS_KEY] = np.clip(obj.vertex_colors, 0.0, 1.0).astype(np.float32)
    doc = {
        "schema": SCHEMA,
        "version": f"{VERSION[0]}.{VERSION[1]}",
        "name": clip.name,
        "prompt": info.prompt,
        "seed": int(info.seed),
        "fps": float(m.fps),
        "frame_count": m.num_frames,
        "body_model": {"kind": clip.body_kind, "gender": m.gender, "num_betas": int(m.betas.size)},
        "units": "meters",
        "up_axis": UP_AXIS,
        "object": None if obj is None else {"name": obj.name, "vertices": int(len(obj.vertices))},
        "files": {"motion": MOTION_NPZ},
        "timings": info.timings,
        "quality": info.quality,
        **({"extra": info.extra} if info.extra else {}),
    }
    save_npz_atomic(folder / MOTION_NPZ, arrays)
    write_text_atomic(folder / RESULT_JSON, json.dumps(doc, indent=2, sort_keys=False) + "\n")
    return folder / RESULT_JSON


def find_result_json(path: str | os.PathLike) -> Path:
    """``result.json`` of a result given as its folder, ``result.json`` or ``motion.npz``."""
    path = Path(path)
    if not path.exists():
        raise MotionFileError(path, "not found")
    if path.is_dir():
        path = path / RESULT_JSON
    elif path.name != RESULT_JSON:
        path = path.with_name(RESULT_JSON)
    if not path.is_file():
        raise MotionFileError(path, "not found — a result folder needs its result.json")
    return path


def read_result_json(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_RESULT_JSON_BYTES:
            raise MotionFileError(path, f"over {MAX_RESULT_JSON_BYTES >> 20} MiB: not a "
                                  "result.json written by AnchorHOI")
        doc = loads_bounded(path.read_text(encoding="utf-8"), max_chars=MAX_RESULT_JSON_BYTES)
    except (OSError, UnicodeDecodeError, JSONLimitError) as exc:
        raise MotionFileError(path, f"not valid JSON (truncated or corrupt?): {exc}") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise MotionFileError(path, f"not an AnchorHOI result (schema must be {SCHEMA!r})",
                              key="schema")
    version = str(doc.get("version", ""))
    try:
        major = int(version.split(".")[0])
    except ValueError:
        raise MotionFileError(path, f"unreadable version {version!r}", key="version") from None
    if major != VERSION[0]:
        raise MotionFileError(
            path, f"result format version {version} is not supported by this version of "
            f"AnchorHOI (it reads {VERSION[0]}.x); update the add-on or re-export the result",
            key="version")
    for key, kind in (("fps", (int, float)), ("frame_count", int), ("body_model", dict)):
        if not isinstance(doc.get(key), kind) or isinstance(doc.get(key), bool):
            raise MotionFileError(path, "missing or of the wrong type", key=key)
    if doc["body_model"].get("kind") not in BODY_KINDS:
        raise MotionFileError(path, f"body model kind must be one of {BODY_KINDS}",
                              key="body_model.kind")
    if doc.get("units", "meters") != "meters":
        raise MotionFileError(path, "only metres are defined in v1", key="units")
    if doc.get("up_axis", "Y") not in UP_AXES:
        raise MotionFileError(path, f"must be one of {UP_AXES}", key="up_axis")
    for key in ("files", "object"):
        if doc.get(key) is not None and not isinstance(doc[key], dict):
            raise MotionFileError(path, f"must be an object (a {{...}} block), got "
                                  f"{type(doc[key]).__name__}", key=key)
    motion_file = (doc.get("files") or {}).get("motion", MOTION_NPZ)
    if not isinstance(motion_file, str) or Path(motion_file).name != motion_file \
            or motion_file in ("", ".", ".."):
        raise MotionFileError(path, "must be the name of a file beside result.json",
                              key="files.motion")
    return doc


def read_result(path: str | os.PathLike, *, up_axis: str | None = None
                ) -> tuple[MotionClip, dict[str, Any]]:
    """Read and validate a result v1; ``path`` is its folder, ``result.json`` or ``motion.npz``.
    The clip comes in the body model's Y-up world, turned from the file's ``up_axis``
    (``result.json``'s unless given: ``"Y"`` or ``"Z"``)."""
    doc_path = find_result_json(path)
    doc = read_result_json(doc_path)
    npz_path = doc_path.with_name((doc.get("files") or {}).get("motion", MOTION_NPZ))
    arrays = load_npz(npz_path)
    motion = motion_from_arrays(npz_path, arrays, strict=True)
    if motion.num_frames != doc["frame_count"]:
        raise MotionFileError(npz_path, f"has {motion.num_frames} frames but result.json says "
                              f"{doc['frame_count']}", key="frame_count")
    if abs(motion.fps - float(doc["fps"])) > 1e-6:
        raise MotionFileError(npz_path, f"frame rate {motion.fps} differs from result.json's "
                              f"{doc['fps']}", key="mocap_frame_rate")
    rig = rig_from_arrays(npz_path, arrays)
    obj = object_from_arrays(npz_path, arrays, motion.num_frames,
                             name=clean_name((doc.get("object") or {}).get("name"), "Object"))
    clip = MotionClip(motion=motion, rig=rig, obj=obj, name=clean_name(doc.get("name"),
                                                                       "AnchorHOI"),
                      body_kind=doc["body_model"]["kind"],
                      contacts=contacts_from_arrays(npz_path, arrays, motion.num_frames))
    return turn_clip(clip, from_up=up_axis or doc.get("up_axis", "Y"), to_up="Y"), doc


def rig_from_arrays(path, arrays: dict[str, np.ndarray]) -> Rig:
    names = arrays.get("rig_joint_names")
    if names is None:
        raise MotionFileError(path, "missing key", key="rig_joint_names")
    if names.dtype.kind not in "US" or names.shape != (NUM_JOINTS,):
        raise MotionFileError(path, f"expected {NUM_JOINTS} joint names", key="rig_joint_names")
    if tuple(str(n) for n in names) != JOINT_NAMES:
        raise MotionFileError(path, "joint names differ from SMPL-X's", key="rig_joint_names")
    parents = int_array(path, arrays, "rig_parents", (NUM_JOINTS,))
    if tuple(int(p) for p in parents) != PARENTS:
        raise MotionFileError(path, "joint parents differ from SMPL-X's", key="rig_parents")
    joints = float_array(path, arrays, "rig_rest_joints", (NUM_JOINTS, 3))
    verts = float_array(path, arrays, "rig_rest_vertices", (None, 3))
    faces = int_array(path, arrays, "rig_faces", (None, 3))
    weights = float_array(path, arrays, "rig_weights", (verts.shape[0], NUM_JOINTS))
    check_faces(path, "rig_faces", faces, len(verts))
    if np.any(weights < -1e-6) or not np.allclose(weights.sum(1), 1.0, atol=1e-3):
        raise MotionFileError(path, "skinning weights must be non-negative and sum to 1 per vertex",
                              key="rig_weights")
    return Rig(parents=parents, rest_joints=joints, rest_vertices=verts, faces=faces,
               weights=weights)


def object_from_arrays(path, arrays, num_frames: int, *, name: str) -> ObjectTrack | None:
    present = [k for k in OBJECT_KEYS if k in arrays]
    if not present:
        return None
    missing = [k for k in OBJECT_KEYS if k not in arrays]
    if missing:
        raise MotionFileError(path, f"missing key (an object needs all of {OBJECT_KEYS})",
                              key=missing[0])
    trans = float_array(path, arrays, "obj_trans", (None, 3))
    rot = float_array(path, arrays, "obj_rot", (None, 4))
    check_frames(path, {"obj_trans": trans, "obj_rot": rot, "trans": np.zeros((num_frames, 3))},
                 ["trans", "obj_trans", "obj_rot"])
    norms = np.linalg.norm(rot, axis=1)
    if np.any(np.abs(norms - 1.0) > 1e-3):
        raise MotionFileError(path, "object rotations must be unit quaternions (w, x, y, z)",
                              key="obj_rot")
    verts = float_array(path, arrays, "obj_vertices", (None, 3))
    faces = int_array(path, arrays, "obj_faces", (None, 3))
    check_faces(path, "obj_faces", faces, len(verts))
    colours = None
    if OBJECT_COLOURS_KEY in arrays:
        colours = float_array(path, arrays, OBJECT_COLOURS_KEY, (len(verts), 3))
        if colours.min() < 0.0 or colours.max() > 1.0:
            raise MotionFileError(path, "vertex colours must lie in [0, 1]",
                                  key=OBJECT_COLOURS_KEY)
    return ObjectTrack(name=name, vertices=verts, faces=faces, trans=trans,
                       rot=rot / norms[:, None], vertex_colors=colours)


def check_faces(path, key: str, faces: np.ndarray, num_vertices: int) -> None:
    if len(faces) == 0:
        raise MotionFileError(path, "mesh has no faces", key=key)
    if faces.min() < 0 or faces.max() >= num_vertices:
        raise MotionFileError(path, f"face indices must lie in 0..{num_vertices - 1}", key=key)
