"""The radiance field: hash-grid encoding + a small MLP → density and albedo.

A *field* is anything with ``density(x (N,3)) -> (N,)`` and ``__call__(x) -> FieldOutput``
(an ``nn.Module`` with such a ``forward`` qualifies): the learnable human NeRF below, the frozen
object field, or an analytic field in a test. The renderer composites several of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import torch
from torch import nn

from ..config_checks import check_choices
from .encoding import HashGridConfig, HashGridEncoding


@dataclass(frozen=True)
class FieldOutput:
    density: torch.Tensor  # (N,) volume density σ ≥ 0, per metre
    albedo: torch.Tensor  # (N, 3) diffuse colour in [0, 1]


class Field(Protocol):
    def density(self, x: torch.Tensor) -> torch.Tensor:
        """``x (N, 3)`` world → ``(N,)`` density."""
        ...

    def __call__(self, x: torch.Tensor) -> FieldOutput:
        """``x (N, 3)`` world → density and albedo."""
        ...


NormalMethod = Literal["autograd", "finite_difference"]


@dataclass(frozen=True, kw_only=True)
class NeRFFieldConfig:
    """The learnable field."""

    encoding: HashGridConfig = field(default_factory=HashGridConfig)
    """Multi-resolution grid feeding the MLP."""
    hidden_dim: int = 64
    """Width of the MLP's hidden layers."""
    num_layers: int = 2
    """Hidden layers of the MLP (each Linear + ReLU), then one output layer."""
    density_activation: Literal["softplus", "trunc_exp"] = "softplus"
    """σ = act(raw + density_bias); ``trunc_exp`` is exp with its gradient clamped at exp(15)."""
    density_bias: float = -1.0
    """Added to the raw density before the activation (negative: start nearly empty)."""
    density_scale: float = 1.0
    """σ = density_scale · act(raw + density_bias) (per metre)."""
    normals: NormalMethod = "finite_difference"
    """How ``normals`` differentiates the density: exact autograd or central differences
    (smoother on hash grids, 6 extra density evaluations)."""
    normal_eps: float = 1e-2
    """Finite-difference step in metres."""

    def __post_init__(self) -> None:
        check_choices(self)
        if not self.density_scale > 0:
            raise ValueError(f"NeRFFieldConfig.density_scale must be > 0, got {self.density_scale}")


class _TruncExp(torch.autograd.Function):
    """exp(x) whose backward uses exp(min(x, 15)) (Instant-NGP / torch-ngp)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.exp(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * torch.exp(x.clamp(max=15))


def trunc_exp(x: torch.Tensor) -> torch.Tensor:
    return _TruncExp.apply(x)


def density_normals(density_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, *,
                    method: NormalMethod = "finite_difference", eps: float = 1e-2,
                    create_graph: bool | None = None) -> torch.Tensor:
    """Outward unit normals ``(N, 3)`` at ``x (N, 3)``: ``-∇σ / |∇σ|`` of ``density_fn``.

    ``create_graph`` (default: whether grad mode is on) keeps autograd normals differentiable
    for the parameters; finite differences are differentiable whenever grad mode is on.
    """
    if method == "autograd":
        keep = torch.is_grad_enabled() if create_graph is None else create_graph
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(density_fn(xg).sum(), xg, create_graph=keep)
        if not keep:
            grad = grad.detach()
    else:
        offsets = eps * torch.eye(3, device=x.device, dtype=x.dtype)  # (3, 3)
        probes = torch.cat([x[:, None] + offsets, x[:, None] - offsets], dim=1)  # (N, 6, 3)
        sigma = density_fn(probes.reshape(-1, 3)).reshape(-1, 2, 3)
        grad = (sigma[:, 0] - sigma[:, 1]) / (2 * eps)
    return -nn.functional.normalize(grad, dim=-1, eps=1e-12)


class NeRFField(nn.Module):
    """Density and albedo inside ``aabb``; zero density outside it."""

    def __init__(self, config: NeRFFieldConfig = NeRFFieldConfig(), *, aabb: torch.Tensor,
                 generator: torch.Generator | None = None,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        super().__init__()
        self.config = config
        self.encoding = HashGridEncoding(config.encoding, aabb=aabb, generator=generator,
                                         device=device, dtype=dtype)
        dims = [self.encoding.output_dim] + [config.hidden_dim] * config.num_layers + [4]
        layers: list[nn.Module] = []
        for i, (d_in, d_out) in enumerate(itertools.pairwise(dims)):
            layers.append(_linear(d_in, d_out, generator))
            if i < len(dims) - 2:
                layers.append(nn.ReLU())
        self.mlp = nn.Sequential(*layers).to(device=device, dtype=dtype)
        self.density_gain = 1.0
        """A training schedule's factor on ``config.density_scale`` (1 outside training)."""

    def _raw(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (N, 3)`` → activated density ``(N,)`` and raw albedo logits ``(N, 3)``."""
        out = self.mlp(self.encoding(x))
        raw = out[:, 0] + self.config.density_bias
        if self.config.density_activation == "softplus":
            sigma = nn.functional.softplus(raw)
        else:
            sigma = trunc_exp(raw)
        sigma = sigma * (self.config.density_scale * self.density_gain)
        aabb = self.encoding.aabb
        inside = ((x >= aabb[:3]) & (x <= aabb[3:])).all(dim=-1)
        return torch.where(inside, sigma, torch.zeros_like(sigma)), out[:, 1:]

    def density(self, x: torch.Tensor) -> torch.Tensor:
        """``x (N, 3)`` → ``(N,)``."""
        return self._raw(x)[0]

    def forward(self, x: torch.Tensor) -> FieldOutput:
        """``x (N, 3)`` → density ``(N,)`` and albedo ``(N, 3)``."""
        sigma, logits = self._raw(x)
        return FieldOutput(density=sigma, albedo=torch.sigmoid(logits))

    def normals(self, x: torch.Tensor) -> torch.Tensor:
        """``x (N, 3)`` → outward unit normals ``(N, 3)`` (method from the config)."""
        return density_normals(self.density, x, method=self.config.normals,
                               eps=self.config.normal_eps)


def _linear(d_in: int, d_out: int, generator: torch.Generator | None) -> nn.Linear:
    """``nn.Linear`` with PyTorch's default init range, drawn from ``generator`` only (the global
    RNG is left untouched)."""
    layer = nn.Linear(d_in, d_out, device="meta")
    bound = 1.0 / d_in ** 0.5
    gen_device = generator.device if generator is not None else "cpu"

    def uniform(*shape: int) -> nn.Parameter:
        u = torch.rand(*shape, generator=generator, device=gen_device)
        return nn.Parameter(((2 * u - 1) * bound).cpu())

    layer.weight = uniform(d_out, d_in)
    layer.bias = uniform(d_out)
    return layer
