"""``OracleImagePrior``: an analytic denoiser whose data are known images (tests, ``tiny``).

If the data distribution is a single image ``x₀`` (per view), the exact noise prediction for a
noisy sample is ``ε*(x_t) = (x_t − √ᾱ_t·x₀) / √(1−ᾱ_t)``. Substituting
``x_t = √ᾱ_t·x + √(1−ᾱ_t)·ε`` for a render ``x``:

    ε*(x_t) − ε = √ᾱ_t·(x − x₀) / √(1−ᾱ_t)

— the sampled noise cancels exactly, so the SDS gradient w.r.t. ``x`` is deterministic given t:

    g(t) = w(t)·√(ᾱ_t/(1−ᾱ_t))·(x − x₀)

and ``sds_loss_from_grad`` makes ``∂loss/∂x = g/B``; with ``x = 2·rgb − 1`` (and
``x₀ = 2·target − 1``) ``∂loss/∂rgb = 2·g/B``. Per weighting:

- ``"sds"`` (``w = 1−ᾱ_t``): ``g = √(ᾱ_t(1−ᾱ_t))·(x − x₀)`` (a factor ≤ ½),
- ``"snr"`` (``w = √((1−ᾱ_t)/ᾱ_t)``): ``g = x − x₀`` exactly,
- ``"uniform"``: ``g = √SNR(t)·(x − x₀)`` (large at small t; clip it).

Gradient descent therefore pulls the render onto the target: SDS with this prior must recover
the known scene, which is what the stage tests check. The oracle works in pixel space at the
render's resolution, with the same scheduler alphas (Stable Diffusion's scaled-linear
betas by default), timestep ramp, weighting and clipping as :class:`StableDiffusionPrior`, and
the same ``sds_loss`` interface; the prompt is validated and otherwise ignored, and there is
no classifier-free guidance (the oracle is its own conditional model: ``ε̂ = ε*``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import torch

# its module: type checkers read ``from diffusers import`` as its dummy placeholders
from diffusers.schedulers.scheduling_ddim import DDIMScheduler
from torch import Tensor

from ..config_checks import check_choices
from .base import SDSOutput, TimestepRamp, ViewBatch, check_prompt, check_render, fixed_timesteps
from .sds import (
    Weighting,
    add_noise,
    sample_noise,
    sample_timesteps,
    sanitize_grad,
    sds_grad,
    sds_loss_from_grad,
)

TargetFn = Callable[[ViewBatch], Tensor]
"""``views → (B, 3, H, W)`` images in [0, 1]: the known scene seen from ``views``."""


@dataclass(frozen=True, kw_only=True)
class OracleImagePriorConfig:
    """The oracle's noise schedule and SDS settings (defaults: Stable Diffusion's)."""

    weighting: Weighting = "sds"
    """SDS weighting ``w(t)``: "sds" (1−ᾱ_t), "uniform" or "snr" (see ``sds.sds_weight``)."""
    ramp: TimestepRamp = field(default_factory=TimestepRamp)
    """Range of timesteps sampled, annealed with the optimisation progress."""
    grad_clip: float | None = None
    """Elementwise clamp of the pixel-space SDS gradient; None: no clamp."""
    num_train_timesteps: int = 1000
    """Length of the DDPM noise schedule."""
    beta_start: float = 0.00085
    """First beta of the schedule (Stable Diffusion's)."""
    beta_end: float = 0.012
    """Last beta of the schedule (Stable Diffusion's)."""
    beta_schedule: Literal["scaled_linear", "linear"] = "scaled_linear"
    """How betas go from start to end (diffusers' names)."""

    def __post_init__(self) -> None:
        check_choices(self)


class OracleImagePrior:
    """An :class:`~.base.ImagePrior` whose denoiser knows the answer (``target_fn``)."""

    def __init__(self, config: OracleImagePriorConfig = OracleImagePriorConfig(), *,
                 target_fn: TargetFn, device: torch.device | str = "cpu"):
        self.config = config
        self.target_fn = target_fn
        self.device = torch.device(device)
        scheduler = DDIMScheduler(num_train_timesteps=config.num_train_timesteps,
                                  beta_start=config.beta_start, beta_end=config.beta_end,
                                  beta_schedule=config.beta_schedule, clip_sample=False,
                                  set_alpha_to_one=False, steps_offset=1)
        self.alphas_cumprod = scheduler.alphas_cumprod.to(self.device, torch.float32)  # (T,)
        self.num_train_timesteps = config.num_train_timesteps
        self._last_target: tuple[ViewBatch, Tensor] | None = None

    def target(self, views: ViewBatch) -> Tensor:
        """``target_fn(views)``, kept for the last ``views`` object (a ViewBatch is immutable:
        scoring many candidates from the same cameras renders the known scene once)."""
        if self._last_target is None or self._last_target[0] is not views:
            self._last_target = (views, self.target_fn(views))
        return self._last_target[1]

    def denoise(self, x_t: Tensor, x0: Tensor, alphas_cumprod_t: Tensor) -> Tensor:
        """``ε*(x_t) = (x_t − √ᾱ_t·x₀)/√(1−ᾱ_t)`` for (B, C, H, W) tensors, ᾱ_t (B,)."""
        a = alphas_cumprod_t.to(x_t.dtype).reshape(-1, 1, 1, 1)
        return (x_t - a.sqrt() * x0) / (1.0 - a).sqrt()

    def sds_loss(self, rgb: Tensor, *, prompt: str, views: ViewBatch, progress: float,
                 generator: torch.Generator) -> SDSOutput:
        """SDS of ``rgb`` (B, 3, H, W) in [0, 1] against ``target_fn(views)``."""
        check_prompt(prompt)
        check_render(rgb, views)
        target = self.target(views)
        if target.shape != rgb.shape:
            raise ValueError(f"The oracle's target is {tuple(target.shape)} but the render is "
                             f"{tuple(rgb.shape)}: render at the target's resolution")
        x = rgb.float() * 2.0 - 1.0
        x0 = target.detach().to(device=x.device, dtype=torch.float32) * 2.0 - 1.0
        t = sample_timesteps(x.shape[0], self.config.ramp, progress, self.num_train_timesteps,
                             generator).to(self.device)
        a = self.alphas_cumprod[t]
        noise = sample_noise(x, generator)
        with torch.no_grad():
            x_t = add_noise(x.detach(), noise, a)
            eps = self.denoise(x_t, x0, a)
            grad, n_bad = sanitize_grad(sds_grad(eps, noise, a, self.config.weighting),
                                        self.config.grad_clip)
        loss = sds_loss_from_grad(x, grad)
        logs = {  # on the device: read by the caller when it logs (progress.read_losses)
            "loss_sds": loss.detach(),
            "t_mean": t.float().mean(),
            "grad_norm": grad.norm(),
            "nonfinite_grad": n_bad.float(),
            "target_mse": ((x.detach() - x0) ** 2).mean() / 4.0,  # in [0, 1] units
        }
        return SDSOutput(loss=loss, timesteps=t, logs=logs)

    def denoising_error(self, rgb: Tensor, *, prompt: str, views: ViewBatch,
                        timestep_fraction: float, generator: torch.Generator) -> Tensor:
        """``(B,)`` ``‖ε*(x_t) − ε‖²`` per image at ``t = timestep_fraction · T``; for the oracle
        this is exactly ``ᾱ_t/(1−ᾱ_t) · ‖x − x₀‖²`` (mean over pixels, ``x`` in [−1, 1])."""
        check_prompt(prompt)
        check_render(rgb, views)
        with torch.no_grad():
            target = self.target(views)
            if target.shape != rgb.shape:
                raise ValueError(f"The oracle's target is {tuple(target.shape)} but the render "
                                 f"is {tuple(rgb.shape)}: render at the target's resolution")
            x = rgb.detach().float() * 2.0 - 1.0
            x0 = target.to(device=x.device, dtype=torch.float32) * 2.0 - 1.0
            t = fixed_timesteps(x.shape[0], timestep_fraction, self.num_train_timesteps,
                                self.device)
            a = self.alphas_cumprod[t]
            noise = sample_noise(x, generator)
            eps = self.denoise(add_noise(x, noise, a), x0, a)
            return ((eps - noise) ** 2).flatten(1).mean(1)
