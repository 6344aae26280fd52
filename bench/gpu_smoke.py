#!/usr/bin/env python3
"""GPU smoke test: one command for whoever has a CUDA card at hand.

Usage: ``python bench/gpu_smoke.py [--keep DIR] [--device cuda]``

1. ``job``: ``anchorhoi generate --preset tiny --device cuda`` end to end as a child process
   (tiny random models built into a fresh cache, nerfacc's occupancy grid when its CUDA build
   is there — ``anchorhoi doctor`` builds it — and the video stage's SDEdit under model CPU
   offload). Per stage: seconds and peak VRAM (from the job's ``state.json``).
2. ``prior_step``: one SDS step and one denoising-error call of the tiny image prior on CUDA in
   each half precision the card has (float16 always, bfloat16 where
   ``torch.cuda.is_bf16_supported()``): seconds, peak VRAM, finite loss and gradient.
3. ``sdedit_offload``: the tiny Wan's SDEdit image-to-video (strength 0.5, detail restored)
   forced under model CPU offload on CUDA — the VAE encodes the render on the execution
   device while its weights wait on the CPU; the text encoder must be let go after encoding.
4. ``video_step``: one denoising step of each video prior (tiny Wan, tiny LTX) on CUDA in each
   half precision the card has: seconds, peak VRAM, frames that are not all black (a NaN
   becomes 0 in uint8).

Prints one JSON line per case and exits non-zero on any failure. Without a CUDA device it prints
one ``skip`` line per case, saying why, and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "backend")]

CASES = ("job", "prior_step", "sdedit_offload", "video_step")
TIMEOUT_S = 300


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


def bench_job(workdir: Path, device: str) -> dict:
    cache, job = workdir / "cache", workdir / "job"
    env = dict(os.environ, HF_HUB_OFFLINE="1", ANCHORHOI_CACHE=str(cache),
               PYTHONPATH=str(ROOT / "backend"))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "anchorhoi", "generate",
                           "a person sits on the box", "--preset", "tiny", "--device", device,
                           "--out", str(job), "--cache-dir", str(cache)],
                          capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"generate exited {proc.returncode}: {proc.stderr[-2000:]}")
    state = json.loads((job / "state.json").read_text(encoding="utf-8"))
    stages = {name: {"seconds": s.get("seconds"), "peak_vram_mb": s.get("peak_vram_mb")}
              for name, s in state["stages"].items()}
    log = (job / "log.txt").read_text(encoding="utf-8") if (job / "log.txt").exists() else ""
    return {"wall_s": round(wall, 1), "stages": stages,
            "dense_fallback": "dense stratified sampler instead" in log}


def bench_prior_step(workdir: Path, device: str) -> dict:
    import torch

    from anchorhoi.devices import bf16_supported
    from anchorhoi.priors.base import ViewBatch
    from anchorhoi.priors.stable_diffusion import StableDiffusionPrior, StableDiffusionPriorConfig
    from anchorhoi.priors.tiny import build_tiny_sd

    dev = torch.device(device)
    folder = build_tiny_sd(workdir / "tiny-sd")
    dtypes = [torch.float16] + ([torch.bfloat16] if bf16_supported(dev) else [])
    out = {}
    for dtype in dtypes:
        torch.cuda.reset_peak_memory_stats(dev)
        prior = StableDiffusionPrior(StableDiffusionPriorConfig(model_id=str(folder)),
                                     device=dev, dtype=dtype)
        g = torch.Generator(device=dev).manual_seed(0)
        rgb = torch.rand(2, 3, 64, 64, device=dev, generator=g, requires_grad=True)
        views = ViewBatch(azimuth_deg=torch.tensor([0.0, 90.0], device=dev),
                          elevation_deg=torch.tensor([15.0, 15.0], device=dev))
        t0 = time.perf_counter()
        loss = prior.sds_loss(rgb, prompt="a person", views=views, progress=0.5,
                              generator=g).loss
        loss.sum().backward()
        err = prior.denoising_error(rgb.detach(), prompt="a person", views=views,
                                    timestep_fraction=0.5, generator=g)
        torch.cuda.synchronize(dev)
        finite = bool(torch.isfinite(loss).all() and torch.isfinite(rgb.grad).all()
                      and torch.isfinite(err).all())
        if not finite:
            raise RuntimeError(f"{dtype}: a non-finite SDS loss, gradient or denoising error")
        out[str(dtype).removeprefix("torch.")] = {
            "seconds": round(time.perf_counter() - t0, 3),
            "peak_vram_mb": round(torch.cuda.max_memory_allocated(dev) / 2 ** 20, 1)}
        del prior
        torch.cuda.empty_cache()
    return out


def _half_dtypes(dev) -> list[str]:
    from anchorhoi.devices import bf16_supported

    return ["float16"] + (["bfloat16"] if bf16_supported(dev) else [])


def _conditioning_image():
    import numpy as np

    return (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)


def _generate(prior, dev, frames: int) -> dict:
    """One clip of ``prior`` on ``dev``: seconds, peak VRAM, checked frames."""
    import torch

    torch.cuda.reset_peak_memory_stats(dev)
    t0 = time.perf_counter()
    video = prior.generate(prompt="a person sits on the box", image=_conditioning_image(),
                           num_frames=frames, fps=24.0, width=32, height=32,
                           generator=torch.Generator(device=dev).manual_seed(0))
    torch.cuda.synchronize(dev)
    seconds = time.perf_counter() - t0
    if video.frames.shape != (frames, 32, 32, 3) or not video.frames.any():
        raise RuntimeError(f"{type(prior).__name__} ({prior.dtype}): frames "
                           f"{video.frames.shape}, all black: {not video.frames.any()}")
    if prior._text.module is not None:
        raise RuntimeError(f"{type(prior).__name__}: the text encoder was not let go")
    return {"seconds": round(seconds, 3), "dtype": str(prior.dtype).removeprefix("torch."),
            "peak_vram_mb": round(torch.cuda.max_memory_allocated(dev) / 2 ** 20, 1)}


def bench_sdedit_offload(workdir: Path, device: str) -> dict:
    import torch

    from anchorhoi.video.tiny import build_tiny_wan
    from anchorhoi.video.wan import WanVideoPrior, WanVideoPriorConfig

    dev = torch.device(device)
    folder = build_tiny_wan(workdir / "tiny-wan", 0)
    prior = WanVideoPrior(WanVideoPriorConfig(
        model_id=str(folder), num_inference_steps=4, conditioning_strength=0.5,
        restore_detail=True, enable_model_cpu_offload=True), device=dev)
    if not prior.offload:
        raise RuntimeError("model CPU offload did not turn on")
    return _generate(prior, dev, frames=9)


def bench_video_step(workdir: Path, device: str) -> dict:
    import torch

    from anchorhoi.video.ltx import LTXVideoPrior, LTXVideoPriorConfig
    from anchorhoi.video.tiny import build_tiny_ltx, build_tiny_wan
    from anchorhoi.video.wan import WanVideoPrior, WanVideoPriorConfig

    dev = torch.device(device)
    families = {"wan": (build_tiny_wan, WanVideoPrior, WanVideoPriorConfig),
                "ltx": (build_tiny_ltx, LTXVideoPrior, LTXVideoPriorConfig)}
    out = {}
    for family, (build, prior_class, config_class) in families.items():
        folder = build(workdir / f"tiny-{family}", 0)
        for dtype in _half_dtypes(dev):
            prior = prior_class(config_class(model_id=str(folder), num_inference_steps=1,
                                             dtype=dtype), device=dev)
            out[f"{family}_{dtype}"] = _generate(prior, dev, frames=5)
            del prior
            torch.cuda.empty_cache()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", type=Path, help="keep the job and cache folders here")
    parser.add_argument("--device", default="cuda", help="the CUDA device (default: cuda)")
    args = parser.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        why = ("torch is a CPU build" if torch.version.cuda is None
               else "no CUDA device is visible")
        for case in CASES:
            emit(case=case, status="skip", reason=f"{why}: this smoke test needs a CUDA GPU")
        return 0
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for case, run in (("job", bench_job), ("prior_step", bench_prior_step),
                          ("sdedit_offload", bench_sdedit_offload),
                          ("video_step", bench_video_step)):
            t0 = time.perf_counter()
            try:
                result = run(workdir / case, args.device)
            except Exception as exc:  # report every case, then fail the command
                failed += 1
                emit(case=case, status="fail", error=f"{type(exc).__name__}: {exc}",
                     seconds=round(time.perf_counter() - t0, 1))
                continue
            emit(case=case, status="ok", seconds=round(time.perf_counter() - t0, 1), **result)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
