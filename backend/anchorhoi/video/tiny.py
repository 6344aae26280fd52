"""Tiny random video models in the diffusers layout (tests, the ``tiny`` preset).

Each builder draws seeded weights from config — the same shapes diffusers' own fast tests use —
and saves the whole pipeline with safetensors, so that the real priors load the folder through
``from_pretrained``, offline:

- :func:`build_tiny_wan`: the Wan 2.2 TI2V layout (one transformer, no CLIP image encoder; the
  first frame is conditioned through per-token timesteps, ``expand_timesteps=True``), so one
  folder serves image-to-video and text-to-video. VAE: Wan 2.2's residual VAE with patch 2,
  ×16 spatial and ×4 temporal compression, 48 latent channels. Transformer: 2 layers, 2 heads
  of 12. Text: a 2-layer UMT5 encoder of width 32.
- :func:`build_tiny_ltx`: LTX-Video — a 1-layer transformer (4 heads of 8), an LTX VAE with
  ×4 spatial and ×4 temporal compression, 8 latent channels; a 2-layer T5 encoder of width 32.

No T5 vocabulary ships offline (the hub tests use ``hf-internal-testing/tiny-random-t5``), so
:func:`tiny_t5_tokenizer` builds a character-level Unigram vocabulary in code.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import TYPE_CHECKING, cast

import torch

# (sub)modules: type checkers read ``from diffusers import`` as its dummy placeholders
from diffusers.models import (
    AutoencoderKLLTXVideo,
    AutoencoderKLWan,
    LTXVideoTransformer3DModel,
    WanTransformer3DModel,
)
from diffusers.pipelines.ltx.pipeline_ltx_image2video import LTXImageToVideoPipeline
from diffusers.pipelines.wan.pipeline_wan_i2v import WanImageToVideoPipeline
from diffusers.schedulers.scheduling_flow_match_euler_discrete import (
    FlowMatchEulerDiscreteScheduler,
)
from transformers import T5Config, T5EncoderModel, T5Tokenizer, UMT5Config, UMT5EncoderModel

if TYPE_CHECKING:
    from transformers import AutoTokenizer, CLIPImageProcessor, CLIPVisionModel

TINY_TEXT_WIDTH = 32
TINY_MAX_TOKENS = 512


def tiny_t5_tokenizer(model_max_length: int = TINY_MAX_TOKENS) -> T5Tokenizer:
    """A T5 (Unigram) tokenizer over single characters: ``<pad>`` 0, ``</s>`` 1, ``<unk>`` 2,
    the word-start marker ``▁``, then every printable ASCII character alone and with ``▁``
    in front (so any ASCII text tokenizes; other characters become ``<unk>``). 192 tokens, no
    sentinel ids, no sentencepiece model needed."""
    chars = [c for c in string.printable if not c.isspace()]
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    vocab += [(c, -3.0) for c in chars] + [("▁" + c, -2.5) for c in chars]
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=model_max_length)


def _eval(*modules: torch.nn.Module) -> None:
    for module in modules:
        module.eval()  # built from config in train() mode (dropout on)


def build_tiny_wan(folder: Path, seed: int = 0) -> Path:
    """Build the tiny Wan (2.2 TI2V layout) with weights drawn from ``seed`` and save it into
    ``folder`` (``model_index.json`` + ``tokenizer/ text_encoder/ transformer/ vae/
    scheduler/``). Frame sizes must be multiples of 32 (VAE ×16 · patch 2); frame counts are
    4k+1. The global RNG state is left as it was. Returns ``folder``."""
    folder = Path(folder)
    tokenizer = tiny_t5_tokenizer()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        vae = AutoencoderKLWan(
            base_dim=3, z_dim=48, in_channels=12, out_channels=12, is_residual=True,
            patch_size=2, latents_mean=[0.0] * 48, latents_std=[1.0] * 48, dim_mult=[1, 1, 1, 1],
            num_res_blocks=1, scale_factor_spatial=16, scale_factor_temporal=4,
            temperal_downsample=[False, True, True])
        text_encoder = UMT5EncoderModel(UMT5Config(
            vocab_size=len(tokenizer), d_model=TINY_TEXT_WIDTH, d_kv=8, d_ff=37, num_layers=2,
            num_heads=4, relative_attention_num_buckets=8, pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.pad_token_id))
        transformer = WanTransformer3DModel(
            patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=48,
            out_channels=48, text_dim=TINY_TEXT_WIDTH, freq_dim=256, ffn_dim=32, num_layers=2,
            cross_attn_norm=True, qk_norm="rms_norm_across_heads", rope_max_seq_len=32)
    _eval(vae, text_encoder, transformer)
    scheduler = FlowMatchEulerDiscreteScheduler(shift=3.0)
    # The casts restate what the pipeline accepts where diffusers' annotations are wrong: its
    # optional components are ``X = None`` without ``| None``, its tokenizer ``AutoTokenizer``
    # (a factory, no tokenizer's base class).
    pipe = WanImageToVideoPipeline(
        tokenizer=cast("AutoTokenizer", tokenizer), text_encoder=text_encoder, vae=vae,
        scheduler=scheduler, image_processor=cast("CLIPImageProcessor", None),
        image_encoder=cast("CLIPVisionModel", None), transformer=transformer,
        transformer_2=cast("WanTransformer3DModel", None), boundary_ratio=None,
        expand_timesteps=True)
    folder.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def build_tiny_ltx(folder: Path, seed: int = 0) -> Path:
    """Build the tiny LTX-Video with weights drawn from ``seed`` and save it into ``folder``
    (``model_index.json`` + ``tokenizer/ text_encoder/ transformer/ vae/ scheduler/``).
    Frame sizes must be multiples of 32 (the pipeline's rule); frame counts are 4k+1 for this
    VAE (8k+1 for the real one). The global RNG state is left as it was. Returns ``folder``."""
    folder = Path(folder)
    tokenizer = tiny_t5_tokenizer()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        transformer = LTXVideoTransformer3DModel(
            in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4,
            attention_head_dim=8, cross_attention_dim=32, num_layers=1,
            caption_channels=TINY_TEXT_WIDTH)
        vae = AutoencoderKLLTXVideo(
            in_channels=3, out_channels=3, latent_channels=8, block_out_channels=(8, 8, 8, 8),
            decoder_block_out_channels=(8, 8, 8, 8), layers_per_block=(1, 1, 1, 1, 1),
            decoder_layers_per_block=(1, 1, 1, 1, 1),
            spatio_temporal_scaling=(True, True, False, False),
            decoder_spatio_temporal_scaling=(True, True, False, False),
            decoder_inject_noise=(False, False, False, False, False),
            upsample_residual=(False, False, False, False), upsample_factor=(1, 1, 1, 1),
            timestep_conditioning=False, patch_size=1, patch_size_t=1, encoder_causal=True,
            decoder_causal=False)
        t5_config = T5Config(
            vocab_size=len(tokenizer), d_model=TINY_TEXT_WIDTH, d_kv=8, d_ff=37, num_layers=2,
            num_heads=4, relative_attention_num_buckets=8, pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id)
        # T5Config declares no such field; its __init__ keeps extra keyword arguments as
        # attributes (its typed signature does not say so): the same, set as one
        t5_config.decoder_start_token_id = tokenizer.pad_token_id
        text_encoder = T5EncoderModel(t5_config)
    _eval(vae, text_encoder, transformer)
    scheduler = FlowMatchEulerDiscreteScheduler()
    pipe = LTXImageToVideoPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae,
                                   scheduler=scheduler, transformer=transformer)
    folder.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder
