#!/usr/bin/env python3
"""Bench of ``anchorhoi batch``: N ``tiny`` jobs through the command against the same jobs run one
after another in one process, and what Ray's scheduling costs per job.

Usage: ``python bench/batch_tiny.py [--jobs 4] [--frames 6] [--keep DIR]``

Prints JSON lines:

1. ``sequential``: the N jobs through ``run_job`` one after another in this process (one torch
   thread, as the tiny preset runs), after the tiny models were built: wall seconds.
2. ``batch``: the same N requests through ``python -m anchorhoi batch`` (a child process
   starting its own Ray on this machine; as many jobs at once as it chooses): wall seconds from
   process start to exit, jobs at once, and ``ratio`` = batch / sequential wall.
3. ``scheduling``: Ray's own costs, measured apart from any job: ``ray_start_s`` (an embedded
   instance as the command starts it), ``dispatch_cold_s`` (first task: a worker process is
   started), ``dispatch_warm_s`` (mean round trip, submit to result, of an empty task on a warm
   worker, carrying a request as the batch's tasks do).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "backend")]
os.environ.setdefault("OMP_NUM_THREADS", "1")  # one torch thread per job, here as in a worker

PROMPTS = ("a person sits on the box", "a person pushes the box", "a person lifts the box",
           "a person leans on the box", "a person kicks the box", "a person steps onto the box")


def _requests(n: int, frames: int) -> list[dict]:
    return [{"prompt": PROMPTS[i % len(PROMPTS)], "preset": "tiny", "frames": frames,
             "fps": 6, "seed": i, "id": f"job{i}"} for i in range(n)]


def _env(cache: Path, ray_tmp: Path) -> dict[str, str]:
    return dict(os.environ, HF_HUB_OFFLINE="1", ANCHORHOI_CACHE=str(cache),
                OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "backend"), RAY_TMPDIR=str(ray_tmp))


def bench_sequential(requests: list[dict], out: Path, cache: Path) -> dict:
    from anchorhoi.job.models import choose_models, ensure_tiny_models
    from anchorhoi.job.pipeline import run_job
    from anchorhoi.job.request import GenerateRequest

    def request(r: dict) -> GenerateRequest:
        return GenerateRequest(prompt=r["prompt"], job_dir=out / r["id"], preset="tiny",
                               frames=r["frames"], fps=r["fps"], seed=r["seed"],
                               device="cpu", cache_dir=cache)

    class Quiet:
        def emit(self, type_: str, **data) -> None:
            return None

    ensure_tiny_models(choose_models(request(requests[0])))  # built once, outside the timing
    t0 = time.perf_counter()
    for r in requests:
        run_job(request(r), Quiet(), threading.Event())
    return {"case": "sequential", "jobs": len(requests),
            "wall_s": round(time.perf_counter() - t0, 2)}


def bench_batch(requests: list[dict], workdir: Path, cache: Path, ray_tmp: Path) -> dict:
    reqs = workdir / "requests.jsonl"
    reqs.write_text("".join(json.dumps(r) + "\n" for r in requests))
    out = workdir / "batch"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "anchorhoi", "batch", str(reqs), "--out",
                           str(out), "--cache-dir", str(cache), "--device", "cpu"],
                          env=_env(cache, ray_tmp), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"batch failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    at_once = next((line.split(", ")[1].split(" at once")[0] for line in
                    proc.stderr.splitlines() if line.startswith("batch: ")), None)
    jobs = json.loads((out / "batch.json").read_text())["jobs"]
    return {"case": "batch", "jobs": len(requests), "wall_s": round(wall, 2),
            "at_once": int(at_once) if at_once else None,
            "done": sum(j["status"] == "done" for j in jobs)}


def bench_scheduling(ray_tmp: Path, warm_tasks: int = 20) -> dict:
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray

    from anchorhoi.job.request import GenerateRequest

    t0 = time.perf_counter()
    ray.init(include_dashboard=False, num_cpus=os.cpu_count() or 1,
             _node_ip_address="127.0.0.1", log_to_driver=False, logging_level=logging.WARNING,
             _temp_dir=str(ray_tmp))
    start = time.perf_counter() - t0
    try:
        def echo(request: GenerateRequest) -> str:
            return request.prompt

        remote = ray.remote(max_retries=0)(echo).options(num_cpus=1, memory=1.5 * 1024 ** 3)
        request = GenerateRequest(prompt="a person sits on the box", job_dir=Path("/x"))
        t0 = time.perf_counter()
        ray.get(remote.remote(request))
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(warm_tasks):
            ray.get(remote.remote(request))
        warm = (time.perf_counter() - t0) / warm_tasks
    finally:
        ray.shutdown()
    return {"case": "scheduling", "ray_start_s": round(start, 2),
            "dispatch_cold_s": round(cold, 3), "dispatch_warm_s": round(warm, 4)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--jobs", type=int, default=4)
    p.add_argument("--frames", type=int, default=6)
    p.add_argument("--keep", type=Path, help="keep the job folders here")
    args = p.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="anchorhoi-batch-bench-"))
    ray_tmp = Path(tempfile.mkdtemp(prefix="abr", dir="/tmp"))  # short: socket path limit
    try:
        cache = workdir / "cache"
        requests = _requests(args.jobs, args.frames)
        seq = bench_sequential(requests, workdir / "sequential", cache)
        print(json.dumps(seq), flush=True)
        bat = bench_batch(requests, workdir, cache, ray_tmp)
        bat["ratio"] = round(bat["wall_s"] / seq["wall_s"], 3)
        print(json.dumps(bat), flush=True)
        print(json.dumps(bench_scheduling(ray_tmp)), flush=True)
        if args.keep:
            shutil.copytree(workdir, args.keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(ray_tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
