"""Image-to-video with a conditioning strength (SDEdit) for Wan TI2V checkpoints.

The pipeline's own image-to-video starts every frame but the first from pure noise, so the
video may wander far from the anchored composition. With a **strength** ``s`` in (0, 1] the
denoising starts instead from the conditioning render itself, held still over the whole clip,
noised to the level of the step at fraction ``s`` of the schedule (flow matching:
``x = (1 − σ) · z_render + σ · ε``), and runs only the last ``round(s · steps)`` steps
(SDEdit, Meng et al. 2022). Low strengths keep the video on the composition (the body where
the key pose put it, the object where stage B placed it); ``s = 1`` is an ordinary generation
from noise. As in the pipeline, the first latent frame stays pinned to the encoded render
(Wan 2.2 TI2V's per-token timesteps: the first frame is at t = 0).

``restore_detail`` adds the VAE's reconstruction error of the render back onto every decoded
frame: ``frame + (render − decode(z_render))``. With a trained VAE that error is small detail
the latent cannot hold; with the ``tiny`` preset's random VAE it is everything — the decoded
frames are then the render plus the change the denoising made to the latents, which is what
lets the pipeline check run a real detector on a random model's video.

Built from the pipeline's own modules (transformer, VAE, scheduler), stepping as
``WanImageToVideoPipeline.__call__`` does with ``expand_timesteps``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from diffusers.utils.torch_utils import randn_tensor
from PIL import Image

from ..devices import execution_device
from ..progress import StepCallback


def _latent_stats(vae: Any, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    z = vae.config.z_dim
    mean = torch.tensor(vae.config.latents_mean).view(1, z, 1, 1, 1).to(like)
    inv_std = 1.0 / torch.tensor(vae.config.latents_std).view(1, z, 1, 1, 1).to(like)
    return mean, inv_std


def _encode(pipe: Any, video: torch.Tensor) -> torch.Tensor:
    """(1, 3, F, H, W) in [−1, 1] → normalised latents (the pipeline's convention)."""
    vae = pipe.vae
    # under model CPU offload vae.device is the CPU: inputs go where the hook runs it
    posterior = vae.encode(video.to(device=execution_device(vae), dtype=vae.dtype)).latent_dist
    z = posterior.mode().to(torch.float32)
    mean, inv_std = _latent_stats(vae, z)
    return (z - mean) * inv_std


def _decode(pipe: Any, latents: torch.Tensor) -> np.ndarray:
    """Normalised latents → (F, H, W, 3) float frames in [0, 1]."""
    vae = pipe.vae
    mean, inv_std = _latent_stats(vae, latents)
    z = (latents / inv_std + mean).to(device=execution_device(vae), dtype=vae.dtype)
    video = vae.decode(z, return_dict=False)[0]
    return pipe.video_processor.postprocess_video(video, output_type="np")[0]


def sdedit_image_to_video(pipe: Any, *, image: np.ndarray, prompt_embeds: torch.Tensor,
                          negative_prompt_embeds: torch.Tensor | None, guidance_scale: float,
                          num_frames: int, num_inference_steps: int, strength: float,
                          generator: torch.Generator, restore_detail: bool = False,
                          on_step: StepCallback | None = None) -> np.ndarray:
    """(num_frames, H, W, 3) float frames in [0, 1] from the render ``image (H, W, 3)`` uint8
    (already at a size the model takes) with a Wan TI2V pipeline ``pipe``; see the module
    docstring. ``on_step(step, total, {})`` after each of the ``total = round(strength · steps)``
    steps run (may raise to cancel)."""
    if not 0.0 < strength <= 1.0:
        raise ValueError(f"the conditioning strength must lie in (0, 1], got {strength}")
    if not bool(pipe.config.expand_timesteps):
        raise ValueError("a conditioning strength below 1 needs a Wan TI2V checkpoint (per-token "
                         "timesteps, e.g. Wan2.2-TI2V-5B); this one conditions otherwise — use "
                         "conditioning_strength = 1")
    device = pipe._execution_device
    h, w = image.shape[:2]
    tr = pipe.transformer
    pixels = pipe.video_processor.preprocess(Image.fromarray(image), height=h, width=w)
    pixels = pixels.to(device, torch.float32)[:, :, None]  # (1, 3, 1, H, W)
    with torch.no_grad():
        condition = _encode(pipe, pixels)  # (1, C, 1, h, w): the pinned first frame
        still = _encode(pipe, pixels.expand(-1, -1, num_frames, -1, -1))  # (1, C, F', h, w)
    mask = torch.ones_like(still[:, :1])
    mask[:, :, 0] = 0
    scheduler = pipe.scheduler
    scheduler.set_timesteps(num_inference_steps, device=device)
    run = max(1, int(round(strength * num_inference_steps)))
    start = num_inference_steps - run
    timesteps = scheduler.timesteps[start:]
    scheduler.set_begin_index(start)
    sigma = float(scheduler.sigmas[start])
    noise = randn_tensor(tuple(still.shape), generator=generator, device=device,
                         dtype=torch.float32)
    latents = (1.0 - sigma) * still + sigma * noise
    dtype = tr.dtype
    p_h, p_w = tr.config.patch_size[1], tr.config.patch_size[2]
    negative = negative_prompt_embeds if guidance_scale > 1.0 else None
    with torch.no_grad():
        for i, t in enumerate(timesteps):
            model_in = ((1 - mask) * condition + mask * latents).to(dtype)
            step_t = (mask[0, 0][:, ::p_h, ::p_w] * t).flatten()[None]
            pred = tr(hidden_states=model_in, timestep=step_t,
                      encoder_hidden_states=prompt_embeds.to(dtype), return_dict=False)[0]
            if negative is not None:
                uncond = tr(hidden_states=model_in, timestep=step_t,
                            encoder_hidden_states=negative.to(dtype),
                            return_dict=False)[0]
                pred = uncond + guidance_scale * (pred - uncond)
            latents = scheduler.step(pred.float(), t, latents, return_dict=False)[0]
            if on_step is not None:
                on_step(i + 1, run, {})
        latents = (1 - mask) * condition + mask * latents
        frames = _decode(pipe, latents)
        if restore_detail:
            render = image.astype(np.float64)[None] / 255.0
            frames = frames + (render - _decode(pipe, still))
    return np.clip(frames, 0.0, 1.0)[:num_frames]
