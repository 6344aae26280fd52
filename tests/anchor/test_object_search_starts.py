"""Where the object search starts its fine stage and how low it looks (no rendering): the
distinct (orientation, centre) hypotheses it refines, and the floor margin of its region."""

from __future__ import annotations

import numpy as np
import pytest

from anchorhoi.anchor.object_search import (
    ObjectSearchConfig,
    _hypotheses,
    _refine,
    _refine_blurs,
    _region,
    _yaw,
)
from anchorhoi.anchor.stage import sds_parts
from anchorhoi.nerf.cameras import SceneBox

STEP = np.array([0.3, 0.3, 0.3])


def test_the_fine_stage_starts_from_distinct_hypotheses_of_one_tilt():
    # upright only (no lying): the old rule, the best of each tilt, refined a single start
    a, b = np.zeros(3), np.array([0.6, 0.0, 0.0])
    turned = _yaw(np.pi / 4)
    tried = [
        (0.10, 0, np.eye(3), a),  # the best
        (0.11, 0, np.eye(3), a + 0.1),  # within a grid step of it, same turn: not distinct
        (0.12, 0, turned, a),  # same centre, another turn: distinct
        (0.13, 0, np.eye(3), b),  # same turn, two grid steps away: distinct
        (0.14, 0, turned, b),
    ]
    starts = _hypotheses(tried, 3, STEP)
    assert [s for s, _, _ in starts] == [0.10, 0.12, 0.13]
    assert len(_hypotheses(tried, 1, STEP)) == 1


def test_the_best_of_each_tilt_comes_first():
    tipped = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
    tried = [(0.10, 0, np.eye(3), np.zeros(3)), (0.11, 0, _yaw(1.0), np.zeros(3)),
             (0.30, 1, tipped, np.zeros(3))]
    starts = _hypotheses(tried, 2, STEP)
    assert [s for s, _, _ in starts] == [0.10, 0.30]


def test_the_region_reaches_below_the_initial_soles_by_the_floor_margin():
    # another body shape stands a few centimetres lower: the object's floor may be there
    box = SceneBox(center=(0.0, -0.2, 0.0), half_size=(1.25, 1.25, 1.25))
    cube = np.array([[x, y, z] for x in (-0.2, 0.2) for y in (0.0, 0.4) for z in (-0.2, 0.2)])
    margin = ObjectSearchConfig().floor_margin
    assert 0.03 <= margin <= 0.1
    lo, _, _ = _region(cube, box, (0.0, 0.0), -1.3 - margin, 1.0)
    assert np.isclose(lo[1], -1.3 - margin + 0.2)  # the centre half the height above it


def test_a_symmetric_turn_of_a_start_is_not_another_start():
    # a table turned by half a turn renders the same: the same score at the same centre
    a, b = np.zeros(3), np.array([0.6, 0.0, 0.0])
    tried = [(0.10, 0, _yaw(np.pi / 2), a), (0.10 * (1 + 1e-7), 0, _yaw(-np.pi / 2), a),
             (0.12, 0, np.eye(3), a), (0.13, 0, np.eye(3), b)]
    starts = _hypotheses(tried, 3, STEP)
    assert [s for s, _, _ in starts] == [0.10, 0.12, 0.13]


def test_the_refinement_is_blurred_coarse_to_fine_and_ends_sharp():
    blurs = _refine_blurs(1.5, 4)
    assert blurs == [1.5, 0.75, 0.375, 0.0]
    assert _refine_blurs(0.0, 3) == [0.0, 0.0, 0.0]
    assert _refine_blurs(1.5, 1) == [0.0]  # one round: sharp


def _refine_towards(target: np.ndarray, moves: int) -> tuple[np.ndarray, list[float]]:
    """Refine from the origin on a bowl scored at ``target`` (no rendering); the kept centre
    and the blurs the scores were asked at."""
    blurs: list[float] = []

    def score(c, rot, *, anywhere=False, blur=0.0, seen=None):
        blurs.append(blur)
        return float(np.sum((c - target) ** 2))

    def region(rot):
        return np.full(3, -5.0), np.full(3, 5.0), np.ones(3)

    config = ObjectSearchConfig(refine_rounds=4, refine_moves=moves, yaw_steps=1)
    _, _, centre = _refine(score, region, score(np.zeros(3), np.eye(3)), np.eye(3),
                           np.zeros(3), STEP, np.pi / 4, config, blur=1.5)
    return centre, blurs[1:]


def test_the_refinement_walks_on_while_it_improves():
    # a start 1.5 grid steps off: halving the step after one move travels at most
    # 1/2 + 1/4 + 1/8 + 1/16 of a step and stops short; moving again while it improves arrives
    target = 1.5 * STEP * np.array([1.0, -1.0, 0.0])
    once, _ = _refine_towards(target, 1)
    assert np.linalg.norm(once - target) > 0.5 * STEP[0]
    walked, blurs = _refine_towards(target, 3)
    assert np.linalg.norm(walked - target) < 0.03
    assert blurs[0] == 1.5 and blurs[-1] == 0.0  # coarse to fine, the last round sharp
    assert sorted(set(blurs), reverse=True) == _refine_blurs(1.5, 4)


def test_round_zeros_sds_is_split_around_the_searches_run_again():
    assert sds_parts(150, (0.5, 1.0)) == [(0, 75), (75, 150)]
    assert sds_parts(150, ()) == [(0, 150)]
    assert sds_parts(150, (1.0,)) == [(0, 150)]
    assert sds_parts(3, (0.01,)) == [(0, 1), (1, 3)]  # no part empty
    assert sds_parts(1, (0.5,)) == [(0, 1)]
    assert ObjectSearchConfig().after_sds == (0.5, 1.0)
    with pytest.raises(ValueError, match="after_sds"):
        ObjectSearchConfig(after_sds=(0.0,))
