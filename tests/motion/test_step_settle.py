"""Phase 3's step size settles at its end (``MotionSchedule.settle_iterations``): Adam at a
constant step leaves every frame's parameters oscillating about their optimum by about a step,
which a planted foot shows as sliding."""

from __future__ import annotations

import itertools

import pytest

from anchorhoi.motion.config import MotionSchedule
from anchorhoi.motion.optimize import _settle_factor


def test_the_step_is_constant_until_the_last_iterations_then_falls_to_the_settled_step():
    schedule = MotionSchedule(learning_rate=0.02, settle_iterations=40, settle_learning_rate=0.002)
    factors = [_settle_factor(schedule, it, 160) for it in range(160)]
    assert factors[:120] == [1.0] * 120
    assert all(a > b for a, b in itertools.pairwise(factors[119:]))
    assert factors[-1] == pytest.approx(0.1)
    assert factors[139] == pytest.approx(0.1 ** 0.5)  # geometric: halfway in log


def test_a_short_phase_settles_over_all_of_it_and_zero_never_settles():
    schedule = MotionSchedule(settle_iterations=40, settle_learning_rate=0.002)
    short = [_settle_factor(schedule, it, 10) for it in range(10)]
    assert short[0] < 1.0 and short[-1] == pytest.approx(0.002 / schedule.learning_rate)
    never = MotionSchedule(settle_iterations=0)
    assert {_settle_factor(never, it, 50) for it in range(50)} == {1.0}
    with pytest.raises(ValueError, match="settle_learning_rate"):
        MotionSchedule(settle_learning_rate=0.0)
