"""``GenerateRequest``: what one generation job is asked to do, validated before anything runs.

The same dataclass comes from the CLI's arguments and from a protocol ``generate`` message; it
is written to the job folder as ``request.json``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..portable.names import clean_name, printable
from ..portable.protocol import (
    DEFAULT_PRESET,
    DEVICES,
    MAX_FRAMES,
    MODEL_ROLES,
    PRESET_NAMES,
    Device,
    check_request,
)
from .errors import JobError

MAX_PROMPT_CHARS = 1000
MAX_OBJECT_PROMPT_CHARS = 200
"""Longest object prompt (a noun phrase, a few words)."""


@dataclass(frozen=True, kw_only=True)
class GenerateRequest:
    """One text-to-interaction job."""

    prompt: str
    """The interaction, e.g. "a person sits down on the chair"."""
    job_dir: Path
    """Folder of the job (created; an existing job folder is resumed)."""
    object: Path | None = None
    """Mesh file of the object (OBJ, PLY, GLB/GLTF, STL; Y up, metres), or None: stage A
    generates the object (from ``object_prompt``)."""
    object_prompt: str | None = None
    """The words of the object to generate when no mesh is given, e.g. "a wooden stool";
    None: the object the prompt names. Not used when ``object`` is given (the mesh wins)."""
    object_name: str | None = None
    """Name of the object in the user's scene (carried into the result)."""
    preset: str = DEFAULT_PRESET
    """``tiny`` (CPU pipeline check) | ``draft`` | ``standard`` | ``high`` (GPU)."""
    frames: int | None = None
    """Frames of the motion; None: the preset's default."""
    fps: float | None = None
    """Frame rate of the motion; None: the preset's default."""
    seed: int = 0
    """Seed of every random draw of the job."""
    device: Device = "auto"
    """``auto`` picks CUDA when present."""
    models: dict[str, str] = field(default_factory=dict)
    """Model ids (hub id or local folder) by role: ``image``, ``video``, ``detector``; a role
    left out takes the preset's default."""
    smplx_dir: Path | None = None
    """Folder of the official SMPL-X ``.npz`` files; None: the procedural body."""
    cache_dir: Path | None = None
    """Model cache folder (Hugging Face downloads, the tiny models); None: the defaults."""

    def to_json(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = str(value) if isinstance(value, Path) else value
        return out


def request_from_json(data: Any) -> GenerateRequest:
    """Build and validate a request from a protocol message's ``request`` object."""
    problems = check_request(data)
    if problems:
        raise JobError("BAD_REQUEST", "Bad generate request: " + "; ".join(problems))
    if not data["job_dir"].strip():
        raise JobError("BAD_REQUEST", "Bad generate request: job_dir is empty.",
                       "Send the absolute path of a new folder (it is created) or of an earlier "
                       "job folder.")
    paths = {k: (Path(data[k]).expanduser() if data.get(k) else None)
             for k in ("object", "smplx_dir", "cache_dir")}
    return validate(GenerateRequest(
        prompt=data["prompt"], job_dir=Path(data["job_dir"]).expanduser(),
        object_name=data.get("object_name"), object_prompt=data.get("object_prompt"),
        preset=data.get("preset", DEFAULT_PRESET),
        frames=data.get("frames"), fps=data.get("fps"), seed=data.get("seed", 0),
        device=data.get("device", "auto"), models=dict(data.get("models") or {}), **paths))


def validate(req: GenerateRequest) -> GenerateRequest:
    """Check every field; returns the request with the prompt's whitespace normalised and
    control characters taken out of the prompt and the object's name."""
    prompt = printable(str(req.prompt))  # no control characters reach a name or a file
    if not prompt:
        raise JobError("BAD_PROMPT", "The prompt is empty.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise JobError("BAD_PROMPT", f"The prompt has {len(prompt)} characters; keep it under "
                       f"{MAX_PROMPT_CHARS} (one sentence describing the interaction).")
    if req.preset not in PRESET_NAMES:
        raise JobError("BAD_REQUEST", f"Unknown preset {req.preset!r}; choose one of "
                       f"{', '.join(PRESET_NAMES)}.")
    if req.device not in DEVICES:
        raise JobError("BAD_REQUEST", f"Unknown device {req.device!r}; use auto, cuda or cpu.")
    if req.frames is not None and not 2 <= req.frames <= MAX_FRAMES:
        raise JobError("BAD_REQUEST", f"frames must be between 2 and {MAX_FRAMES}, got "
                       f"{req.frames}.")
    if req.fps is not None and not (math.isfinite(req.fps) and 1 <= req.fps <= 240):
        raise JobError("BAD_REQUEST", f"fps must be between 1 and 240, got {req.fps}.")
    unknown = sorted(set(req.models) - set(MODEL_ROLES))
    if unknown:
        raise JobError("BAD_REQUEST", f"Unknown model role(s) {unknown}; use "
                       f"{', '.join(MODEL_ROLES)}.")
    bad = [k for k, v in req.models.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise JobError("BAD_REQUEST", f"Model id for {bad[0]!r} must be a non-empty string.")
    if req.object is not None and not _exists(Path(req.object), Path.is_file):
        raise JobError("BAD_MESH", f"Object mesh not found: {req.object}.",
                       "Pick the object again (the add-on re-exports it) or give an existing "
                       "OBJ/PLY/GLB/STL file.")
    if req.object is not None:
        from .object_copy import check_object_size

        check_object_size(Path(req.object))
    if req.smplx_dir is not None and not _exists(Path(req.smplx_dir), Path.is_dir):
        raise JobError("BAD_REQUEST", f"SMPL-X folder not found: {req.smplx_dir}.",
                       "Point it at the folder holding SMPLX_NEUTRAL.npz, or leave it empty "
                       "for the procedural body.")
    name = None if req.object_name is None else clean_name(req.object_name, "Object")
    object_prompt = None if req.object_prompt is None else printable(str(req.object_prompt))
    if object_prompt is not None and len(object_prompt) > MAX_OBJECT_PROMPT_CHARS:
        raise JobError("BAD_PROMPT", f"The object prompt has {len(object_prompt)} characters; "
                       f"keep it under {MAX_OBJECT_PROMPT_CHARS} (a few words naming the object, "
                       "e.g. 'a wooden stool').")
    return dataclasses.replace(req, prompt=prompt, object_name=name,
                               object_prompt=object_prompt or None, job_dir=Path(req.job_dir))


def _exists(path: Path, kind) -> bool:
    """``kind(path)`` (``Path.is_file``, ``Path.is_dir``), False for a path the system cannot
    even look up (a name too long, a loop of links)."""
    try:
        return bool(kind(path))
    except (OSError, ValueError):  # ValueError: a NUL in the path
        return False
