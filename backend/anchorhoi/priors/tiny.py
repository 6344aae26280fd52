"""``build_tiny_sd``: a tiny random Stable Diffusion in the diffusers layout (tests, ``tiny``).

Built from config with seeded weights and saved with safetensors, so that
``StableDiffusionPrior(StableDiffusionPriorConfig(model_id=str(folder)))`` loads it through the
real ``from_pretrained`` path, offline. Sizes: 32×32 images (U-Net sample size 16 × the
VAE's ×2 downsampling; larger renders are resized), 4 latent channels, a 2-layer CLIP text
encoder of width 32 over a byte-level vocabulary (no CLIP vocabulary ships with any package),
77 tokens.
"""

from __future__ import annotations

import json
from pathlib import Path

import diffusers
import torch

# (sub)modules: type checkers read ``from diffusers import`` as its dummy placeholders
from diffusers.models import AutoencoderKL, UNet2DConditionModel
from diffusers.schedulers.scheduling_ddim import DDIMScheduler
from tokenizers import pre_tokenizers
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

TINY_MAX_TOKENS = 77
TINY_SAMPLE_SIZE = 16  # latent side; images are 2× that


def tiny_clip_tokenizer(model_max_length: int = TINY_MAX_TOKENS) -> CLIPTokenizer:
    """A byte-level CLIP tokenizer without merges: every byte is a token (plus its
    end-of-word form), so any text tokenizes. Vocabulary: 2 special + 2 × 256 tokens."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for suffix in ("", "</w>"):
        for char in alphabet:
            vocab[char + suffix] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=model_max_length)


def _model_index() -> dict:
    return {
        "_class_name": "StableDiffusionPipeline",
        "_diffusers_version": diffusers.__version__,
        "feature_extractor": [None, None],
        "image_encoder": [None, None],
        "requires_safety_checker": False,
        "safety_checker": [None, None],
        "scheduler": ["diffusers", "DDIMScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }


def build_tiny_sd(folder: Path, seed: int = 0) -> Path:
    """Build the tiny model with weights drawn from ``seed`` and save it into ``folder``
    (``model_index.json`` + ``tokenizer/ text_encoder/ unet/ vae/ scheduler/``). The global
    RNG state is left as it was. Returns ``folder``."""
    folder = Path(folder)
    tokenizer = tiny_clip_tokenizer()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        text_encoder = CLIPTextModel(CLIPTextConfig(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37,
            num_hidden_layers=2, num_attention_heads=4, projection_dim=32,
            max_position_embeddings=TINY_MAX_TOKENS, layer_norm_eps=1e-5,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id))
        unet = UNet2DConditionModel(
            sample_size=TINY_SAMPLE_SIZE, in_channels=4, out_channels=4,
            block_out_channels=(4, 8), layers_per_block=1, norm_num_groups=2,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=32, attention_head_dim=2)
        vae = AutoencoderKL(
            sample_size=2 * TINY_SAMPLE_SIZE, in_channels=3, out_channels=3, latent_channels=4,
            block_out_channels=(4, 8), layers_per_block=1, norm_num_groups=2,
            down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(folder / "tokenizer")
    for name, model in (("text_encoder", text_encoder), ("unet", unet), ("vae", vae)):
        model.eval()
        model.save_pretrained(folder / name, safe_serialization=True)
    scheduler.save_pretrained(folder / "scheduler")
    (folder / "model_index.json").write_text(json.dumps(_model_index(), indent=2) + "\n")
    return folder
