"""Preview images of stage A and B: a turntable strip of a scene's fields."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..nerf.cameras import SceneBox, orbit_cameras
from ..nerf.renderer import render_image
from ..nerf.samplers import DenseSamplerConfig, DenseStratifiedSampler

POINTS_PER_CHUNK = 32768
"""Samples rendered at once. The renderer's default chunk (8192 rays) at 96 samples per ray puts
~0.8 M points through a hash grid at once — gigabytes of temporaries; on a CPU this budget
renders the tiny preset's 6 × 64² turntable 2–3 times faster (7.4 s → 2.4–4.6 s, one thread)."""


@torch.no_grad()
def turntable(fields: Sequence, *, box: SceneBox, views: int = 8, size: int = 128,
              elevation_deg: float = 15.0, radius: float = 2.8,
              target: tuple[float, float, float] = (0.0, -0.4, 0.1), num_samples: int = 96,
              background: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """(size, views·size, 3) uint8: the fields seen from ``views`` azimuths around the scene."""
    p = next(iter(fields[0].buffers()), None) if hasattr(fields[0], "buffers") else None
    device = p.device if p is not None else "cpu"
    cams = orbit_cameras(torch.linspace(0, 360, views + 1)[:-1], elevation_deg, radius, 45.0,
                         size, target=target, device=device, dtype=torch.float32)
    sampler = DenseStratifiedSampler(DenseSamplerConfig(num_samples=num_samples), box=box)
    bg = torch.tensor(background, device=device, dtype=torch.float32)
    img = render_image(list(fields), cams, sampler, background=bg,
                       chunk=max(1, POINTS_PER_CHUNK // num_samples))
    strip = torch.cat(list(img.rgb), dim=1).clamp(0, 1)
    return (strip.cpu().numpy() * 255 + 0.5).astype(np.uint8)
