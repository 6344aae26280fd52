"""The generate operator's per-tick work timed from outside the add-on (the add-on itself
keeps no timings): wall and CPU seconds of every call, and the run the calls drove."""

from __future__ import annotations

import time
from types import ModuleType


class TickTimer:
    """Within ``with TickTimer(module):`` the ``tick_run`` of ``module`` (the add-on's
    ``operators.generate``, as installed) is wrapped; the operator looks it up on every tick,
    so EXEC, modal and direct calls are all timed."""

    def __init__(self, module: ModuleType):
        self.module = module
        self.wall: list[float] = []
        self.cpu: list[float] = []  # this thread's CPU time: preemption on a busy machine excluded
        self.run = None

    def __enter__(self) -> TickTimer:
        original = self._original = self.module.tick_run

        def timed(run, status):
            self.run = run
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return original(run, status)
            finally:
                self.wall.append(time.perf_counter() - t0)
                self.cpu.append(time.thread_time() - c0)

        self.module.tick_run = timed
        return self

    def __exit__(self, *exc) -> bool:
        self.module.tick_run = self._original
        return False

    @property
    def cancel_to_exit_s(self) -> float:
        """Seconds from the cancel line to the backend's exit, in the timed run."""
        job = self.run.job
        return job.exited_at - job.cancel_sent_at
