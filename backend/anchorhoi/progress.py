"""The one progress protocol: inner loops report ``(step, total, losses)``.

Every loop that runs for long (an SDS step, a fit phase, a denoising step, a detected frame, an
Adam iteration of the motion) takes an optional :data:`StepCallback` and calls it after each
step. The callback may raise to stop the loop at that step boundary (the job's ``Progress``
raises ``Cancelled``); the exception propagates out of the loop unchanged.

A stage runner gets a :data:`StageProgress` and binds the names of its parts itself
(``progress("video")``, ``progress("anchor_nerf[0]")``): the job's ``Progress.bind``.
A function with several phases reports one continuous count over them (:class:`PhaseSteps`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

StepCallback = Callable[[int, int, Mapping[str, float]], None]
"""``on_step(step, total, losses)`` after each step: ``step`` counts from 1 to ``total``;
``losses`` holds figures worth showing (may be empty). May raise to stop the loop."""

StageProgress = Callable[[str], StepCallback]
"""``progress(part)`` → the :data:`StepCallback` of one named part of a stage (the stage runner
names its parts; the job shows the name, the step count and an ETA)."""


class PhaseSteps:
    """One continuous step count over consecutive phases: ``phase(n)`` is the callback of the
    next ``n`` steps, which reports them as ``done + step`` of the whole ``total``."""

    def __init__(self, on_step: StepCallback | None, total: int):
        self.on_step = on_step
        self.total = int(total)
        self.done = 0

    def phase(self, steps: int) -> StepCallback | None:
        """The callback for the next phase of ``steps`` steps (None when nobody listens)."""
        start = self.done
        self.done += max(int(steps), 0)
        if self.on_step is None:
            return None
        on_step, total = self.on_step, self.total

        def report(step: int, _steps: int, losses: Mapping[str, float]) -> None:
            on_step(start + step, total, losses)

        return report
