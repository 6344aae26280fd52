"""Fixtures for the prior tests: one tiny random Stable Diffusion per session (offline)."""

from __future__ import annotations

from pathlib import Path

import pytest

from anchorhoi.priors import StableDiffusionPrior, StableDiffusionPriorConfig
from anchorhoi.priors.tiny import build_tiny_sd


@pytest.fixture(scope="session")
def tiny_sd_folder(tmp_path_factory) -> Path:
    """The tiny model saved in the diffusers layout (built once, seed 0)."""
    return build_tiny_sd(tmp_path_factory.mktemp("tiny-sd"), seed=0)


@pytest.fixture
def tiny_prior(tiny_sd_folder) -> StableDiffusionPrior:
    """A fresh prior (empty embedding cache) loaded from the tiny folder on CPU, float32."""
    return StableDiffusionPrior(StableDiffusionPriorConfig(model_id=str(tiny_sd_folder)),
                                device="cpu")
