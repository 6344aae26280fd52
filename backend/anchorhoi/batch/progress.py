"""The batch's progress on stderr: one bar (jobs done / failed / running, ETA) on a terminal,
plain lines elsewhere, and one line per job that ends."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from ..job.reporting import _hms


@dataclass(frozen=True, kw_only=True)
class Counts:
    """Where the batch stands."""

    total: int
    """Jobs in the batch."""
    done: int = 0
    """Jobs with a result (this run or an earlier one)."""
    failed: int = 0
    """Jobs that ended with an error."""
    running: int = 0
    """Jobs on a worker now."""
    cancelled: int = 0
    """Jobs stopped by a cancel."""

    @property
    def ended(self) -> int:
        return self.done + self.failed + self.cancelled


class BatchBar:
    """Draws :class:`Counts` with an ETA from the mean wall time of the jobs finished so far
    and the jobs running at once. Thread-safe."""

    WIDTH = 24

    def __init__(self, stream: IO[str] = sys.stderr, *,
                 clock: Callable[[], float] = time.monotonic, min_interval_s: float = 0.5):
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.clock = clock
        self.min_interval_s = min_interval_s if self.tty else 30.0
        self._lock = threading.Lock()
        self._open = False
        self._last_text = ""
        self._last_at = float("-inf")
        self._job_seconds: list[float] = []

    def job_ended(self, text: str, seconds: float | None = None) -> None:
        """One line for a job that ended (``seconds``: its wall time, for the ETA)."""
        with self._lock:
            if seconds is not None and seconds > 0:
                self._job_seconds.append(seconds)
            self._end_line()
            self._write(text + "\n")

    def note(self, text: str) -> None:
        with self._lock:
            self._end_line()
            self._write(text + "\n")

    def show(self, counts: Counts, *, force: bool = False) -> None:
        """Redraw the bar (on a terminal at most every ``min_interval_s``; elsewhere a line
        when the counts change, or every ``min_interval_s``)."""
        with self._lock:
            text = self.text(counts)
            now = self.clock()
            changed = text.split(" ETA")[0] != self._last_text.split(" ETA")[0]
            if not (force or changed or now - self._last_at >= self.min_interval_s):
                return
            self._last_text, self._last_at = text, now
            if self.tty:
                self._write("\r" + text.ljust(79))
                self._open = True
            else:
                self._write(text + "\n")

    def text(self, c: Counts) -> str:
        frac = c.ended / max(c.total, 1)
        filled = int(round(frac * self.WIDTH))
        eta = self.eta_s(c)
        return (f"batch [{'#' * filled}{'.' * (self.WIDTH - filled)}] {c.ended}/{c.total}: "
                f"{c.done} done, {c.failed} failed, {c.running} running"
                + (f", {c.cancelled} cancelled" if c.cancelled else "")
                + ("" if eta is None else f" ETA {_hms(eta)}"))

    def eta_s(self, c: Counts) -> float | None:
        """Left to run × mean job time ÷ jobs at once (None before a job has finished here)."""
        left = c.total - c.ended
        if not self._job_seconds or left <= 0:
            return None
        mean = sum(self._job_seconds) / len(self._job_seconds)
        return left * mean / max(c.running, 1)

    def close(self) -> None:
        with self._lock:
            self._end_line()

    def _end_line(self) -> None:
        if self._open:
            self._write("\n")
            self._open = False

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
