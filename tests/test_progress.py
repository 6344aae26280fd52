"""The one progress protocol: ``PhaseSteps`` turns the phases of a function into one count."""

from __future__ import annotations

import pytest

from anchorhoi.progress import PhaseSteps


def test_phases_report_one_continuous_count():
    seen = []
    steps = PhaseSteps(lambda step, total, losses: seen.append((step, total, dict(losses))), 6)
    first, second = steps.phase(2), steps.phase(3)
    empty, last = steps.phase(0), steps.phase(1)
    for s in (1, 2):
        first(s, 2, {})
    for s in (1, 2, 3):
        second(s, 3, {"loss": 0.5})
    last(1, 1, {"total": 1.0})
    assert [s[:2] for s in seen] == [(1, 6), (2, 6), (3, 6), (4, 6), (5, 6), (6, 6)]
    assert seen[2][2] == {"loss": 0.5} and seen[-1][2] == {"total": 1.0}
    assert empty is not None and steps.done == 6


def test_nobody_listening_gives_no_callbacks_and_a_raise_propagates():
    quiet = PhaseSteps(None, 4)
    assert quiet.phase(2) is None and quiet.phase(2) is None

    class Stop(Exception):
        pass

    def stop(step, total, losses):
        raise Stop

    with pytest.raises(Stop):
        PhaseSteps(stop, 3).phase(3)(1, 3, {})
