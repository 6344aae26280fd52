"""The image priors that load from a model id, and how the job builds one.

``IMAGE_PRIORS`` is the explicit registry (nothing registers itself on import); every entry has
``from_id(model_id, *, device, cache_dir)`` and its folder ``LAYOUT``. The oracle prior is not
in it: it is built from a known scene, not loaded (``oracle.py``). :func:`check_image_model` is
the job's pre-flight.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .. import hub
from .base import ImagePrior
from .stable_diffusion import StableDiffusionPrior

IMAGE_PRIORS: dict[str, type[StableDiffusionPrior]] = {
    "stable-diffusion": StableDiffusionPrior,
}
DEFAULT_IMAGE_FAMILY = "stable-diffusion"


def _family(family: str) -> type[StableDiffusionPrior]:
    if family not in IMAGE_PRIORS:
        raise ValueError(f"unknown image prior {family!r}; choose one of {sorted(IMAGE_PRIORS)}")
    return IMAGE_PRIORS[family]


def make_image_prior(model_id: str, *, family: str = DEFAULT_IMAGE_FAMILY,
                     device: torch.device | str = "cpu",
                     cache_dir: Path | None = None) -> ImagePrior:
    """The ``family`` prior of ``model_id`` (hub id or local folder); ``cache_dir``: the
    Hugging Face cache (None: the hub's default)."""
    return _family(family).from_id(model_id, device=device, cache_dir=cache_dir)


def check_image_model(model_id: str, *, family: str = DEFAULT_IMAGE_FAMILY,
                      cache_dir: Path | None = None) -> str | None:
    """Pre-flight of an image model: None (a folder, or cached), a download note, or
    ``hub.ModelNotFoundError``."""
    return hub.check_available(model_id, _family(family).LAYOUT, cache_dir=cache_dir)
