"""Quality presets of the motion stages (C: video prior, D: anchor keypoints, E: 4D motion).

| preset | where | frames @ fps | video size (w×h) | video model | steps | strength | motion iterations (1/2/3) | est. VRAM |
|---|---|---|---|---|---|---|---|---|
| tiny | CPU, tests, ``selftest`` | 12 @ 12 | 256×256 | tiny random Wan (built from config) | 10 | 0.3 + restore_detail | 30 / 60 / 60 | — (< 1 GB RAM) |
| draft | one GPU | 48 @ 24 | 384×640 | Wan 2.2 TI2V 5B | 30 | 1.0 | 80 / 160 / 160 | ≈ 12 GB |
| standard | one GPU | 72 @ 24 | 480×832 | Wan 2.2 TI2V 5B | 40 | 1.0 | 120 / 240 / 240 | ≈ 14 GB |
| high | one 24 GB GPU | 120 @ 24 | 704×1280 | Wan 2.2 TI2V 5B | 50 | 1.0 | 160 / 320 / 320 | ≈ 20 GB |

VRAM is a budget from component sizes, not a measurement (no GPU was available): the Wan 2.2
TI2V 5B default runs with model CPU offload, so the peak is the larger of the UMT5-XXL text
encoder (11.4 GB bf16, once per call) and the transformer (≈ 10 GB bf16) plus its activations
at the clip's token count (frames/4 × (w/32) × (h/32): ≈ 2 GB at draft, ≈ 4 GB at standard,
≈ 8–10 GB at high, where VAE tiling is also turned on for the decode). Stage D (MediaPipe on
the CPU) and stage E (a few hundred vertices per frame) need no GPU memory worth counting.
The portrait sizes suit one standing person with an object; the frame count and fps are
defaults the request may override (``run_video_stage`` honours any). ``strength`` is
``WanVideoPriorConfig.conditioning_strength`` (see ``video/sdedit.py``): 1 lets the video model
move freely from the anchored composition; lower values keep the clip on it (the ``tiny``
preset needs 0.3 with ``restore_detail`` so that a random model's video still shows the body).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from ..keypoints.anchor_keypoints import AnchorKeypointsConfig
from ..video.conditioning import ConditioningCameraConfig
from ..video.base import VideoPrior, video_family
from ..video.ltx import LTXVideoPrior, LTXVideoPriorConfig
from ..video.wan import DEFAULT_WAN_MODEL_ID, WanVideoPrior, WanVideoPriorConfig
from .config import MotionConfig, MotionSchedule

PresetName = Literal["tiny", "draft", "standard", "high"]


@dataclass(frozen=True, kw_only=True)
class MotionPreset:
    """Everything stages C–E need that depends on the quality level."""

    name: PresetName
    """Preset id."""
    num_frames: int
    """Default clip length in frames (a request may ask for another)."""
    fps: float
    """Default frame rate of the clip."""
    width: int
    """Width of the conditioning render and the video, pixels."""
    height: int
    """Height of the conditioning render and the video, pixels."""
    video_model_id: str | None
    """Hub id or local folder of the Wan checkpoint; None: the tiny random model
    (:func:`make_video_prior` builds it into a folder and loads it from there)."""
    video_steps: int
    """Denoising steps of the video model."""
    guidance_scale: float
    """Classifier-free guidance of the video model (≤ 1: off)."""
    conditioning_strength: float
    """SDEdit strength of image-to-video (``WanVideoPriorConfig.conditioning_strength``)."""
    restore_detail: bool
    """Add the VAE's reconstruction error of the render back (``WanVideoPriorConfig``)."""
    enable_vae_tiling: bool = False
    """Decode the video in tiles (lower peak VRAM at 720p)."""
    camera: ConditioningCameraConfig = field(default_factory=ConditioningCameraConfig)
    """Where the video's camera stands (three-quarter view by default)."""
    keypoints: AnchorKeypointsConfig = field(default_factory=AnchorKeypointsConfig)
    """Stage D's rejection and gap bridging."""
    motion: MotionConfig = field(default_factory=MotionConfig)
    """Stage E's optimisation."""
    expected_vram_gb: float | None = None
    """Peak GPU memory budget of stage C (module docstring); None for CPU presets."""

    @property
    def gpu(self) -> bool:
        """Whether the preset is meant for a GPU (all but ``tiny``): it has a VRAM budget."""
        return self.expected_vram_gb is not None

    def __post_init__(self) -> None:
        if self.num_frames < 2 or not self.fps > 0:
            raise ValueError(f"MotionPreset {self.name}: at least 2 frames and a positive fps")
        if self.width % 32 or self.height % 32:
            raise ValueError(f"MotionPreset {self.name}: width and height must be multiples "
                             f"of 32 (the Wan VAE × patch grid), got {self.width}×{self.height}")

    def video_config(self, model_id: str | None = None) -> WanVideoPriorConfig:
        """The Wan prior's config for this preset (``model_id`` overrides the preset's)."""
        chosen = model_id or self.video_model_id or DEFAULT_WAN_MODEL_ID
        return WanVideoPriorConfig(model_id=chosen, num_inference_steps=self.video_steps,
                                   guidance_scale=self.guidance_scale,
                                   conditioning_strength=self.conditioning_strength,
                                   restore_detail=self.restore_detail,
                                   enable_vae_tiling=self.enable_vae_tiling)


PRESETS: dict[str, MotionPreset] = {
    "tiny": MotionPreset(name="tiny", num_frames=12, fps=12.0, width=256, height=256,
                         video_model_id=None, video_steps=10, guidance_scale=1.0,
                         conditioning_strength=0.3, restore_detail=True,
                         motion=MotionConfig(schedule=MotionSchedule(
                             root_iterations=30, pose_iterations=60, contact_iterations=60))),
    "draft": MotionPreset(name="draft", num_frames=48, fps=24.0, width=384, height=640,
                          video_model_id=DEFAULT_WAN_MODEL_ID, video_steps=30, guidance_scale=5.0,
                          conditioning_strength=1.0, restore_detail=False,
                          motion=MotionConfig(schedule=MotionSchedule(
                              root_iterations=80, pose_iterations=160, contact_iterations=160)),
                          expected_vram_gb=12.0),
    "standard": MotionPreset(name="standard", num_frames=72, fps=24.0, width=480, height=832,
                             video_model_id=DEFAULT_WAN_MODEL_ID, video_steps=40,
                             guidance_scale=5.0, conditioning_strength=1.0,
                             restore_detail=False,
                             motion=MotionConfig(schedule=MotionSchedule(
                                 root_iterations=120, pose_iterations=240,
                                 contact_iterations=240)),
                             expected_vram_gb=14.0),
    "high": MotionPreset(name="high", num_frames=120, fps=24.0, width=704, height=1280,
                         video_model_id=DEFAULT_WAN_MODEL_ID, video_steps=50, guidance_scale=5.0,
                         conditioning_strength=1.0, restore_detail=False,
                         enable_vae_tiling=True,
                         motion=MotionConfig(schedule=MotionSchedule(
                             root_iterations=160, pose_iterations=320, contact_iterations=320)),
                         expected_vram_gb=20.0),
}


def preset(name: str, **overrides) -> MotionPreset:
    """The preset ``name``, with top-level fields replaced by ``overrides``."""
    if name not in PRESETS:
        raise ValueError(f"unknown motion preset {name!r}; choose one of {sorted(PRESETS)}")
    return dataclasses.replace(PRESETS[name], **overrides)


def make_video_prior(p: MotionPreset, *, model_dir: str | Path | None = None,
                     model_id: str | None = None, device: torch.device | str = "cpu",
                     seed: int = 0, cache_dir: Path | None = None) -> VideoPrior:
    """The preset's video prior. For ``tiny`` (``video_model_id`` None) the random tiny Wan is
    built from config with weights drawn from ``seed`` into ``model_dir`` (unless a model is
    already there) and loaded back through ``from_pretrained``, offline. A ``model_id`` of the
    LTX-Video family (:func:`~..video.base.video_family`) gets the LTX prior with the preset's
    step count and tiling; any other the Wan prior with the preset's settings. ``cache_dir``:
    the Hugging Face cache (None: the hub's default)."""
    if model_id is None and p.video_model_id is None:
        if model_dir is None:
            raise ValueError(f"preset {p.name!r} builds its tiny video model: pass model_dir")
        from ..video.tiny import build_tiny_wan

        folder = Path(model_dir)
        if not (folder / "model_index.json").is_file():
            build_tiny_wan(folder, seed=seed)
        model_id = str(folder)
    if video_family(model_id or p.video_model_id or DEFAULT_WAN_MODEL_ID) == "ltx":
        return LTXVideoPrior(LTXVideoPriorConfig(
            model_id=model_id or p.video_model_id, cache_dir=cache_dir, num_inference_steps=p.video_steps,
            enable_vae_tiling=p.enable_vae_tiling), device=device)
    return WanVideoPrior(dataclasses.replace(p.video_config(model_id), cache_dir=cache_dir),
                         device=device)
