"""The image-prior interface: what stage A (anchor NeRF) asks of an image diffusion model.

An :class:`ImagePrior` turns a differentiable render into a score-distillation loss. The real
prior (:mod:`.stable_diffusion`) and the analytic oracle (:mod:`.oracle`) both implement it, so
stage code cannot tell them apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import torch
from torch import Tensor

from ..config_checks import check_choices


@dataclass(frozen=True, eq=False)
class ViewBatch:
    """Where each image of a render batch was seen from.

    Azimuth 0° is the camera in front of the subject, elevation 90° straight above it.
    """

    azimuth_deg: Tensor
    """(B,) camera azimuth in degrees (any range; wrapped where it matters)."""
    elevation_deg: Tensor
    """(B,) camera elevation in degrees."""
    cameras: object | None = None
    """Opaque per-batch camera data; only view-conditioned oracles look at it."""
    background: Tensor | None = None
    """(3,) the colour the renders were composited over, when the stage varies it per step
    (random backgrounds); a view-conditioned oracle renders its target over it. None: the
    prior's own default."""

    def __post_init__(self) -> None:
        if self.azimuth_deg.ndim != 1 or self.azimuth_deg.shape != self.elevation_deg.shape:
            raise ValueError("ViewBatch wants azimuth_deg and elevation_deg of one (B,) shape, "
                             f"got {tuple(self.azimuth_deg.shape)} and "
                             f"{tuple(self.elevation_deg.shape)}")

    def __len__(self) -> int:
        return int(self.azimuth_deg.shape[0])


@dataclass(frozen=True, eq=False)
class SDSOutput:
    """One score-distillation evaluation."""

    loss: Tensor
    """Scalar; its gradient w.r.t. the render is the (weighted, clipped) SDS gradient."""
    timesteps: Tensor
    """(B,) int64 diffusion timesteps used, one per image."""
    logs: dict[str, Tensor | float] = field(default_factory=dict)
    """Figures for the progress protocol and the job log (e.g. ``t_mean``, ``grad_norm``,
    ``nonfinite_grad``): 0-d tensors on the prior's device, read by the caller when it logs
    (``progress.read_losses``: reading waits for the device), or plain numbers."""


@dataclass(frozen=True, kw_only=True)
class TimestepRamp:
    """The range ``[t_min, t_max]`` timesteps are drawn from, annealed over the optimisation.

    Bounds are fractions of the scheduler's training timesteps (0.98 → t = 980 of 1000). At
    progress ``p`` each bound is ``start + (end - start) · f(p)`` with ``f(p) = p`` (linear) or
    ``f(p) = √p`` (sqrt: most of the descent happens early). The default is DreamFusion's fixed
    U(0.02, 0.98); annealing t_max down (e.g. to 0.5) sharpens detail late in training.
    """

    t_max_start: float = 0.98
    """Upper bound at progress 0."""
    t_max_end: float = 0.98
    """Upper bound at progress 1."""
    t_min_start: float = 0.02
    """Lower bound at progress 0."""
    t_min_end: float = 0.02
    """Lower bound at progress 1."""
    anneal: Literal["linear", "sqrt"] = "linear"
    """How the bounds move between start and end."""

    def __post_init__(self) -> None:
        check_choices(self)
        for name in ("t_max_start", "t_max_end", "t_min_start", "t_min_end"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"TimestepRamp.{name} must be in [0, 1], got {value}")
        if self.t_min_start > self.t_max_start or self.t_min_end > self.t_max_end:
            raise ValueError("TimestepRamp: t_min must not exceed t_max at start and at end, got "
                             f"[{self.t_min_start}, {self.t_max_start}] → "
                             f"[{self.t_min_end}, {self.t_max_end}]")

    def bounds(self, progress: float) -> tuple[float, float]:
        """``(t_min, t_max)`` as fractions at optimisation progress in [0, 1] (clamped)."""
        p = min(max(float(progress), 0.0), 1.0)
        f = p if self.anneal == "linear" else math.sqrt(p)
        t_min = self.t_min_start + (self.t_min_end - self.t_min_start) * f
        t_max = self.t_max_start + (self.t_max_end - self.t_max_start) * f
        return t_min, t_max


@runtime_checkable
class ImagePrior(Protocol):
    """An image diffusion prior that scores renders (stage A)."""

    def sds_loss(self, rgb: Tensor, *, prompt: str, views: ViewBatch, progress: float,
                 generator: torch.Generator) -> SDSOutput:
        """SDS loss of ``rgb`` (B, 3, H, W) in [0, 1] (differentiable) for ``prompt``.

        ``views`` says where each image was seen from (view-dependent prompting), ``progress``
        in [0, 1] drives the timestep annealing, ``generator`` draws timesteps and noise.
        """
        ...

    def denoising_error(self, rgb: Tensor, *, prompt: str, views: ViewBatch,
                        timestep_fraction: float, generator: torch.Generator) -> Tensor:
        """``(B,)`` mean squared error ``‖ε̂(x_t, prompt) − ε‖²`` of the conditional noise
        prediction for ``rgb`` noised at ``t = timestep_fraction · T`` (no gradient).

        Lower means more likely under the prior (the per-timestep term of the diffusion ELBO,
        as diffusion classifiers use it): stage A ranks candidate object placements with it.
        Pass generators seeded alike to compare candidates under the same noise.
        """
        ...


def check_prompt(prompt: str) -> str:
    """``prompt`` stripped; ``ValueError`` if it is empty or whitespace (user input)."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError(f"The prompt is empty ({prompt!r}): describe the interaction, e.g. "
                         "'a person sits on a chair'.")
    return prompt.strip()


def fixed_timesteps(batch: int, fraction: float, num_train_timesteps: int,
                    device: torch.device) -> Tensor:
    """``(batch,)`` int64, all ``round(fraction · (T − 1))``; ``ValueError`` outside [0, 1]."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"timestep_fraction must be in [0, 1], got {fraction}")
    t = int(round(fraction * (num_train_timesteps - 1)))
    return torch.full((batch,), t, dtype=torch.int64, device=device)


def check_render(rgb: Tensor, views: ViewBatch) -> None:
    """``ValueError`` unless ``rgb`` is (B, 3, H, W) with B matching ``views``."""
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise ValueError(f"The render must be (B, 3, H, W), got {tuple(rgb.shape)}")
    if rgb.shape[0] != len(views):
        raise ValueError(f"{rgb.shape[0]} images but {len(views)} views")
