"""Score distillation sampling (SDS) mathematics: pure, batched functions.

Notation (DDPM): ``ᾱ_t`` is the scheduler's ``alphas_cumprod[t]``, ``x_t = √ᾱ_t·x + √(1−ᾱ_t)·ε``
with ``ε ~ N(0, I)``. For an image (or latent) ``x = g(θ)`` the SDS gradient (DreamFusion,
Poole et al. 2022) is ``∇_θ = E_t,ε[ w(t) · (ε̂(x_t; y, t) − ε) · ∂x/∂θ ]`` with the U-Net's
Jacobian dropped. It is applied through a detached target (:func:`sds_loss_from_grad`).

Steps of one SDS evaluation, in the order the priors call them:

1. :func:`sample_timesteps` — ``t`` from the annealed range of a :class:`TimestepRamp`.
2. :func:`sample_noise`, :func:`add_noise` — ``ε`` and ``x_t``.
3. (the denoiser, outside this module) → :func:`epsilon_from_prediction` if it predicts ``v``.
4. :func:`classifier_free_guidance` — ``ε̂ = ε_u + s·(ε_c − ε_u)``.
5. :func:`sds_weight` × ``(ε̂ − ε)`` → :func:`sanitize_grad` (nan guard, clipping).
6. :func:`sds_loss_from_grad` — the scalar loss whose gradient w.r.t. ``x`` is the SDS gradient.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from .base import TimestepRamp

Weighting = Literal["sds", "uniform", "snr"]
PredictionType = Literal["epsilon", "v_prediction"]
WEIGHTINGS: tuple[str, ...] = ("sds", "uniform", "snr")


def classifier_free_guidance(eps_uncond: Tensor, eps_cond: Tensor, scale: float) -> Tensor:
    """Classifier-free guidance ``ε̂ = ε_u + s·(ε_c − ε_u)`` (Ho & Salimans 2022).

    ``s = 1`` is the plain conditional prediction, ``s = 0`` the unconditional one; DreamFusion's
    SDS uses ``s = 100``. Note: several public SDS implementations write
    ``ε_c + s·(ε_c − ε_u)``, which is this formula with ``s + 1`` — a guidance scale copied
    from one of them is off by one here (negligible at 100, not at 7.5).
    """
    return eps_uncond + scale * (eps_cond - eps_uncond)


def sds_weight(alphas_cumprod_t: Tensor, weighting: Weighting) -> Tensor:
    """``w(t)`` for each element of ``alphas_cumprod_t`` (B,) = ``ᾱ_t``.

    - ``"sds"``: ``1 − ᾱ_t`` (DreamFusion; the variance of the forward process).
    - ``"uniform"``: ``1``.
    - ``"snr"``: ``1/√SNR(t) = √(1−ᾱ_t)/√ᾱ_t``. With it ``w·(ε̂ − ε) = x − x̂₀(x_t)``: the
      gradient is the residual of the denoiser's one-step estimate of the clean image,
      measured in image (or latent) units at every t.
    """
    a = alphas_cumprod_t
    if weighting == "sds":
        return 1.0 - a
    if weighting == "uniform":
        return torch.ones_like(a)
    if weighting == "snr":
        return torch.sqrt((1.0 - a) / a)
    raise ValueError(f"Unknown SDS weighting {weighting!r}; choose one of {WEIGHTINGS}")


def timestep_range(ramp: TimestepRamp, progress: float,
                   num_train_timesteps: int) -> tuple[int, int]:
    """Integer ``(t_lo, t_hi)`` (inclusive) of the ramp at ``progress`` for a scheduler with
    ``num_train_timesteps`` steps (0.02, 0.98 of 1000 → 20, 980)."""
    t_min, t_max = ramp.bounds(progress)
    last = num_train_timesteps - 1
    t_lo = min(max(round(t_min * num_train_timesteps), 0), last)
    t_hi = min(max(round(t_max * num_train_timesteps), t_lo), last)
    return t_lo, t_hi


def sample_timesteps(batch: int, ramp: TimestepRamp, progress: float, num_train_timesteps: int,
                     generator: torch.Generator) -> Tensor:
    """(batch,) int64 timesteps, uniform in the ramp's integer range at ``progress``.

    Drawn on the generator's device (so a seed gives the same t on every device); move them
    where they are needed.
    """
    t_lo, t_hi = timestep_range(ramp, progress, num_train_timesteps)
    return torch.randint(t_lo, t_hi + 1, (batch,), generator=generator, device=generator.device,
                         dtype=torch.int64)


def sample_noise(like: Tensor, generator: torch.Generator) -> Tensor:
    """``ε ~ N(0, I)`` shaped like ``like``, drawn on the generator's device in float32, then
    moved to ``like``'s device and dtype (device-independent for a given seed)."""
    noise = torch.randn(like.shape, generator=generator, device=generator.device,
                        dtype=torch.float32)
    return noise.to(device=like.device, dtype=like.dtype)


def _per_sample(values: Tensor, like: Tensor) -> Tensor:
    """(B,) → (B, 1, 1, …) broadcastable against ``like``, in ``like``'s dtype."""
    return values.to(device=like.device, dtype=like.dtype).reshape(-1, *([1] * (like.ndim - 1)))


def add_noise(x: Tensor, noise: Tensor, alphas_cumprod_t: Tensor) -> Tensor:
    """``x_t = √ᾱ_t·x + √(1−ᾱ_t)·ε`` with ``alphas_cumprod_t`` (B,)."""
    a = _per_sample(alphas_cumprod_t, x)
    return a.sqrt() * x + (1.0 - a).sqrt() * noise


def epsilon_from_prediction(prediction: Tensor, x_t: Tensor, alphas_cumprod_t: Tensor,
                            prediction_type: PredictionType) -> Tensor:
    """The noise estimate from a denoiser's output: ``ε`` as is, or from ``v`` as
    ``ε = √ᾱ_t·v + √(1−ᾱ_t)·x_t`` (``v = √ᾱ_t·ε − √(1−ᾱ_t)·x₀``)."""
    if prediction_type == "epsilon":
        return prediction
    if prediction_type == "v_prediction":
        a = _per_sample(alphas_cumprod_t, x_t)
        return a.sqrt() * prediction + (1.0 - a).sqrt() * x_t
    raise ValueError(f"Unsupported prediction type {prediction_type!r}: SDS needs a model that "
                     "predicts 'epsilon' or 'v_prediction'")


def sds_grad(eps_hat: Tensor, noise: Tensor, alphas_cumprod_t: Tensor,
             weighting: Weighting) -> Tensor:
    """``w(t)·(ε̂ − ε)`` per sample, computed in float32."""
    residual = eps_hat.float() - noise.float()
    return _per_sample(sds_weight(alphas_cumprod_t.float(), weighting), residual) * residual


def sanitize_grad(grad: Tensor, clip: float | None) -> tuple[Tensor, Tensor]:
    """Non-finite entries → 0, then elementwise clamp to ``[−clip, clip]`` (None: no clamp).

    Returns the cleaned gradient and the number of non-finite entries replaced, a 0-d int64
    tensor on the gradient's device (log it: a non-zero count means the denoiser overflowed,
    typically fp16). Nothing here waits for the device.
    """
    finite = torch.isfinite(grad)
    n_bad = (~finite).sum()
    grad = torch.where(finite, grad, torch.zeros_like(grad))
    if clip is not None:
        grad = grad.clamp(-clip, clip)
    return grad, n_bad


def sds_loss_from_grad(x: Tensor, grad: Tensor) -> Tensor:
    """``0.5·‖x − (x − g).detach()‖² / B``: a scalar whose gradient w.r.t. ``x`` is ``g / B``.

    (threestudio's form.) Its value is ``0.5·‖g‖²/B`` — a figure to log, not an objective.
    Computed in float32.
    """
    x = x.float()
    target = (x - grad.float()).detach()
    return 0.5 * ((x - target) ** 2).sum() / x.shape[0]
