"""The floor a generated object rests on: read from where the person stands
(``object_floor.standing_floor``), and nothing of the object under it
(``object_gen.extract_object(floor=...)``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.density_field import DensityField

from anchorhoi.anchor.object_field import ObjectGenConfig
from anchorhoi.anchor.object_floor import FloorProbe, standing_floor
from anchorhoi.anchor.object_gen import extract_object
from anchorhoi.nerf.cameras import SceneBox
from anchorhoi.objects.extract import is_watertight
from anchorhoi.oracles.family_shapes import box
from anchorhoi.oracles.shape_metrics import volume_iou

CONFIG = ObjectGenConfig(extract_resolution=48, max_faces=3000)
SEAT_MESH = box(0.4, 0.4, 0.4)
"""A 40 cm box standing on the floor at y = 0."""

BOUNDS = np.array([[-1.2, -0.03, -1.2], [1.2, 2.4, 1.2]])
"""An object region whose initial soles are at y = 0 (it reaches 3 cm under them)."""
BAND = (-0.03, 0.04)
"""Where the floor can be: the region's bottom to the floor slab's top."""


def soft_box(x: torch.Tensor, lo, hi, edge: float = 0.008) -> torch.Tensor:
    """1 inside the box ``lo``–``hi``, 0 outside, a sigmoid edge ``edge`` metres wide."""
    lo, hi = (torch.as_tensor(b, dtype=x.dtype) for b in (lo, hi))
    return (torch.sigmoid((x - lo) / edge) * torch.sigmoid((hi - x) / edge)).prod(-1)


def person(lift: float = 0.0):
    """A standing person's density (40 /m inside, blurred): two feet whose soles are at
    ``y = 0.012 + lift`` under a trunk."""
    def density(x: torch.Tensor) -> torch.Tensor:
        y0 = 0.012 + lift
        parts = [soft_box(x, (-0.16, y0, -0.06), (-0.05, y0 + 0.09, 0.2)),
                 soft_box(x, (0.05, y0, -0.06), (0.16, y0 + 0.09, 0.2)),
                 soft_box(x, (-0.2, y0 + 0.09, -0.12), (0.2, y0 + 1.6, 0.12))]
        return 40.0 * torch.stack(parts).amax(0)
    return density


def test_the_floor_is_where_the_person_s_soles_are():
    floor = standing_floor(person(), BOUNDS, BAND)
    assert floor == pytest.approx(0.012, abs=0.004)
    lower = standing_floor(person(lift=-0.025), BOUNDS, BAND)  # 2.5 cm under the initial soles
    assert lower == pytest.approx(-0.013, abs=0.004)


def test_a_person_above_the_band_or_a_speck_gives_no_floor():
    assert standing_floor(person(lift=0.3), BOUNDS, BAND) is None  # standing on something

    def speck(x: torch.Tensor) -> torch.Tensor:  # 3 cm of fog on the floor, the person up
        return torch.maximum(person(lift=0.3)(x),
                             40.0 * soft_box(x, (0.0, 0.0, 0.0), (0.03, 0.01, 0.03), 0.002))
    assert standing_floor(speck, BOUNDS, BAND, FloorProbe(min_columns=1)) is not None
    assert standing_floor(speck, BOUNDS, BAND) is None  # fewer probes meet it than min_columns
    assert standing_floor(person(), BOUNDS, (0.0, 0.002)) is None  # a band thinner than a step


def test_an_object_under_the_floor_is_cut_at_it():
    """A seat whose field reaches 6 cm under the floor (the region's bottom): with the floor
    given, its mesh stands on it; without, it reaches the region's bottom."""
    region = SceneBox(center=(0.0, 0.32, 0.0), half_size=(0.35, 0.38, 0.35))  # bottom −6 cm

    def deep(x: torch.Tensor) -> torch.Tensor:
        lo = torch.tensor([-0.2, -0.06, -0.2], dtype=x.dtype)
        hi = torch.tensor([0.2, 0.4, 0.2], dtype=x.dtype)
        return ((x >= lo) & (x <= hi)).all(-1)

    cut, cut_shift = extract_object(DensityField(deep), region, CONFIG, floor=0.0)
    whole, whole_shift = extract_object(DensityField(deep), region, CONFIG)
    assert is_watertight(cut.faces)
    assert (cut.vertices + cut_shift)[:, 1].min() == pytest.approx(0.0, abs=1e-6)
    assert (whole.vertices + whole_shift)[:, 1].min() < -0.05
    assert volume_iou(SEAT_MESH, (cut.vertices + cut_shift, cut.faces)) > 0.85
    # a floor outside the region changes nothing
    same, same_shift = extract_object(DensityField(deep), region, CONFIG, floor=-0.5)
    np.testing.assert_allclose(same.vertices + same_shift, whole.vertices + whole_shift)
