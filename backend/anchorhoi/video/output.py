"""Stage C's output — the video, its camera, the render it started from — and its files.

Files in the stage folder (atomic writes; read back without pickle):

- ``frames.npz`` + ``preview.gif``: the video (:func:`save_video`, :func:`load_video`);
- ``conditioning.png``: the render of the anchored composition (the video's first frame);
- ``camera.json``: the video's camera (``K``, ``R``, ``t``, ``width``, ``height``; OpenCV,
  world → camera): the camera stages D and E project into;
- ``video.json``: ``anchor_frame``, the frame showing the anchored composition.

:class:`VideoOutput` writes and reads all of them.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import torch
from PIL import Image

from ..images import gif_frame, load_png, save_png
from ..nerf.cameras import Cameras, from_json, to_json
from ..portable.arrays import (
    MotionFileError,
    atomic_write,
    check_shape,
    load_npz,
    save_npz_atomic,
    write_text_atomic,
)
from .base import Video

log = logging.getLogger(__name__)

FRAMES_FILE = "frames.npz"
PREVIEW_FILE = "preview.gif"
CONDITIONING_FILE = "conditioning.png"
CAMERA_FILE = "camera.json"
VIDEO_FILE = "video.json"


@dataclass(frozen=True)
class VideoFiles:
    """Where :func:`save_video` wrote a video."""

    frames: Path
    """``frames.npz``: ``frames`` (T, H, W, 3) uint8 and ``fps`` (scalar float64)."""
    preview: Path
    """``preview.gif``: an animated, looping preview (256 colours per frame)."""


@dataclass(frozen=True, eq=False)
class VideoOutput:
    """What stage C hands on."""

    video: Video
    """The generated clip: exactly the requested frame count and fps."""
    camera: Cameras
    """The video's camera (float64, one camera)."""
    conditioning: np.ndarray
    """(H, W, 3) uint8: the render of the anchored composition."""
    anchor_frame: int
    """The frame showing the anchored composition (0: image-to-video starts from it)."""

    def save(self, folder: str | Path) -> None:
        """Write every file of the module docstring into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_png(folder / CONDITIONING_FILE, self.conditioning)
        write_text_atomic(folder / CAMERA_FILE, json.dumps(to_json(self.camera), indent=1))
        save_video(self.video, folder)
        write_text_atomic(folder / VIDEO_FILE,
                          json.dumps({"anchor_frame": int(self.anchor_frame)}) + "\n")

    @classmethod
    def load(cls, folder: str | Path) -> VideoOutput:
        """What :meth:`save` wrote into ``folder`` (the camera in float64)."""
        folder = Path(folder)
        camera = from_json(_read_json(folder / CAMERA_FILE), dtype=torch.float64)
        meta = _read_json(folder / VIDEO_FILE)
        if not isinstance(meta.get("anchor_frame"), int):
            raise MotionFileError(folder / VIDEO_FILE, "missing or not an integer",
                                  key="anchor_frame")
        return cls(video=load_video(folder), camera=camera,
                   conditioning=load_png(folder / CONDITIONING_FILE),
                   anchor_frame=meta["anchor_frame"])

    @staticmethod
    def previews(folder: str | Path) -> list[Path]:
        """The preview images in ``folder``: the conditioning render, then the video's GIF."""
        return [p for p in (Path(folder) / CONDITIONING_FILE, Path(folder) / PREVIEW_FILE)
                if p.is_file()]


def _read_json(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MotionFileError(path, f"unreadable ({exc})") from None
    if not isinstance(doc, dict):
        raise MotionFileError(path, "not a JSON object")
    return doc


def _gif_durations_ms(num_frames: int, fps: float) -> list[int]:
    """Per-frame GIF delays. GIF counts in centiseconds, so 1/fps is rarely exact: frame i is
    shown from round(100·i/fps) cs on, which keeps the total at round(100·T/fps) cs."""
    starts = [round(100 * i / fps) for i in range(num_frames + 1)]
    return [10 * max(b - a, 1) for a, b in itertools.pairwise(starts)]


def _preview_frames(frames: np.ndarray, max_side: int | None) -> list[Image.Image]:
    images = [Image.fromarray(f) for f in frames]
    h, w = frames.shape[1:3]
    if max_side is not None and max(h, w) > max_side:
        scale = max_side / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        images = [im.resize(size, Image.Resampling.LANCZOS) for im in images]
    return [gif_frame(im) for im in images]


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

    def write_gif(fh: IO[bytes]) -> None:
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
