"""Anchor presets: the documented table matches the configs, and the VRAM budget is computed
from component sizes (pinned) and fits a 24 GB card for every GPU preset."""

from __future__ import annotations

import pytest

from anchorhoi.anchor.presets import PRESETS, estimate_vram_gb, preset


@pytest.mark.parametrize("name, steps, res, samples, views, gb", [
    ("draft", 1500, 64, 64, 1, 7.2), ("standard", 3000, 128, 96, 1, 8.2),
    ("high", 5000, 192, 128, 2, 19.6)])
def test_gpu_presets(name, steps, res, samples, views, gb):
    p = PRESETS[name]
    n = p.nerf
    assert (n.iterations, n.resolution, n.sampler.num_samples, n.views_per_step) == (
        steps, res, samples, views)
    assert p.gpu and estimate_vram_gb(p) == pytest.approx(gb, abs=0.05)
    assert estimate_vram_gb(p) < 24.0
    assert f"| {name} |" in __import__("anchorhoi.anchor.presets", fromlist=["x"]).__doc__


def test_tiny_is_cpu_and_small():
    p = preset("tiny")
    assert not p.gpu and p.rounds == 1 and p.nerf.resolution == 32
    assert p.nerf.human_field.encoding.log2_hashmap_size == 15


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown preset 'ultra'"):
        preset("ultra")
    assert preset("draft", rounds=5).rounds == 5
