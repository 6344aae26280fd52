"""Open what the user picked in the import dialog as a :class:`MotionClip` (bpy-free).

Accepted: a result v1 (its folder, ``result.json`` or ``motion.npz``: the rig comes with it)
and a plain AMASS SMPL-X ``.npz`` (the rig comes from the user's SMPL-X folder when set, else
from the procedural body, shaped by the file's betas).

Up axis: ``"AUTO"`` takes a result's from its ``result.json`` (1.0: Y, 1.1: Z) and treats a
plain AMASS file as Z up (AMASS's world); ``"Y"`` or ``"Z"`` overrides. The clip handed on is
in the body model's Y-up world either way.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..portable import result_v1, smplx_files
from ..portable.amass import motion_from_arrays
from ..portable.arrays import MotionFileError, load_npz
from ..portable.motion import MotionClip
from ..portable.up_axis import UP_AXES, turn_clip

UP_AXIS_CHOICES = ("AUTO", *UP_AXES)
AMASS_UP_AXIS = "Z"


def is_result(path: Path) -> bool:
    if path.is_dir() or path.name == result_v1.RESULT_JSON:
        return True
    return path.suffix == ".npz" and path.with_name(result_v1.RESULT_JSON).is_file()


def open_motion(path: str | os.PathLike, *, smplx_dir: str | os.PathLike | None = None,
                up_axis: str = "AUTO") -> tuple[MotionClip, str]:
    """The clip at ``path`` (Y-up world) and a one-line description of where it came from."""
    if up_axis not in UP_AXIS_CHOICES:
        raise ValueError(f"up_axis must be one of {UP_AXIS_CHOICES}, got {up_axis!r}")
    path = Path(path)
    if not path.exists():
        raise MotionFileError(path, "file not found")
    if is_result(path):
        clip, doc = result_v1.read_result(path, up_axis=None if up_axis == "AUTO" else up_axis)
        up = doc.get("up_axis", "Y") if up_axis == "AUTO" else up_axis
        return clip, f"AnchorHOI result v{doc['version']}, {up} up ({clip.body_kind} body)"
    if path.suffix.lower() != ".npz":
        raise MotionFileError(path, "unsupported file: pick an AnchorHOI result folder, its "
                              "result.json, or an AMASS SMPL-X .npz")
    arrays = load_npz(path)
    if "rig_rest_joints" in arrays:
        raise MotionFileError(path, "looks like an AnchorHOI motion.npz without its result.json; "
                              "keep the two files together")
    motion = motion_from_arrays(path, arrays, strict=False)
    if smplx_dir:
        model = smplx_files.load_model_arrays(smplx_files.model_file(smplx_dir, motion.gender))
        kind = "smplx"
    else:
        from ..portable.procedural_body import build_procedural_model

        model = build_procedural_model()
        kind = "procedural"
    rig = smplx_files.rig_from_model(model, motion.betas)
    body = "SMPL-X model" if kind == "smplx" else "procedural body"
    up = AMASS_UP_AXIS if up_axis == "AUTO" else up_axis
    source = f"AMASS SMPL-X motion, {up} up, on the {body}"
    clip = MotionClip(motion=motion, rig=rig, name=path.stem, body_kind=kind)
    return turn_clip(clip, from_up=up, to_up="Y"), source
