"""The models a job uses: which id for each role, a pre-flight check that they can be loaded,
and building them on the job's device.

Everything is resolved before stage A starts, so a missing video model is reported in seconds,
not after the anchor NeRF has trained for an hour. The ``tiny`` preset's random models are built
from config once into the cache folder (``<cache>/tiny/``) and loaded back through the real
``from_pretrained`` path like any local folder.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..priors.stable_diffusion import DEFAULT_MODEL_ID as DEFAULT_IMAGE_MODEL
from ..video.base import is_offline
from ..video.wan import DEFAULT_WAN_MODEL_ID as DEFAULT_VIDEO_MODEL
from .errors import JobError
from .request import GenerateRequest

log = logging.getLogger(__name__)

DEFAULT_DETECTOR = "mediapipe"
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

def preflight(choice: ModelChoice, request: GenerateRequest) -> list[str]:
    """Check every model can be loaded; returns notes (e.g. "will download …").

    Raises ``JobError(MODEL_NOT_FOUND)`` naming the first model that is neither a valid local
    folder, nor in the cache, nor reachable."""
    notes = []
    for role, model_id in (("image", choice.image), ("video", choice.video)):
        note = _check_hub_or_folder(role, model_id, hf_cache_dir(request))
        if note:
            notes.append(note)
    if choice.detector == "mediapipe":
        try:
            import mediapipe  # noqa: F401
        except ImportError as exc:
            raise JobError("MODEL_NOT_FOUND", f"The MediaPipe pose detector is not installed "
                           f"({exc}).", "Install the backend with its keypoints extra: pip "
                           "install 'anchorhoi[keypoints]' (mediapipe==0.10.21, the last "
                           "release that ships its pose models).") from None
    return notes


def _check_hub_or_folder(role: str, model_id: str, cache_dir: Path | None) -> str | None:
    path = Path(model_id).expanduser()
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise JobError("MODEL_NOT_FOUND", f"The {role} model folder {model_id!r} holds no "
                           "model_index.json (not a diffusers model folder).",
                           f"Point the {role} model at a folder saved with diffusers' "
                           "save_pretrained, or at a hub id.")
        return None
    if path.is_absolute() or model_id.startswith((".", "~")) or model_id.count("/") != 1:
        raise JobError("MODEL_NOT_FOUND", f"The {role} model {model_id!r} is neither a folder "
                       "nor a hub id (owner/name).",
                       f"Set the {role} model to an existing folder or a hub id.")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        snapshot_download(model_id, cache_dir=cache_dir, local_files_only=True,
                          allow_patterns=["model_index.json"])
        return None
    except (LocalEntryNotFoundError, OSError, ValueError):
        pass
    if is_offline():
        raise _not_found(role, model_id, "the machine is offline (HF_HUB_OFFLINE=1) and it is "
                         "not in the Hugging Face cache")
    from huggingface_hub import HfApi

    try:
        info = HfApi().model_info(model_id, files_metadata=True, timeout=15)
    except Exception as exc:  # network down, no such repository, gated: all the same to a user
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise _not_found(role, model_id, f"it is not cached and could not be reached ({first})"
                         ) from None
    size = sum((s.size or 0) for s in (info.siblings or [])
               if s.rfilename.endswith((".safetensors", ".json", ".model", ".txt")))
    return f"the {role} model {model_id} will be downloaded on first use (≈ {size / 1e9:.1f} GB)"


def _not_found(role: str, model_id: str, reason: str) -> JobError:
    return JobError("MODEL_NOT_FOUND", f"The {role} model {model_id!r} could not be found: "
                    f"{reason}.", f"Connect to the network once so {model_id} can be downloaded "
                    "and cached, or set the model id to a local folder in the diffusers layout "
                    f"(add-on preferences, or --{role}-model DIR).")

