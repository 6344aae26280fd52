"""Cancel a real tiny job at each of its points — during the set-up, then in each stage — and
time the answer: ``serve`` with a protocol ``cancel`` line, or ``generate`` with SIGTERM.

One job folder serves all points: each run resumes after the stages the previous runs finished,
runs the next stage to its end and is cancelled just after the one after it begins (so four
stages need five runs, the first one cancelled during the set-up). Used by
``tests/job/test_cancel_latency.py`` and ``bench/big_mesh.py``.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from anchorhoi.portable import protocol as P
from anchorhoi.portable.job_marker import JOB_MARKER
from tests.helpers.serve_process import backend_env

PROMPT = "a person sits down on the box"
POINTS = ("setup", "anchor", "video", "keypoints", "motion")
"""Where the job is cancelled: before ``accepted`` (request.json written), then each stage."""
SETUP_POINTS = ("import", "setup")
"""The two moments of the set-up: ``import`` (the job folder marked, torch and diffusers being
imported) and ``setup`` (``request.json`` written: models checked, the object read)."""
STAGE_INDEX = {"anchor": 0, "video": 1, "keypoints": 2, "motion": 3}


@dataclass(frozen=True)
class CancelTiming:
    point: str
    """Where the cancel came (``POINTS``)."""
    answer_s: float
    """Cancel sent → the ``cancelled`` answer read (protocol line / terminal line)."""
    exit_s: float
    """Cancel sent → the process gone."""
    exit_code: int
    forced: bool
    """The watchdog answered (no step boundary within the grace time)."""
    output: str
    """Everything the process wrote on its answer channel (stdout for serve, stderr for
    generate)."""


class _Lines:
    def __init__(self, stream):
        self.items: queue.Queue = queue.Queue()
        self.text: list[str] = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace")
            self.text.append(line)
            self.items.put((time.monotonic(), line))
        self.items.put((time.monotonic(), None))

    def until(self, accept, timeout: float) -> tuple[float, str | None]:
        end = time.monotonic() + timeout
        while True:
            try:
                at, line = self.items.get(timeout=max(0.05, end - time.monotonic()))
            except queue.Empty:
                return time.monotonic(), None
            if line is None or accept(line):
                return at, line


def _stage_began(mode: str, stage: str):
    if mode == "serve":
        return lambda line: json.loads(line).get("type") == "stage" and \
            json.loads(line).get("stage") == stage
    return lambda line: line.startswith(f"[{STAGE_INDEX[stage] + 1}/4]")


def _answered(mode: str):
    if mode == "serve":
        return lambda line: json.loads(line).get("type") in ("cancelled", "error", "result")
    return lambda line: line.startswith(("cancelled", "error", "done:"))


def cancel_once(mode: str, point: str, job: Path, mesh: Path | None, cache: Path, *,
                delay_s: float = 0.3, timeout: float = 600.0) -> CancelTiming:
    """One run of the tiny job in ``job`` (``mode``: ``serve`` or ``generate``), cancelled
    ``delay_s`` after ``point`` began."""
    env = backend_env(cache)
    if mode == "serve":
        proc = subprocess.Popen([sys.executable, "-m", "anchorhoi", "serve"], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        lines = _Lines(proc.stdout)
        request = {"prompt": PROMPT, "job_dir": str(job), "preset": "tiny", "device": "cpu"}
        if mesh is not None:
            request["object"] = str(mesh)
        proc.stdin.write(P.encode("generate", protocol=P.PROTOCOL_VERSION,
                                  request=request).encode())
        proc.stdin.flush()
    else:
        args = [sys.executable, "-m", "anchorhoi", "generate", PROMPT, "--preset", "tiny",
                "--device", "cpu", "--out", str(job)]
        proc = subprocess.Popen(args + ([] if mesh is None else ["--object", str(mesh)]),
                                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        lines = _Lines(proc.stderr)
    try:
        if point in SETUP_POINTS:
            sign = job / (JOB_MARKER if point == "import" else "request.json")
            end = time.monotonic() + timeout
            while not sign.is_file() and time.monotonic() < end and proc.poll() is None:
                time.sleep(0.02)
        else:
            _, line = lines.until(_stage_began(mode, point), timeout)
            assert line is not None, f"the job ended before stage {point}: {''.join(lines.text)}"
        time.sleep(delay_s)
        sent = time.monotonic()
        if mode == "serve":
            proc.stdin.write(P.encode("cancel").encode())
            proc.stdin.flush()
        else:
            proc.send_signal(signal.SIGTERM)
        answered, line = lines.until(_answered(mode), 60.0)
        code = proc.wait(timeout=60)
        gone = time.monotonic()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return CancelTiming(point=point, answer_s=answered - sent, exit_s=gone - sent,
                        exit_code=code, forced="forced" in (line or "")
                        or "long step" in (line or ""), output="".join(lines.text))


def cancel_everywhere(mode: str, job: Path, mesh: Path | None, cache: Path
                      ) -> list[CancelTiming]:
    """:func:`cancel_once` at every point of ``POINTS``, in order, in one job folder."""
    return [cancel_once(mode, point, job, mesh, cache) for point in POINTS]
