"""Where a job's events go: protocol lines for the add-on, a progress bar for a terminal.

A ``Reporter`` gets ``stage``, ``progress``, ``preview``, ``result``, ``error`` and
``cancelled`` events. ``Progress`` turns the stages' step callbacks (``Progress.bind``) into
those events with an ETA, and checks for cancellation at every step boundary.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Protocol

from ..portable.protocol import encode
from ..progress import StepCallback
from .errors import Cancelled

log = logging.getLogger(__name__)


class Reporter(Protocol):
    def emit(self, type_: str, **data: Any) -> object:
        """Send one message. Callers through ``Reporter`` ignore what it returns (a
        ``ProtocolReporter`` says whether it wrote the line)."""


TERMINAL_TYPES = ("result", "error", "cancelled")
"""Messages that end a job: exactly one is ever written."""


class ProtocolReporter:
    """Writes protocol lines to ``stream`` (the real stdout); thread-safe, flushed per line.
    After the first terminal message (``TERMINAL_TYPES``) nothing more is written."""

    def __init__(self, stream: IO[str]):
        self.stream = stream
        self._lock = threading.Lock()
        self.closed = False

    def emit(self, type_: str, **data: Any) -> bool:
        """Write one line; False (and nothing written) once the job has ended."""
        line = encode(type_, **data)
        with self._lock:
            if self.closed:
                return False
            self.stream.write(line)
            self.stream.flush()
            self.closed = type_ in TERMINAL_TYPES
            return True


class TerminalReporter:
    """A one-line progress bar (stage, step/total, ETA) on ``stream``; plain log lines when the
    stream is not a terminal. Thread-safe; after the first terminal message (``TERMINAL_TYPES``)
    nothing more is written."""

    WIDTH = 28

    def __init__(self, stream: IO[str] = sys.stderr, *, min_interval_s: float = 0.2):
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.min_interval_s = min_interval_s if self.tty else 5.0
        self._last = 0.0
        self._stage = ""
        self._open_line = False
        self._lock = threading.Lock()
        self.closed = False

    def emit(self, type_: str, **data: Any) -> bool:
        """Show one event; False (and nothing shown) once the job has ended."""
        with self._lock:
            if self.closed:
                return False
            self.closed = type_ in TERMINAL_TYPES
            self._show(type_, data)
            return True

    def _show(self, type_: str, data: dict[str, Any]) -> None:
        if type_ == "stage":
            self._end_line()
            self._stage = data["stage"]
            self._print(f"[{data['index'] + 1}/{data['count']}] {data['label']}")
        elif type_ == "progress":
            now = time.monotonic()
            if now - self._last < self.min_interval_s and data["step"] < data["total"]:
                return
            self._last = now
            self._bar(data)
        elif type_ == "preview":
            self._end_line()
            self._print(f"    preview: {data['path']}")
        elif type_ == "accepted" and data.get("resumed"):
            self._print(f"resuming {data['job']}: {', '.join(data['resumed'])} already done")
        elif type_ == "result":
            self._end_line()
            self._print(f"done: {data['result']}\n  in Blender: File › Import › AnchorHOI / "
                        "SMPL-X motion (.npz), or the AnchorHOI panel's job history")
        elif type_ == "error":
            self._end_line()
            self._print(f"error {data['code']}: {data['message']}\n  hint: {data['hint']}"
                        + (f"\n  log: {data['log']}" if data.get("log") else ""))
        elif type_ == "cancelled":
            self._end_line()
            forced = " (stopped inside a long step)" if data.get("forced") else ""
            self._print(f"cancelled{forced}; finished stages are kept in {data['job']}")

    def _bar(self, d: dict[str, Any]) -> None:
        frac = d["step"] / max(d["total"], 1)
        filled = int(round(frac * self.WIDTH))
        eta = d.get("eta_s")
        eta_text = "" if eta is None else f" ETA {_hms(eta)}"
        text = (f"    {d.get('substage') or d['stage']:<16} [{'#' * filled}"
                f"{'.' * (self.WIDTH - filled)}] {d['step']}/{d['total']}{eta_text}")
        if self.tty:
            self.stream.write("\r" + text.ljust(79))
            self.stream.flush()
            self._open_line = True
        else:
            self._print(text)

    def _end_line(self) -> None:
        if self._open_line:
            self.stream.write("\n")
            self._open_line = False

    def _print(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


class Progress:
    """The job's side of the progress protocol: ``bind(part)`` is the
    :data:`~anchorhoi.progress.StepCallback` of one named part of the current stage (the
    stage runners get ``bind`` as their :data:`~anchorhoi.progress.StageProgress`).

    Emits ``progress`` at most every ``min_interval_s`` (and always at a part's last step),
    with an ETA from the part's mean step time, and raises ``Cancelled`` when ``cancel`` is
    set: the inner loops report every step, so a cancel takes effect within one step.
    """

    def __init__(self, reporter: Reporter, cancel: threading.Event, *,
                 min_interval_s: float = 0.25):
        self.reporter = reporter
        self.cancel = cancel
        self.min_interval_s = min_interval_s
        self.stage = ""
        self._part: str | None = None
        self._t0 = 0.0
        self._first_step = 0
        self._last_emit = float("-inf")

    def begin(self, stage: str) -> None:
        self.stage = stage
        self._part = None
        self.check()

    def check(self) -> None:
        if self.cancel.is_set():
            raise Cancelled()

    def bind(self, part: str) -> StepCallback:
        """The step callback of ``part`` (e.g. ``"anchor_nerf[0]"``) of the current stage."""

        def on_step(step: int, total: int, losses: Mapping[str, float]) -> None:
            self.step(part, step, total, losses)

        return on_step

    def step(self, part: str, step: int, total: int, losses: Mapping[str, float]) -> None:
        """``part`` finished ``step`` of ``total``: check for a cancel, maybe emit."""
        self.check()
        now = time.monotonic()
        if part != self._part:
            self._part, self._t0, self._first_step = part, now, step
        done = step - self._first_step
        eta = None
        if done > 0 and total > step:
            eta = (now - self._t0) / done * (total - step)
        if now - self._last_emit >= self.min_interval_s or step >= total:
            self._last_emit = now
            self.reporter.emit("progress", stage=self.stage, substage=part, step=int(step),
                               total=int(total), eta_s=eta,
                               losses={k: float(v) for k, v in losses.items()
                                       if isinstance(v, (int, float))})

    def preview(self, path: Path) -> None:
        self.reporter.emit("preview", stage=self.stage, path=str(path))
