"""Quality presets of the anchor stages (A: anchor NeRF, B: body fit) and their GPU budget.

| preset | where | SDS steps × rounds | render | samples/ray | views/step | hash grid | est. VRAM |
|---|---|---|---|---|---|---|---|
| tiny | CPU, tests, ``selftest`` | 20 × 1 | 32² | 32 | 1 | 6 levels, 2^15 | — (tiny random prior, < 1 GB RAM) |
| draft | one GPU | 1500 × 2 | 64² | 64 | 1 | 16 levels, 2^19 | ≈ 7 GB |
| standard | one GPU | 3000 × 2 | 128² | 96 | 1 | 16 levels, 2^19 | ≈ 8 GB |
| high | one 24 GB GPU | 5000 × 3 | 192² | 128 | 2 | 16 levels, 2^20 | ≈ 20 GB |

No GPU was available to measure these: :func:`estimate_vram_gb` adds up component sizes
(weights of the default Stable Diffusion 2.1 base in fp16, the VAE encoder's activations kept
for the backward pass at 512², the UNet's inference activations for the CFG batch, the hash
grid with Adam's two moments, and the renderer's per-sample activations), each documented
below. It is a budget, not a measurement; the job writes the measured peak into result.json.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from ..nerf.encoding import HashGridConfig
from ..nerf.field import NeRFFieldConfig
from ..nerf.samplers import DenseSamplerConfig
from .anchor_nerf import AnchorNeRFConfig
from .fit import AnchorLattice, FitConfig, FitSampling, FitSchedule
from .object_search import ObjectSearchConfig

PresetName = Literal["tiny", "draft", "standard", "high"]

# Stable Diffusion 2.1 base, parameter counts of the published checkpoint's components.
SD21_PARAMS = {"unet": 865_910_724, "vae": 83_653_863, "text_encoder": 340_387_072}
GB = 1024 ** 3


@dataclass(frozen=True, kw_only=True)
class AnchorPreset:
    """Everything the anchor stages need that depends on the quality level."""

    name: PresetName
    """Preset id."""
    nerf: AnchorNeRFConfig = field(default_factory=AnchorNeRFConfig)
    """Stage A settings."""
    rounds: int = 2
    """Alternations of stage A and stage B (the NeRF re-anchored to the fitted body)."""
    gpu: bool = True
    """Whether the preset is meant for a GPU (all but ``tiny``)."""
    fit: FitConfig = field(default_factory=FitConfig)
    """Stage B settings, used when ``run_anchor_stages`` gets no ``fit_config``."""


def _nerf(iterations, resolution, samples, views, levels, log2_size, **extra):
    grid = HashGridConfig(levels=levels, log2_hashmap_size=log2_size)
    if levels < 16:
        grid = HashGridConfig(levels=levels, log2_hashmap_size=log2_size, base_resolution=8,
                              per_level_scale=1.6)
    return AnchorNeRFConfig(iterations=iterations, resolution=resolution, views_per_step=views,
                            sampler=DenseSamplerConfig(num_samples=samples),
                            human_field=NeRFFieldConfig(encoding=grid,
                                                        hidden_dim=32 if levels < 16 else 64,
                                                        num_layers=1 if levels < 16 else 2),
                            **extra)


TINY_FIT = FitConfig(
    schedule=FitSchedule(rigid_iterations=10, search_rounds=1, search_iterations=5,
                         pose_iterations=15, detail_iterations=5, yaw_hypotheses_deg=(0.0,)),
    limb_search=None, lattice=AnchorLattice(resolution=40),
    sampling=FitSampling(num_body_samples=800, num_anchor_samples=1500))
"""The ``tiny`` preset's fit: one heading, no limb search, 35 pose steps on a 40³ lattice (the
pipeline check; a random tiny prior has no pose to find)."""

GPU_SEARCH = ObjectSearchConfig(resolution=64)
"""The object's placement searched before the first SDS step (``object_search.py``): SDS only
moves the object where its image already overlaps what the prior expects, so a seat half a
metre away would never be found. ≈ 550 candidates × 4 views of the prior's denoising error —
about 2,200 U-Net evaluations at 512², a minute or two on one GPU, once per job."""

PRESETS: dict[str, AnchorPreset] = {
    "tiny": AnchorPreset(name="tiny", rounds=1, gpu=False, fit=TINY_FIT,
                         nerf=_nerf(20, 32, 32, 1, 6, 15, init_iterations=40,
                                    drift_points=1024)),
    "draft": AnchorPreset(name="draft", rounds=2, nerf=_nerf(1500, 64, 64, 1, 16, 19,
                                                             object_search=GPU_SEARCH)),
    "standard": AnchorPreset(name="standard", rounds=2, nerf=_nerf(3000, 128, 96, 1, 16, 19,
                                                                   object_search=GPU_SEARCH)),
    "high": AnchorPreset(name="high", rounds=3, nerf=_nerf(5000, 192, 128, 2, 16, 20,
                                                           object_search=GPU_SEARCH)),
}


def preset(name: str, **overrides) -> AnchorPreset:
    """The preset ``name``, with top-level fields replaced by ``overrides``."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return dataclasses.replace(PRESETS[name], **overrides)


def estimate_vram_gb(p: AnchorPreset, *, weights_bytes: int = 2, occupied: float = 0.15
                     ) -> float:
    """Peak VRAM budget (GiB) of stage A with the default Stable Diffusion 2.1 base prior.

    - weights: UNet + VAE in ``weights_bytes`` (fp16); the text encoder is freed once the
      prompt embeddings are cached, so it counts only up to the UNet's activations.
    - VAE encoder with gradients at 512²: ≈ 1.9 GiB per image in fp16 (its full-resolution
      128-channel maps, ~16 kept for the backward pass, plus the lower levels).
    - UNet inference for the CFG batch (2 × views) at 64² latents: ≈ 0.6 GiB per image.
    - hash grid: levels × 2^log2 × features × 4 bytes, ×4 with the gradient and Adam's moments.
    - renderer: rays × samples × (encoding + 3 × hidden + 8) floats × 4 bytes × 3 (activations
      kept for the backward pass, for the composite and the human-only renders), times the
      fraction of samples nerfacc's occupancy grid keeps on a GPU (``occupied``, ≈ 15 % for a
      person and an object in the scene box; 1 for the dense CPU sampler).
    """
    n = p.nerf
    weights = (SD21_PARAMS["unet"] + SD21_PARAMS["vae"]) * weights_bytes
    text = SD21_PARAMS["text_encoder"] * weights_bytes
    vae_grad = 1.9 * GB * n.views_per_step * 2  # composite and human-only renders
    unet_act = 0.6 * GB * 2 * n.views_per_step
    enc = n.human_field.encoding
    grid = enc.levels * (2 ** enc.log2_hashmap_size) * enc.features_per_level * 4 * 4
    per_sample = enc.levels * enc.features_per_level + 3 * n.human_field.hidden_dim + 8
    rays = n.resolution ** 2 * n.views_per_step
    render = rays * n.sampler.num_samples * occupied * per_sample * 4 * 3 * 2
    return (weights + max(text, unet_act) + vae_grad + grid + render) / GB
