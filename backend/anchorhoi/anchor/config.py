"""What one quality level sets for stages A and B together (the job's presets hold the rows)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .anchor_nerf import AnchorNeRFConfig
from .fit import FitConfig
from .object_field import ObjectGenConfig


@dataclass(frozen=True, kw_only=True)
class AnchorConfig:
    """Stages A and B, alternated: the anchor NeRF, the fit, how often, how big the previews."""

    nerf: AnchorNeRFConfig = field(default_factory=AnchorNeRFConfig)
    """Stage A settings."""
    fit: FitConfig = field(default_factory=FitConfig)
    """Stage B settings."""
    object: ObjectGenConfig = field(default_factory=ObjectGenConfig)
    """Generating the object when the user gives no mesh (stage A's first round)."""
    rounds: int = 2
    """Alternations of stage A and stage B (the NeRF re-anchored to the fitted body)."""
    preview_size: int = 160
    """Side (pixels) of each view of the turntable previews."""

    def __post_init__(self) -> None:
        if self.rounds < 1 or self.preview_size < 8:
            raise ValueError(f"AnchorConfig wants rounds ≥ 1 and preview_size ≥ 8, got "
                             f"{self.rounds} and {self.preview_size}")
