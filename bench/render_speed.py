#!/usr/bin/env python3
"""Render speed on CPU: the dense stratified sampler + the NeRF field (hash grid + MLP).

Renders a 64² and a 128² view of a freshly initialised field (every ray crosses the scene box,
so every sample reaches the field) and times the forward pass alone (no grad) and forward +
backward of a photometric loss; then one SDS step with the tiny random Stable Diffusion built
from config (``priors/tiny.py``, reloaded through ``from_pretrained`` offline) on a 64² render,
and, as the in-process baseline, the same step's share spent in the render. Prints one JSON
line per measurement (best of ``--repeats``) with rays/s and samples/s. Usage:
``python bench/render_speed.py [--samples 64] [--repeats 2] [--threads 1]``.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from anchorhoi.nerf import (
    DenseSamplerConfig,
    DenseStratifiedSampler,
    HashGridConfig,
    NeRFField,
    NeRFFieldConfig,
    SceneBox,
    orbit_cameras,
    render_image,
)


def time_render(field: NeRFField, size: int, sampler: DenseStratifiedSampler, *, backward: bool,
                repeats: int, chunk: int) -> float:
    """Best wall time in seconds of rendering one ``size²`` view (and its backward)."""
    cams = orbit_cameras(30.0, 15.0, 3.0, 40.0, size)
    gen = torch.Generator().manual_seed(0)
    best = float("inf")
    for _ in range(repeats):
        field.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        with torch.set_grad_enabled(backward):
            rgb = render_image(field, cams, sampler, generator=gen, chunk=chunk).rgb
            if backward:
                ((rgb - 0.5) ** 2).mean().backward()
        best = min(best, time.perf_counter() - t0)
    return best


def time_sds_step(field: NeRFField, sampler: DenseStratifiedSampler, *, repeats: int) -> dict:
    """Best wall time of render 64² + tiny-SD SDS loss + backward, and of the render alone."""
    import tempfile
    from pathlib import Path

    from anchorhoi.priors.base import ViewBatch
    from anchorhoi.priors.stable_diffusion import StableDiffusionPrior, StableDiffusionPriorConfig
    from anchorhoi.priors.tiny import build_tiny_sd

    folder = build_tiny_sd(Path(tempfile.mkdtemp(prefix="anchorhoi-tiny-sd-")) / "sd")
    prior = StableDiffusionPrior(StableDiffusionPriorConfig(model_id=str(folder)), device="cpu")
    cams = orbit_cameras(30.0, 15.0, 3.0, 40.0, 64)
    views = ViewBatch(azimuth_deg=torch.tensor([30.0]), elevation_deg=torch.tensor([15.0]),
                      cameras=cams)
    gen = torch.Generator().manual_seed(0)
    best = best_render = float("inf")
    for _ in range(repeats + 1):  # the first one caches the prompt embedding
        field.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        rgb = render_image(field, cams, sampler, generator=gen).rgb.permute(0, 3, 1, 2)
        t1 = time.perf_counter()
        prior.sds_loss(rgb, prompt="a person sits on a chair", views=views, progress=0.5,
                       generator=gen).loss.backward()
        t2 = time.perf_counter()
        best, best_render = min(best, t2 - t0), min(best_render, t1 - t0)
    return {"bench": "sds_step", "prior": "tiny-sd (random, from config)", "resolution": 64,
            "seconds": round(best, 4), "render_forward_s": round(best_render, 4),
            "sds_share": round(1 - best_render / best, 3)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=64, help="samples per ray")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=8192, help="rays per render chunk")
    parser.add_argument("--levels", type=int, default=HashGridConfig().levels)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    box = SceneBox()
    config = NeRFFieldConfig(encoding=HashGridConfig(levels=args.levels))
    field = NeRFField(config, aabb=box.aabb(), generator=torch.Generator().manual_seed(0))
    sampler = DenseStratifiedSampler(DenseSamplerConfig(num_samples=args.samples), box=box)
    time_render(field, 16, sampler, backward=True, repeats=1, chunk=args.chunk)  # warm-up
    for size in args.sizes:
        for mode in ("forward", "forward+backward"):
            seconds = time_render(field, size, sampler, backward=mode != "forward",
                                  repeats=args.repeats, chunk=args.chunk)
            rays = size * size
            print(json.dumps({
                "bench": "render_speed", "sampler": "dense", "device": "cpu",
                "resolution": size, "mode": mode, "samples_per_ray": args.samples,
                "hash_levels": args.levels, "threads": torch.get_num_threads(),
                "seconds": round(seconds, 4), "rays_per_s": round(rays / seconds),
                "samples_per_s": round(rays * args.samples / seconds)}), flush=True)
    print(json.dumps(time_sds_step(field, sampler, repeats=args.repeats)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
