"""The generated object's mesh keeps out of the person: ``object_gen.extract_object`` with the
human field's density carves the person's dense region out of the object field (the fields
only pay for overlapping, so the object field can hold part of the person's volume)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from helpers.density_field import DensityField as Field

from anchorhoi.anchor.object_field import ObjectGenConfig
from anchorhoi.anchor.object_gen import extract_object
from anchorhoi.nerf.cameras import SceneBox
from anchorhoi.objects.extract import NoSurfaceError, is_watertight
from anchorhoi.oracles.family_shapes import box
from anchorhoi.oracles.shape_metrics import volume_iou

REGION = SceneBox(center=(0.0, 0.35, 0.0), half_size=(0.35, 0.35, 0.35))
"""The object region: the floor at y = 0."""
SEAT = (np.array([-0.2, 0.0, -0.2]), np.array([0.2, 0.4, 0.2]))
"""A 40 cm box standing on the floor: what the object field holds."""
SITTER = (np.array([0.0, 0.45, 0.0]), 0.2)
"""A ball of the person, 15 cm deep into the box's top."""
SEAT_MESH = box(0.4, 0.4, 0.4)
"""The seat's mesh (scoring what was extracted)."""
CONFIG = ObjectGenConfig(extract_resolution=48, max_faces=3000)


def in_box(x: torch.Tensor) -> torch.Tensor:
    lo, hi = (torch.as_tensor(b, dtype=x.dtype) for b in SEAT)
    return ((x >= lo) & (x <= hi)).all(-1)


def in_ball(x: torch.Tensor) -> torch.Tensor:
    centre, radius = SITTER
    return (x - torch.as_tensor(centre, dtype=x.dtype)).norm(dim=-1) <= radius


def test_the_person_is_carved_out_of_the_object():
    cell = 0.7 / (CONFIG.extract_resolution - 1)
    whole, shift = extract_object(Field(in_box), REGION, CONFIG)
    carved, carved_shift = extract_object(Field(in_box), REGION, CONFIG,
                                          person=Field(in_ball).density)
    for mesh in (whole, carved):
        assert is_watertight(mesh.faces) and np.isfinite(mesh.vertices).all()
    top = (whole.vertices + shift)[:, 1].max()
    assert abs(top - 0.4) < cell
    placed = carved.vertices + carved_shift
    centre, radius = SITTER
    depth = radius - np.linalg.norm(placed - centre, axis=1)
    assert depth.max() < cell  # no vertex inside the person
    middle = placed[np.linalg.norm(placed[:, [0, 2]], axis=1) < 0.05]
    hollow = centre[1] - np.sqrt(radius ** 2 - 0.05 ** 2)  # the ball's bottom 5 cm off its axis
    assert len(middle) and middle[:, 1].max() < hollow + cell  # the seat's top is hollowed
    assert placed[:, 1].max() == pytest.approx(0.4, abs=cell)  # its corners stand


def test_an_object_only_where_the_person_is_keeps_its_mesh(caplog):
    with caplog.at_level(logging.WARNING, logger="anchorhoi.anchor.object_gen"):
        mesh, shift = extract_object(Field(in_box), REGION, CONFIG,
                                     person=Field(in_box).density)
    assert "dense only where the person is" in caplog.text
    assert abs((mesh.vertices + shift)[:, 1].max() - 0.4) < 0.7 / (CONFIG.extract_resolution - 1)


def soft_skin(x: torch.Tensor) -> torch.Tensor:
    """The seat as SDS may leave it: a 4 cm skin of soft density (30/m), hollow, with an
    8 × 8 cm gap in its top."""
    lo, hi = (torch.as_tensor(b, dtype=x.dtype) for b in SEAT)
    inside = ((x >= lo) & (x <= hi)).all(-1)
    core = ((x >= lo + 0.04) & (x <= hi - 0.04)).all(-1)
    gap = (x[:, [0, 2]].abs() < 0.04).all(-1) & (x[:, 1] > 0.3)
    return (inside & ~core & ~gap).to(x.dtype) * 30.0 / 200.0


def test_a_soft_hollow_skin_with_a_gap_becomes_the_solid_seat():
    mesh, shift = extract_object(Field(soft_skin), REGION, CONFIG)
    assert is_watertight(mesh.faces)
    lo, hi = SEAT
    # unfilled, the 4 cm skin would be half the box (IoU ≈ 0.5); filled, what is left is the
    # lattice's half cell (1.5 cm cells: the surface is put halfway between the last point
    # inside and the first outside, up to ~7 mm off each face here)
    assert volume_iou(SEAT_MESH, (mesh.vertices + shift, mesh.faces)) > 0.85
    placed = mesh.vertices + shift
    cell = 0.7 / (CONFIG.extract_resolution - 1)
    assert np.abs(placed.min(0) - lo).max() < cell and np.abs(placed.max(0) - hi).max() < cell


def open_bottomed_skin(x: torch.Tensor) -> torch.Tensor:
    """The seat's 4 cm skin (dense) without its bottom: walls and top, open to the floor."""
    lo, hi = (torch.as_tensor(b, dtype=x.dtype) for b in SEAT)
    inside = ((x >= lo) & (x <= hi)).all(-1)
    hollow = ((x[:, [0, 2]] > lo[[0, 2]] + 0.04) & (x[:, [0, 2]] < hi[[0, 2]] - 0.04)).all(-1) \
        & (x[:, 1] < hi[1] - 0.04)
    return (inside & ~hollow).to(x.dtype)


def test_an_object_on_the_floor_rests_on_it_wherever_the_region_s_bottom_is():
    """The region reaches below the initial soles (``ObjectRegion.below_soles``): the floor
    that shuts an open-bottomed seat in is under the solid's lowest layer, not the region's."""
    low = SceneBox(center=(0.0, 0.32, 0.0), half_size=(0.35, 0.38, 0.35))  # bottom at −6 cm
    on, on_shift = extract_object(Field(open_bottomed_skin), low, CONFIG, on_floor=True)
    off, off_shift = extract_object(Field(open_bottomed_skin), low, CONFIG, on_floor=False)
    assert volume_iou(SEAT_MESH, (on.vertices + on_shift, on.faces)) > 0.85
    assert volume_iou(SEAT_MESH, (off.vertices + off_shift, off.faces)) < 0.7


def test_an_empty_object_field_is_a_clear_error():
    def nothing(x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(x), dtype=torch.bool)

    with pytest.raises(NoSurfaceError, match="--object-prompt"):
        extract_object(Field(nothing), REGION, CONFIG)
