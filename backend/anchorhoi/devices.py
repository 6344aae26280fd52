"""Where a model's inputs go and which half precision a card takes.

- Under ``enable_model_cpu_offload`` a diffusers module's weights sit on the CPU between calls,
  so ``vae.device`` / ``text_encoder.device`` report the CPU; its inputs must go to the device
  the offload hook runs it on (``execution_device``; diffusers' own pipelines do the same).
- bfloat16 only where the card has it (``torch.cuda.is_bf16_supported()``: Ampere and later);
  older cards (e.g. 24 GB Turing/Volta boards) run float16, with the VAE kept in float32.
"""

from __future__ import annotations

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
