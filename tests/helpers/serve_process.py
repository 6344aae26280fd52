"""A real ``anchorhoi serve`` subprocess for tests: send lines, read protocol messages."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from anchorhoi.portable import protocol as P

ROOT = Path(__file__).resolve().parents[2]


def backend_env(cache: Path) -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", ANCHORHOI_CACHE=str(cache),
               OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "backend"))
    return env


class Serve:
    def __init__(self, cache: Path, stderr_path: Path):
        self.stderr = open(stderr_path, "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen([sys.executable, "-m", "anchorhoi", "serve"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=backend_env(cache))
        self.lines: queue.Queue = queue.Queue()
        self.raw: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.raw.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def send(self, type_: str, **data) -> None:
        self.proc.stdin.write(P.encode(type_, **data).encode())
        self.proc.stdin.flush()

    def next(self, timeout: float = 120.0) -> P.Message | None:
        line = self.lines.get(timeout=timeout)
        return None if line is None else P.decode(line)

    def until(self, predicate, timeout: float = 600.0) -> list[P.Message]:
        """Messages up to and including the first one ``predicate`` accepts (or the end)."""
        out, end = [], time.monotonic() + timeout
        while True:
            msg = self.next(timeout=max(0.1, end - time.monotonic()))
            if msg is None:
                return out
            out.append(msg)
            if predicate(msg):
                return out

    def wait(self, timeout: float = 60.0) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.stderr.close()


def request(job_dir: Path, **fields) -> dict:
    return {"prompt": "a person sits down on the box", "job_dir": str(job_dir), **fields}


def json_lines(raw: list[bytes]) -> list[dict]:
    return [json.loads(line) for line in raw]
