"""The ``generate`` request the add-on sends, built and checked before anything starts
(bpy-free)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..portable import protocol


class RequestError(ValueError):
    """A setting the user must change before generating; the message says which."""


@dataclass(frozen=True, kw_only=True)
class GenerateSettings:
    """What the user asked for in the panel and the preferences (checked by ``build_request``)."""

    prompt: str
    """The interaction in a sentence (whitespace is normalised in the request)."""
    object_prompt: str = ""
    """Words of the object the backend generates when no scene mesh is picked (e.g. 'a wooden
    stool'); empty: the object the prompt names. Not sent with a picked mesh (the mesh wins)."""
    preset: str = "draft"
    """One of ``protocol.PRESET_NAMES``."""
    duration_s: float = 2.0
    """Length of the clip in seconds."""
    fps: float = 30.0
    """Frames per second of the clip."""
    seed: int = 0
    """Same seed, prompt and settings: the same result."""
    device: str = "auto"
    """One of ``protocol.DEVICES``."""
    models: dict[str, str] = field(default_factory=dict)
    """Model ids or local folders by role (``protocol.MODEL_ROLES``); only those the user set."""
    smplx_dir: str | None = None
    """Folder with the official SMPL-X ``.npz`` files; None: the procedural body."""
    cache_dir: str | None = None
    """Where downloaded weights are kept; None: the Hugging Face default."""


def frames_for(duration_s: float, fps: float) -> int:
    """Frame count of a clip lasting ``duration_s`` at ``fps`` (at least 2)."""
    if not (duration_s > 0 and fps > 0 and math.isfinite(duration_s * fps)):
        raise RequestError("Duration and frame rate must be positive")
    return max(2, int(round(duration_s * fps)))


def build_request(settings: GenerateSettings, *, job_dir: str, object_path: str | None,
                  object_name: str | None) -> dict:
    prompt = " ".join(settings.prompt.split())
    if not prompt:
        raise RequestError("Type a prompt first: describe the interaction in a short sentence, "
                           "e.g. 'a person sits down on the chair'")
    if settings.preset not in protocol.PRESET_NAMES:
        raise RequestError(f"Unknown preset {settings.preset!r}; choose one of "
                           f"{protocol.PRESET_NAMES}")
    if settings.device not in protocol.DEVICES:
        raise RequestError(f"Unknown device {settings.device!r}; choose one of "
                           f"{protocol.DEVICES}")
    frames = frames_for(settings.duration_s, settings.fps)
    if frames > protocol.MAX_FRAMES:
        raise RequestError(f"{frames} frames is too long for one interaction (at most "
                           f"{protocol.MAX_FRAMES}): shorten the duration or lower the frame rate")
    object_prompt = " ".join(settings.object_prompt.split()) or None
    if object_path is not None:
        object_prompt = None  # the picked mesh is the object
    models = {k: v.strip() for k, v in settings.models.items()
              if k in protocol.MODEL_ROLES and isinstance(v, str) and v.strip()}
    request = {
        "prompt": prompt, "job_dir": str(job_dir), "object": object_path,
        "object_name": object_name, "object_prompt": object_prompt,
        "preset": settings.preset, "frames": frames,
        "fps": float(settings.fps), "seed": int(settings.seed), "device": settings.device,
        "models": models, "smplx_dir": settings.smplx_dir or None,
        "cache_dir": settings.cache_dir or None,
    }
    problems = protocol.check_request(request)
    if problems:  # a bug in the add-on, not the user's doing
        raise RequestError("The add-on built a bad request: " + "; ".join(problems))
    return request
