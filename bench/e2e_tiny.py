#!/usr/bin/env python3
"""End-to-end bench of the ``tiny`` preset and of the process protocol's overhead.

Usage: ``python bench/e2e_tiny.py [--messages 100000] [--keep DIR] [--skip-job]
[--skip-selftest]``

Prints JSON lines:

1. ``job``: one tiny job run the way the add-on runs it — ``python -m anchorhoi serve`` as a
   child process driven by the add-on's own client (``addon/client/backend_process.py``), from a
   cold cache (the tiny models are built first, as on a new machine). Per stage: wall seconds
   and peak RSS (from ``result.json``); the whole wall time from process start to the result;
   time to the handshake; protocol messages received.
2. ``selftest``: ``python -m anchorhoi selftest`` as a child process, from a cold cache: its
   wall time from process start to exit (target: ``target_seconds``, 60 s on a 2-core machine),
   the checks it passed, and its stages' seconds (from the job folder it keeps).
3. ``protocol_parse``: lines per second ``protocol.decode`` parses in this process, against
   ``json.loads`` on the same lines as the baseline (the ratio is what the protocol's checks
   cost on top of JSON).
4. ``protocol_pipe``: messages per second the add-on's client receives and parses from a child
   process writing progress lines as fast as it can through the backend's ``ProtocolReporter``
   — an upper bound far above what a job sends (a few per second).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "backend")]

from addon.client.backend_process import EOF, BackendProcess, Garbage  # noqa: E402
from anchorhoi.portable import protocol as P  # noqa: E402

EMITTER = """
import sys
from anchorhoi.job.reporting import ProtocolReporter
r = ProtocolReporter(sys.stdout)
n = int(sys.argv[1])
r.emit("hello", protocol=1, backend="bench", pid=0)
for i in range(n):
    r.emit("progress", stage="motion", substage="motion", step=i, total=n, eta_s=1.5,
           losses={"reproj": 0.125, "smooth": 0.0625})
"""


def _env(cache: Path) -> dict[str, str]:
    return dict(os.environ, HF_HUB_OFFLINE="1", ANCHORHOI_CACHE=str(cache),
                PYTHONPATH=str(ROOT / "backend"))


def bench_job(workdir: Path) -> dict:
    cache, job = workdir / "cache", workdir / "job"
    t0 = time.perf_counter()
    proc = BackendProcess.start([sys.executable, "-m", "anchorhoi", "serve"],
                                stderr_path=workdir / "stderr.txt", env=_env(cache))
    messages, hello_s, end = [], None, None
    while end is None:
        item = proc.wait_item(600)
        if item is None or item is EOF:
            break
        if isinstance(item, Garbage):
            raise SystemExit(f"garbage on the backend's stdout: {item.text}")
        messages.append(item)
        if item.type == "hello":
            hello_s = time.perf_counter() - t0
            proc.send("generate", protocol=P.PROTOCOL_VERSION, request={
                "prompt": "a person sits down on the box", "job_dir": str(job),
                "preset": "tiny", "device": "cpu"})
        if item.type in ("result", "error", "cancelled"):
            end = item
    wall = time.perf_counter() - t0
    proc.close()
    if end is None or end.type != "result":
        raise SystemExit(f"the tiny job did not finish: {end}\n{proc.stderr_tail()}")
    doc = json.loads((job / "result.json").read_text())
    return {"bench": "job", "wall_seconds": round(wall, 2), "hello_seconds": round(hello_s, 2),
            "messages": len(messages),
            "stages": {k: {"seconds": v["seconds"], "peak_rss_mb": v["peak_rss_mb"]}
                       for k, v in doc["timings"].items()},
            "stage_seconds_total": round(sum(v["seconds"] for v in doc["timings"].values()), 2),
            "frames": doc["frame_count"], "fps": doc["fps"]}


SELFTEST_TARGET_S = 60.0
"""The wall time ``anchorhoi selftest`` should stay under on a 2-core machine."""


def bench_selftest(workdir: Path) -> dict:
    cache, job = workdir / "selftest-cache", workdir / "selftest-job"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "anchorhoi", "selftest", "--out", str(job),
                           "--cache-dir", str(cache)], env=_env(cache), capture_output=True,
                          text=True, timeout=900, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"the selftest failed (exit code {proc.returncode}):\n"
                         f"{proc.stdout}\n{proc.stderr[-4000:]}")
    checks = [line for line in proc.stdout.splitlines() if line.startswith("  ok  ")]
    doc = json.loads((job / "result.json").read_text())
    return {"bench": "selftest", "wall_seconds": round(wall, 2),
            "target_seconds": SELFTEST_TARGET_S, "checks_passed": len(checks),
            "stages": {k: v["seconds"] for k, v in doc["timings"].items()},
            "stage_seconds_total": round(sum(v["seconds"] for v in doc["timings"].values()), 2),
            "frames": doc["frame_count"], "fps": doc["fps"]}


def bench_parse(n: int) -> dict:
    lines = [P.encode("progress", stage="motion", substage="motion", step=i, total=n,
                      eta_s=1.5, losses={"reproj": 0.125, "smooth": 0.0625}).encode()
             for i in range(n)]
    def timed(fn) -> float:
        t0 = time.perf_counter()
        for line in lines:
            fn(line)
        return time.perf_counter() - t0

    base, ours = float("inf"), float("inf")
    for _ in range(5):  # alternated, best of 5: the machine is shared and noisy
        base = min(base, timed(json.loads))
        ours = min(ours, timed(P.decode))
    return {"bench": "protocol_parse", "lines": n, "decode_per_s": round(n / ours),
            "json_loads_per_s": round(n / base), "cost_ratio": round(ours / base, 2)}


def bench_pipe(n: int, workdir: Path) -> dict:
    t0 = time.perf_counter()
    proc = BackendProcess.start([sys.executable, "-c", EMITTER, str(n)],
                                stderr_path=workdir / "emitter.txt", env=_env(workdir))
    got = 0
    first = None
    while True:
        item = proc.wait_item(60)
        if item is None or item is EOF:
            break
        if first is None:
            first = time.perf_counter()
        got += 1
    seconds = time.perf_counter() - (first or t0)
    proc.close()
    return {"bench": "protocol_pipe", "messages": got, "seconds": round(seconds, 3),
            "messages_per_s": round(got / seconds)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--keep", type=Path, help="keep the job folder and cache here")
    ap.add_argument("--skip-job", action="store_true", help="no tiny job through serve")
    ap.add_argument("--skip-selftest", action="store_true", help="no selftest run")
    args = ap.parse_args(argv)
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="e2e-tiny-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        if not args.skip_job:
            print(json.dumps(bench_job(workdir)), flush=True)
        if not args.skip_selftest:
            print(json.dumps(bench_selftest(workdir)), flush=True)
        print(json.dumps(bench_parse(args.messages)), flush=True)
        print(json.dumps(bench_pipe(args.messages, workdir)), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
