"""Video priors (stage C) on tiny random Wan and LTX-Video models, saved and reloaded offline."""

from __future__ import annotations

import gc
import json
import shutil
import socket
import weakref
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from anchorhoi.hub import ModelNotFoundError
from anchorhoi.video import (
    DEFAULT_LTX_MODEL_ID,
    DEFAULT_WAN_MODEL_ID,
    VIDEO_PRIORS,
    LTXVideoPrior,
    LTXVideoPriorConfig,
    Video,
    VideoPrior,
    VideoSampling,
    WanVideoPrior,
    WanVideoPriorConfig,
    check_video_model,
    load_video,
    make_video_prior,
    plan_frames,
    resample_frames,
    save_video,
)
from anchorhoi.video.base import resolve_dtype
from anchorhoi.video.tiny import build_tiny_ltx, build_tiny_wan
from anchorhoi.video.wan import wan_modes

PROMPT = "a person sits down on the chair"
# Measured with build_tiny_*(seed=0), torch 2.13 CPU, 2 steps: 12 frames of 32×32 at 24 fps,
# the render of _render(), generator seed 0 (mean of all uint8 values).
PINNED_MEAN = {
    ("wan", "image"): 122.3105,
    ("wan", "text"): 122.7521,
    ("ltx", "image"): 128.9269,
    ("ltx", "text"): 128.8908,
}


def _render(width: int = 32, height: int = 32) -> np.ndarray:
    return (np.random.default_rng(0).random((height, width, 3)) * 255).astype(np.uint8)


def _seed(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything tries to open a connection."""
    attempts = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError(f"network disabled in tests: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


@pytest.fixture(scope="module")
def tiny_folders(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("tiny-video")
    return {"wan": build_tiny_wan(root / "wan", seed=0),
            "ltx": build_tiny_ltx(root / "ltx", seed=0)}


@pytest.fixture(scope="module")
def priors(tiny_folders) -> dict:
    """Each family loaded once from its tiny folder (offline, CPU, 2 steps)."""
    return {
        "wan": WanVideoPrior(WanVideoPriorConfig(model_id=str(tiny_folders["wan"]),
                                                 num_inference_steps=2), device="cpu"),
        "ltx": LTXVideoPrior(LTXVideoPriorConfig(model_id=str(tiny_folders["ltx"]),
                                                 num_inference_steps=2), device="cpu"),
    }


def test_defaults_and_registry():
    assert {"wan": WanVideoPrior, "ltx": LTXVideoPrior} == VIDEO_PRIORS
    wan, ltx = WanVideoPriorConfig(), LTXVideoPriorConfig()
    assert wan.model_id == DEFAULT_WAN_MODEL_ID == "Wan-AI/Wan2.2-TI2V-5B-Diffusers"
    assert ltx.model_id == DEFAULT_LTX_MODEL_ID == "Lightricks/LTX-Video"
    assert (wan.native_fps, wan.max_frames, wan.guidance_scale) == (24.0, 121, 5.0)
    assert wan.enable_model_cpu_offload and ltx.enable_model_cpu_offload
    assert resolve_dtype("auto", torch.device("cpu")) == torch.float32
    # on CUDA, bfloat16 only where the card has it (the card's answer given, no GPU here)
    assert resolve_dtype("auto", torch.device("cuda", 0), bf16=True) == torch.bfloat16
    assert resolve_dtype("auto", torch.device("cuda", 0), bf16=False) == torch.float16
    with pytest.raises(ValueError, match="CUDA"):
        resolve_dtype("bfloat16", torch.device("cpu"))
    with pytest.raises(ValueError, match="temporal_resampling"):
        WanVideoPriorConfig(temporal_resampling="cubic")


def test_tiny_layout(tiny_folders):
    wan = json.loads((tiny_folders["wan"] / "model_index.json").read_text())
    assert wan["transformer"] == ["diffusers", "WanTransformer3DModel"]
    assert wan["expand_timesteps"] is True and wan["image_encoder"] == [None, None]
    ltx = json.loads((tiny_folders["ltx"] / "model_index.json").read_text())
    assert ltx["vae"] == ["diffusers", "AutoencoderKLLTXVideo"]
    for folder in tiny_folders.values():
        for name in ("transformer/diffusion_pytorch_model.safetensors",
                     "vae/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors",
                     "tokenizer/tokenizer.json", "scheduler/scheduler_config.json"):
            assert (folder / name).is_file(), name
        assert not list(folder.rglob("*.bin"))


def test_loaded_offline(priors, no_network):
    wan, ltx = priors["wan"], priors["ltx"]
    assert isinstance(wan, VideoPrior) and isinstance(ltx, VideoPrior)
    assert wan.modes == ltx.modes == {"image", "text"}
    assert (wan.temporal_factor, wan.size_multiple) == (4, 32)  # VAE ×4 time, ×16 · patch 2
    assert (ltx.temporal_factor, ltx.size_multiple) == (4, 32)
    assert wan.dtype == ltx.dtype == torch.float32 and not wan.offload
    for module in (wan._i2v.transformer, wan._i2v.vae, wan._text.module, ltx._text.module):
        assert module is not None and not module.training
    # the text encoders are held by the priors, not the pipelines (never moved or hooked)
    assert wan._i2v.text_encoder is None and ltx._i2v.text_encoder is None
    assert not no_network


@pytest.mark.parametrize("family", ["wan", "ltx"])
@pytest.mark.parametrize("mode", ["image", "text"])
def test_generate_pinned(priors, family, mode, no_network):
    prior = priors[family]
    image = _render() if mode == "image" else None
    steps = []
    video = prior.generate(prompt=PROMPT, image=image, num_frames=12, fps=24.0, width=32,
                           height=32, generator=_seed(0),
                           on_step=lambda s, n, losses: steps.append((s, n)))
    assert isinstance(video, Video)
    assert video.frames.shape == (12, 32, 32, 3) and video.frames.dtype == np.uint8
    assert video.fps == 24.0 and video.duration == pytest.approx(0.5)
    assert steps == [(1, 2), (2, 2)]
    assert float(video.frames.mean()) == pytest.approx(PINNED_MEAN[family, mode], abs=0.05)
    assert not no_network


@pytest.mark.parametrize("family", ["wan", "ltx"])
def test_text_encoder_let_go_after_encoding(tiny_folders, family):
    cls, config = {"wan": (WanVideoPrior, WanVideoPriorConfig),
                   "ltx": (LTXVideoPrior, LTXVideoPriorConfig)}[family]
    prior = cls(config(model_id=str(tiny_folders[family]), num_inference_steps=1))
    calls = []
    encoder = prior._text.module
    encoder.register_forward_hook(lambda *args: calls.append(1))
    held = weakref.ref(encoder)
    del encoder
    first = prior.generate(prompt=PROMPT, image=_render(), num_frames=5, fps=24.0, width=32,
                           height=32, generator=_seed(0)).frames
    gc.collect()
    assert calls and held() is None and prior._text.module is None  # weights gone
    again = prior.generate(prompt=PROMPT, image=_render(), num_frames=5, fps=24.0, width=32,
                           height=32, generator=_seed(0)).frames
    assert prior._text.loads == 0 and np.array_equal(first, again)  # cached embeddings
    prior.generate(prompt="a person lifts the box", image=_render(), num_frames=5, fps=24.0,
                   width=32, height=32, generator=_seed(0))
    assert prior._text.loads == 1 and prior._text.module is None  # read back, let go again


@pytest.mark.parametrize("family", ["wan", "ltx"])
def test_same_seed_same_video(priors, family):
    prior = priors[family]
    runs = [prior.generate(prompt=PROMPT, image=_render(), num_frames=5, fps=24.0, width=32,
                           height=32, generator=_seed(seed)).frames for seed in (0, 0, 1)]
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


@pytest.mark.parametrize("family", ["wan", "ltx"])
def test_frame_count_fps_and_size_honoured(priors, family):
    # 7 frames at 10 fps span 0.6 s: Wan (24 fps native) makes 4·4+1 = 17 frames, LTX (25 fps)
    # 17 too; the output is resampled to exactly 7 and resized from 64×32 back to 48×40.
    prior = priors[family]
    video = prior.generate(prompt=PROMPT, image=_render(48, 40), num_frames=7, fps=10.0,
                           width=48, height=40, generator=_seed(0))
    assert video.frames.shape == (7, 40, 48, 3) and video.fps == 10.0


def test_plan_frames_and_resampling():
    plan = plan_frames(num_frames=12, fps=24.0, native_fps=24.0, temporal_factor=4,
                       max_frames=121)
    assert plan.generated == 13 and not plan.stretched
    np.testing.assert_allclose(plan.positions, np.arange(12))
    plan = plan_frames(num_frames=7, fps=10.0, native_fps=24.0, temporal_factor=4,
                       max_frames=121)
    assert plan.generated == 17  # needs 6·2.4 + 1 = 15.4 → 4k+1 = 17
    np.testing.assert_allclose(plan.positions, 2.4 * np.arange(7))
    plan = plan_frames(num_frames=240, fps=24.0, native_fps=24.0, temporal_factor=8,
                       max_frames=161)
    assert plan.generated == 161 and plan.stretched  # 10 s wanted, 6.7 s allowed: slowed down
    assert plan.positions[0] == 0.0 and plan.positions[-1] == pytest.approx(160.0)

    frames = np.stack([np.full((2, 2, 3), 10 * i, np.uint8) for i in range(5)])
    positions = np.array([0.0, 0.4, 0.5, 2.25, 4.0])
    assert resample_frames(frames, positions, "nearest")[:, 0, 0, 0].tolist() == [0, 0, 10, 20, 40]
    assert resample_frames(frames, positions, "linear")[:, 0, 0, 0].tolist() == [0, 4, 5, 22, 40]


def test_cancel_from_on_step(priors):
    class Cancelled(Exception):
        pass

    prior = priors["wan"]
    seen = []

    def cancel(step, total, losses):
        seen.append((step, total))
        raise Cancelled

    with pytest.raises(Cancelled):
        prior.generate(prompt=PROMPT, image=_render(), num_frames=5, fps=24.0, width=32,
                       height=32, generator=_seed(0), on_step=cancel)
    assert seen == [(1, 2)]  # stopped at the first step boundary
    with pytest.raises(Cancelled):
        priors["ltx"].generate(prompt=PROMPT, image=None, num_frames=5, fps=24.0, width=32,
                               height=32, generator=_seed(0), on_step=cancel)
    assert seen[-1] == (1, 2)
    video = prior.generate(prompt=PROMPT, image=_render(), num_frames=5, fps=24.0, width=32,
                           height=32, generator=_seed(0))  # still usable afterwards
    assert video.num_frames == 5


@pytest.mark.parametrize("family", ["wan", "ltx"])
def test_bad_requests(priors, family):
    prior = priors[family]
    ok = dict(prompt=PROMPT, image=_render(), num_frames=5, fps=24.0, width=32, height=32,
              generator=_seed(0))
    for bad, match in ((dict(prompt="  "), "prompt is empty"), (dict(prompt=""), "prompt"),
                       (dict(num_frames=0), "num_frames"), (dict(fps=0.0), "fps"),
                       (dict(image=_render(48, 32)), "video size"),
                       (dict(image=_render().astype(np.float32)), "uint8"),
                       (dict(generator=0), "torch.Generator")):
        with pytest.raises(ValueError, match=match):
            prior.generate(**{**ok, **bad})


def test_wan_modes_from_config():
    ti2v = SimpleNamespace(in_channels=48, out_channels=48, image_dim=None)
    i2v_21 = SimpleNamespace(in_channels=36, out_channels=16, image_dim=1280)
    i2v_22 = SimpleNamespace(in_channels=36, out_channels=16, image_dim=None)
    t2v = SimpleNamespace(in_channels=16, out_channels=16, image_dim=None)
    assert wan_modes(ti2v, True) == {"image", "text"}
    assert wan_modes(i2v_21, False) == wan_modes(i2v_22, False) == {"image"}
    assert wan_modes(t2v, False) == {"text"}


@pytest.mark.parametrize("prior_cls,config_cls", [(WanVideoPrior, WanVideoPriorConfig),
                                                  (LTXVideoPrior, LTXVideoPriorConfig)])
def test_missing_model(prior_cls, config_cls, tmp_path, tiny_folders, no_network):
    for model_id in (str(tmp_path / "no-such-model"), "anchorhoi-test/no-such-video-model"):
        with pytest.raises(ModelNotFoundError) as info:
            prior_cls(config_cls(model_id=model_id))
        assert info.value.model_id == model_id and model_id in str(info.value)
    assert "offline" in str(info.value)
    broken = tmp_path / "broken"
    shutil.copytree(tiny_folders["wan"], broken)
    (broken / "vae" / "config.json").unlink()
    with pytest.raises(ModelNotFoundError, match="vae/config.json"):
        prior_cls(config_cls(model_id=str(broken)))
    assert not no_network


def test_the_registry_builds_each_family_with_the_presets_sampling(tiny_folders, no_network):
    sampling = VideoSampling(steps=3, guidance_scale=1.0, conditioning_strength=0.5,
                             restore_detail=True, enable_vae_tiling=True)
    wan = make_video_prior(str(tiny_folders["wan"]), sampling)
    assert isinstance(wan, WanVideoPrior)
    c = wan.config
    assert (c.num_inference_steps, c.guidance_scale, c.conditioning_strength) == (3, 1.0, 0.5)
    assert c.restore_detail and c.enable_vae_tiling and c.model_id == str(tiny_folders["wan"])
    ltx = make_video_prior(str(tiny_folders["ltx"]), sampling, cache_dir=tiny_folders["ltx"])
    assert isinstance(ltx, LTXVideoPrior)
    assert (ltx.config.num_inference_steps, ltx.config.enable_vae_tiling) == (3, True)
    assert ltx.config.guidance_scale == LTXVideoPriorConfig().guidance_scale  # LTX's own
    assert ltx.config.cache_dir == tiny_folders["ltx"]
    # the pre-flight: a whole folder passes, a broken one says what it lacks
    assert check_video_model(str(tiny_folders["wan"])) is None
    with pytest.raises(ModelNotFoundError, match="lacks model_index.json, .*, "
                                                 "tokenizer/tokenizer.json or tokenizer/"):
        check_video_model(str(tiny_folders["wan"] / "vae"))
    with pytest.raises(ValueError, match="steps ≥ 1"):
        VideoSampling(steps=0)
    assert not no_network


def test_save_video_roundtrip_and_gif(tmp_path):
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 256, (12, 40, 48, 3), dtype=np.uint8)
    video = Video(frames=frames, fps=24.0)
    files = save_video(video, tmp_path / "stage_c")
    assert files.frames.name == "frames.npz" and files.preview.name == "preview.gif"
    assert sorted(p.name for p in files.frames.parent.iterdir()) == ["frames.npz", "preview.gif"]
    back = load_video(tmp_path / "stage_c")
    assert np.array_equal(back.frames, frames) and back.fps == 24.0
    with Image.open(files.preview) as gif:
        assert gif.format == "GIF" and gif.size == (48, 40) and gif.info.get("loop") == 0
        durations = []
        for i in range(gif.n_frames):
            gif.seek(i)
            durations.append(gif.info["duration"])
    assert len(durations) == 12
    assert sum(durations) == 500  # 12 frames at 24 fps = 0.5 s, kept exact in centiseconds

    big = Video(frames=np.zeros((3, 600, 900, 3), np.uint8), fps=8.0)
    with Image.open(save_video(big, tmp_path / "big").preview) as gif:
        assert gif.size == (512, 341)


def test_save_video_is_atomic(tmp_path, monkeypatch):
    video = Video(frames=np.zeros((4, 8, 8, 3), np.uint8), fps=12.0)

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", fail)
    with pytest.raises(OSError, match="disk full"):
        save_video(video, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames.npz"]  # no partial GIF, no temp


def test_video_validation():
    with pytest.raises(ValueError, match="uint8"):
        Video(frames=np.zeros((2, 4, 4, 3), np.float32), fps=24.0)
    with pytest.raises(ValueError, match="fps"):
        Video(frames=np.zeros((2, 4, 4, 3), np.uint8), fps=0.0)
