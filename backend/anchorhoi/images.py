"""Image files the stages write (previews, the conditioning render): PNG in and out, GIF out."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from .portable.arrays import atomic_write


def save_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write ``(H, W, 3) uint8`` as PNG atomically; returns the path."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    atomic_write(path, lambda fh: fh.write(buf.getvalue()))
    return Path(path)


def load_png(path: str | Path) -> np.ndarray:
    """``(H, W, 3) uint8`` RGB of an image file (other modes converted)."""
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8)


def gif_frame(image: Image.Image) -> Image.Image:
    """``image`` reduced to a GIF's 256 colours by the fast octree: milliseconds, where the
    median cut Pillow uses by default takes 0.2–0.9 s per 256² frame."""
    return image.quantize(256, method=Image.Quantize.FASTOCTREE)
