"""The keypoint detectors by family, and how the job builds one from the request's name.

``KEYPOINT_DETECTORS`` is the explicit registry (nothing registers itself on import); every
entry has ``from_model(model_id, *, device, cache_dir)`` and ``check(model_id, *, cache_dir)``.
A request names a detector by family (``mediapipe``, ``vitpose``: its default model) or by a
ViTPose checkpoint (hub id or folder) — :func:`detector_family` tells which.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .base import KeypointDetector
from .mediapipe_pose import MediaPipePoseDetector
from .vitpose import VitPoseDetector

KEYPOINT_DETECTORS: dict[str, type[MediaPipePoseDetector] | type[VitPoseDetector]] = {
    "mediapipe": MediaPipePoseDetector,
    "vitpose": VitPoseDetector,
}
DEFAULT_DETECTOR = "mediapipe"
"""The detector a request gets when it names none (bundled, CPU, offline)."""
CHECKPOINT_FAMILY = "vitpose"
"""The family a detector named by a model id (not a family name) belongs to."""


def detector_family(name: str) -> tuple[str, str | None]:
    """``(family, model id)`` of a request's detector: a family name takes its default model
    (None); anything else is a checkpoint of ``CHECKPOINT_FAMILY``."""
    if name in KEYPOINT_DETECTORS:
        return name, None
    return CHECKPOINT_FAMILY, name


def make_detector(name: str, *, device: torch.device | str = "cpu",
                  cache_dir: Path | None = None) -> KeypointDetector:
    """The detector ``name`` (:func:`detector_family`) on ``device``."""
    family, model_id = detector_family(name)
    return KEYPOINT_DETECTORS[family].from_model(model_id, device=device, cache_dir=cache_dir)


def check_detector(name: str, *, cache_dir: Path | None = None) -> str | None:
    """Pre-flight of a detector: None, a download note, or ``hub.ModelNotFoundError``."""
    family, model_id = detector_family(name)
    return KEYPOINT_DETECTORS[family].check(model_id, cache_dir=cache_dir)
