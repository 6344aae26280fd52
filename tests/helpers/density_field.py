"""A field given by a density function, standing in for a trained ``NeRFField`` where only its
density and albedo are read (the object's extraction)."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import torch


class DensityField:
    """``density(x) = 200 /m × inside(x)`` (``inside``: points ``(N, 3)`` → ``(N,)`` in [0, 1])
    and a grey albedo, like a ``NeRFField``."""

    def __init__(self, inside: Callable[[torch.Tensor], torch.Tensor]):
        self.inside = inside

    def density(self, x: torch.Tensor) -> torch.Tensor:
        return 200.0 * self.inside(x.double()).to(x.dtype)

    def __call__(self, x: torch.Tensor):
        return SimpleNamespace(albedo=torch.full_like(x, 0.5))
