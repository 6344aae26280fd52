"""Memory budgets per preset from the real component sizes, and the pre-flight that refuses a
run that does not fit the card or the host's memory (``CUDA_OOM`` before any work).

A budget adds up what is held at the worst moment of each stage (the rules below); the
component sizes are the parameter counts of the published checkpoints (``checkpoints.py``'s
``COMPONENTS``, each with its source; ``tests/job/test_memory.py`` recounts them from the
published configs) times the dtype each prior loads them in. ``docs/memory.md`` states the
resulting table and a test recomputes it from here. Budgets, not measurements: each job
records its measured peaks in ``state.json`` and ``result.json``.

Rules (GiB = 2^30 bytes):

- every CUDA process: ``CUDA_CONTEXT`` for the context, cuBLAS/cuDNN workspaces and allocator
  slack; every process: ``HOST_BASE_CUDA`` / ``HOST_BASE_CPU`` of resident libraries;
- stage A+B (anchor, SD 2.1 base in fp16): U-Net + VAE, the hash grid with its gradient and
  Adam's two moments, the body; plus the larger of the text encoder (held until the prompt's
  embeddings are computed, then let go) and the step's activations (VAE encoder with gradients
  at 512², the U-Net's CFG batch, the renderer's kept samples);
- stage C (video) under model CPU offload: one component on the card at a time — the largest
  of the text encoder (let go once the prompt is encoded), the VAE (float32 for Wan) with its
  decode activations, and the transformer with its activations at the clip's token count;
  the host holds every component while they load, plus the frames;
- stages D (MediaPipe on the CPU) and E (a few hundred vertices per frame) hold no GPU memory
  worth counting and less host memory than stage C.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..anchor.config import AnchorConfig
from ..checkpoints import COMPONENTS, SD_COMPONENTS, Component
from ..checkpoints import LTX_VIDEO as LTX
from ..checkpoints import SD21_BASE as SD21
from ..checkpoints import WAN22_TI2V_5B as WAN
from ..video.frames import plan_frames
from .errors import JobError
from .presets import PRESETS, JobPreset

log = logging.getLogger(__name__)

GIB = 1024 ** 3


@dataclass(frozen=True, kw_only=True)
class VideoFamily:
    """How a video checkpoint's clip becomes tokens and activations."""

    native_fps: float
    """Frame rate it generates at (the prior's default)."""
    temporal_factor: int
    """Frames per latent frame (clips are k·factor + 1 frames)."""
    max_frames: int
    """Longest clip the prior generates."""
    token_pixels: int
    """Pixels per token side (VAE downsampling × patch size)."""
    bytes_per_token: int
    """Transformer activations per token alive at once in one denoising step (both CFG
    branches where the pipeline batches them)."""
    decode_bytes_per_pixel: int
    """VAE decode activations per output pixel of one causal chunk (feature maps and the
    temporal cache)."""


VIDEO_FAMILIES: dict[str, VideoFamily] = {
    WAN: VideoFamily(native_fps=24.0, temporal_factor=4, max_frames=121, token_pixels=32,
                     bytes_per_token=160 * 1024, decode_bytes_per_pixel=4096),
    LTX: VideoFamily(native_fps=25.0, temporal_factor=8, max_frames=161, token_pixels=32,
                     bytes_per_token=2 * 96 * 1024, decode_bytes_per_pixel=2048),
}
"""Wan: 160 KiB a token (bf16 hidden 6 KiB, FFN 28 KiB in and out, QKV and attention output
24 KiB, the per-token timestep modulation of TI2V in float32 72 KiB); the CFG branches run
one after the other. LTX: 96 KiB a token (dim 2048, FFN 8192), the CFG branches batched (× 2).
VAE decode: Wan's float32 decoder keeps ≈ 4 KiB a pixel of one causal chunk, LTX's bf16 one
half that."""

CUDA_CONTEXT_GIB = 0.75
"""CUDA context, cuBLAS/cuDNN workspaces and the caching allocator's slack."""
HOST_BASE_CUDA_GIB = 3.0
"""Resident libraries of a CUDA process (Python, torch with the CUDA runtime, cuBLAS, cuDNN,
diffusers, transformers)."""
HOST_BASE_CPU_GIB = 1.5
"""Resident libraries of a CPU process (the ``tiny`` preset)."""
BODY_GIB = 0.1
"""SMPL-X on the device: posedirs 486 × 31,425 float32 (61 MB), shapedirs, skinning weights."""
VAE_GRAD_GIB = 1.9
"""SD's VAE encoder with gradients at 512², per image in fp16: its full-resolution
128-channel maps (≈ 16 kept for the backward pass) and the lower levels."""
UNET_ACT_GIB = 0.6
"""SD's U-Net inference activations at 64² latents, per image of the CFG batch."""
OCCUPIED = 0.15
"""Fraction of samples nerfacc's occupancy grid keeps on a GPU (a person and an object in
the scene box)."""
TILE_PIXELS = 3 * 256 * 256 // 2
"""Pixels of one VAE decode tile with its overlap (``enable_vae_tiling``)."""


@dataclass(frozen=True, kw_only=True)
class Budget:
    """What one job needs at its worst moment, per stage (GiB)."""

    anchor_vram: float
    """Stages A+B on the card (0 on the CPU)."""
    video_vram: float
    """Stage C on the card (0 on the CPU)."""
    anchor_host: float
    """Stages A+B in host memory."""
    video_host: float
    """Stage C in host memory."""

    @property
    def vram(self) -> float:
        """The job's peak on the card: stages run one after another, each freeing its models."""
        return max(self.anchor_vram, self.video_vram)

    @property
    def host(self) -> float:
        """The job's peak in host memory."""
        return max(self.anchor_host, self.video_host)


def anchor_vram_gib(config: AnchorConfig, image: dict[str, Component] = SD_COMPONENTS
                    ) -> float:
    """Stage A+B's peak on the card with ``image``'s components (see the module rules)."""
    n = config.nerf
    weights = image["unet"].gib + image["vae"].gib
    enc = n.human_field.encoding
    grid = enc.levels * (2 ** enc.log2_hashmap_size) * enc.features_per_level * 4 * 4 / GIB
    per_sample = enc.levels * enc.features_per_level + 3 * n.human_field.hidden_dim + 8
    rays = n.resolution ** 2 * n.views_per_step
    # kept for the backward pass: composite and human-only renders, float32
    render = rays * n.sampler.num_samples * OCCUPIED * per_sample * 4 * 3 * 2 / GIB
    step = VAE_GRAD_GIB * n.views_per_step * 2 + UNET_ACT_GIB * 2 * n.views_per_step + render
    return (CUDA_CONTEXT_GIB + weights + grid + BODY_GIB
            + max(image["text_encoder"].gib, step))


def clip_tokens(family: VideoFamily, *, frames: int, fps: float, width: int, height: int
                ) -> tuple[int, int]:
    """``(generated frames, transformer tokens)`` of a clip of ``frames`` at ``fps``."""
    plan = plan_frames(num_frames=frames, fps=fps, native_fps=family.native_fps,
                       temporal_factor=family.temporal_factor, max_frames=family.max_frames)
    latent_frames = (plan.generated - 1) // family.temporal_factor + 1
    side = family.token_pixels
    return plan.generated, latent_frames * -(-height // side) * -(-width // side)


def video_vram_gib(preset: JobPreset, *, frames: int, fps: float, model: str = WAN) -> float:
    """Stage C's peak on the card under model CPU offload (see the module rules)."""
    parts, family = COMPONENTS[model], VIDEO_FAMILIES[model]
    v = preset.video
    _, tokens = clip_tokens(family, frames=frames, fps=fps, width=v.width, height=v.height)
    pixels = TILE_PIXELS if v.sampling.enable_vae_tiling else v.width * v.height
    phases = (parts["text_encoder"].gib,
              parts["transformer"].gib + tokens * family.bytes_per_token / GIB,
              parts["vae"].gib + pixels * family.decode_bytes_per_pixel / GIB)
    return CUDA_CONTEXT_GIB + max(phases)


def video_host_gib(preset: JobPreset, *, frames: int, fps: float, model: str = WAN) -> float:
    """Stage C's peak in host memory: every component while they load (offload keeps them
    there), the generated frames as float32 and uint8."""
    family = VIDEO_FAMILIES[model]
    v = preset.video
    generated, _ = clip_tokens(family, frames=frames, fps=fps, width=v.width, height=v.height)
    clip = generated * v.width * v.height * 3 * (4 + 1) / GIB
    return HOST_BASE_CUDA_GIB + sum(c.gib for c in COMPONENTS[model].values()) + clip


def budget(preset: JobPreset, *, image: str = SD21, video: str = WAN, frames: int | None = None,
           fps: float | None = None) -> Budget | None:
    """The budget of ``preset`` with these models (None when a model's sizes are not known
    here, e.g. a local folder); the ``tiny`` preset runs on the CPU within its base."""
    frames, fps = frames or preset.frames, float(fps or preset.fps)
    if not preset.gpu:
        return Budget(anchor_vram=0.0, video_vram=0.0, anchor_host=HOST_BASE_CPU_GIB,
                      video_host=HOST_BASE_CPU_GIB)
    if image not in COMPONENTS or video not in VIDEO_FAMILIES:
        return None
    anchor_host = HOST_BASE_CUDA_GIB + sum(c.gib for c in COMPONENTS[image].values())
    return Budget(anchor_vram=anchor_vram_gib(preset.anchor, COMPONENTS[image]),
                  video_vram=video_vram_gib(preset, frames=frames, fps=fps, model=video),
                  anchor_host=anchor_host + BODY_GIB,
                  video_host=video_host_gib(preset, frames=frames, fps=fps, model=video))


# -- probes ------------------------------------------------------------------------------------

class MemoryProbe(Protocol):
    """What the pre-flight asks of the machine (bytes; None: cannot tell)."""

    def device_free(self, device: str) -> int | None: ...

    def host_available(self) -> int | None: ...


class SystemMemory:
    """The real probes: ``torch.cuda.mem_get_info`` and psutil (else ``/proc/meminfo``)."""

    def device_free(self, device: str) -> int | None:
        import torch

        if not device.startswith("cuda") or not torch.cuda.is_available():
            return None
        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free)

    def host_available(self) -> int | None:
        try:
            import psutil
        except ImportError:
            return meminfo_available(Path("/proc/meminfo"))
        return int(psutil.virtual_memory().available)


def meminfo_available(path: Path) -> int | None:
    """``MemAvailable`` of a Linux ``/proc/meminfo`` in bytes (None elsewhere)."""
    try:
        for line in path.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


# -- the pre-flight ----------------------------------------------------------------------------

def check_memory(preset: JobPreset, *, device: str, image: str, video: str, frames: int,
                 fps: float, probe: MemoryProbe) -> list[str]:
    """Refuse (``JobError(CUDA_OOM)``, exit 2) a run whose budget exceeds the card's free memory
    or the host's available memory, with the largest preset that would fit; returns notes
    (a budget that cannot be checked)."""
    need = budget(preset, image=image, video=video, frames=frames, fps=fps)
    if need is None:
        log.info("memory not checked: the sizes of %r / %r are not known here", image, video)
        return []
    free = probe.device_free(device) if device != "cpu" else None
    host = probe.host_available()
    if free is not None and need.vram * GIB > free:
        fits = _largest_fit(image, video, frames, fps, free=free, host=host)
        raise JobError("CUDA_OOM", f"Preset {preset.name!r} needs ≈ {need.vram:.1f} GB of GPU "
                       f"memory and the card has {free / GIB:.1f} GB free.", _hint(fits, "GPU"))
    if host is not None and need.host * GIB > host:
        fits = _largest_fit(image, video, frames, fps, free=free, host=host)
        raise JobError("CUDA_OOM", f"Preset {preset.name!r} needs ≈ {need.host:.1f} GB of system "
                       f"memory (models offloaded from the GPU wait there) and "
                       f"{host / GIB:.1f} GB is available.", _hint(fits, "system"))
    return []


def _largest_fit(image: str, video: str, frames: int, fps: float, *, free: int | None,
                 host: int | None) -> str | None:
    for preset in reversed([p for p in PRESETS.values() if p.gpu]):
        b = budget(preset, image=image, video=video, frames=frames, fps=fps)
        if b is not None and (free is None or b.vram * GIB <= free) and (
                host is None or b.host * GIB <= host):
            return preset.name
    return None


def _hint(fits: str | None, memory: str) -> str:
    if fits is not None:
        return (f"Choose the {fits!r} preset (the largest that fits), or close programs "
                f"that hold {memory} memory.")
    more = "a card with more memory" if memory == "GPU" else "a machine with more memory"
    return (f"No preset fits: close programs that hold {memory} memory, or use {more} "
            f"(budgets per preset: docs/memory.md).")


def probe_from_env() -> MemoryProbe:
    """The real probes (``ANCHORHOI_SKIP_MEMORY_CHECK=1``: none, every check passes)."""
    if os.environ.get("ANCHORHOI_SKIP_MEMORY_CHECK") == "1":
        return NoProbe()
    return SystemMemory()


class NoProbe:
    """A probe that cannot tell: every check passes."""

    def device_free(self, device: str) -> int | None:
        return None

    def host_available(self) -> int | None:
        return None
