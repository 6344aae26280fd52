"""A cancel answered within 2 s, in ``serve`` and ``generate`` alike.

Two things stand between a cancel and its answer, and each has its remedy here:

* **A signal waits for the main thread.** Python runs a signal handler only in the main thread,
  between two bytecodes: while the main thread is inside one long C call (a mesh read, a model
  load, a big tensor operation) a SIGTERM goes unseen. :func:`relayed_signals` points Python's
  wakeup descriptor at a pipe that a thread reads, so ``cancel`` is set the moment the signal
  arrives, whatever the main thread is doing.
* **A step can be long.** The job checks ``cancel`` at every step boundary (every stage's loops,
  the mesh simplifier's passes, between the set-up steps), but one step may still run for longer
  (a model loading, a big file written). :class:`Watchdog` ends the process
  ``CANCEL_GRACE_S`` after the cancel when the job has not answered by then: every file the
  backend writes is written atomically and a stage counts as done only once ``state.json`` says
  so, so stopping between two steps loses nothing a later run could have kept.
* **The set-up holds the GIL.** While the set-up imports torch and diffusers (extension
  modules loaded, one C call of up to a second on a loaded machine) every other thread waits
  for the GIL, so each hand-over between threads costs that much. During the set-up the cancel
  is answered at once (nothing computed yet can be lost) by the thread that noticed it
  (:class:`CancelRequest` runs the watchdog's hook there): one wait for the GIL, not three
  (relay, watchdog thread, grace). That one wait remains: on the loaded 2-core machine
  ``generate`` answered a SIGTERM during torch's import in 0.2–1.7 s (2.1–2.8 s before) and
  after it in 0.0–0.2 s (0.4–1.7 s before); ``serve``, whose command reader parses the ``cancel``
  line in Python, took 2.6–2.9 s during the import with the machine even busier
  (``bench/big_mesh.py``, ``cancel_setup``). Only a handler in C, or a helper process, could
  answer without the GIL.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from ..portable.protocol import EXIT_CANCELLED

log = logging.getLogger(__name__)

CANCEL_GRACE_S = 1.5
"""How long a cancel during a stage waits for the next step boundary before the process exits
anyway (counted from the moment the cancel was set): with the watchdog's polling and the exit
itself, a forced answer comes within about 2 s (``bench/big_mesh.py``)."""


class EndingReporter(Protocol):
    """A reporter that writes one terminal message only (``closed`` after it)."""

    closed: bool

    def emit(self, type_: str, **data: Any) -> bool: ...


@contextmanager
def relayed_signals(cancel: threading.Event,
                    handlers: dict[signal.Signals, Callable[..., Any]]) -> Iterator[None]:
    """Install ``handlers`` (call from the main thread) and, while the block runs, set
    ``cancel`` as soon as one of their signals arrives; the previous handlers and wakeup
    descriptor are restored after it."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    numbers = {int(sig) for sig in handlers}
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    relay = threading.Thread(target=_relay, args=(read_fd, numbers, cancel), daemon=True,
                             name="anchorhoi-signal-relay")
    relay.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous_fd)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        os.close(write_fd)  # the relay reads the end of the pipe and stops
        relay.join(timeout=1.0)


def _relay(read_fd: int, numbers: set[int], cancel: threading.Event) -> None:
    try:
        while chunk := os.read(read_fd, 64):
            if numbers.intersection(chunk):
                log.info("cancel requested by a signal")
                cancel.set()
    finally:
        os.close(read_fd)


class CancelRequest(threading.Event):
    """The job's cancel: an event that runs a hook (:meth:`Watchdog.noticed`) in the thread
    that sets it — the signal relay, ``serve``'s command reader, a signal handler — so that a
    cancel during the set-up is answered by the thread that saw it, without a second thread
    having to win the GIL from a main thread busy in a long C call; ``set_at``: when it was
    first set (the grace counts from then)."""

    def __init__(self) -> None:
        super().__init__()
        self.set_at: float | None = None
        self.hook: Callable[[], None] | None = None

    def set(self) -> None:
        if self.set_at is None:
            self.set_at = time.monotonic()
        if self.hook is not None:  # first: waking the waiting threads would hand them the GIL
            self.hook()
        super().set()


class Watchdog:
    """Ends the process when a cancel is not answered in time, writing ``cancelled``
    (``forced``) and exiting with ``EXIT_CANCELLED``.

    Before the first stage begins (the set-up: torch's import, the model checks, the object's
    reading) the answer comes at once, from the thread that noticed the cancel: the set-up
    computes nothing a later run could keep, and what it writes (``request.json``, the tiny
    models) is written atomically. Once a stage runs, the job gets ``CANCEL_GRACE_S`` after the
    cancel to stop at its next step boundary (finished stages are kept either way).

    Use :attr:`emit` / :attr:`closed` as the job's reporter: it passes every message on and
    notes when the first stage begins."""

    def __init__(self, cancel: threading.Event, reporter: EndingReporter, job_dir: Path | str):
        self.cancel = cancel
        self.reporter = reporter
        self.job_dir = str(job_dir)
        self.running = False
        """A stage has begun (the set-up is over)."""

    @property
    def closed(self) -> bool:
        """The job's terminal message is written."""
        return self.reporter.closed

    def emit(self, type_: str, **data: Any) -> bool:
        """Pass one message on to the reporter (the job reports through the watchdog)."""
        if type_ == "stage":
            self.running = True
        return self.reporter.emit(type_, **data)

    def start(self) -> Watchdog:
        """Watch ``cancel`` from now on: at once through its hook when it is a
        :class:`CancelRequest`, and in a daemon thread for the grace time."""
        if isinstance(self.cancel, CancelRequest):
            self.cancel.hook = self.noticed
        threading.Thread(target=self.watch, daemon=True, name="anchorhoi-cancel-watchdog"
                         ).start()
        return self

    def noticed(self) -> None:
        """A cancel was just seen (in the thread that saw it): during the set-up, answer now."""
        if not self.running:
            self.force("during the set-up")

    def watch(self) -> None:
        """Wait for the cancel; answer at once during the set-up, else when the job has not
        answered ``CANCEL_GRACE_S`` after it."""
        self.cancel.wait()
        if not self.running:
            self.force("during the set-up")
            return
        since = getattr(self.cancel, "set_at", None) or time.monotonic()
        while time.monotonic() < since + CANCEL_GRACE_S:
            if self.reporter.closed:  # the job stopped at a step boundary in time
                return
            time.sleep(0.05)
        self.force(f"no step boundary within {CANCEL_GRACE_S:.1f} s of the cancel")

    def force(self, why: str) -> None:
        """Write the forced ``cancelled`` and exit at once, unless the job has answered."""
        if self.reporter.emit("cancelled", job=self.job_dir, forced=True):
            log.warning("cancelled %s: exiting now (finished stages are kept)", why)
            logging.shutdown()
            os._exit(EXIT_CANCELLED)
