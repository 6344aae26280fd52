"""The video-prior interface: what stage C asks of a video diffusion model.

A :class:`VideoPrior` turns the interaction prompt and a render of the anchored composition
(seen from the known camera) into a :class:`Video`. The render's camera is the video's camera, so
frames always come back at exactly the requested ``height × width``; the requested frame count
and fps are honoured too (each prior resamples its native output in time, see
:mod:`.frames`). How a prior samples, whatever its family, is a :class:`VideoSampling`.

Also here: the checks every prior runs on a request, and the folder layout the video models
share (:data:`VIDEO_LAYOUT`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import torch

from ..devices import bf16_supported, half_dtype
from ..hub import ModelLayout
from ..priors.base import check_prompt
from ..progress import StepCallback

DTypeName = Literal["auto", "bfloat16", "float16", "float32"]

VIDEO_LAYOUT = ModelLayout(
    description="the diffusers layout (model_index.json, transformer/, vae/, text_encoder/, "
                "tokenizer/, scheduler/, weights as .safetensors)",
    index="model_index.json",
    required=("transformer/config.json", "vae/config.json", "text_encoder/config.json",
              "scheduler/scheduler_config.json"),
    any_of=(("tokenizer/tokenizer.json",), ("tokenizer/spiece.model",)))
"""What a local Wan or LTX-Video folder holds (``save_pretrained`` of the pipeline)."""


@dataclass(frozen=True, eq=False)
class Video:
    """Frames and their rate."""

    frames: np.ndarray
    """(T, H, W, 3) uint8 RGB."""
    fps: float
    """Frames per second of ``frames``."""

    def __post_init__(self) -> None:
        f = self.frames
        if not isinstance(f, np.ndarray) or f.dtype != np.uint8 or f.ndim != 4 or f.shape[-1] != 3:
            raise ValueError("Video.frames must be a (T, H, W, 3) uint8 array, got "
                             f"{getattr(f, 'dtype', type(f))} {getattr(f, 'shape', '')}")
        if f.shape[0] < 1:
            raise ValueError("Video.frames holds no frames")
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"Video.fps must be positive, got {self.fps}")

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def duration(self) -> float:
        """Seconds covered: ``num_frames / fps``."""
        return self.num_frames / self.fps


@dataclass(frozen=True, kw_only=True)
class VideoSampling:
    """How the video model samples, whatever its family (each prior takes what it has)."""

    steps: int
    """Denoising steps."""
    guidance_scale: float = 5.0
    """Classifier-free guidance (≤ 1: off). The LTX prior keeps its own recommendation."""
    conditioning_strength: float = 1.0
    """SDEdit strength of image-to-video (Wan TI2V, :mod:`.sdedit`): 1 moves freely from the
    anchored composition; lower keeps the clip on it."""
    restore_detail: bool = False
    """Add the VAE's reconstruction error of the render back (Wan, with a strength below 1)."""
    enable_vae_tiling: bool = False
    """Decode the video in tiles (lower peak VRAM at 720p)."""

    def __post_init__(self) -> None:
        if self.steps < 1 or not 0.0 < self.conditioning_strength <= 1.0:
            raise ValueError(f"VideoSampling wants steps ≥ 1 and a conditioning_strength in "
                             f"(0, 1], got {self.steps} and {self.conditioning_strength}")


@runtime_checkable
class VideoPrior(Protocol):
    """A video diffusion model that animates the anchored composition (stage C)."""

    def generate(self, *, prompt: str, image: np.ndarray | None, num_frames: int, fps: float,
                 width: int, height: int, generator: torch.Generator,
                 on_step: StepCallback | None = None) -> Video:
        """A video of ``prompt`` with exactly ``num_frames`` frames of ``height × width`` at
        ``fps``. ``image`` (height, width, 3) uint8 is the render of the anchored composition
        from the video's camera (image-to-video; ``None``: text-to-video where the model can).
        ``generator`` draws all noise; ``on_step(step, total, {})`` after each denoising step
        reports progress and may raise to cancel (the exception propagates)."""
        ...


# -- request checks ---------------------------------------------------------------------------

def check_request(*, prompt: str, image: np.ndarray | None, num_frames: int, fps: float,
                  width: int, height: int, generator: torch.Generator) -> str:
    """``ValueError`` for a request no prior can serve; returns the stripped prompt."""
    prompt = check_prompt(prompt)
    if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)) \
            or num_frames < 1:
        raise ValueError(f"num_frames must be a positive integer, got {num_frames!r}")
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if image is not None:
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 \
                or image.shape[-1] != 3:
            got = f"{getattr(image, 'dtype', type(image))} {getattr(image, 'shape', '')}"
            raise ValueError(f"The conditioning render must be an (H, W, 3) uint8 array, got {got}")
        if image.shape[:2] != (height, width):
            raise ValueError(f"The conditioning render is {image.shape[1]}×{image.shape[0]} but "
                             f"the video is {width}×{height}: render it at the video size (its "
                             "camera is the video's camera)")
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    return prompt


def resolve_dtype(name: DTypeName, device: torch.device, *, bf16: bool | None = None
                  ) -> torch.dtype:
    """``auto``: bfloat16 on a CUDA card that has it, float16 on one that has not (the VAE then
    stays in float32: see the priors' ``vae_float32``), float32 elsewhere. Half precision off
    CUDA is refused (slow and, for these models, numerically unreliable), and so is bfloat16 on a
    card without it. ``bf16`` overrides ``torch.cuda.is_bf16_supported()``."""
    table = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}
    if name != "auto" and name not in table:
        raise ValueError(f"dtype must be one of auto, bfloat16, float16, float32; got {name!r}")
    if device.type != "cuda":
        if name not in ("auto", "float32"):
            raise ValueError(f"dtype {name!r} needs a CUDA device (got {device}); use 'auto' or "
                             "'float32'")
        return torch.float32
    if name == "auto":
        return half_dtype(device, bf16=bf16)
    if name == "bfloat16" and not (bf16_supported(device) if bf16 is None else bf16):
        raise ValueError(f"this card ({device}) has no bfloat16; use dtype 'auto' or 'float16'")
    return table[name]
