"""The scheduling loop of a batch: jobs handed to Ray a few at a time, their endings collected,
crashes retried, a cancel passed on.

* At most ``max_parallel`` jobs are on Ray at once (default: as many as the cluster's
  resources hold with each job's ask), so "running" means running, and the rest wait here.
* A job that ends ``failed`` with a request error (exit code 2: ``BAD_MESH``,
  ``MODEL_NOT_FOUND``, …) is recorded and not retried. A crash (``INTERNAL``) or a lost worker
  (the process killed, the node gone: Ray's error instead of an answer) is submitted again, up
  to ``retries`` more times; ``run_job`` then resumes after the stages that finished (the dead
  process's ``flock`` on the folder's ``.lock`` went with it).
* A cancel sets the shared :class:`~anchorhoi.batch.task.CancelFlag`: the running jobs stop at
  their next step and keep their finished stages; those still running ``cancel_grace_s`` later
  are ended by Ray (``ray.cancel(force=True)``: every file is written atomically, so nothing
  half-written is left for a reader). Jobs not started yet stay as they are.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .requests import BatchJob
from .task import CancelFlag, TaskAnswer, run_request

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class RunnerOptions:
    """How the batch schedules its jobs."""

    max_parallel: int
    """Jobs on Ray at once."""
    retries: int = 2
    """How many times a crashed job, or one whose worker was lost, is started again."""
    cancel_grace_s: float = 10.0
    """After a cancel, how long running jobs have to reach a step boundary before Ray ends
    them."""
    poll_s: float = 0.25
    """How often the loop looks at the cancel event and redraws the progress."""


@dataclass
class JobState:
    """One job as the loop sees it."""

    job: BatchJob
    """The request."""
    ask: dict[str, float]
    """What it asks Ray for (``num_cpus``, ``num_gpus``, ``memory``)."""
    status: str = "pending"
    """``pending``, ``running``, ``done``, ``failed``, ``cancelled``."""
    attempts: int = 0
    """Times it was started."""
    error: tuple[str, str] | None = None
    """``(code, message)`` of a failed job."""
    exit_code: int = 0
    """``generate``'s exit code for its ending (failed: 2 or 1)."""
    answers: list[TaskAnswer] = field(default_factory=list)
    """What each attempt's worker answered (a lost worker answers nothing)."""
    lost: list[str] = field(default_factory=list)
    """How each lost attempt was lost (Ray's error, one line)."""
    started: float = 0.0
    """When the current attempt was submitted (monotonic)."""
    seconds: float = 0.0
    """Wall time of all its attempts, submission to collection."""


Listener = Callable[[JobState], None]
"""Called after a job changes status (from the loop's thread)."""


class BatchRun:
    """Runs ``states`` on ``ray`` (the connected module)."""

    def __init__(self, ray: Any, states: Sequence[JobState], options: RunnerOptions,
                 on_change: Listener, on_tick: Callable[[], None] = lambda: None):
        self.ray = ray
        self.states = list(states)
        self.options = options
        self.on_change = on_change
        self.on_tick = on_tick
        self._remote = ray.remote(max_retries=0)(run_request)
        self._flag: Any = None
        self._running: dict[Any, JobState] = {}
        self._cancel_at: float | None = None

    def run(self, cancel: threading.Event) -> list[JobState]:
        """Until every job has ended, or after a cancel until the running ones have."""
        self._flag = self.ray.remote(num_cpus=0)(CancelFlag).remote()
        try:
            self._loop(cancel)
        finally:  # a task still running (an abort) reads a killed flag as a cancel
            self.ray.kill(self._flag)
        return self.states

    def _loop(self, cancel: threading.Event) -> None:
        pending = deque(s for s in self.states if s.status == "pending")
        while pending or self._running:
            if cancel.is_set():
                self._cancelling()
                pending.clear()
            while pending and len(self._running) < self.options.max_parallel:
                self._submit(pending.popleft())
            self.on_tick()
            if not self._running:
                continue
            ready, _ = self.ray.wait(list(self._running), num_returns=1,
                                     timeout=self.options.poll_s)
            for ref in ready:
                retry = self._collect(ref, self._running.pop(ref), cancel.is_set())
                if retry is not None:
                    pending.appendleft(retry)

    def abort(self) -> None:
        """End every running job now (Ray kills their processes; finished stages stay)."""
        for ref in list(self._running):
            self.ray.cancel(ref, force=True)
        for state in self._running.values():
            self._end(state, "cancelled")
        self._running.clear()

    def _submit(self, state: JobState) -> None:
        ask = {k: v for k, v in state.ask.items() if v > 0 or k == "num_cpus"}
        ref = self._remote.options(**ask, name=f"anchorhoi:{state.job.id}"
                                   ).remote(state.job.request, self._flag)
        state.attempts += 1
        state.status = "running"
        state.started = time.monotonic()
        self._running[ref] = state
        self.on_change(state)

    def _collect(self, ref: Any, state: JobState, cancelling: bool) -> JobState | None:
        """Record how the attempt ended; the state again when it is to be retried."""
        from ray.exceptions import RayError, TaskCancelledError

        state.seconds += time.monotonic() - state.started
        try:
            answer: TaskAnswer = self.ray.get(ref)
        except TaskCancelledError:
            self._end(state, "cancelled")
            return None
        except RayError as exc:  # the worker or its node was lost: no answer
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            state.lost.append(f"{type(exc).__name__}: {first}")
            if cancelling:
                self._end(state, "cancelled")
                return None
            return self._retry_or_fail(state, "INTERNAL", f"the worker running it was lost "
                                       f"({type(exc).__name__})")
        state.answers.append(answer)
        if answer.status == "done":
            self._end(state, "done")
            return None
        if answer.status == "cancelled" or cancelling:
            self._end(state, "cancelled")
            return None
        if answer.exit_code == 1:  # a crash: perhaps passing (memory, a node's hiccup)
            return self._retry_or_fail(state, answer.code or "INTERNAL", answer.message or "")
        state.error, state.exit_code = (answer.code or "INTERNAL", answer.message or ""), \
            answer.exit_code
        self._end(state, "failed")
        return None

    def _retry_or_fail(self, state: JobState, code: str, message: str) -> JobState | None:
        if state.attempts <= self.options.retries:
            log.info("job %s: %s (attempt %d); starting it again, after its finished "
                     "stages", state.job.id, message, state.attempts)
            state.status = "pending"
            self.on_change(state)
            return state
        state.error = (code, f"{message} (after {state.attempts} attempts)")
        state.exit_code = 1
        self._end(state, "failed")
        return None

    def _end(self, state: JobState, status: str) -> None:
        state.status = status
        self.on_change(state)

    def _cancelling(self) -> None:
        now = time.monotonic()
        if self._cancel_at is None:
            self._cancel_at = now
            self._flag.set.remote()
            log.info("cancelling: %d running job(s) stop at their next step",
                     len(self._running))
        elif now - self._cancel_at > self.options.cancel_grace_s and self._running:
            for ref in list(self._running):
                self.ray.cancel(ref, force=True)
            self._cancel_at = float("inf")  # once
