"""The placement-support check on its own: scores with a clear minimum, flat scores, and a far
rival scoring almost as well as the kept placement."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from anchorhoi.anchor.placement_support import SupportConfig, placement_support

CENTRES = np.array(list(itertools.product(np.linspace(-1, 1, 5), np.linspace(-1.2, 0.8, 5),
                                          np.linspace(-1, 1, 5))))
TRUE = np.array([0.5, -0.7, 0.0])


def _bowl(at: np.ndarray) -> np.ndarray:
    """Scores growing with the distance from ``at`` (a prior that sees the object there)."""
    return 1.0 + np.linalg.norm(CENTRES - at, axis=1)


def _judge(scores: np.ndarray):
    i = int(np.argmin(scores))
    return placement_support(scores=scores, centres=CENTRES, best_score=float(scores[i]),
                             best_centre=CENTRES[i], size=0.4, config=SupportConfig())


def test_a_clear_minimum_is_supported():
    s = _judge(_bowl(TRUE))
    assert s.note is None
    assert s.contrast > 0.3 and s.margin > SupportConfig().min_margin


def test_flat_scores_are_reported():
    rng = np.random.default_rng(0)
    s = _judge(1.0 + 0.01 * rng.random(len(CENTRES)))  # 1 % of noise, nothing else
    assert s.contrast < SupportConfig().min_contrast
    assert s.note is not None and "not supported" in s.note and "anchor_turntable.png" in s.note


def test_a_far_rival_is_reported():
    other = np.array([-1.0, 0.8, -1.0])
    scores = np.minimum(_bowl(TRUE), _bowl(other) + 0.02)  # the rival 0.02 worse
    s = _judge(scores)
    assert s.note is not None and "ambiguous" in s.note
    np.testing.assert_allclose(s.rival_centre, other)
    # a far placement clearly worse is no rival
    assert _judge(np.minimum(_bowl(TRUE), _bowl(other) + 0.8)).note is None


def test_support_settings_are_checked():
    with pytest.raises(ValueError, match="min_contrast"):
        SupportConfig(min_contrast=1.0)
