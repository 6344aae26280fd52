"""The video-prior interface: what stage C asks of a video diffusion model, and its files.

A :class:`VideoPrior` turns the interaction prompt and a render of the anchored composition
(seen from the known camera) into a :class:`Video`. The render's camera is the video's camera, so
frames always come back at exactly the requested ``height × width``; the requested frame count
and fps are honoured too (each prior resamples its native output in time, see
:mod:`.frames`). :func:`save_video` writes the frames (``frames.npz``) and a GIF preview
atomically; :func:`load_video` reads them back without pickle.

Also here: the checks every prior runs on a request and on a model id / local folder.
"""

from __future__ import annotations

import logging
import math
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import torch
from huggingface_hub import constants as hf_constants
from PIL import Image

from ..portable.arrays import (MotionFileError, atomic_write, check_shape, load_npz,
                               save_npz_atomic)
from ..priors.base import ModelNotFoundError, check_prompt

log = logging.getLogger(__name__)

FRAMES_FILE = "frames.npz"
PREVIEW_FILE = "preview.gif"
DTypeName = Literal["auto", "bfloat16", "float16", "float32"]

StepCallback = Callable[[int, int], None]
"""``on_step(step, total)`` after each denoising step (step counts from 1). Raising from it
stops the run at that step boundary and the exception propagates out of ``generate``."""


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


@dataclass(frozen=True)
class VideoFiles:
    """Where :func:`save_video` wrote a video."""

    frames: Path
    """``frames.npz``: ``frames`` (T, H, W, 3) uint8 and ``fps`` (scalar float64)."""
    preview: Path
    """``preview.gif``: an animated, looping preview (256 colours per frame)."""


@runtime_checkable
class VideoPrior(Protocol):
    """A video diffusion model that animates the anchored composition (stage C)."""

    def generate(self, *, prompt: str, image: np.ndarray | None, num_frames: int, fps: float,
                 width: int, height: int, generator: torch.Generator,
                 on_step: StepCallback | None = None) -> Video:
        """A video of ``prompt`` with exactly ``num_frames`` frames of ``height × width`` at
        ``fps``. ``image`` (height, width, 3) uint8 is the render of the anchored composition
        from the video's camera (image-to-video; ``None``: text-to-video where the model can).
        ``generator`` draws all noise; ``on_step`` reports progress and may raise to cancel."""
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


def resolve_dtype(name: DTypeName, device: torch.device) -> torch.dtype:
    """``auto``: bfloat16 on CUDA, float32 elsewhere. Half precision off CUDA is refused (slow
    and, for these models, numerically unreliable)."""
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    table = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}
    if name not in table:
        raise ValueError(f"dtype must be one of auto, bfloat16, float16, float32; got {name!r}")
    if device.type != "cuda" and name != "float32":
        raise ValueError(f"dtype {name!r} needs a CUDA device (got {device}); use 'auto' or "
                         "'float32'")
    return table[name]


# -- model ids and folders --------------------------------------------------------------------

def is_offline() -> bool:
    env = os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}
    return bool(hf_constants.HF_HUB_OFFLINE) or env


def check_local_folder(model_id: str, required: tuple[str, ...],
                       tokenizer_files: tuple[tuple[str, ...], ...]) -> str:
    """The id to pass to ``from_pretrained``. A local folder must hold every file of
    ``required`` and one group of ``tokenizer_files``; an id that looks like a path but is no
    folder is refused — both with a :class:`ModelNotFoundError`, before any network access."""
    path = Path(model_id).expanduser()
    if path.is_dir():
        missing = [f for f in required if not (path / f).is_file()]
        if not any(all((path / f).is_file() for f in group) for group in tokenizer_files):
            missing.append(" or ".join(" + ".join(group) for group in tokenizer_files))
        if missing:
            raise ModelNotFoundError(model_id, f"the folder lacks {', '.join(missing)}")
        return str(path)
    looks_like_path = (path.is_absolute() or model_id.startswith((".", "~")) or "\\" in model_id
                       or model_id.count("/") > 1)
    if looks_like_path:
        raise ModelNotFoundError(model_id, "no such folder")
    return model_id


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


def load_error(model_id: str, source: str, exc: BaseException) -> ModelNotFoundError:
    """The :class:`ModelNotFoundError` to raise when ``from_pretrained(source)`` failed."""
    text = str(exc).strip()
    first_line = text.splitlines()[0] if text else type(exc).__name__
    if Path(source).is_dir():
        reason = f"the local folder could not be read ({first_line})"
    elif is_offline():
        reason = ("the machine is offline (HF_HUB_OFFLINE=1) and the model is not in the Hugging "
                  f"Face cache ({first_line})")
    else:
        reason = ("it is neither in the Hugging Face cache nor downloadable — no such repository, "
                  f"no network, gated, or no .safetensors weights ({first_line})")
    return ModelNotFoundError(model_id, reason)


# -- files ------------------------------------------------------------------------------------

def _gif_durations_ms(num_frames: int, fps: float) -> list[int]:
    """Per-frame GIF delays. GIF counts in centiseconds, so 1/fps is rarely exact: frame i is
    shown from round(100·i/fps) cs on, which keeps the total at round(100·T/fps) cs."""
    starts = [round(100 * i / fps) for i in range(num_frames + 1)]
    return [10 * max(b - a, 1) for a, b in zip(starts, starts[1:])]


def _preview_frames(frames: np.ndarray, max_side: int | None) -> list[Image.Image]:
    images = [Image.fromarray(f) for f in frames]
    h, w = frames.shape[1:3]
    if max_side is not None and max(h, w) > max_side:
        scale = max_side / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        images = [im.resize(size, Image.Resampling.LANCZOS) for im in images]
    # GIF frames hold 256 colours: the fast octree picks them in milliseconds, where the
    # median cut Pillow uses by default takes 0.2–0.9 s per 256² frame
    return [im.quantize(256, method=Image.Quantize.FASTOCTREE) for im in images]


def save_video(video: Video, folder: str | os.PathLike, *,
               preview_max_side: int | None = 512) -> VideoFiles:
    """Write ``frames.npz`` (lossless frames + fps) and ``preview.gif`` into ``folder``, each
    atomically (temporary file + rename). The GIF is downscaled so its longer side is at most
    ``preview_max_side`` (None: full size) and loops; Pillow merges identical consecutive frames
    but keeps the total duration. No MP4: no encoder ships without extra dependencies."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames_path, preview_path = folder / FRAMES_FILE, folder / PREVIEW_FILE
    save_npz_atomic(frames_path, {"frames": video.frames,
                                  "fps": np.asarray(video.fps, dtype=np.float64)})
    images = _preview_frames(video.frames, preview_max_side)
    durations = _gif_durations_ms(video.num_frames, video.fps)

    def write_gif(fh) -> None:
        images[0].save(fh, format="GIF", save_all=True, append_images=images[1:],
                       duration=durations if len(images) > 1 else durations[0], loop=0,
                       optimize=False)

    atomic_write(preview_path, write_gif)
    log.info("Saved %d frames (%dx%d @ %.3g fps) to %s and a preview to %s", video.num_frames,
             video.width, video.height, video.fps, frames_path, preview_path)
    return VideoFiles(frames=frames_path, preview=preview_path)


def load_video(folder: str | os.PathLike) -> Video:
    """The video :func:`save_video` wrote into ``folder`` (read without pickle)."""
    path = Path(folder) / FRAMES_FILE
    arrays = load_npz(path, ("frames", "fps"))
    for key in ("frames", "fps"):
        if key not in arrays:
            raise MotionFileError(path, "missing key", key=key)
    frames, fps = arrays["frames"], arrays["fps"]
    if frames.dtype != np.uint8:
        raise MotionFileError(path, f"expected uint8 frames, got {frames.dtype}", key="frames")
    check_shape(path, "frames", frames, (None, None, None, 3))
    if fps.size != 1 or fps.dtype.kind not in "fiu":
        raise MotionFileError(path, f"expected one number, got {fps.dtype} {fps.shape}",
                              key="fps")
    try:
        return Video(frames=frames, fps=float(fps.reshape(())))
    except ValueError as exc:
        raise MotionFileError(path, str(exc)) from None
