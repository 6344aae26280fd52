"""The video priors by family, and how the job builds one from a model id.

``VIDEO_PRIORS`` is the explicit registry (nothing registers itself on import); every entry has
``from_sampling(model_id, sampling, *, device, cache_dir)``. :func:`video_family` reads the
family off a folder's ``model_index.json`` or a hub id's name; :func:`make_video_prior` looks
it up; :func:`check_video_model` is the job's pre-flight.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from .. import hub
from .base import VIDEO_LAYOUT, VideoPrior, VideoSampling
from .ltx import LTXVideoPrior
from .wan import WanVideoPrior

VIDEO_PRIORS: dict[str, type[WanVideoPrior] | type[LTXVideoPrior]] = {
    "wan": WanVideoPrior,
    "ltx": LTXVideoPrior,
}


def video_family(model_id: str) -> str:
    """``wan`` or ``ltx`` (keys of ``VIDEO_PRIORS``): from a local folder's
    ``model_index.json`` (its pipeline class), else from the hub id's name."""
    path = Path(model_id).expanduser()
    name = model_id
    if (path / "model_index.json").is_file():
        try:
            name = json.loads((path / "model_index.json").read_text()).get("_class_name", "")
        except (OSError, ValueError):
            name = ""
    return "ltx" if "ltx" in str(name).lower() else "wan"


def make_video_prior(model_id: str, sampling: VideoSampling, *,
                     device: torch.device | str = "cpu",
                     cache_dir: Path | None = None) -> VideoPrior:
    """The prior of ``model_id`` (hub id or local folder) of its family, sampling as
    ``sampling`` says; ``cache_dir``: the Hugging Face cache (None: the hub's default)."""
    family = VIDEO_PRIORS[video_family(model_id)]
    return family.from_sampling(model_id, sampling, device=device, cache_dir=cache_dir)


def check_video_model(model_id: str, *, cache_dir: Path | None = None) -> str | None:
    """Pre-flight of a video model: None (a folder, or cached), a download note, or
    ``hub.ModelNotFoundError``."""
    return hub.check_available(model_id, VIDEO_LAYOUT, cache_dir=cache_dir)
