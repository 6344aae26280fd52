"""``WanVideoPrior``: stage C over the Wan 2.x family (diffusers ``WanImageToVideoPipeline`` /
``WanPipeline``).

Default checkpoint: ``Wan-AI/Wan2.2-TI2V-5B-Diffusers``. Why this one (all are published
Wan-AI diffusers repositories):

- It does **image-to-video and text-to-video in one 5B dense model** (the first frame is
  conditioned through per-token timesteps, ``expand_timesteps``; no CLIP image encoder), so the
  render of the anchored composition drives the video and a text-only run needs no second
  download.
- It **fits a 24 GB card with model CPU offload**. Component sizes: UMT5-XXL text encoder
  ≈ 5.7B params (11.4 GB bf16), transformer ≈ 5.0B (≈ 10 GB bf16), Wan 2.2 VAE (2.8 GB fp32).
  With ``enable_model_cpu_offload`` only one component sits on the GPU at a time, so the peak
  is the transformer plus its activations — ≈ 12–14 GB at 480×832 × 81 frames, ≈ 16–20 GB at
  704×1280 × 121 frames (27k tokens) — or the VAE decode (2.8 GB + activations; turn on
  ``enable_vae_tiling`` at 720p). The text encoder alone (11.4 GB) runs once per call.
- ``Wan-AI/Wan2.1-I2V-14B-480P-Diffusers`` is stronger but its transformer alone is 14B
  params = 28 GB in bf16: it does not fit 24 GB with model offload (only with the much slower
  sequential/group offload). ``Wan-AI/Wan2.1-T2V-1.3B-Diffusers`` fits easily (≈ 8 GB) but
  is text-only, so the video could not start from the anchored composition. Both still load
  here (set ``model_id``, ``native_fps=16``, ``max_frames=81``).

One call (:meth:`WanVideoPrior.generate`):

1. the prompt (and the negative prompt, when ``guidance_scale > 1``) is encoded here with the
   pipeline's own tokenizer and UMT5 encoder — the pipeline's text cleaning needs ``ftfy``,
   which is not installed — and passed as ``prompt_embeds``. The encoder is kept out of the
   pipeline (``devices.HeldEncoder``): it goes to the device for the one call, then is let go
   (≈ 11 GB off the card, or off host memory under offload), its embeddings cached per text;
2. frame count and size are fitted to the model (:mod:`.frames`): 4k+1 frames at
   ``native_fps`` spanning the requested time, a size on the VAE × patch grid;
3. the pipeline denoises with the passed ``generator``; ``callback_on_step_end`` reports each
   step to ``on_step`` (which may raise to cancel). With ``conditioning_strength < 1`` the
   SDEdit loop of :mod:`.sdedit` runs instead (from the noised render, fewer steps);
4. the native frames are resampled in time to exactly ``num_frames`` at ``fps`` and resized to
   ``height × width``.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers import WanImageToVideoPipeline, WanPipeline
from PIL import Image
from torch import Tensor

from .. import hub
from ..checkpoints import WAN22_TI2V_5B
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
from .sdedit import sdedit_image_to_video

log = logging.getLogger(__name__)

DEFAULT_WAN_MODEL_ID = WAN22_TI2V_5B
DEFAULT_WAN_NEGATIVE_PROMPT = (
    "static, still picture, frozen frame, blurry, low quality, worst quality, overexposed, "
    "JPEG artifacts, deformed, disfigured, extra limbs, extra fingers, fused fingers, poorly "
    "drawn hands, poorly drawn face, subtitles, watermark, text, messy background, many people "
    "in the background, walking backwards")


@dataclass(frozen=True, kw_only=True)
class WanVideoPriorConfig:
    """Which Wan checkpoint, how it samples, and how it is fitted into memory."""

    model_id: str = DEFAULT_WAN_MODEL_ID
    """Hub id or local folder (diffusers layout) of a Wan 2.1/2.2 checkpoint: TI2V (image or
    text), I2V (image only) or T2V (text only)."""
    cache_dir: Path | None = None
    """Hugging Face cache folder; None: the hub's default."""
    num_inference_steps: int = 50
    """Denoising steps (the Wan default)."""
    guidance_scale: float = 5.0
    """Classifier-free guidance scale; ≤ 1 turns guidance off (one transformer pass a step)."""
    negative_prompt: str = DEFAULT_WAN_NEGATIVE_PROMPT
    """Text of the unconditional branch (used when ``guidance_scale > 1``)."""
    native_fps: float = 24.0
    """Frame rate the checkpoint was trained at: 24 for Wan 2.2, 16 for Wan 2.1."""
    max_frames: int = 121
    """Longest clip generated (4k+1): 121 (5 s at 24 fps) for Wan 2.2 TI2V, 81 for Wan 2.1."""
    max_sequence_length: int = 512
    """Text tokens (longer prompts are truncated with a warning)."""
    temporal_resampling: TemporalResampling = "nearest"
    """How native frames become the requested ones: whole frames ("nearest", best for the
    keypoint detector) or blends of the two neighbours ("linear")."""
    dtype: DTypeName = "auto"
    """Weights/compute dtype: "auto" = bfloat16 on CUDA, float32 on CPU."""
    vae_float32: bool = True
    """Keep the VAE in float32 (Wan's recommendation for decoding quality)."""
    enable_model_cpu_offload: bool = True
    """Keep components on the CPU and move each to the GPU only while it runs (CUDA only;
    ignored on other devices). Needed for the 5B default on a 24 GB card."""
    enable_vae_tiling: bool = False
    """Decode the video in spatial tiles (lower peak memory at 720p, slightly slower)."""
    enable_vae_slicing: bool = False
    """Decode a batch one video at a time (no effect on the single video made here)."""
    conditioning_strength: float = 1.0
    """Image-to-video denoising strength in (0, 1] (SDEdit, :mod:`.sdedit`): 1 generates from
    noise (the pipeline's own image-to-video); below 1 the clip starts from the render held
    still, noised to that fraction of the schedule, and runs only that fraction of the steps —
    the lower, the closer the video stays to the anchored composition. TI2V checkpoints only."""
    restore_detail: bool = False
    """With a strength below 1, add the VAE's reconstruction error of the render back onto
    every frame (:mod:`.sdedit`; needed with a random tiny VAE, optional otherwise)."""

    def __post_init__(self) -> None:
        check_choices(self)
        if self.num_inference_steps < 1:
            raise ValueError(f"num_inference_steps must be ≥ 1, got {self.num_inference_steps}")
        if not self.native_fps > 0:
            raise ValueError(f"native_fps must be positive, got {self.native_fps}")
        if self.max_frames < 5:
            raise ValueError(f"max_frames must be ≥ 5 (4k+1, k ≥ 1), got {self.max_frames}")
        if not 0.0 < self.conditioning_strength <= 1.0:
            raise ValueError("conditioning_strength must lie in (0, 1], got "
                             f"{self.conditioning_strength}")


def wan_modes(transformer_config: Any, expand_timesteps: bool) -> frozenset[str]:
    """What a Wan checkpoint can do: {"image", "text"} for TI2V (``expand_timesteps``),
    {"image"} for I2V transformers (an image embedding or extra condition channels), {"text"}
    otherwise."""
    if expand_timesteps:
        return frozenset({"image", "text"})
    image_dim = getattr(transformer_config, "image_dim", None)
    if image_dim is not None or transformer_config.in_channels != transformer_config.out_channels:
        return frozenset({"image"})
    return frozenset({"text"})


def clean_prompt(text: str) -> str:
    """The pipeline's cleaning without ftfy: HTML entities unescaped, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(html.unescape(text))).strip()


class WanVideoPrior:
    """A :class:`~.base.VideoPrior` over a diffusers Wan 2.x checkpoint.

    The pipelines are typed ``Any``: diffusers registers a pipeline's components (transformer,
    VAE, scheduler, …) at run time, so no type checker sees them."""

    def __init__(self, config: WanVideoPriorConfig = WanVideoPriorConfig(), *,
                 device: torch.device | str = "cpu"):
        self.config = config
        self.device = torch.device(device)
        self.dtype = resolve_dtype(config.dtype, self.device)
        self.offload = config.enable_model_cpu_offload and self.device.type == "cuda"
        if config.enable_model_cpu_offload and not self.offload:
            log.debug("enable_model_cpu_offload ignored on %s", self.device)
        self._i2v: Any = self._load()
        self._t2v: Any = None
        self._active: Any = None
        self._embeddings: dict[str, Tensor] = {}
        transformer = (self._i2v.transformer if self._i2v.transformer is not None
                       else self._i2v.transformer_2)  # Wan 2.2 A14B may ship only the 2nd
        self.modes = wan_modes(transformer.config, bool(self._i2v.config.expand_timesteps))
        self.temporal_factor = int(self._i2v.vae_scale_factor_temporal)
        self.size_multiple = int(self._i2v.vae_scale_factor_spatial
                                 * transformer.config.patch_size[1])
        if config.enable_vae_tiling:
            self._i2v.vae.enable_tiling()
        if config.enable_vae_slicing:
            self._i2v.vae.enable_slicing()
        if not self.offload:
            self._i2v.to(self.device)
        log.info("Wan prior %s on %s (%s): modes %s, frames 4k+1 ≤ %d at %.3g fps, sizes ×%d",
                 config.model_id, self.device, self.dtype, sorted(self.modes), config.max_frames,
                 config.native_fps, self.size_multiple)

    @classmethod
    def from_sampling(cls, model_id: str, sampling: VideoSampling, *,
                      device: torch.device | str = "cpu",
                      cache_dir: Path | None = None) -> WanVideoPrior:
        """The prior of ``model_id`` sampling as ``sampling`` says (the job's way in)."""
        return cls(WanVideoPriorConfig(
            model_id=model_id, cache_dir=cache_dir, num_inference_steps=sampling.steps,
            guidance_scale=sampling.guidance_scale,
            conditioning_strength=sampling.conditioning_strength,
            restore_detail=sampling.restore_detail,
            enable_vae_tiling=sampling.enable_vae_tiling), device=device)

    # -- loading -----------------------------------------------------------------------------

    def _load(self) -> Any:
        model_id = self.config.model_id
        source = hub.resolve(model_id, VIDEO_LAYOUT)
        dtype: Any = self.dtype
        if self.config.vae_float32:
            dtype = {"default": self.dtype, "vae": torch.float32}
        try:
            pipe: Any = WanImageToVideoPipeline.from_pretrained(
                source, cache_dir=self.config.cache_dir, use_safetensors=True, dtype=dtype)
        except (OSError, ValueError) as exc:
            raise hub.load_error(model_id, source, exc, VIDEO_LAYOUT) from exc
        pipe.set_progress_bar_config(disable=True)
        for module in (pipe.text_encoder, pipe.image_encoder, pipe.transformer,
                       pipe.transformer_2, pipe.vae):
            if module is not None:
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
                self._t2v = WanPipeline(
                    tokenizer=c.tokenizer, text_encoder=c.text_encoder, vae=c.vae,
                    scheduler=c.scheduler, transformer=c.transformer,
                    transformer_2=c.transformer_2, boundary_ratio=c.config.boundary_ratio,
                    expand_timesteps=bool(c.config.expand_timesteps))
                self._t2v.set_progress_bar_config(disable=True)
            pipe = self._t2v
        if self.offload and self._active is not pipe:
            pipe.enable_model_cpu_offload(device=self.device)  # re-hooks the shared modules
        self._active = pipe
        return pipe

    # -- text --------------------------------------------------------------------------------

    def encode_text(self, texts: list[str]) -> Tensor:
        """(len(texts), max_sequence_length, D) UMT5 embeddings, zero past each text's end (as
        the pipeline makes them). Texts not encoded before go through the encoder in one call,
        after which it is let go; a later new text reads it back from the model folder."""
        texts = [clean_prompt(t) for t in texts]
        missing = list(dict.fromkeys(t for t in texts if t not in self._embeddings))
        if missing:
            hidden = self._encode(missing)
            self._text.release()
            for i, text in enumerate(missing):
                self._embeddings[text] = hidden[i:i + 1]
        return torch.cat([self._embeddings[t] for t in texts])

    def _encode(self, texts: list[str]) -> Tensor:
        pipe = self._i2v
        limit = self.config.max_sequence_length
        for text in texts:
            n = len(pipe.tokenizer(text, add_special_tokens=True, verbose=False).input_ids)
            if n > limit:
                log.warning("Prompt %r is %d tokens long; %s takes %d: truncated", text, n,
                            self.config.model_id, limit)
        tokens = pipe.tokenizer(texts, padding="max_length", max_length=limit, truncation=True,
                                add_special_tokens=True, return_attention_mask=True,
                                return_tensors="pt")
        device = self.device  # where the transformer runs (its offload hooks' device)
        mask = tokens.attention_mask.to(device)
        encoder = self._text.take(device)
        with torch.no_grad():
            hidden = encoder(tokens.input_ids.to(device), mask).last_hidden_state
        return hidden * mask[..., None].to(hidden.dtype)

    # -- generation --------------------------------------------------------------------------

    def generate(self, *, prompt: str, image: np.ndarray | None, num_frames: int, fps: float,
                 width: int, height: int, generator: torch.Generator,
                 on_step: StepCallback | None = None) -> Video:
        """Exactly ``num_frames`` (height, width, 3) uint8 frames at ``fps`` (see the module
        docstring). ``image`` is the render of the anchored composition at the video size;
        None asks for text-to-video (TI2V and T2V checkpoints)."""
        prompt = check_request(prompt=prompt, image=image, num_frames=num_frames, fps=fps,
                               width=width, height=height, generator=generator)
        mode = "text" if image is None else "image"
        if mode not in self.modes:
            need = "a conditioning image" if mode == "text" else "no image (text-to-video only)"
            raise ValueError(f"{self.config.model_id!r} needs {need}; it supports "
                             f"{' and '.join(sorted(self.modes))}-conditioned generation")
        cfg = self.config
        plan = plan_frames(num_frames=int(num_frames), fps=float(fps), native_fps=cfg.native_fps,
                           temporal_factor=self.temporal_factor, max_frames=cfg.max_frames)
        gen_w, gen_h = generation_size(int(width), int(height), self.size_multiple)
        pipe = self._pipeline(mode)
        guided = cfg.guidance_scale > 1.0
        embeds = self.encode_text([prompt, cfg.negative_prompt] if guided else [prompt])
        total = cfg.num_inference_steps

        def step_end(_pipe: Any, i: int, _t: Any, callback_kwargs: dict) -> dict:
            if on_step is not None:
                on_step(i + 1, total, {})
            return callback_kwargs

        kwargs: dict[str, Any] = dict(
            prompt_embeds=embeds[:1], negative_prompt_embeds=embeds[1:] if guided else None,
            height=gen_h, width=gen_w, num_frames=plan.generated, num_inference_steps=total,
            guidance_scale=cfg.guidance_scale, generator=generator, output_type="np",
            callback_on_step_end=step_end, max_sequence_length=cfg.max_sequence_length)
        if image is not None:
            kwargs["image"] = Image.fromarray(resize_image(image, gen_w, gen_h))
        log.info("Wan %s-to-video: %d native frames at %dx%d for %d frames at %.3g fps, %d steps",
                 mode, plan.generated, gen_w, gen_h, num_frames, fps, total)
        try:
            if image is not None and cfg.conditioning_strength < 1.0:
                native = sdedit_image_to_video(
                    pipe, image=resize_image(image, gen_w, gen_h), prompt_embeds=embeds[:1],
                    negative_prompt_embeds=embeds[1:] if guided else None,
                    guidance_scale=cfg.guidance_scale, num_frames=plan.generated,
                    num_inference_steps=total, strength=cfg.conditioning_strength,
                    generator=generator, restore_detail=cfg.restore_detail, on_step=on_step)
            else:
                native = pipe(**kwargs).frames[0]  # (M, gen_h, gen_w, 3) float in [0, 1]
        finally:
            pipe.maybe_free_model_hooks()
        frames = resample_frames(to_uint8(native), plan.positions, cfg.temporal_resampling)
        return Video(frames=resize_frames(frames, int(width), int(height)), fps=float(fps))
