"""Memory budgets (``job/memory.py``): the component table is the published checkpoints'
(recounted from their configs on the meta device), ``docs/memory.md`` states the budgets the
code computes (within 10 %), and the pre-flight refuses a preset that does not fit the card or
the host's memory (``CUDA_OOM``, exit 2, before any stage), naming the largest that fits —
probed through an injected memory probe."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from anchorhoi.job.errors import JobError
from anchorhoi.job.memory import (
    COMPONENTS,
    GIB,
    LTX,
    SD21,
    WAN,
    budget,
    check_memory,
    meminfo_available,
)
from anchorhoi.job.pipeline import run_job
from anchorhoi.job.presets import PRESETS
from anchorhoi.job.request import GenerateRequest

DOC = Path(__file__).resolve().parents[2] / "docs" / "memory.md"


@dataclass
class FakeMemory:
    """A machine with ``vram_gib`` free on its card and ``host_gib`` available."""

    vram_gib: float | None
    host_gib: float | None

    def device_free(self, device: str) -> int | None:
        return None if self.vram_gib is None else int(self.vram_gib * GIB)

    def host_available(self) -> int | None:
        return None if self.host_gib is None else int(self.host_gib * GIB)


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_component_sizes_are_the_published_configs():
    from diffusers import (
        AutoencoderKL,
        AutoencoderKLLTXVideo,
        AutoencoderKLWan,
        LTXVideoTransformer3DModel,
        UNet2DConditionModel,
        WanTransformer3DModel,
    )
    from transformers import (
        CLIPTextConfig,
        CLIPTextModel,
        T5Config,
        T5EncoderModel,
        UMT5Config,
        UMT5EncoderModel,
    )

    t5xxl = dict(d_model=4096, d_ff=10240, num_layers=24, num_heads=64, d_kv=64,
                 feed_forward_proj="gated-gelu")
    with torch.device("meta"):  # no memory: the shapes alone
        counts = {
            (SD21, "unet"): UNet2DConditionModel(
                sample_size=64, cross_attention_dim=1024, attention_head_dim=[5, 10, 20, 20],
                use_linear_projection=True, block_out_channels=(320, 640, 1280, 1280)),
            (SD21, "vae"): AutoencoderKL(
                block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4,
                down_block_types=("DownEncoderBlock2D",) * 4,
                up_block_types=("UpDecoderBlock2D",) * 4, sample_size=768),
            (SD21, "text_encoder"): CLIPTextModel(CLIPTextConfig(
                hidden_size=1024, intermediate_size=4096, num_hidden_layers=23,
                num_attention_heads=16, vocab_size=49408, max_position_embeddings=77,
                projection_dim=512, hidden_act="gelu")),
            (WAN, "transformer"): WanTransformer3DModel(
                patch_size=(1, 2, 2), num_attention_heads=24, attention_head_dim=128,
                in_channels=48, out_channels=48, text_dim=4096, freq_dim=256, ffn_dim=14336,
                num_layers=30, cross_attn_norm=True, qk_norm="rms_norm_across_heads"),
            (WAN, "vae"): AutoencoderKLWan(
                base_dim=160, decoder_base_dim=256, z_dim=48, dim_mult=[1, 2, 4, 4],
                num_res_blocks=2, attn_scales=[], temperal_downsample=[False, True, True],
                is_residual=True, in_channels=12, out_channels=12, patch_size=2,
                scale_factor_spatial=16, scale_factor_temporal=4),
            (WAN, "text_encoder"): UMT5EncoderModel(UMT5Config(vocab_size=256384, **t5xxl)),
            (LTX, "transformer"): LTXVideoTransformer3DModel(),  # the defaults are 0.9.0's
            (LTX, "vae"): AutoencoderKLLTXVideo(),
            (LTX, "text_encoder"): T5EncoderModel(T5Config(vocab_size=32128, **t5xxl)),
        }
    for (model, part), module in counts.items():
        assert COMPONENTS[model][part].params == _count(module), (model, part)


def _doc_table() -> dict[str, list[float | None]]:
    """docs/memory.md's budget table: preset → [anchor VRAM, video VRAM, job VRAM, host]."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| preset | VRAM, anchor"))
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = [float(m.group(1)) if (m := re.search(r"([\d.]+) GiB", c))
                                     else None for c in cells[1:5]]
    return rows


def test_the_documented_budgets_are_the_computed_ones():
    rows = _doc_table()
    assert set(rows) == set(PRESETS)
    for name, preset in PRESETS.items():
        b = budget(preset)
        stated = rows[name]
        computed = [b.anchor_vram, b.video_vram, b.vram, b.host]
        for doc, code in zip(stated, computed):
            if not preset.gpu and doc is None:
                assert code == 0.0 or code == b.host  # the CPU row states only its host base
                continue
            assert doc == pytest.approx(code, rel=0.10), name
    # the model peaks that matter: T5 leaves before the VAE and the transformer
    draft = budget(PRESETS["draft"])
    wan = COMPONENTS[WAN]
    assert draft.video_vram < wan["text_encoder"].gib + wan["vae"].gib
    assert budget(PRESETS["high"]).vram < 22.3  # every GPU preset fits a 24 GB card (22.35 GiB)


@pytest.mark.parametrize("vram, fits", [(10.0, None), (12.5, "standard"), (16.0, "standard"),
                                        (24.0, "high")])
def test_a_card_too_small_is_refused_naming_the_largest_preset_that_fits(vram, fits):
    high = PRESETS["high"]
    args = dict(device="cuda", image=SD21, video=WAN, frames=high.frames, fps=high.fps)
    if fits == "high":
        assert check_memory(high, probe=FakeMemory(vram, 64.0), **args) == []
        return
    with pytest.raises(JobError) as err:
        check_memory(high, probe=FakeMemory(vram, 64.0), **args)
    assert err.value.code == "CUDA_OOM" and err.value.exit_code == 2
    assert f"{vram:.1f} GB free" in err.value.message and "GPU memory" in err.value.message
    if fits is None:
        assert "No preset fits" in err.value.hint and "docs/memory.md" in err.value.hint
    else:
        assert f"Choose the {fits!r} preset" in err.value.hint


def test_host_memory_too_small_is_refused():
    draft = PRESETS["draft"]
    args = dict(device="cuda", image=SD21, video=WAN, frames=draft.frames, fps=draft.fps)
    need = budget(draft).host
    assert check_memory(draft, probe=FakeMemory(24.0, need + 0.5), **args) == []
    with pytest.raises(JobError) as err:
        check_memory(draft, probe=FakeMemory(24.0, need - 0.5), **args)
    assert err.value.code == "CUDA_OOM" and "system memory" in err.value.message
    assert "No preset fits" in err.value.hint  # every GPU preset loads the same Wan weights
    # the lighter LTX-Video fits where Wan does not
    assert budget(draft, video=LTX).host < need - 0.5
    assert check_memory(draft, probe=FakeMemory(24.0, need - 0.5),
                        **(args | {"video": LTX})) == []


def test_unknown_models_and_blind_probes_are_not_refused():
    draft = PRESETS["draft"]
    args = dict(device="cuda", frames=draft.frames, fps=draft.fps, probe=FakeMemory(1.0, 1.0))
    assert check_memory(draft, image="/models/my-sd", video=WAN, **args) == []
    assert budget(draft, video="/models/my-wan") is None
    assert check_memory(draft, device="cuda", image=SD21, video=WAN, frames=48, fps=24.0,
                        probe=FakeMemory(None, None)) == []


def test_meminfo(tmp_path):
    info = tmp_path / "meminfo"
    info.write_text("MemTotal:       24000000 kB\nMemAvailable:   16000000 kB\n")
    assert meminfo_available(info) == 16000000 * 1024
    assert meminfo_available(tmp_path / "missing") is None


def test_the_job_refuses_before_any_stage(tmp_path):
    job = tmp_path / "job"
    events = []

    class Collect:
        def emit(self, type_: str, **data) -> None:
            events.append(type_)

    request = GenerateRequest(prompt="a person sits on the box", job_dir=job, preset="tiny",
                              device="cpu", cache_dir=tmp_path / "cache")
    with pytest.raises(JobError) as err:
        run_job(request, Collect(), memory=FakeMemory(None, 0.5))
    assert err.value.code == "CUDA_OOM" and err.value.exit_code == 2
    assert "system memory" in err.value.message
    assert events == []  # not accepted, no stage started
    assert not (job / "anchor").exists() and not (job / "config.json").exists()
