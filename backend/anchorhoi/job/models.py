"""The models a job uses: which id for each role, a pre-flight check that they can be loaded.

Everything is resolved before stage A starts, so a missing video model is reported in seconds,
not after the anchor NeRF has trained for an hour. The ``tiny`` preset's random models are built
from config once into the cache folder (``<cache>/tiny/``) and loaded back through the real
``from_pretrained`` path like any local folder. The models themselves are built by each stage
through its package's registry (``runs.py``).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..hub import ModelNotFoundError
from ..keypoints.registry import DEFAULT_DETECTOR, check_detector
from ..portable.protocol import MODEL_ROLES, ModelRole
from ..priors.registry import check_image_model
from ..priors.stable_diffusion import DEFAULT_MODEL_ID as DEFAULT_IMAGE_MODEL
from ..video.registry import check_video_model
from ..video.wan import DEFAULT_WAN_MODEL_ID as DEFAULT_VIDEO_MODEL
from .errors import JobError
from .request import GenerateRequest

log = logging.getLogger(__name__)

TINY_IMAGE = "tiny-sd-v1"
TINY_VIDEO = "tiny-wan-v1"


@dataclass(frozen=True, kw_only=True)
class ModelChoice:
    """The model of each role for one job."""

    image: str
    """Image diffusion prior (stage A): hub id or local folder."""
    video: str
    """Video diffusion prior (stage C): hub id or local folder."""
    detector: str
    """``mediapipe`` (bundled), ``vitpose`` (published ViTPose checkpoint) or a ViTPose
    folder/id."""
    tiny: tuple[str, ...] = ()
    """Roles (``image``, ``video``) taken by the tiny random models built into the cache."""

    def to_json(self) -> dict:
        return {"image": self.image, "video": self.video, "detector": self.detector,
                "tiny": list(self.tiny)}


def cache_root(request: GenerateRequest) -> Path:
    """``request.cache_dir``, else ``$ANCHORHOI_CACHE``, else ``~/.cache/anchorhoi``."""
    if request.cache_dir is not None:
        return Path(request.cache_dir)
    env = os.environ.get("ANCHORHOI_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "anchorhoi"


def hf_cache_dir(request: GenerateRequest) -> Path | None:
    """Where hub downloads go: ``<cache_dir>/huggingface`` when the request names a cache
    folder, else the Hugging Face default (HF_HOME / HF_HUB_CACHE)."""
    return None if request.cache_dir is None else Path(request.cache_dir) / "huggingface"


def choose_models(request: GenerateRequest) -> ModelChoice:
    tiny = request.preset == "tiny"
    root = cache_root(request) / "tiny"
    image = request.models.get("image") or (str(root / TINY_IMAGE) if tiny else
                                            DEFAULT_IMAGE_MODEL)
    video = request.models.get("video") or (str(root / TINY_VIDEO) if tiny else
                                            DEFAULT_VIDEO_MODEL)
    return ModelChoice(image=image, video=video,
                       detector=request.models.get("detector") or DEFAULT_DETECTOR,
                       tiny=tuple(r for r in ("image", "video") if tiny and r not in
                                  request.models))


def ensure_tiny_models(choice: ModelChoice) -> None:
    """Build the tiny random models into their cache folders if they are not there yet
    (seeded, so every machine builds the same weights; built in a temporary folder and renamed,
    so a half-built model is never taken for a whole one)."""
    from ..priors.tiny import build_tiny_sd
    from ..video.tiny import build_tiny_wan

    if "image" in choice.tiny:
        _build_once(Path(choice.image), build_tiny_sd)
    if "video" in choice.tiny:
        _build_once(Path(choice.video), build_tiny_wan)


def _build_once(target: Path, build: Callable[[Path, int], Path]) -> None:
    if (target / "model_index.json").is_file():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        build(tmp, 0)
        try:
            tmp.rename(target)
        except OSError:  # built concurrently by another job: keep theirs
            if not (target / "model_index.json").is_file():
                raise
        log.info("built the tiny model %s", target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- pre-flight --------------------------------------------------------------------------------

CLI_FLAGS: dict[ModelRole, str] = {"image": "--image-model", "video": "--video-model",
                                   "detector": "--detector"}
"""Where a person sets each role's model on the command line."""


def preflight(choice: ModelChoice, request: GenerateRequest) -> list[str]:
    """Check every model can be loaded; returns notes (e.g. "will download …").

    Raises ``JobError(MODEL_NOT_FOUND)`` naming the first model that is neither a valid local
    folder, nor in the cache, nor reachable (nor, for a bundled detector, installed)."""
    cache_dir = hf_cache_dir(request)
    checks: dict[ModelRole, Callable[..., str | None]] = {
        "image": check_image_model, "video": check_video_model, "detector": check_detector}
    notes = []
    for role in MODEL_ROLES:
        model_id = getattr(choice, role)
        try:
            note = checks[role](model_id, cache_dir=cache_dir)
        except ModelNotFoundError as exc:
            raise JobError("MODEL_NOT_FOUND", f"The {role} model {model_id!r} could not be "
                           f"found: {exc.reason}.", f"{exc.remedy} Set it in the add-on "
                           f"preferences, or with {CLI_FLAGS[role]}.") from None
        if note:
            notes.append(f"the {role} model {note}")
    return notes
