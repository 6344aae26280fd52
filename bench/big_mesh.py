#!/usr/bin/env python3
"""The ``tiny`` preset end to end with a 1 M-face object against a 12-face box, and how fast a
job holding the big object answers a cancel.

Usage: ``python bench/big_mesh.py [--faces 1000000] [--format obj|ply] [--skip-jobs]
[--skip-cancel] [--setup-repeats 4] [--keep DIR]``

Both objects are the same closed 0.5 × 0.45 × 0.45 m box (``anchorhoi.oracles.fine_mesh``):
12 faces, and a fine subdivision of ``--faces`` (the next ``12 n²``). The tiny models are
built first, so neither run pays for that. Prints JSON lines:

1. ``job`` per object: ``python -m anchorhoi generate … --preset tiny --device cpu`` as a child
   process, one torch thread: wall seconds from start to exit, the child's peak RSS (its own
   ``wait4`` accounting) and the stages' seconds from ``result.json``;
2. ``big_mesh``: both wall times, ``ratio`` (target ≤ ``RATIO_TARGET``) and the big run's
   peak RSS (target < ``RSS_TARGET_MB``), with ``ok``;
3. ``cancel`` per way of cancelling (``serve`` with a ``cancel`` line, ``generate`` with
   SIGTERM): the seconds from the cancel to the answer and to the exit at each point of a job
   holding the big object — the set-up and each stage (``tests/helpers/cancel_runs.py``);
   target ≤ 2 s;
4. ``cancel_setup`` per way of cancelling: ``--setup-repeats`` cancels at each moment of the
   set-up (``import``: torch and diffusers being imported; ``setup``: models checked, the
   object read), each in a fresh job folder: the largest and the median answer seconds
   (target ≤ 2 s: the set-up answers at once, whatever holds the GIL).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "backend")]

from anchorhoi.oracles.fine_mesh import fine_box, write_fine_box  # noqa: E402
from tests.helpers.cancel_runs import (  # noqa: E402
    PROMPT,
    SETUP_POINTS,
    cancel_everywhere,
    cancel_once,
)
from tests.helpers.serve_process import backend_env  # noqa: E402

RATIO_TARGET = 2.0
"""The big object's wall time over the small one's (issue 14)."""
RSS_TARGET_MB = 3 * 1024
"""Peak RSS of the job with the big object (issue 14: under 3 GB)."""
CANCEL_TARGET_S = 2.0


def build_tiny_models(cache: Path) -> None:
    from anchorhoi.job.models import choose_models, ensure_tiny_models
    from anchorhoi.job.request import GenerateRequest

    request = GenerateRequest(prompt=PROMPT, job_dir=cache / "unused", preset="tiny",
                              device="cpu", cache_dir=cache)
    ensure_tiny_models(choose_models(request))


def run_job(mesh: Path, faces: int, job: Path, cache: Path) -> dict:
    args = [sys.executable, "-m", "anchorhoi", "generate", PROMPT, "--preset", "tiny",
            "--device", "cpu", "--out", str(job), "--object", str(mesh),
            "--cache-dir", str(cache)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, env=backend_env(cache), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()  # read to the end first: a full pipe would stall the child
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"the job with {mesh.name} failed (exit code {proc.returncode}):\n"
                         f"{err.decode(errors='replace')[-4000:]}")
    doc = json.loads((job / "result.json").read_text())
    return {"bench": "job", "object": mesh.name, "faces": faces,
            "wall_seconds": round(wall, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "stages": {k: v["seconds"] for k, v in doc["timings"].items()}}


def compare_jobs(small: Path, big: Path, args: argparse.Namespace, workdir: Path,
                 cache: Path) -> None:
    runs = []
    for mesh, faces in ((small, 12), (big, len(fine_box(args.faces)[1]))):
        shutil.rmtree(workdir / f"job_{mesh.stem}", ignore_errors=True)
        runs.append(run_job(mesh, faces, workdir / f"job_{mesh.stem}", cache))
        print(json.dumps(runs[-1]), flush=True)
    ratio = runs[1]["wall_seconds"] / runs[0]["wall_seconds"]
    print(json.dumps({
        "bench": "big_mesh", "faces": runs[1]["faces"], "format": args.format,
        "small_seconds": runs[0]["wall_seconds"], "big_seconds": runs[1]["wall_seconds"],
        "ratio": round(ratio, 2), "ratio_target": RATIO_TARGET,
        "small_peak_rss_mb": runs[0]["peak_rss_mb"], "big_peak_rss_mb": runs[1]["peak_rss_mb"],
        "rss_target_mb": RSS_TARGET_MB,
        "ok": ratio <= RATIO_TARGET and runs[1]["peak_rss_mb"] < RSS_TARGET_MB}), flush=True)


def cancel_setup(mode: str, repeats: int, workdir: Path, mesh: Path, cache: Path) -> None:
    """The ``cancel_setup`` row of ``mode``: ``repeats`` cancels at each set-up moment."""
    answers: dict[str, list[float]] = {}
    codes = set()
    for point in SETUP_POINTS:
        for i in range(repeats):
            job = workdir / f"cancel_{mode}_{point}_{i}"
            shutil.rmtree(job, ignore_errors=True)
            t = cancel_once(mode, point, job, mesh, cache)
            answers.setdefault(point, []).append(t.answer_s)
            codes.add(t.exit_code)
    print(json.dumps({
        "bench": "cancel_setup", "mode": mode, "repeats": repeats,
        "target_seconds": CANCEL_TARGET_S,
        "max_answer_seconds": {p: round(max(a), 3) for p, a in answers.items()},
        "median_answer_seconds": {p: round(statistics.median(a), 3) for p, a in answers.items()},
        "exit_codes": sorted(codes)}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("obj", "ply"), default="obj")
    parser.add_argument("--skip-jobs", action="store_true", help="only the cancel latencies")
    parser.add_argument("--skip-cancel", action="store_true", help="only the two jobs")
    parser.add_argument("--setup-repeats", type=int, default=4,
                        help="cancels per moment of the set-up (0: none)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="anchorhoi-big-mesh-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        cache = workdir / "cache"
        build_tiny_models(cache)
        small = write_fine_box(workdir / f"box_12.{args.format}", 12)
        big = write_fine_box(workdir / f"box_big.{args.format}", args.faces)
        if not args.skip_jobs:
            compare_jobs(small, big, args, workdir, cache)
        if not args.skip_cancel:
            for mode in ("serve", "generate"):
                shutil.rmtree(workdir / f"cancel_{mode}", ignore_errors=True)
                timings = cancel_everywhere(mode, workdir / f"cancel_{mode}", big, cache)
                print(json.dumps({
                    "bench": "cancel", "mode": mode, "target_seconds": CANCEL_TARGET_S,
                    "answer_seconds": {t.point: round(t.answer_s, 3) for t in timings},
                    "exit_seconds": {t.point: round(t.exit_s, 3) for t in timings},
                    "forced": [t.point for t in timings if t.forced],
                    "exit_codes": sorted({t.exit_code for t in timings})}), flush=True)
                if args.setup_repeats > 0:
                    cancel_setup(mode, args.setup_repeats, workdir, big, cache)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
