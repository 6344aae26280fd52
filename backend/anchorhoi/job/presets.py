"""The quality table: what each preset sets for every stage, and what it costs.

| preset | device | anchor (A+B) | motion default | meant for |
|---|---|---|---|---|
| tiny | CPU | tiny random SD, 20 SDS steps at 32², 1 round, short fit | 12 @ 12 fps | selftest |
| draft | GPU | SD 2.1 base, 1500 × 2 rounds at 64² | 48 @ 24 fps | a first look in minutes |
| standard | GPU | 3000 × 2 at 128² | 72 @ 24 fps | |
| high | 24 GB GPU | 5000 × 3 at 192² | 120 @ 24 fps | final quality |

``tiny`` is the pipeline check of the tests and ``selftest``; ``draft`` gives a first look in
minutes.

**Stages A and B** (anchor NeRF, body fit):

| preset | where | SDS steps × rounds | render | samples/ray | views | hash grid | est. VRAM |
|---|---|---|---|---|---|---|---|
| tiny | CPU | 20 × 1 | 32² | 32 | 1 | 6 levels, 2^15 | — (< 1 GB RAM) |
| draft | one GPU | 1500 × 2 | 64² | 64 | 1 | 16 levels, 2^19 | ≈ 8 GiB |
| standard | one GPU | 3000 × 2 | 128² | 96 | 1 | 16 levels, 2^19 | ≈ 9 GiB |
| high | one 24 GB GPU | 5000 × 3 | 192² | 128 | 2 | 16 levels, 2^20 | ≈ 20 GiB |

No GPU was available to measure these: ``memory.anchor_vram_gib`` adds up component sizes
(weights of the default Stable Diffusion 2.1 base in fp16, the larger of its text encoder and
a step's activations — the VAE encoder's kept for the backward pass at 512², the UNet's for
the CFG batch, the renderer's per sample — the hash grid with Adam's two moments, the body and
the CUDA context), each documented there and in ``docs/memory.md``. It is a budget, not a
measurement; the job writes the measured peak into result.json.

**Stages C–E** (video prior, anchor keypoints, 4D motion):

| preset | frames @ fps | size (w×h) | video model | steps | strength | motion iters | VRAM |
|---|---|---|---|---|---|---|---|
| tiny | 12 @ 12 | 256×256 | tiny random Wan | 10 | 0.3 + restore | 30/60/60 | — |
| draft | 48 @ 24 | 384×640 | Wan 2.2 TI2V 5B | 30 | 1.0 | 80/160/160 | ≈ 11.3 GiB |
| standard | 72 @ 24 | 480×832 | Wan 2.2 TI2V 5B | 40 | 1.0 | 120/240/240 | ≈ 11.3 GiB |
| high | 120 @ 24 | 704×1280 | Wan 2.2 TI2V 5B | 50 | 1.0 | 160/320/320 | ≈ 14.2 GiB |

The tiny random Wan is built from config (< 1 GB RAM on the CPU); "restore" is
``restore_detail``; the motion iterations are those of stage E's phases 1, 2 and 3.

VRAM is a budget from component sizes, not a measurement (no GPU was available;
``memory.video_vram_gib``): the Wan 2.2 TI2V 5B default runs with model CPU offload, so the
peak is the largest of the UMT5-XXL text encoder (10.6 GiB bf16, let go once the prompt is
encoded), the transformer (9.3 GiB bf16) plus its activations at the clip's token count
(latent frames × (w/32) × (h/32): 0.5 GiB at draft, 1.1 GiB at standard, 4.2 GiB at high),
and the float32 VAE with its decode (tiled at high), plus the CUDA context. Stage D (MediaPipe on
the CPU) and stage E (a few hundred vertices per frame) need no GPU memory worth counting.
The portrait sizes suit one standing person with an object; the frame count and fps are
defaults the request may override (``run_video_stage`` honours any). ``strength`` is
``VideoSampling.conditioning_strength`` (see ``video/sdedit.py``): 1 lets the video model
move freely from the anchored composition; lower values keep the clip on it (the ``tiny``
preset needs 0.3 with ``restore_detail`` so that a random model's video still shows the body).
The models themselves are the job's choice (``models.py``), not the preset's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..anchor.anchor_nerf import AnchorNeRFConfig
from ..anchor.config import AnchorConfig
from ..anchor.fit import AnchorLattice, FitConfig, FitSampling, FitSchedule
from ..anchor.object_field import OBJECT_FIELD, ObjectGenConfig, ObjectViews
from ..anchor.object_search import ObjectSearchConfig
from ..keypoints.anchor_keypoints import AnchorKeypointsConfig
from ..motion.config import MotionConfig, MotionSchedule
from ..nerf.encoding import HashGridConfig
from ..nerf.field import NeRFFieldConfig
from ..nerf.samplers import DenseSamplerConfig
from ..objects.field import ObjectFieldConfig
from ..portable.protocol import PRESET_NAMES, PresetName
from ..video.base import VideoSampling
from ..video.stage import VideoStageConfig


@dataclass(frozen=True, kw_only=True)
class JobPreset:
    """One quality level: every stage's settings and the job's defaults."""

    name: PresetName
    """Preset id."""
    gpu: bool
    """Meant for a CUDA GPU (all but ``tiny``)."""
    frames: int
    """Default number of motion frames (a request may ask for another)."""
    fps: float
    """Default frame rate of the motion."""
    anchor: AnchorConfig
    """Stages A and B."""
    video: VideoStageConfig
    """Stage C."""
    keypoints: AnchorKeypointsConfig
    """Stage D."""
    motion: MotionConfig
    """Stage E."""
    object_faces: int = 4000
    """Face budget of the object mesh for every stage that needs its geometry (the anchor's
    object field, the conditioning render, stage E's distance grid): the job simplifies a
    larger mesh once (vertex clustering) and hands the same copy to each; the result keeps the
    original mesh. The default is the object field's own budget (``ObjectFieldConfig``)."""

    def __post_init__(self) -> None:
        if self.frames < 2 or not self.fps > 0:
            raise ValueError(f"JobPreset {self.name}: at least 2 frames and a positive fps")
        if self.object_faces < 4:
            raise ValueError(f"JobPreset {self.name}: object_faces must be at least 4")


def _nerf(*, iterations: int, resolution: int, samples: int, views: int, levels: int,
          log2_size: int, **extra) -> AnchorNeRFConfig:
    """Stage A's config from a row's figures: fewer than 16 grid levels means the small
    (tiny) field — a coarser grid, a narrower and shallower MLP."""
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
                         pose_iterations=15, detail_iterations=5, yaw_hypotheses_deg=(0.0,),
                         posture_hypotheses=((0.0, 0.0, 0.0),), warmup_phases=()),
    limb_search=None, lattice=AnchorLattice(resolution=40),
    sampling=FitSampling(num_body_samples=800, num_anchor_samples=1500))
"""The ``tiny`` preset's fit: one heading and posture, no limb search, 35 pose steps on a 40³
lattice, no learning-rate warm-up (its phases of 5–15 steps would spend up to half of each
ramping; the pipeline check: a random tiny prior has no pose to find)."""

def _object(*, iterations: int, views: int, extract: int, faces: int, levels: int = 8,
            log2_size: int = 17) -> ObjectGenConfig:
    """Generating the object (no mesh given) from a row's figures: SDS steps of stage A's first
    round, side of the object-only renders, marching-cubes lattice and face budget of its
    mesh, and its hash grid (fewer levels: the tiny field, which also gets a coarser distance
    grid for its mesh's field in stage B). Every row fits the start blob for its full 60 steps:
    the tiny row's 30 left the untrained field's fog (σ ≈ 9 /m everywhere at full scale) over
    the whole region, and its 20 SDS steps did not clear it, so the tiny job's "object" was the
    2.4 m region around the person, who was hidden in the video's first frame (the keypoints
    stage found them in 1 of 10 frames, or none)."""
    grid = dataclasses.replace(OBJECT_FIELD.encoding, levels=levels, log2_hashmap_size=log2_size)
    tiny = levels < 8
    return ObjectGenConfig(object_field=dataclasses.replace(OBJECT_FIELD, encoding=grid),
                           iterations=iterations, views=ObjectViews(resolution=views),
                           extract_resolution=extract, max_faces=faces,
                           mesh_field=ObjectFieldConfig(grid_resolution=40) if tiny
                           else ObjectFieldConfig())


GPU_SEARCH = ObjectSearchConfig(resolution=64)
"""The object's placement searched before the first SDS step, and again half way through the
first round's SDS and after it (``anchor/object_search.py``): SDS only moves the object where
its image already overlaps what the prior expects, so a seat half a metre away would never be
found. ≈ 850 coarse candidates (positions and 8 headings) and 750–2,200 refining ones × 4
views of the prior's denoising error per search (three per job; not timed on a GPU since the
refinement grew: before, ≈ 850 in all, two or three minutes)."""

PRESETS: dict[str, JobPreset] = {p.name: p for p in (
    JobPreset(
        name="tiny", gpu=False, frames=12, fps=12.0, object_faces=2000,
        anchor=AnchorConfig(
            rounds=1, preview_size=64, fit=TINY_FIT,
            nerf=_nerf(iterations=20, resolution=32, samples=32, views=1, levels=6,
                       log2_size=15, init_iterations=40, drift_points=1024),
            object=_object(iterations=20, views=32, extract=40, faces=1000, levels=6,
                           log2_size=15)),
        video=VideoStageConfig(
            width=256, height=256,
            sampling=VideoSampling(steps=10, guidance_scale=1.0, conditioning_strength=0.3,
                                   restore_detail=True)),
        keypoints=AnchorKeypointsConfig(),
        motion=MotionConfig(schedule=MotionSchedule(
            root_iterations=30, pose_iterations=60, contact_iterations=60))),
    JobPreset(
        name="draft", gpu=True, frames=48, fps=24.0,
        anchor=AnchorConfig(
            rounds=2,
            nerf=_nerf(iterations=1500, resolution=64, samples=64, views=1, levels=16,
                       log2_size=19, object_search=GPU_SEARCH),
            object=_object(iterations=2000, views=64, extract=128, faces=4000)),
        video=VideoStageConfig(
            width=384, height=640, expected_vram_gb=11.3,
            sampling=VideoSampling(steps=30, guidance_scale=5.0, conditioning_strength=1.0)),
        keypoints=AnchorKeypointsConfig(),
        motion=MotionConfig(schedule=MotionSchedule(
            root_iterations=80, pose_iterations=160, contact_iterations=160))),
    JobPreset(
        name="standard", gpu=True, frames=72, fps=24.0,
        anchor=AnchorConfig(
            rounds=2,
            nerf=_nerf(iterations=3000, resolution=128, samples=96, views=1, levels=16,
                       log2_size=19, object_search=GPU_SEARCH),
            object=_object(iterations=4000, views=96, extract=128, faces=4000)),
        video=VideoStageConfig(
            width=480, height=832, expected_vram_gb=11.3,
            sampling=VideoSampling(steps=40, guidance_scale=5.0, conditioning_strength=1.0)),
        keypoints=AnchorKeypointsConfig(),
        motion=MotionConfig(schedule=MotionSchedule(
            root_iterations=120, pose_iterations=240, contact_iterations=240))),
    JobPreset(
        name="high", gpu=True, frames=120, fps=24.0,
        anchor=AnchorConfig(
            rounds=3,
            nerf=_nerf(iterations=5000, resolution=192, samples=128, views=2, levels=16,
                       log2_size=20, object_search=GPU_SEARCH),
            object=_object(iterations=6000, views=128, extract=160, faces=4000, levels=10,
                           log2_size=18)),
        video=VideoStageConfig(
            width=704, height=1280, expected_vram_gb=14.2,
            sampling=VideoSampling(steps=50, guidance_scale=5.0, conditioning_strength=1.0,
                                   enable_vae_tiling=True)),
        keypoints=AnchorKeypointsConfig(),
        motion=MotionConfig(schedule=MotionSchedule(
            root_iterations=160, pose_iterations=320, contact_iterations=320))),
)}
"""The four rows, by name (``portable.protocol.PRESET_NAMES``)."""


def job_preset(name: str) -> JobPreset:
    """The preset ``name``; ``ValueError`` naming the choices for another."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESET_NAMES)}")
    return PRESETS[name]
