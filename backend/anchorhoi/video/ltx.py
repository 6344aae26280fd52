"""``LTXVideoPrior``: stage C over LTX-Video (diffusers ``LTXImageToVideoPipeline`` /
``LTXPipeline``).

Default checkpoint: ``Lightricks/LTX-Video`` — the diffusers layout at the root of Lightricks'
published repository (the 2B model the diffusers documentation loads with both pipelines). One
checkpoint does image-to-video (the first latent frame is the encoded render, kept clean) and
text-to-video. Memory: T5-XXL text encoder ≈ 4.8B params (9.5 GB bf16), transformer ≈ 1.9B
(3.8 GB bf16), VAE < 1 GB; with model CPU offload the peak is the text encoder (≈ 10 GB) or the
VAE decode of a long clip (``enable_vae_tiling`` helps), so it fits a 24 GB card with room to
spare — the fast, lighter alternative to Wan. Newer published repositories
(``Lightricks/LTX-Video-0.9.1``, ``-0.9.5``) load the same way; their timestep-aware VAE uses
``decode_timestep``/``decode_noise_scale`` (ignored by the 0.9.0 VAE).

The prompt and the negative prompt are encoded here as the pipeline's ``_get_t5_prompt_embeds``
does (one text a call), with the T5 encoder kept out of the pipeline (``devices.HeldEncoder``):
it goes to the device for those calls, then is let go (≈ 9.5 GB), its embeddings cached per
text; the pipeline gets ``prompt_embeds`` and masks. Frame counts
are ``k·temporal_compression + 1`` (8k+1 for the real VAE), sizes multiples of 32; the native
clip is resampled in time to the requested ``num_frames`` at ``fps`` and resized to
``height × width`` (:mod:`.frames`). On CUDA pass a generator on the CUDA device: the pipeline
draws its decode noise with ``torch.randn`` on the device.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers import LTXImageToVideoPipeline, LTXPipeline
from PIL import Image
from torch import Tensor

from .. import hub
from ..checkpoints import LTX_VIDEO
from ..config_checks import check_choices
from ..devices import HeldEncoder
from ..progress import StepCallback
from .base import VIDEO_LAYOUT, DTypeName, Video, VideoSampling, check_request, resolve_dtype
from .frames import (
    TemporalResampling,
    generation_size,
    plan_frames,
    resample_frames,
    resize_frames,
    resize_image,
    to_uint8,
)

log = logging.getLogger(__name__)

DEFAULT_LTX_MODEL_ID = LTX_VIDEO
DEFAULT_LTX_NEGATIVE_PROMPT = "worst quality, inconsistent motion, blurry, jittery, distorted"
_PIPELINE_SIZE_MULTIPLE = 32  # LTX pipelines refuse other sizes


@dataclass(frozen=True, kw_only=True)
class LTXVideoPriorConfig:
    """Which LTX-Video checkpoint, how it samples, and how it is fitted into memory."""

    model_id: str = DEFAULT_LTX_MODEL_ID
    """Hub id or local folder (diffusers layout) of an LTX-Video checkpoint."""
    cache_dir: Path | None = None
    """Hugging Face cache folder; None: the hub's default."""
    num_inference_steps: int = 50
    """Denoising steps."""
    guidance_scale: float = 3.0
    """Classifier-free guidance scale (LTX's recommendation); ≤ 1 turns guidance off (use 1
    for guidance-distilled checkpoints)."""
    negative_prompt: str = DEFAULT_LTX_NEGATIVE_PROMPT
    """Text of the unconditional branch (used when ``guidance_scale > 1``)."""
    native_fps: float = 25.0
    """Frame rate the model generates at (the pipeline's ``frame_rate``; it scales the temporal
    position encoding)."""
    max_frames: int = 161
    """Longest clip generated (k·8+1 for the real VAE; the model allows up to 257)."""
    max_sequence_length: int = 128
    """Text tokens (longer prompts are truncated with a warning by the pipeline)."""
    decode_timestep: float = 0.05
    """Timestep the VAE decodes at — only for timestep-aware VAEs (LTX-Video ≥ 0.9.1)."""
    decode_noise_scale: float = 0.025
    """Noise mixed into the latents before such a decode."""
    temporal_resampling: TemporalResampling = "nearest"
    """How native frames become the requested ones: whole frames ("nearest") or blends of the
    two neighbours ("linear")."""
    dtype: DTypeName = "auto"
    """Dtype of all components (the pipeline feeds the VAE in the text encoder's dtype):
    "auto" = bfloat16 on CUDA, float32 on CPU."""
    enable_model_cpu_offload: bool = True
    """Keep components on the CPU and move each to the GPU only while it runs (CUDA only;
    ignored on other devices)."""
    enable_vae_tiling: bool = False
    """Decode the video in spatial tiles (lower peak memory for large frames)."""
    enable_vae_slicing: bool = False
    """Decode a batch one video at a time (no effect on the single video made here)."""

    def __post_init__(self) -> None:
        check_choices(self)
        if self.num_inference_steps < 1:
            raise ValueError(f"num_inference_steps must be ≥ 1, got {self.num_inference_steps}")
        if not self.native_fps > 0:
            raise ValueError(f"native_fps must be positive, got {self.native_fps}")


class LTXVideoPrior:
    """A :class:`~.base.VideoPrior` over a diffusers LTX-Video checkpoint.

    The pipelines are typed ``Any``: diffusers registers a pipeline's components (transformer,
    VAE, scheduler, …) at run time, so no type checker sees them."""

    modes = frozenset({"image", "text"})

    def __init__(self, config: LTXVideoPriorConfig = LTXVideoPriorConfig(), *,
                 device: torch.device | str = "cpu"):
        # Copied from anchorhoi.video.wan.WanVideoPrior.__init__ (device, dtype, offload, the
        # two pipelines): a shared base class comes when a third video prior needs it
        self.config = config
        self.device = torch.device(device)
        self.dtype = resolve_dtype(config.dtype, self.device)
        self.offload = config.enable_model_cpu_offload and self.device.type == "cuda"
        if config.enable_model_cpu_offload and not self.offload:
            log.debug("enable_model_cpu_offload ignored on %s", self.device)
        self._i2v: Any = self._load()
        self._t2v: Any = None
        self._active: Any = None
        self._embeddings: dict[str, tuple[Tensor, Tensor]] = {}
        self.temporal_factor = int(self._i2v.vae_temporal_compression_ratio)
        spatial = int(self._i2v.vae_spatial_compression_ratio
                      * self._i2v.transformer_spatial_patch_size)
        self.size_multiple = int(np.lcm(spatial, _PIPELINE_SIZE_MULTIPLE))
        if config.max_frames < self.temporal_factor + 1:
            raise ValueError(f"max_frames must be ≥ {self.temporal_factor + 1} for "
                             f"{config.model_id!r}, got {config.max_frames}")
        if config.enable_vae_tiling:
            self._i2v.vae.enable_tiling()
        if config.enable_vae_slicing:
            self._i2v.vae.enable_slicing()
        if not self.offload:
            self._i2v.to(self.device)
        log.info("LTX prior %s on %s (%s): frames %dk+1 ≤ %d at %.3g fps, sizes ×%d",
                 config.model_id, self.device, self.dtype, self.temporal_factor,
                 config.max_frames, config.native_fps, self.size_multiple)

    @classmethod
    def from_sampling(cls, model_id: str, sampling: VideoSampling, *,
                      device: torch.device | str = "cpu",
                      cache_dir: Path | None = None) -> LTXVideoPrior:
        """The prior of ``model_id`` with ``sampling``'s step count and VAE tiling (the job's
        way in); guidance stays at LTX's own recommendation and there is no conditioning
        strength (the render is the clean first latent frame)."""
        return cls(LTXVideoPriorConfig(model_id=model_id, cache_dir=cache_dir,
                                       num_inference_steps=sampling.steps,
                                       enable_vae_tiling=sampling.enable_vae_tiling),
                   device=device)

    # -- loading -----------------------------------------------------------------------------

    def _load(self) -> Any:
        model_id = self.config.model_id
        source = hub.resolve(model_id, VIDEO_LAYOUT)
        try:
            pipe: Any = LTXImageToVideoPipeline.from_pretrained(
                source, cache_dir=self.config.cache_dir, use_safetensors=True, dtype=self.dtype)
        except (OSError, ValueError) as exc:
            raise hub.load_error(model_id, source, exc, VIDEO_LAYOUT) from exc
        pipe.set_progress_bar_config(disable=True)
        for module in (pipe.text_encoder, pipe.transformer, pipe.vae):
            module.requires_grad_(False).eval()
        encoder_class = type(pipe.text_encoder)
        self._text = HeldEncoder(pipe.text_encoder, lambda: encoder_class.from_pretrained(
            source, subfolder="text_encoder", cache_dir=self.config.cache_dir,
            use_safetensors=True, dtype=self.dtype))
        pipe.register_modules(text_encoder=None)  # never moved or hooked with the pipeline
        return pipe

    def _pipeline(self, mode: str) -> Any:
        """The pipeline for "image" or "text" (both share the loaded modules), placed."""
        pipe: Any
        if mode == "image":
            pipe = self._i2v
        else:
            if self._t2v is None:
                c = self._i2v
                self._t2v = LTXPipeline(scheduler=c.scheduler, vae=c.vae,
                                        text_encoder=c.text_encoder, tokenizer=c.tokenizer,
                                        transformer=c.transformer)
                self._t2v.set_progress_bar_config(disable=True)
            pipe = self._t2v
        if self.offload and self._active is not pipe:
            pipe.enable_model_cpu_offload(device=self.device)  # re-hooks the shared modules
        self._active = pipe
        return pipe

    # -- text --------------------------------------------------------------------------------

    def encode_text(self, texts: list[str]) -> tuple[Tensor, Tensor]:
        """``(len(texts), max_sequence_length, D)`` T5 embeddings and their boolean attention
        masks, as the pipeline makes them; texts not encoded before go through the encoder one
        by one, after which it is let go (a later new text reads it back)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._embeddings]
        if missing:
            pipe, limit, device = self._i2v, self.config.max_sequence_length, self.device
            encoder = self._text.take(device)
            for text in missing:
                tokens = pipe.tokenizer([text], padding="max_length", max_length=limit,
                                        truncation=True, add_special_tokens=True,
                                        return_tensors="pt")
                if len(pipe.tokenizer(text).input_ids) > limit:
                    log.warning("Prompt %r is longer than %d tokens: truncated", text, limit)
                with torch.no_grad():
                    hidden = encoder(tokens.input_ids.to(device))[0]
                self._embeddings[text] = (hidden.to(dtype=self.dtype, device=device),
                                          tokens.attention_mask.bool().to(device))
            del encoder
            self._text.release()
        embeds, masks = zip(*(self._embeddings[t] for t in texts))
        return torch.cat(embeds), torch.cat(masks)

    # -- generation --------------------------------------------------------------------------

    def generate(self, *, prompt: str, image: np.ndarray | None, num_frames: int, fps: float,
                 width: int, height: int, generator: torch.Generator,
                 on_step: StepCallback | None = None) -> Video:
        """Exactly ``num_frames`` (height, width, 3) uint8 frames at ``fps`` (see the module
        docstring). ``image`` is the render of the anchored composition at the video size;
        None asks for text-to-video."""
        prompt = check_request(prompt=prompt, image=image, num_frames=num_frames, fps=fps,
                               width=width, height=height, generator=generator)
        mode = "text" if image is None else "image"
        cfg = self.config
        plan = plan_frames(num_frames=int(num_frames), fps=float(fps), native_fps=cfg.native_fps,
                           temporal_factor=self.temporal_factor, max_frames=cfg.max_frames)
        gen_w, gen_h = generation_size(int(width), int(height), self.size_multiple)
        pipe = self._pipeline(mode)
        total = cfg.num_inference_steps

        def step_end(_pipe: Any, i: int, _t: Any, callback_kwargs: dict) -> dict:
            if on_step is not None:
                on_step(i + 1, total, {})
            return callback_kwargs

        embeds, masks = self.encode_text([prompt, cfg.negative_prompt])
        kwargs: dict[str, Any] = dict(
            prompt_embeds=embeds[:1], prompt_attention_mask=masks[:1],
            negative_prompt_embeds=embeds[1:], negative_prompt_attention_mask=masks[1:],
            height=gen_h, width=gen_w,
            num_frames=plan.generated, frame_rate=int(round(cfg.native_fps)),
            num_inference_steps=total, guidance_scale=cfg.guidance_scale, generator=generator,
            decode_timestep=cfg.decode_timestep, decode_noise_scale=cfg.decode_noise_scale,
            output_type="np", callback_on_step_end=step_end,
            max_sequence_length=cfg.max_sequence_length)
        if image is not None:
            kwargs["image"] = Image.fromarray(resize_image(image, gen_w, gen_h))
        log.info("LTX %s-to-video: %d native frames at %dx%d for %d frames at %.3g fps, %d steps",
                 mode, plan.generated, gen_w, gen_h, num_frames, fps, total)
        try:
            native = pipe(**kwargs).frames[0]  # (M, gen_h, gen_w, 3) float in [0, 1]
        except BaseException:
            pipe.maybe_free_model_hooks()
            raise
        frames = resample_frames(to_uint8(native), plan.positions, cfg.temporal_resampling)
        return Video(frames=resize_frames(frames, int(width), int(height)), fps=float(fps))
