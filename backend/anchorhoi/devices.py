"""Where a model's inputs go and which half precision a card takes.

- Under ``enable_model_cpu_offload`` a diffusers module's weights sit on the CPU between calls,
  so ``vae.device`` / ``text_encoder.device`` report the CPU; its inputs must go to the device
  the offload hook runs it on (``execution_device``; diffusers' own pipelines do the same).
- bfloat16 only where the card has it (``torch.cuda.is_bf16_supported()``: Ampere and later);
  older cards (e.g. 24 GB Turing/Volta boards) run float16, with the VAE kept in float32.
- A text encoder is needed once per prompt: ``HeldEncoder`` lets it go once the embeddings
  are computed (read back only for a text not yet encoded).
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def execution_device(module: torch.nn.Module) -> torch.device:
    """The device ``module``'s forward pass runs on (its offload hook's, else its own)."""
    from diffusers.utils.torch_utils import get_module_execution_device

    return get_module_execution_device(module)


def bf16_supported(device: torch.device) -> bool:
    """The CUDA ``device`` computes in bfloat16 (False off CUDA)."""
    if device.type != "cuda":
        return False
    with torch.cuda.device(device):
        return bool(torch.cuda.is_bf16_supported())


def half_dtype(device: torch.device, *, bf16: bool | None = None) -> torch.dtype:
    """bfloat16 on a CUDA ``device`` that has it, float16 on one that has not (``bf16``
    overrides the query: what the card reports)."""
    if device.type != "cuda":
        raise ValueError(f"half precision needs a CUDA device, not {device}")
    has_bf16 = bf16_supported(device) if bf16 is None else bf16
    return torch.bfloat16 if has_bf16 else torch.float16


class HeldEncoder:
    """A text encoder held only until its embeddings are computed.

    A prior encodes every text it will need in one call (``take``), caches the embeddings and
    lets the encoder go (``release``): its weights leave the GPU and host memory for the rest
    of the run (SD 2.1's CLIP ≈ 0.7 GB, Wan's UMT5-XXL ≈ 11 GB, LTX's T5-XXL ≈ 9.5 GB). A text
    asked for later is encoded by a fresh copy that ``load`` reads back from the model folder.
    """

    def __init__(self, module: torch.nn.Module, load: Callable[[], torch.nn.Module]):
        self._module: torch.nn.Module | None = module
        self._load = load
        self.loads = 0
        """How often the encoder was read back after a release."""

    @property
    def module(self) -> torch.nn.Module | None:
        """The encoder while it is held here (None once released)."""
        return self._module

    def take(self, device: torch.device) -> torch.nn.Module:
        """The encoder on ``device``, read back first when it was released."""
        if self._module is None:
            self._module = self._load().requires_grad_(False).eval()
            self.loads += 1
        return self._module.to(device)

    def release(self) -> None:
        """Drop the reference (the caller holds none); the memory goes with the next
        collection, and on CUDA back to the caching allocator."""
        self._module = None
