"""Per-stage wall time and peak memory: RAM (peak resident set) and, on CUDA, VRAM; and the
CPU threads a stage's torch work runs on.

Linux keeps the process's peak RSS in ``/proc/self/status`` (``VmHWM``); writing ``5`` to
``/proc/self/clear_refs`` resets it, so each stage gets its own peak. Where that is not possible
(other systems, a locked-down /proc) a sampling thread reads the current RSS every 20 ms.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kb(key: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_hwm() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def current_rss_mb() -> float:
    kb = _status_kb("VmRSS")
    if kb is not None:
        return kb / 1024
    try:  # not Linux: the lifetime peak is the best there is
        import resource
    except ImportError:  # Windows: not measured
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class StageMeter:
    """``with StageMeter(device) as m: ...`` then ``m.record()`` →
    ``{"seconds", "peak_rss_mb", "peak_vram_mb"?}``."""

    def __init__(self, device: str = "cpu"):
        self.device = device
        self._samples = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.seconds = 0.0
        self.peak_rss_mb = 0.0
        self.peak_vram_mb: float | None = None

    def __enter__(self) -> StageMeter:
        self._hwm = _reset_hwm() and _status_kb("VmHWM") is not None
        if not self._hwm:
            self._samples = current_rss_mb()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        if self.device == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats()
        self._t0 = time.perf_counter()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self._samples = max(self._samples, current_rss_mb())

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._t0
        if self._hwm:
            self.peak_rss_mb = (_status_kb("VmHWM") or 0) / 1024
        else:
            self._stop.set()
            if self._thread is not None:
                self._thread.join()
            self.peak_rss_mb = max(self._samples, current_rss_mb())
        if self.device == "cuda":
            import torch

            self.peak_vram_mb = torch.cuda.max_memory_allocated() / 2 ** 20

    def record(self) -> dict[str, float]:
        out = {"seconds": round(self.seconds, 3), "peak_rss_mb": round(self.peak_rss_mb, 1)}
        if self.peak_vram_mb is not None:
            out["peak_vram_mb"] = round(self.peak_vram_mb, 1)
        return out


def stage_threads(device: str, gpu_preset: bool) -> int | None:
    """Intra-op threads for a stage's torch work: one for a CPU preset (``tiny``) on the CPU,
    else torch's own choice (None). A CPU preset computes on tiny tensors, where more threads
    cost more than they gain, and on a busy machine they also wait on each other: 40 SDS steps
    of the tiny anchor stage took 9.6 s on one thread and 61 s on two while other processes
    kept a 2-core machine busy (load 3.8)."""
    return 1 if device == "cpu" and not gpu_preset else None


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` intra-op torch threads (None: as they are), then restore
    the previous count (a ``serve`` process runs job after job)."""
    if count is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
