"""``StableDiffusionPrior``: score distillation from a diffusers UNet text-to-image checkpoint.

The tokenizer, text encoder, U-Net, VAE and noise schedule are loaded separately with
``from_pretrained(..., subfolder=...)`` (safetensors only) and used directly; no pipeline is
built or called. One evaluation (``sds_loss``):

1. per-image prompts with DreamFusion's view suffixes; text embeddings, cached per
   (model id, prompt): the first use of a prompt encodes all its view suffixes and the
   negative prompt, then the text encoder is let go (``release_text_encoder``);
2. the render resized to the model's image size and encoded to latents (VAE posterior mean —
   its spread is negligible for SD's VAE, so t and ε are the only randomness);
3. t from the annealed ramp, ``x_t``, one batched U-Net pass (conditional + unconditional);
4. CFG ``ε_u + s·(ε_c − ε_u)``, ``w(t)·(ε̂ − ε)``, nan guard and clipping, detached-target loss.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from torch import Tensor
from transformers import CLIPTextModel, CLIPTokenizer

from .. import hub
from ..checkpoints import SD21_BASE
from ..config_checks import check_choices
from ..devices import HeldEncoder
from .base import SDSOutput, TimestepRamp, ViewBatch, check_prompt, check_render, fixed_timesteps
from .sds import (
    Weighting,
    add_noise,
    classifier_free_guidance,
    epsilon_from_prediction,
    sample_noise,
    sample_timesteps,
    sanitize_grad,
    sds_grad,
    sds_loss_from_grad,
)

log = logging.getLogger(__name__)

DEFAULT_MODEL_ID = SD21_BASE
SD_LAYOUT = hub.ModelLayout(
    description="the diffusers layout (model_index.json, unet/, vae/, text_encoder/, "
                "tokenizer/, scheduler/, weights as .safetensors)",
    index="model_index.json",
    required=("unet/config.json", "vae/config.json", "text_encoder/config.json",
              "scheduler/scheduler_config.json"),
    any_of=(("tokenizer/tokenizer.json",), ("tokenizer/vocab.json", "tokenizer/merges.txt")))
"""What a local folder must hold (weights are checked by ``from_pretrained``, safetensors
only)."""


def default_dtype(device: torch.device | str) -> torch.dtype:
    """float16 on CUDA, float32 elsewhere (CPU half precision is slow and lossy)."""
    return torch.float16 if torch.device(device).type == "cuda" else torch.float32


@dataclass(frozen=True, kw_only=True)
class StableDiffusionPriorConfig:
    """Which checkpoint, and how it scores renders."""

    model_id: str = DEFAULT_MODEL_ID
    """Hub id or local folder (diffusers layout) of a UNet-based text-to-image model. The
    official stabilityai SD 2.1 base repository was withdrawn; this community mirror carries
    the same weights."""
    cache_dir: Path | None = None
    """Hugging Face cache folder; None: the hub's default."""
    guidance_scale: float = 100.0
    """CFG scale ``s`` in ``ε_u + s·(ε_c − ε_u)`` (100 for SDS, as DreamFusion)."""
    negative_prompt: str = ""
    """Text of the unconditional branch ("" = truly unconditional)."""
    view_dependent_prompting: bool = True
    """Append a view suffix chosen from each image's azimuth/elevation (DreamFusion)."""
    front_suffix: str = "front view"
    """Suffix when |azimuth| < front_azimuth_deg."""
    side_suffix: str = "side view"
    """Suffix between the front and back sectors."""
    back_suffix: str = "back view"
    """Suffix when |azimuth| > back_azimuth_deg."""
    overhead_suffix: str = "overhead view"
    """Suffix when elevation > overhead_elevation_deg (takes precedence)."""
    front_azimuth_deg: float = 45.0
    """Half-width of the front sector (azimuth 0 = camera in front of the subject)."""
    back_azimuth_deg: float = 135.0
    """|azimuth| above which the view is from the back."""
    overhead_elevation_deg: float = 60.0
    """Elevation above which the view is overhead."""
    weighting: Weighting = "sds"
    """SDS weighting ``w(t)``: "sds" (1−ᾱ_t), "uniform" or "snr" (see ``sds.sds_weight``)."""
    ramp: TimestepRamp = field(default_factory=TimestepRamp)
    """Range of timesteps sampled, annealed with the optimisation progress."""
    grad_clip: float | None = None
    """Elementwise clamp of the latent SDS gradient; None: no clamp."""
    max_token_length: int | None = None
    """Tokens per prompt including start/end tokens; None: the text encoder's limit (77 for
    SD). Longer prompts are truncated with a warning; more than the limit is an error."""
    image_size: int | None = None
    """Side of the square image the VAE encodes (the render is resized); None: the U-Net's
    sample size × the VAE's downsampling (512 for SD 2.1 base)."""
    release_text_encoder: bool = True
    """Let the text encoder go once a prompt's texts (every view suffix and the negative
    prompt) are encoded: its weights leave the device for the rest of the run. A later new
    prompt reads it back from the model folder."""

    def __post_init__(self) -> None:
        check_choices(self)


def view_suffix(azimuth_deg: float, elevation_deg: float,
                config: StableDiffusionPriorConfig) -> str:
    """DreamFusion's view suffix: overhead above the elevation threshold, else front/side/back
    by |azimuth| wrapped to [−180°, 180°)."""
    if elevation_deg > config.overhead_elevation_deg:
        return config.overhead_suffix
    az = abs((azimuth_deg + 180.0) % 360.0 - 180.0)
    if az < config.front_azimuth_deg:
        return config.front_suffix
    if az > config.back_azimuth_deg:
        return config.back_suffix
    return config.side_suffix


def view_prompts(prompt: str, views: ViewBatch, config: StableDiffusionPriorConfig) -> list[str]:
    """One prompt per image: ``"<prompt>, <suffix>"`` (or the prompt alone)."""
    if not config.view_dependent_prompting:
        return [prompt] * len(views)
    return [f"{prompt}, {view_suffix(az, el, config)}"
            for az, el in zip(views.azimuth_deg.tolist(), views.elevation_deg.tolist())]


class StableDiffusionPrior:
    """An :class:`~.base.ImagePrior` over a diffusers Stable Diffusion-style checkpoint."""

    LAYOUT: ClassVar[hub.ModelLayout] = SD_LAYOUT
    """What a local folder of this family holds."""

    def __init__(self, config: StableDiffusionPriorConfig = StableDiffusionPriorConfig(), *,
                 device: torch.device | str = "cpu", dtype: torch.dtype | None = None):
        self.config = config
        self.device = torch.device(device)
        self.dtype = default_dtype(self.device) if dtype is None else dtype
        self._load()
        for module in (self._text.take(self.device), self.unet, self.vae):
            module.requires_grad_(False).eval().to(self.device)
        self.alphas_cumprod = self.scheduler.alphas_cumprod.to(self.device, torch.float32)  # (T,)
        self.num_train_timesteps = int(self.scheduler.config.num_train_timesteps)
        self.prediction_type = self.scheduler.config.prediction_type
        if self.prediction_type not in ("epsilon", "v_prediction"):
            raise ValueError(f"{config.model_id!r} predicts {self.prediction_type!r}; SDS needs "
                             "'epsilon' or 'v_prediction'")
        self.max_token_length = self._token_limit()
        self.image_size = self._image_size()
        self._embedding_cache: dict[tuple[str, str], tuple[Tensor, int]] = {}

    @classmethod
    def from_id(cls, model_id: str, *, device: torch.device | str = "cpu",
                cache_dir: Path | None = None) -> StableDiffusionPrior:
        """The prior of ``model_id`` (hub id or local folder) with the default scoring (the
        job's way in)."""
        return cls(StableDiffusionPriorConfig(model_id=model_id, cache_dir=cache_dir),
                   device=device)

    # -- loading -----------------------------------------------------------------------------

    def _load(self) -> None:
        model_id = self.config.model_id
        source = hub.resolve(model_id, SD_LAYOUT)
        common: dict[str, Any] = {"cache_dir": self.config.cache_dir}
        weights: dict[str, Any] = {**common, "use_safetensors": True, "dtype": self.dtype}
        try:
            self.tokenizer = CLIPTokenizer.from_pretrained(source, subfolder="tokenizer", **common)
            text_encoder = CLIPTextModel.from_pretrained(source, subfolder="text_encoder",
                                                         **weights)
            self.unet = UNet2DConditionModel.from_pretrained(source, subfolder="unet", **weights)
            self.vae = AutoencoderKL.from_pretrained(source, subfolder="vae", **weights)
            self.scheduler = DDIMScheduler.from_pretrained(source, subfolder="scheduler", **common)
        except (OSError, ValueError) as exc:
            raise hub.load_error(model_id, source, exc, SD_LAYOUT) from exc
        self.text_config = text_encoder.config
        self._text = HeldEncoder(text_encoder, lambda: CLIPTextModel.from_pretrained(
            source, subfolder="text_encoder", **weights))

    @property
    def text_encoder(self) -> CLIPTextModel | None:
        """The text encoder while it is held (None once released)."""
        module = self._text.module
        return module if isinstance(module, CLIPTextModel) else None

    def _token_limit(self) -> int:
        limit = int(self.text_config.max_position_embeddings)
        limit = min(limit, int(self.tokenizer.model_max_length))
        wanted = self.config.max_token_length
        if wanted is None:
            return limit
        if not 2 < wanted <= limit:
            raise ValueError(f"max_token_length must be in 3..{limit} for {self.config.model_id!r}"
                             f", got {wanted}")
        return wanted

    def _image_size(self) -> tuple[int, int]:
        if self.config.image_size is not None:
            return self.config.image_size, self.config.image_size
        factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        size = self.unet.config.sample_size
        h, w = (size, size) if isinstance(size, int) else tuple(size)
        return h * factor, w * factor

    # -- text --------------------------------------------------------------------------------

    def _encode_texts(self, texts: list[str]) -> None:
        """Encode ``texts`` (not yet cached) in one text-encoder call and cache them."""
        limit = self.max_token_length
        dropped = []
        for text in texts:
            n = len(self.tokenizer(text, truncation=False, verbose=False).input_ids)
            dropped.append(max(n - limit, 0))
            if n > limit:
                kept = self.tokenizer(text, truncation=True, max_length=limit).input_ids
                log.warning("Prompt %r is %d tokens long; %s takes %d: truncated to %r",
                            text, n, self.config.model_id, limit,
                            self.tokenizer.decode(kept, skip_special_tokens=True))
        tokens = self.tokenizer(texts, padding="max_length", max_length=limit, truncation=True,
                                return_tensors="pt")
        mask = None
        if getattr(self.text_config, "use_attention_mask", False):
            mask = tokens.attention_mask.to(self.device)
        encoder = self._text.take(self.device)
        with torch.no_grad():
            hidden = encoder(tokens.input_ids.to(self.device),
                             attention_mask=mask).last_hidden_state
        for i, text in enumerate(texts):
            self._embedding_cache[(self.config.model_id, text)] = (hidden[i:i + 1], dropped[i])

    def prompt_texts(self, prompt: str) -> list[str]:
        """Every text SDS and the placement search may ask for with ``prompt``: the prompt
        with each view suffix (or alone) and the negative prompt."""
        cfg = self.config
        if not cfg.view_dependent_prompting:
            return [prompt, cfg.negative_prompt]
        suffixes = (cfg.front_suffix, cfg.side_suffix, cfg.back_suffix, cfg.overhead_suffix)
        return [f"{prompt}, {s}" for s in suffixes] + [cfg.negative_prompt]

    def text_embeddings(self, texts: list[str], *, prompt: str | None = None
                        ) -> tuple[Tensor, int]:
        """(len(texts), L, D) embeddings and the most tokens any text lost to truncation.
        With ``prompt``, the rest of ``prompt_texts`` is encoded too, one text a call (as a
        later step would have asked for it alone: the same figures), and the text encoder is
        then let go (``release_text_encoder``)."""
        missing = [t for t in dict.fromkeys(texts)
                   if (self.config.model_id, t) not in self._embedding_cache]
        if missing:
            self._encode_texts(missing)
            if prompt is not None:
                for text in self.prompt_texts(prompt):
                    if (self.config.model_id, text) not in self._embedding_cache:
                        self._encode_texts([text])
                if self.config.release_text_encoder:
                    self._text.release()
        entries = [self._embedding_cache[(self.config.model_id, t)] for t in texts]
        return torch.cat([e for e, _ in entries]), max(d for _, d in entries)

    # -- images ------------------------------------------------------------------------------

    def encode_images(self, rgb: Tensor) -> Tensor:
        """(B, 3, H, W) in [0, 1] → (B, C, h, w) scaled latents (differentiable)."""
        if tuple(rgb.shape[-2:]) != self.image_size:
            rgb = F.interpolate(rgb, size=self.image_size, mode="bilinear", align_corners=False)
        x = (rgb * 2.0 - 1.0).to(self.device, self.dtype)
        latents = self.vae.encode(x).latent_dist.mode()
        shift = getattr(self.vae.config, "shift_factor", None) or 0.0
        return (latents - shift) * self.vae.config.scaling_factor

    # -- SDS ---------------------------------------------------------------------------------

    def sds_loss(self, rgb: Tensor, *, prompt: str, views: ViewBatch, progress: float,
                 generator: torch.Generator) -> SDSOutput:
        """SDS of ``rgb`` (B, 3, H, W) in [0, 1] for ``prompt`` seen from ``views``."""
        prompt = check_prompt(prompt)
        check_render(rgb, views)
        cfg = self.config
        batch = rgb.shape[0]
        texts = view_prompts(prompt, views, cfg) + [cfg.negative_prompt] * batch
        embeddings, dropped = self.text_embeddings(texts, prompt=prompt)  # ≤ 1 encoder call
        cond, uncond = embeddings[:batch], embeddings[batch:]

        latents = self.encode_images(rgb)
        t = sample_timesteps(batch, cfg.ramp, progress, self.num_train_timesteps,
                             generator).to(self.device)
        a = self.alphas_cumprod[t]
        noise = sample_noise(latents, generator)
        with torch.no_grad():
            x_t = add_noise(latents.detach(), noise, a)
            pred = self.unet(torch.cat([x_t, x_t]), torch.cat([t, t]),
                             encoder_hidden_states=torch.cat([cond, uncond])).sample.float()
            pred_c, pred_u = pred.chunk(2)
            eps_c = epsilon_from_prediction(pred_c, x_t.float(), a, self.prediction_type)
            eps_u = epsilon_from_prediction(pred_u, x_t.float(), a, self.prediction_type)
            eps_hat = classifier_free_guidance(eps_u, eps_c, cfg.guidance_scale)
            grad, n_bad = sanitize_grad(sds_grad(eps_hat, noise, a, cfg.weighting), cfg.grad_clip)
        loss = sds_loss_from_grad(latents, grad)
        logs: dict[str, Tensor | float] = {  # on the device: the caller reads them when it logs
            "loss_sds": loss.detach(),
            "t_mean": t.float().mean(),
            "grad_norm": grad.norm(),
            "nonfinite_grad": n_bad.float(),
            "prompt_tokens_dropped": float(dropped),
        }
        return SDSOutput(loss=loss, timesteps=t, logs=logs)

    def denoising_error(self, rgb: Tensor, *, prompt: str, views: ViewBatch,
                        timestep_fraction: float, generator: torch.Generator) -> Tensor:
        """``(B,)`` ``‖ε̂_c(x_t) − ε‖²`` per image (latent mean) with the view-dependent prompt,
        at ``t = timestep_fraction · T``; the conditional prediction, no guidance."""
        prompt = check_prompt(prompt)
        check_render(rgb, views)
        with torch.no_grad():
            cond, _ = self.text_embeddings(view_prompts(prompt, views, self.config),
                                           prompt=prompt)
            latents = self.encode_images(rgb.detach())
            t = fixed_timesteps(latents.shape[0], timestep_fraction, self.num_train_timesteps,
                                self.device)
            a = self.alphas_cumprod[t]
            noise = sample_noise(latents, generator)
            x_t = add_noise(latents, noise, a)
            pred = self.unet(x_t, t, encoder_hidden_states=cond).sample.float()
            eps = epsilon_from_prediction(pred, x_t.float(), a, self.prediction_type)
            return ((eps - noise.float()) ** 2).flatten(1).mean(1)
