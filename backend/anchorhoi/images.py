"""Image files the stages write (previews, the conditioning render): PNG in, PNG out."""

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
