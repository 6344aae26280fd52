"""The one progress protocol: inner loops report ``(step, total, losses)``.

Every loop that runs for long (an SDS step, a fit phase, a denoising step, a detected frame, an
Adam iteration of the motion) takes an optional :data:`StepCallback` and calls it after each
step. The callback may raise to stop the loop at that step boundary (the job's ``Progress``
raises ``Cancelled``); the exception propagates out of the loop unchanged.

A stage runner gets a :data:`StageProgress` and binds the names of its parts itself
(``progress("video")``, ``progress("anchor_nerf[0]")``): the job's ``Progress.bind``.
A function with several phases reports one continuous count over them (:class:`PhaseSteps`).

Hot loops keep their logged values on the device and read them to the host every N steps (a
config field of each loop) in one place, :func:`read_losses`, through :class:`LossReadout`: a
host read is a device sync, and a GPU step is otherwise never waited for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where values are read: this module stays light
    from torch import Tensor

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


def read_losses(losses: Mapping[str, Tensor]) -> dict[str, float]:
    """The one place a loop's device values become numbers: one host read (a device sync)
    for all of them, exact for float32 and float64."""
    if not losses:
        return {}
    import torch

    names = list(losses)
    values = torch.stack([losses[k].detach().reshape(()).to(torch.float64) for k in names])
    return dict(zip(names, values.tolist()))


class LossReadout:
    """A hot loop's logged values, kept on the device and read every ``every`` steps and at the
    last one (:func:`read_losses`); ``on_step`` still runs after every step (progress, cancel
    checks) with the numbers read last. ``values`` holds them; names in ``unreported`` are read
    in the same host read but kept out of ``values`` (``extra``: e.g. a count to warn about)."""

    def __init__(self, on_step: StepCallback | None, total: int, every: int, *,
                 unreported: tuple[str, ...] = ()):
        if every < 1:
            raise ValueError(f"a loop reads its losses every ≥ 1 steps, got {every}")
        self.on_step = on_step
        self.total = int(total)
        self.every = int(every)
        self.unreported = unreported
        self.values: dict[str, float] = {}
        self.extra: dict[str, float] = {}

    def due(self, step: int) -> bool:
        """Whether ``step`` (from 1) is a read: every ``every``-th step and the last."""
        return step % self.every == 0 or step == self.total

    def step(self, step: int, losses: Mapping[str, Tensor]) -> bool:
        """After step ``step`` (from 1): read ``losses`` when due, then report. Returns whether
        it read."""
        due = self.due(step)
        if due:
            read = read_losses(losses)
            self.extra = {k: read.pop(k) for k in self.unreported if k in read}
            self.values = read
        if self.on_step is not None:
            self.on_step(step, self.total, self.values)
        return due
