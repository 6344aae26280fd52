"""A cancel answered within 2 s, in ``serve`` and ``generate`` alike.

Two things stand between a cancel and its answer, and each has its remedy here:

* **A signal waits for the main thread.** Python runs a signal handler only in the main thread,
  between two bytecodes: while the main thread is inside one long C call (a mesh read, a model
  load, a big tensor operation) a SIGTERM goes unseen. :func:`relayed_signals` points Python's
  wakeup descriptor at a pipe that a thread reads, so ``cancel`` is set the moment the signal
  arrives, whatever the main thread is doing.
* **A step can be long.** The job checks ``cancel`` at every step boundary (every stage's loops,
  the mesh simplifier's passes, between the set-up steps), but one step may still run for longer
  (a model loading, a big file written). :func:`start_watchdog` ends the process
  ``CANCEL_GRACE_S`` after the cancel when the job has not answered by then: every file the
  backend writes is written atomically and a stage counts as done only once ``state.json`` says
  so, so stopping between two steps loses nothing a later run could have kept.
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
"""How long a cancel waits for the next step boundary before the process exits anyway: with
the watchdog's polling and the exit itself, a forced answer comes within about 2 s
(``bench/big_mesh.py``, loaded 2-core machine: 1.6 s for serve; 2.1 s for generate, cancelled
while torch initialises its C extension, which holds the GIL and so delays the watchdog)."""


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


def start_watchdog(cancel: threading.Event, reporter: EndingReporter, job_dir: Path | str
                   ) -> threading.Thread:
    """A daemon thread running :func:`watchdog`."""
    thread = threading.Thread(target=watchdog, args=(cancel, reporter, job_dir), daemon=True,
                              name="anchorhoi-cancel-watchdog")
    thread.start()
    return thread


def watchdog(cancel: threading.Event, reporter: EndingReporter, job_dir: Path | str) -> None:
    """Wait for ``cancel``; when ``reporter`` has written no terminal message
    ``CANCEL_GRACE_S`` later, write ``cancelled`` (``forced``) and exit with
    ``EXIT_CANCELLED`` at once."""
    cancel.wait()
    deadline = time.monotonic() + CANCEL_GRACE_S
    while time.monotonic() < deadline:
        if reporter.closed:  # the job stopped at a step boundary in time
            return
        time.sleep(0.05)
    if reporter.emit("cancelled", job=str(job_dir), forced=True):
        log.warning("no step boundary within %.1f s of the cancel: exiting now (finished stages "
                    "are kept)", CANCEL_GRACE_S)
        logging.shutdown()
        os._exit(EXIT_CANCELLED)
