"""The model hub's one set of rules: what looks like a path, what a folder must hold, when the
machine counts as offline, and how a failed load is worded."""

from __future__ import annotations

import re

import pytest

from anchorhoi import hub

LAYOUT = hub.ModelLayout(description="the test layout (index.json, a/)", index="index.json",
                         required=("a/config.json",), any_of=(("t.json",), ("v.txt", "m.txt")))


@pytest.mark.parametrize("model_id, path", [
    ("owner/name", False), ("name", False), ("/abs/folder", True), ("./rel", True),
    ("~/models/x", True), ("C:\\models\\x", True), ("a/b/c", True)])
def test_what_looks_like_a_path(model_id, path):
    assert hub.looks_like_path(model_id) is path


def test_a_folder_must_hold_its_layout(tmp_path):
    folder = tmp_path / "model"
    (folder / "a").mkdir(parents=True)
    with pytest.raises(hub.ModelNotFoundError, match=re.escape(
            "lacks index.json, a/config.json, t.json or v.txt + m.txt")) as info:
        hub.resolve(str(folder), LAYOUT)
    assert info.value.model_id == str(folder)
    assert info.value.remedy.endswith("a local folder holding the test layout (index.json, a/).")
    for name in ("index.json", "a/config.json", "v.txt", "m.txt"):
        (folder / name).write_text("{}")
    assert hub.resolve(str(folder), LAYOUT) == str(folder)
    assert hub.resolve("owner/name", LAYOUT) == "owner/name"  # the hub's to answer
    with pytest.raises(hub.ModelNotFoundError, match="no such folder"):
        hub.resolve(str(tmp_path / "nowhere"), LAYOUT)


def test_offline_and_the_load_error_wording(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub.is_offline()
    err = hub.load_error("owner/name", "owner/name", OSError("not found\nmore"), LAYOUT)
    assert str(err).startswith("Model 'owner/name' could not be loaded: the machine is offline "
                               "(HF_HUB_OFFLINE=1) and the model is not in the Hugging Face "
                               "cache (not found). Unset HF_HUB_OFFLINE (or set it to 0) so "
                               "owner/name")
    err = hub.load_error(str(tmp_path), str(tmp_path), ValueError(""), LAYOUT)
    assert err.reason == "the local folder could not be read (ValueError)"
    with pytest.raises(hub.ModelNotFoundError, match="offline"):
        hub.check_available("anchorhoi-tests/nothing", LAYOUT, cache_dir=tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    assert not hub.is_offline()


# --- pre-flight against a Hugging Face cache folder ------------------------------------------

WAN_INDEX = {"_class_name": "WanImageToVideoPipeline", "_diffusers_version": "0.35.0",
             "tokenizer": ["transformers", "AutoTokenizer"],
             "text_encoder": ["transformers", "UMT5EncoderModel"],
             "transformer": ["diffusers", "WanTransformer3DModel"],
             "transformer_2": [None, None], "image_encoder": [None, None],
             "vae": ["diffusers", "AutoencoderKLWan"],
             "scheduler": ["diffusers", "UniPCMultistepScheduler"]}
WAN = "Wan-AI/Wan2.2-TI2V-5B-Diffusers"


def fake_hub_cache(root, *, skip: tuple[str, ...] = ()) -> None:
    """The hub cache's layout for ``WAN``: refs/main → snapshots/<commit>/<files>."""
    import json as _json

    repo = root / ("models--" + WAN.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abc")
    snap = repo / "snapshots" / "0123abc"
    files = {"model_index.json": _json.dumps(WAN_INDEX),
             "tokenizer/tokenizer_config.json": "{}", "tokenizer/spiece.model": "x",
             "text_encoder/config.json": "{}",
             "text_encoder/model.safetensors.index.json": _json.dumps(
                 {"weight_map": {"a": "model-00001-of-00002.safetensors",
                                 "b": "model-00002-of-00002.safetensors"}}),
             "text_encoder/model-00001-of-00002.safetensors": "w",
             "text_encoder/model-00002-of-00002.safetensors": "w",
             "transformer/config.json": "{}",
             "transformer/diffusion_pytorch_model.safetensors": "w",
             "vae/config.json": "{}", "vae/diffusion_pytorch_model.safetensors": "w",
             "scheduler/scheduler_config.json": "{}"}
    for path, text in files.items():
        if path in skip or path.split("/")[0] in skip:
            continue
        (snap / path).parent.mkdir(parents=True, exist_ok=True)
        (snap / path).write_text(text)


def test_preflight_refuses_a_partial_download_naming_the_missing_part(tmp_path, monkeypatch):
    from anchorhoi.video.base import VIDEO_LAYOUT

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    fake_hub_cache(tmp_path, skip=("transformer",))
    assert hub.cache_gaps(WAN, VIDEO_LAYOUT, cache_dir=tmp_path) == ["transformer/"]
    assert not hub.is_cached(WAN, VIDEO_LAYOUT, cache_dir=tmp_path)
    with pytest.raises(hub.ModelNotFoundError, match=r"only partly in the Hugging Face cache "
                       r"\(missing transformer/\)"):
        hub.check_available(WAN, VIDEO_LAYOUT, cache_dir=tmp_path)


def test_preflight_refuses_a_missing_shard(tmp_path, monkeypatch):
    from anchorhoi.video.base import VIDEO_LAYOUT

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    fake_hub_cache(tmp_path, skip=("text_encoder/model-00002-of-00002.safetensors",))
    assert hub.cache_gaps(WAN, VIDEO_LAYOUT, cache_dir=tmp_path) == ["text_encoder/"]


def test_preflight_passes_a_complete_download(tmp_path, monkeypatch):
    from anchorhoi.video.base import VIDEO_LAYOUT

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    fake_hub_cache(tmp_path)
    assert hub.is_cached(WAN, VIDEO_LAYOUT, cache_dir=tmp_path)
    assert hub.check_available(WAN, VIDEO_LAYOUT, cache_dir=tmp_path) is None


def test_download_size_counts_only_the_diffusers_folders():
    gb = 10 ** 9
    ltx_like = {"model_index.json": 1_000, "README.md": 5_000,
                "ltx-video-2b-v0.9.5.safetensors": int(9.4 * gb),  # single-file checkpoints
                "ltxv-2b-0.9.6-dev.safetensors": int(5.7 * gb),
                "transformer/config.json": 1_000,
                "transformer/diffusion_pytorch_model.safetensors": int(3.8 * gb),
                "transformer/diffusion_pytorch_model.fp16.safetensors": int(3.8 * gb),
                "text_encoder/config.json": 1_000,
                "text_encoder/model-00001-of-00002.safetensors": int(5 * gb),
                "text_encoder/model-00002-of-00002.safetensors": int(4.5 * gb),
                "text_encoder/pytorch_model.bin": int(9.5 * gb),
                "vae/config.json": 1_000, "vae/diffusion_pytorch_model.safetensors": int(0.8 * gb),
                "media/ltx.png": 10_000}
    folders = ["transformer", "text_encoder", "vae"]
    expected = 1_000 + 3 * 1_000 + int(3.8 * gb) + int(5 * gb) + int(4.5 * gb) + int(0.8 * gb)
    assert hub.download_size(ltx_like, folders) == expected


# --- offline: the setting to turn on and the exact size still to fetch -----------------------

GB = 10 ** 9
WAN_LISTING = {"model_index.json": 1_200, "README.md": 9_000, "assets/demo.mp4": 50_000_000,
               "tokenizer/tokenizer_config.json": 2_000, "tokenizer/spiece.model": 4_300_000,
               "text_encoder/config.json": 900,
               "text_encoder/model.safetensors.index.json": 25_000,
               "text_encoder/model-00001-of-00002.safetensors": int(4.9 * GB),
               "text_encoder/model-00002-of-00002.safetensors": int(6.5 * GB),
               "transformer/config.json": 800,
               "transformer/diffusion_pytorch_model.safetensors": int(20 * GB),
               "transformer/diffusion_pytorch_model.fp16.safetensors": int(10 * GB),
               "vae/config.json": 700, "vae/diffusion_pytorch_model.safetensors": int(2.8 * GB),
               "scheduler/scheduler_config.json": 600}
"""A Wan-like repository listing: what ``from_pretrained`` fetches is the index and the
component folders, without the fp16 variant, the README and the demo video."""


def test_offline_and_nothing_cached_names_the_setting_and_the_exact_size(tmp_path, monkeypatch):
    from anchorhoi.video.base import VIDEO_LAYOUT

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(hub.OFFLINE_BY_ENV, raising=False)
    hub.record_listing(WAN, WAN_LISTING, tmp_path)  # as an earlier online check kept it
    expected = 1_200 + 2_000 + 4_300_000 + 900 + 25_000 + int(4.9 * GB) + int(6.5 * GB) + 800 \
        + int(20 * GB) + 700 + int(2.8 * GB) + 600
    with pytest.raises(hub.ModelNotFoundError) as info:
        hub.check_available(WAN, VIDEO_LAYOUT, cache_dir=tmp_path)
    assert "offline (HF_HUB_OFFLINE=1) and it is not in the Hugging Face cache" in str(info.value)
    assert info.value.remedy.startswith(
        f"Unset HF_HUB_OFFLINE (or set it to 0) so {WAN} can be downloaded and cached "
        f"({expected / GB:.1f} GB to download, {expected:,} bytes)")
    monkeypatch.setenv(hub.OFFLINE_BY_ENV, "blender")  # the add-on with online access off
    with pytest.raises(hub.ModelNotFoundError) as info:
        hub.check_available(WAN, VIDEO_LAYOUT, cache_dir=tmp_path)
    assert info.value.remedy.startswith(
        "Turn on Allow Online Access (Blender Preferences › System › Network) so "
        f"{WAN} can be downloaded and cached ({expected / GB:.1f} GB to download, "
        f"{expected:,} bytes)")


def test_offline_with_a_partial_download_counts_only_the_missing_part(tmp_path, monkeypatch):
    from anchorhoi.video.base import VIDEO_LAYOUT

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(hub.OFFLINE_BY_ENV, raising=False)
    fake_hub_cache(tmp_path, skip=("transformer",))
    hub.record_listing(WAN, WAN_LISTING, tmp_path)
    assert hub.is_cached(WAN, VIDEO_LAYOUT, cache_dir=tmp_path) is False  # the listing is no part
    missing = 800 + int(20 * GB)
    with pytest.raises(hub.ModelNotFoundError, match=re.escape(
            f"({missing / GB:.1f} GB to download, {missing:,} bytes)")):
        hub.check_available(WAN, VIDEO_LAYOUT, cache_dir=tmp_path)


def _stated_gb(remedy: str) -> float:
    """The "about N GB to download" a remedy states."""
    found = re.search(r"\(about ([\d.]+) GB to download\)", remedy)
    assert found, remedy
    return float(found.group(1))


def test_offline_on_a_fresh_install_states_about_the_download_of_the_table(tmp_path, monkeypatch):
    """No listing kept (never online): the size comes from the published checkpoints' table,
    stated as an estimate; the exact wording with a listing is the test above."""
    from anchorhoi.checkpoints import COMPONENTS
    from anchorhoi.video.base import VIDEO_LAYOUT

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv(hub.OFFLINE_BY_ENV, "blender")
    table = sum(c.params * c.file_bytes_per_param for c in COMPONENTS[WAN].values())
    with pytest.raises(hub.ModelNotFoundError) as info:
        hub.check_available(WAN, VIDEO_LAYOUT, cache_dir=tmp_path)
    assert info.value.remedy.startswith("Turn on Allow Online Access (Blender Preferences › "
                                        f"System › Network) so {WAN} can be downloaded")
    assert _stated_gb(info.value.remedy) * GB == pytest.approx(table, rel=0.10)
    # transformer fp32 (5.0 B × 4), UMT5 bf16 (11.4 GB), VAE fp32: the published files
    assert 30 * GB < table < 38 * GB
    fake_hub_cache(tmp_path, skip=("transformer",))  # a partial download: the missing part
    with pytest.raises(hub.ModelNotFoundError) as info:
        hub.check_available(WAN, VIDEO_LAYOUT, cache_dir=tmp_path)
    part = COMPONENTS[WAN]["transformer"]
    assert _stated_gb(info.value.remedy) * GB == pytest.approx(
        part.params * part.file_bytes_per_param, rel=0.10)


def test_offline_with_an_unknown_model_says_its_size_is_not_known(tmp_path, monkeypatch):
    from anchorhoi.video.base import VIDEO_LAYOUT

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(hub.OFFLINE_BY_ENV, raising=False)
    with pytest.raises(hub.ModelNotFoundError) as info:
        hub.check_available("someone/some-video-model", VIDEO_LAYOUT, cache_dir=tmp_path)
    assert info.value.remedy.startswith("Unset HF_HUB_OFFLINE (or set it to 0) so "
                                        "someone/some-video-model can be downloaded and cached "
                                        "(its size is not known here; an online check states "
                                        "it before the download starts)")
    hub.listing_path(WAN, tmp_path).parent.mkdir(parents=True)
    hub.listing_path(WAN, tmp_path).write_text('{"a": "not a size"')  # truncated: ignored
    assert hub.recorded_listing(WAN, tmp_path) is None
    with pytest.raises(hub.ModelNotFoundError, match=r"\(about [\d.]+ GB to download\)"):
        hub.check_available(WAN, VIDEO_LAYOUT, cache_dir=tmp_path)  # the table, not the file


def test_the_job_refuses_a_fresh_offline_install_naming_setting_and_size(tmp_path, monkeypatch):
    """The user's path: a GPU preset's default models, nothing cached, offline: the job's
    pre-flight refusal (``MODEL_NOT_FOUND``) names the setting and about how much the image
    model (the first one checked) would download — SD 2.1 base's float32 files, 5.16 GB."""
    from anchorhoi.checkpoints import SD21_BASE
    from anchorhoi.job.errors import JobError
    from anchorhoi.job.models import choose_models, preflight
    from anchorhoi.job.request import GenerateRequest

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(hub.OFFLINE_BY_ENV, raising=False)
    request = GenerateRequest(prompt="a person sits on a box", job_dir=tmp_path / "job",
                              preset="draft", cache_dir=tmp_path / "cache")
    choice = choose_models(request)
    assert choice.image == SD21_BASE and choice.video == WAN
    with pytest.raises(JobError) as info:
        preflight(choice, request)
    assert info.value.code == "MODEL_NOT_FOUND" and SD21_BASE in info.value.message
    assert "Unset HF_HUB_OFFLINE" in info.value.hint
    assert _stated_gb(info.value.hint) == pytest.approx(5.16, rel=0.10)


def test_one_model_at_the_root_counts_its_root_weights():
    layout = hub.ModelLayout(description="x", index="config.json")
    files = {"config.json": 700, "model.safetensors": 340_000_000, "model.fp16.safetensors": 1,
             "pytorch_model.bin": 340_000_000, "onnx/model.onnx": 9}
    assert hub.fetched_bytes(files, layout) == 700 + 340_000_000
