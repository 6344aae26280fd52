"""Fitting a model's native video to the request: frame counts, time resampling, frame size.

Video models generate a fixed grid of frame counts (Wan: 4k+1, LTX: 8k+1) at the rate they
were trained at (``native_fps``), and sizes that are multiples of their VAE × patch stride. The
user asks for ``num_frames`` at ``fps`` and ``width × height`` (the render's camera). So:

1. :func:`plan_frames`: the generated clip must span the requested time,
   ``(num_frames − 1)/fps`` seconds: ``M ≥ (num_frames − 1)·native_fps/fps + 1`` native frames,
   rounded up to the model's grid. Output frame ``i`` (at ``i/fps`` s) then sits at native
   position ``i·native_fps/fps``. If ``M`` would exceed the model's ``max_frames``, the longest
   clip allowed is generated and stretched over the requested time (the motion plays slower;
   a warning is logged).
2. :func:`resample_frames`: pick (``nearest``, crisp frames for the keypoint detector) or blend
   (``linear``) the native frames at those positions.
3. :func:`generation_size` / :func:`resize_frames`: generate at the nearest allowed size and
   resize back per axis, which keeps the pixel ↔ camera mapping exact.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

TemporalResampling = Literal["nearest", "linear"]


@dataclass(frozen=True, eq=False)
class FramePlan:
    """How many frames to generate and where each requested frame comes from."""

    generated: int
    """Frames the model generates (on its ``k·temporal_factor + 1`` grid)."""
    positions: np.ndarray
    """(num_frames,) float64 positions in the generated clip, in [0, generated − 1]."""
    stretched: bool
    """True when the request needed more than ``max_frames`` and the clip is slowed down."""


def plan_frames(*, num_frames: int, fps: float, native_fps: float, temporal_factor: int,
                max_frames: int) -> FramePlan:
    """The generation length for ``num_frames`` at ``fps`` from a model running at
    ``native_fps`` whose frame counts are ``k·temporal_factor + 1`` (at least one step:
    ``temporal_factor + 1``) and at most ``max_frames``."""
    if temporal_factor < 1:
        raise ValueError(f"temporal_factor must be ≥ 1, got {temporal_factor}")
    if max_frames < temporal_factor + 1:
        raise ValueError(f"max_frames must allow at least {temporal_factor + 1} frames (one "
                         f"latent step), got {max_frames}")
    step = native_fps / fps
    needed = (num_frames - 1) * step + 1
    k = max(1, math.ceil((needed - 1) / temporal_factor - 1e-9))
    k_max = (max_frames - 1) // temporal_factor
    stretched = k > k_max
    k = min(k, k_max)
    generated = k * temporal_factor + 1
    i = np.arange(num_frames, dtype=np.float64)
    if stretched:
        positions = i * ((generated - 1) / max(num_frames - 1, 1))
        log.warning("%d frames at %.3g fps need %d native frames at %.3g fps; the model makes at "
                    "most %d, so the clip is stretched over the requested %.2f s (motion plays "
                    "%.2f× slower)", num_frames, fps, math.ceil(needed), native_fps, generated,
                    (num_frames - 1) / fps, (needed - 1) / (generated - 1))
    else:
        positions = i * step
    positions = np.clip(positions, 0.0, generated - 1)
    return FramePlan(generated=generated, positions=positions, stretched=stretched)


def resample_frames(frames: np.ndarray, positions: np.ndarray,
                    mode: TemporalResampling = "nearest") -> np.ndarray:
    """(T, H, W, 3) uint8 frames sampled at fractional ``positions`` (N,) → (N, H, W, 3) uint8.
    ``nearest`` picks whole frames (ties round half up); ``linear`` blends the two neighbours."""
    last = frames.shape[0] - 1
    positions = np.clip(np.asarray(positions, dtype=np.float64), 0.0, last)
    if mode == "nearest":
        return frames[np.minimum(np.floor(positions + 0.5).astype(np.int64), last)]
    if mode != "linear":
        raise ValueError(f"temporal resampling must be 'nearest' or 'linear', got {mode!r}")
    lo = np.floor(positions).astype(np.int64)
    hi = np.minimum(lo + 1, last)
    w = (positions - lo)[:, None, None, None]
    blend = frames[lo].astype(np.float64) * (1.0 - w) + frames[hi].astype(np.float64) * w
    return np.clip(np.rint(blend), 0, 255).astype(np.uint8)


def generation_size(width: int, height: int, multiple: int) -> tuple[int, int]:
    """``(width, height)`` each rounded to the nearest multiple of ``multiple`` (at least one)."""
    def snap(v: int) -> int:
        return max(multiple, int(math.floor(v / multiple + 0.5)) * multiple)
    return snap(width), snap(height)


def resize_image(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H, W, 3) uint8 resized per axis to ``height × width`` (bicubic; a no-op at that size)."""
    if image.shape[:2] == (height, width):
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BICUBIC))


def resize_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """(T, H, W, 3) uint8 frames resized per axis to ``height × width``."""
    if frames.shape[1:3] == (height, width):
        return frames
    return np.stack([resize_image(f, width, height) for f in frames])


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """Float frames in [0, 1] → uint8 (rounded, clipped)."""
    return np.clip(np.rint(np.asarray(frames, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
