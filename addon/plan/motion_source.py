"""Open what the user picked in the import dialog as a :class:`MotionClip` (bpy-free).

Accepted: a result v1 (its folder, ``result.json`` or ``motion.npz``: the rig comes with it)
and a plain AMASS SMPL-X ``.npz`` (the rig comes from the user's SMPL-X folder when set, else
from the procedural body, shaped by the file's betas).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..portable import result_v1, smplx_files
from ..portable.amass import motion_from_arrays
from ..portable.arrays import MotionFileError, load_npz
from ..portable.motion import MotionClip


def is_result(path: Path) -> bool:
    if path.is_dir() or path.name == result_v1.RESULT_JSON:
        return True
    return path.suffix == ".npz" and path.with_name(result_v1.RESULT_JSON).is_file()


def open_motion(path: str | os.PathLike, *, smplx_dir: str | os.PathLike | None = None
                ) -> tuple[MotionClip, str]:
    """The clip at ``path`` and a one-line description of where its rig came from."""
    path = Path(path)
    if not path.exists():
        raise MotionFileError(path, "file not found")
    if is_result(path):
        clip, doc = result_v1.read_result(path)
        return clip, f"AnchorHOI result v{doc['version']} ({clip.body_kind} body)"
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
    source = f"AMASS SMPL-X motion on the {body}"
    return MotionClip(motion=motion, rig=rig, name=path.stem, body_kind=kind), source
