"""Where the object search starts its fine stage and how low it looks (no rendering): the
distinct (orientation, centre) hypotheses it refines, and the floor margin of its region."""

from __future__ import annotations

import numpy as np

from anchorhoi.anchor.object_search import ObjectSearchConfig, _hypotheses, _region, _yaw
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
