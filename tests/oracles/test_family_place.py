"""Fitting family objects against the posed body (``anchorhoi.oracles.family_place``): a
support's near face clears a hand that comes onto the top from in front of it."""

from __future__ import annotations

import numpy as np
import pytest

from anchorhoi.oracles.family_place import GAP_M, support_under


def grid(x: tuple[float, float], y: float, z: tuple[float, float]) -> np.ndarray:
    xs, zs = np.meshgrid(np.linspace(*x, 5), np.linspace(*z, 5))
    return np.stack([xs.ravel(), np.full(xs.size, y), zs.ravel()], 1)


def test_the_near_face_clears_the_hand_on_its_way_to_the_top():
    hand = grid((-0.05, 0.05), 1.2, (0.3, 0.48))  # the key frame: a flat hand at 1.2 m
    centre = np.array([0.0, 0.0, 0.0])
    alone = support_under(hand, hand, centre=centre, yaw=0.0, half_width=0.3)
    assert alone.top == pytest.approx(1.2 - GAP_M) and alone.near == pytest.approx(0.26)
    # earlier the fingers hang 2 cm under the top, 3 cm behind where the heel comes down
    fingers = grid((-0.05, 0.05), 1.18, (0.28, 0.33))
    cleared = support_under(hand, hand, centre=centre, yaw=0.0, half_width=0.3, sweep=fingers)
    assert cleared.near == pytest.approx(0.33 + 0.02)
    above = fingers + [0.0, 0.03, 0.0]  # over the top: no matter where
    assert support_under(hand, hand, centre=centre, yaw=0.0, half_width=0.3,
                         sweep=above).near == pytest.approx(0.26)
    aside = fingers + [0.5, 0.0, 0.0]  # beside the support
    assert support_under(hand, hand, centre=centre, yaw=0.0, half_width=0.3,
                         sweep=aside).near == pytest.approx(0.26)
    deep = fingers + [0.0, 0.0, 0.14]  # under the top where the hand lands: no support there
    with pytest.raises(ValueError, match="in the way"):
        support_under(hand, hand, centre=centre, yaw=0.0, half_width=0.3, sweep=deep)
