"""What runs on a Ray worker: one job through ``run_job``, and the batch's cancel flag.

The task never raises: every way a job ends comes back as a :class:`TaskAnswer` (a crash is
``failed`` with ``INTERNAL``; the runner decides what to retry). A lost worker (a killed
process, a dead node) gives no answer at all: the runner sees Ray's error instead.

Cancel: the runner sets a :class:`CancelFlag` actor; a thread of each running task asks it
every ``POLL_S`` and sets the job's cancel event, so the job stops at its next step boundary
and keeps its finished stages, like ``generate`` on Ctrl-C. A flag that cannot be asked (the
driver is gone) counts as set.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ..job.errors import Cancelled, classify
from ..job.request import GenerateRequest

POLL_S = 0.5
"""How often a running task asks the cancel flag."""
ASK_TIMEOUT_S = 30.0
"""How long one question to the flag may take before the driver counts as gone."""

TASK_ENV = {"TRANSFORMERS_VERBOSITY": "error", "TQDM_DISABLE": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1", "GLOG_minloglevel": "2",
            "TF_CPP_MIN_LOG_LEVEL": "2"}
"""Library chatter turned off in a worker (as ``anchorhoi generate`` does)."""


@dataclass(frozen=True, kw_only=True)
class TaskAnswer:
    """How one attempt at a job ended on its worker."""

    status: str
    """``done``, ``failed`` or ``cancelled``."""
    code: str | None = None
    """The error code of a failed job (``BAD_MESH``, ``INTERNAL``, …)."""
    message: str | None = None
    """The error's message."""
    hint: str | None = None
    """The error's hint."""
    exit_code: int = 0
    """``generate``'s exit code for this ending (2: the request cannot run; 1: a crash)."""
    resumed: list[str] = field(default_factory=list)
    """Stages loaded from an earlier run instead of computed."""
    seconds: float = 0.0
    """Wall time of the attempt on the worker."""
    pid: int = 0
    """The worker's process id."""


class CancelFlag:
    """A flag the driver sets once and every running task reads (a Ray actor)."""

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set


class _Silent:
    """A reporter for a job on a worker: its events are in the job's ``log.txt`` and
    ``state.json``; the batch reports whole jobs."""

    closed = False

    def emit(self, type_: str, **data: Any) -> bool:
        return True


def run_request(request: GenerateRequest, flag: Any) -> TaskAnswer:
    """Run (or resume) ``request`` on this worker; ``flag``: the batch's ``CancelFlag``
    actor handle (None: never cancelled)."""
    for key, value in TASK_ENV.items():
        os.environ.setdefault(key, value)
    logging.getLogger().setLevel(logging.INFO)  # the job's log.txt gets its INFO lines
    start = time.monotonic()
    cancel, finished = threading.Event(), threading.Event()
    if flag is not None:
        threading.Thread(target=_watch, args=(flag, cancel, finished), daemon=True,
                         name="anchorhoi-batch-cancel").start()
    try:
        from ..job.pipeline import run_job

        outcome = run_job(request, _Silent(), cancel)
        return TaskAnswer(status="done", resumed=list(outcome.resumed),
                          seconds=time.monotonic() - start, pid=os.getpid())
    except Cancelled:
        return TaskAnswer(status="cancelled", seconds=time.monotonic() - start,
                          pid=os.getpid())
    except BaseException as exc:  # every ending is an answer
        err = classify(exc)
        return TaskAnswer(status="failed", code=err.code, message=err.message, hint=err.hint,
                          exit_code=err.exit_code, seconds=time.monotonic() - start,
                          pid=os.getpid())
    finally:
        finished.set()


def _watch(flag: Any, cancel: threading.Event, finished: threading.Event) -> None:
    import ray

    while not finished.wait(POLL_S):
        try:
            if ray.get(flag.is_set.remote(), timeout=ASK_TIMEOUT_S):
                cancel.set()
                return
        except Exception:  # the flag's actor is gone with its driver: stop as if cancelled
            if not finished.is_set():
                cancel.set()
            return
