"""The quality table: the documented rows match the configs, the VRAM budget of stages A and B
is computed from component sizes (pinned) and fits a 24 GB card for every GPU preset, and the
preset names are the protocol's."""

from __future__ import annotations

import dataclasses

import pytest

from anchorhoi.job import presets as job_presets
from anchorhoi.job.presets import PRESETS, JobPreset, estimate_anchor_vram_gb, job_preset
from anchorhoi.portable.protocol import PRESET_NAMES


@pytest.mark.parametrize("name, steps, res, samples, views, gb", [
    ("draft", 1500, 64, 64, 1, 7.2), ("standard", 3000, 128, 96, 1, 8.2),
    ("high", 5000, 192, 128, 2, 19.6)])
def test_gpu_presets(name, steps, res, samples, views, gb):
    p = PRESETS[name]
    n = p.anchor.nerf
    assert (n.iterations, n.resolution, n.sampler.num_samples, n.views_per_step) == (
        steps, res, samples, views)
    assert p.gpu and estimate_anchor_vram_gb(p.anchor) == pytest.approx(gb, abs=0.05)
    assert estimate_anchor_vram_gb(p.anchor) < 24.0
    assert p.video.expected_vram_gb is not None and p.video.expected_vram_gb <= 24.0
    assert n.object_search is not None  # the GPU presets search the object's placement
    assert f"| {name} |" in job_presets.__doc__


def test_tiny_is_cpu_and_small():
    p = job_preset("tiny")
    assert not p.gpu and p.anchor.rounds == 1 and p.anchor.nerf.resolution == 32
    assert p.anchor.nerf.human_field.encoding.log2_hashmap_size == 15
    assert p.anchor.nerf.object_search is None and p.video.expected_vram_gb is None
    assert (p.frames, p.fps, p.video.width, p.video.height) == (12, 12.0, 256, 256)
    s = p.video.sampling
    assert (s.steps, s.conditioning_strength, s.restore_detail) == (10, 0.3, True)


def test_the_rows_are_the_protocols_presets():
    assert tuple(PRESETS) == PRESET_NAMES
    for name, p in PRESETS.items():
        assert p.name == name
        assert p.video.width % 32 == 0 and p.video.height % 32 == 0
        assert p.motion.iterations_pose > 0 and p.frames >= 2
    assert [p.frames for p in PRESETS.values()] == [12, 48, 72, 120]
    assert PRESETS["high"].video.sampling.enable_vae_tiling
    assert not PRESETS["standard"].video.sampling.enable_vae_tiling


def test_unknown_preset_and_bad_rows():
    with pytest.raises(ValueError, match="unknown preset 'ultra'; choose one of tiny, draft"):
        job_preset("ultra")
    tiny = PRESETS["tiny"]
    with pytest.raises(ValueError, match="at least 2 frames"):
        JobPreset(name="tiny", gpu=False, frames=1, fps=12.0, anchor=tiny.anchor,
                  video=tiny.video, keypoints=tiny.keypoints, motion=tiny.motion)
    with pytest.raises(ValueError, match="multiples of 32"):
        dataclasses.replace(tiny.video, width=250)
