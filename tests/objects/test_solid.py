"""``objects.solid``: the surface level a density's silhouettes ask for, the cells a solid, the
person and the floor shut in, and surfaces moved to their blurred edges' half maximum."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from anchorhoi.objects.solid import enclosed_cells, half_max, peel_to_half_max, silhouette_level

N = 40
"""Lattice side (cells), axes (z, y, x) with y up and the floor under y index 0."""


def box(lo: tuple[int, int, int], hi: tuple[int, int, int]) -> np.ndarray:
    """Cells lo ≤ index < hi, (z, y, x)."""
    a = np.zeros((N, N, N), dtype=bool)
    a[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = True
    return a


def shell(lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """A one-cell skin around the box ``lo``..``hi`` and its inside."""
    outer = box(tuple(i - 1 for i in lo), tuple(i + 1 for i in hi))
    inner = box(lo, hi)
    return outer & ~inner, inner


def test_a_closed_skin_is_filled():
    skin, inside = shell((10, 1, 10), (20, 12, 20))
    assert (enclosed_cells(skin) == inside).all()


def test_a_skin_with_a_gap_is_filled():
    skin, inside = shell((10, 1, 10), (20, 12, 20))
    skin[15, 6, 9] = False  # a one-cell hole in a side wall
    skin[14:16, 12, 14:16] = False  # and a 2 × 2 hole in the top
    filled = enclosed_cells(skin)
    assert filled[inside].mean() > 0.97
    assert not (filled & ~inside & ~skin).any()


def test_a_skin_open_at_the_bottom_stands_on_the_floor():
    inside = box((10, 0, 10), (20, 12, 20))  # no bottom: the field never had to make one
    skin = box((9, 0, 9), (21, 13, 21)) & ~inside
    assert enclosed_cells(skin)[inside].mean() > 0.97
    # without the floor, a bell is open below
    assert enclosed_cells(skin, floor_axis=None)[inside].mean() < 0.5


def test_the_space_under_a_table_stays_open():
    top = box((5, 20, 5), (35, 22, 35))
    legs = (box((5, 0, 5), (8, 20, 8)) | box((32, 0, 5), (35, 20, 8))
            | box((5, 0, 32), (8, 20, 35)) | box((32, 0, 32), (35, 20, 35)))
    filled = enclosed_cells(top | legs)
    assert not filled[:, :20].any()


def test_an_open_tray_stays_open():
    """A concavity wider than it is deep stays open (a deep narrow one — a bucket — fills from
    the bottom, where only rays straight up get out)."""
    skin, inside = shell((10, 1, 10), (30, 5, 30))
    skin[10:30, 5, 10:30] = False  # no lid
    assert not enclosed_cells(skin)[inside].any()


def test_what_the_person_covers_is_filled_and_the_person_is_not():
    skin, inside = shell((10, 1, 10), (20, 12, 20))
    skin[12:18, 12, 12:18] = False  # the top's middle: the sitter covers it, nothing was seen
    person = box((11, 13, 11), (19, 18, 19))
    alone = enclosed_cells(skin)
    covered = enclosed_cells(skin, person)
    assert covered[inside].mean() > 0.97 > alone[inside].mean()
    assert not (covered & person).any()


def test_a_box_the_sitter_covers_and_that_has_no_bottom_is_filled():
    """The fewest of its own walls a covered object shows: its four sides (its 4 horizontal
    lines); the sitter closes every upward direction, the floor every downward one."""
    inside = box((10, 0, 10), (20, 12, 20))
    skin = box((9, 0, 9), (21, 12, 21)) & ~inside  # four walls, no top, no bottom
    person = box((8, 12, 8), (22, 16, 22))
    assert enclosed_cells(skin, person)[inside].mean() > 0.97


def test_space_the_person_shuts_in_is_not_the_object():
    """A stool, a sitter's thighs over it and beyond its front, shins down to the floor and
    the calves beside: the space under the thighs in front of the stool is walled in by the
    person, the floor and the stool's front face, and has the stool on one side only."""
    stool = box((10, 0, 10), (22, 16, 22))
    thighs = box((10, 16, 8), (34, 20, 24))
    shins = box((30, 0, 8), (34, 16, 24))
    calves = box((22, 0, 8), (30, 16, 10)) | box((22, 0, 22), (30, 16, 24))
    person = thighs | shins | calves
    between = box((22, 0, 10), (30, 16, 22))
    assert enclosed_cells(stool, person, min_solid_lines=0)[between].mean() > 0.9
    assert not enclosed_cells(stool, person)[between].any()


def test_min_hits_is_checked():
    with pytest.raises(ValueError, match="min_hits"):
        enclosed_cells(np.zeros((4, 4, 4), dtype=bool), min_hits=27)
    with pytest.raises(ValueError, match="min_solid_lines"):
        enclosed_cells(np.zeros((4, 4, 4), dtype=bool), min_solid_lines=14)


def radial(field_of_r) -> np.ndarray:
    """A density over the lattice as a function of the distance (cells) from its centre."""
    i = np.arange(N) - (N - 1) / 2
    r = np.sqrt(i[:, None, None] ** 2 + i[None, :, None] ** 2 + i[None, None, :] ** 2)
    return field_of_r(r)


def test_a_sharp_field_keeps_its_shape():
    sigma = radial(lambda r: np.where(r <= 10, 300.0, 0.0))
    level = silhouette_level(sigma, 0.01)
    assert 0 < level <= 300
    assert ((sigma >= level) == (sigma > 0)).all()


def test_a_soft_field_is_cut_where_it_turns_opaque():
    """A fog whose density falls linearly from 40/m at 5 cells to 0 at 15: seen from outside it
    is opaque (alpha ½) out to the radius where the chord's integral reaches ln 2; the solid at
    the chosen level has that silhouette, not the fog's outer edge nor its dense core."""
    cell = 0.01
    sigma = radial(lambda r: 40.0 * np.clip((15 - r) / 10, 0, 1))
    alpha = 1 - np.exp(-sigma.sum(0) * cell)
    seen_radius = np.sqrt((alpha > 0.5).sum() / np.pi)  # cells
    solid = sigma >= silhouette_level(sigma, cell)
    cast_radius = np.sqrt(solid.any(0).sum() / np.pi)
    assert abs(cast_radius - seen_radius) < 1.0
    assert 6 < cast_radius < 14


def test_a_side_hidden_in_every_axis_view_is_kept():
    """A hollow box turned 45° on the lattice, walls of 200 /m except one side of 8 /m, in a
    skin of fog (1 /m) that the renders see through. Every lattice line through the faint side
    also crosses a dense wall, so the axis silhouettes are the same at any level from the fog's
    up to the walls': the level is the lowest of them, which keeps the faint side (the
    geometric middle of that range, 14 /m, dropped it) and leaves the fog out."""
    n, cell = 48, 0.01
    i = np.arange(n) - (n - 1) / 2
    x, y, z = np.meshgrid(i, i, i, indexing="ij")
    u, w = (x + z) / np.sqrt(2), (z - x) / np.sqrt(2)

    def turned(a: float, b: float, c: float) -> np.ndarray:  # half-sides along u, y, w
        return (abs(u) <= a) & (abs(y) <= b) & (abs(w) <= c)

    walls = turned(14, 12, 10) & ~turned(12, 10, 8)
    faint = walls & (u > 12) & (abs(y) <= 10) & (abs(w) <= 8)
    fog = turned(15.5, 13.5, 11.5) & ~turned(14, 12, 10)
    sigma = np.where(walls, 200.0, 0.0) - 192.0 * faint + 1.0 * fog
    solid = sigma >= silhouette_level(sigma, cell)
    assert solid[walls].all()
    assert not solid[fog].any()


def test_an_empty_field_is_an_error():
    with pytest.raises(ValueError, match="nowhere positive"):
        silhouette_level(np.zeros((4, 4, 4)), 0.01)


def test_a_fog_over_the_whole_lattice_keeps_a_surface():
    """An untrained field is a faint fog everywhere, opaque along every axis: the level still
    leaves at most about half the lattice solid (there is a surface to mesh)."""
    rng = np.random.default_rng(0)
    sigma = 0.05 + 0.05 * rng.random((N, N, N))
    level = silhouette_level(sigma, 1.0)
    assert 0 < (sigma >= level).mean() <= 0.5


def blurred_board() -> tuple[np.ndarray, np.ndarray]:
    """A 4-cell board (y 10..13) of 100 /m blurred over 1.5 cells, as a field blurs a thin
    part, and the board."""
    board = box((8, 10, 8), (32, 14, 32))
    return ndimage.gaussian_filter(board * 100.0, 1.5), board


def test_a_blurred_board_is_peeled_to_its_thickness():
    """A level low enough for the board's faint rim makes it twice as thick; peeled to the half
    maximum, it is the board again."""
    sigma, board = blurred_board()
    solid = sigma >= 10.0
    assert solid[20, :, 20].sum() >= 8
    kept = peel_to_half_max(solid, sigma, half_max(sigma, 0.01, window=0.04), 0.01, depth=0.03)
    assert (kept[12:28, :, 12:28] == board[12:28, :, 12:28]).all()
    # its rim, blurred from three sides, is fainter and loses about one cell of its width
    assert (kept ^ board).sum() < 0.1 * board.sum()


def test_a_hot_spot_does_not_peel_the_board_beside_it():
    """A few cells at five times the board's density (SDS leaves such spots): half the largest
    density around them is above the whole board's there, which would be peeled away; half
    the 95 % quantile is the board's own half maximum."""
    sigma, board = blurred_board()
    sigma[19:21, 11:13, 19:21] = 500.0
    solid = sigma >= 10.0
    largest = peel_to_half_max(solid, sigma, half_max(sigma, 0.01, window=0.04), 0.01,
                               depth=0.03)
    robust = peel_to_half_max(solid, sigma, half_max(sigma, 0.01, window=0.04, quantile=0.95),
                              0.01, depth=0.03)
    near = (slice(16, 24), slice(None), slice(16, 24))
    assert (largest[near] ^ board[near]).sum() > 0.2 * board[near].sum()
    assert (robust[near] == board[near]).all()


def test_peeling_stops_at_its_depth():
    sigma, _ = blurred_board()
    solid = sigma >= 10.0
    once = peel_to_half_max(solid, sigma, half_max(sigma, 0.01, window=0.04), 0.01, depth=0.01)
    assert solid[20, :, 20].sum() - once[20, :, 20].sum() == 2  # one layer, top and bottom


def test_a_sharp_solid_and_its_inside_are_kept():
    """A sharp block is already at its half maximum; a hollow in its middle (filled before
    peeling, as ``solid_density`` does) is not an outer surface."""
    block = box((5, 1, 5), (30, 25, 30))
    sigma = np.where(block, 200.0, 0.0)
    sigma[12:22, 8:18, 12:22] = 1.0  # a faint core, inside the solid
    assert (peel_to_half_max(block, sigma, half_max(sigma, 0.01, window=0.04), 0.01,
                            depth=0.03) == block).all()


def test_peeling_wants_a_window_and_a_depth():
    ones = np.ones((N, N, N))
    with pytest.raises(ValueError, match="window"):
        half_max(ones, 0.01, window=0.0)
    with pytest.raises(ValueError, match="quantile"):
        half_max(ones, 0.01, window=0.04, quantile=0.0)
    with pytest.raises(ValueError, match="depth"):
        peel_to_half_max(box((1, 1, 1), (3, 3, 3)), ones, ones / 2, 0.01, depth=0.0)


def test_a_field_nowhere_opaque_is_cut_at_half_its_core():
    """A faint ball (4 /m within 8 cells, a faint fog of 0.01 /m around it, 1 cm cells: 0.6 of
    optical depth through its middle, so no axis sees it): its silhouettes say nothing, and
    the level is half its typical inside density — the ball, not the fog around it."""
    sigma = radial(lambda r: np.where(r <= 8, 4.0, 0.01))
    level = silhouette_level(sigma, 0.01)
    assert level == pytest.approx(2.0, rel=0.01)
    assert ((sigma >= level) == (sigma > 1)).all()
