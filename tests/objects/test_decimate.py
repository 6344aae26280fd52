"""``decimate``: closed meshes simplified to a budget stay closed, whole and in shape — thin
parts (a table's legs one lattice cell wide) included."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.measure import marching_cubes

from anchorhoi.objects.decimate import decimate
from anchorhoi.objects.extract import ExtractConfig, extract_mesh, is_watertight, piece_labels

CELL = 0.02


def surface(sdf, lo, hi):
    """Marching cubes of ``sdf < 0`` on a ``CELL`` lattice (padded: closed), world metres."""
    axes = [np.arange(a - 2 * CELL, b + 2 * CELL, CELL) for a, b in zip(lo, hi, strict=True)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1)
    values = sdf(torch.as_tensor(grid.reshape(-1, 3))).numpy().reshape(grid.shape[:3])
    v, f, _, _ = marching_cubes(values, level=0.0, spacing=(CELL,) * 3, allow_degenerate=False)
    v = v + np.array([a[0] for a in axes])
    f = f[:, ::-1].copy()  # marching cubes winds inwards for an sdf
    assert is_watertight(f)
    return v, f.astype(np.int64)


def volume(v, f):
    a, b, c = (v[f[:, i]] for i in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def euler(v, f):
    return len(v) - len(f) * 3 // 2 + len(f)


def rod(p, radius=0.016):
    """A thin upright rod, 1.6 cells across, and a ring of the same thickness round it."""
    upright = torch.maximum((p[:, [0, 2]]).norm(dim=1) - radius, (p[:, 1] - 0.3).abs() - 0.3)
    ring_r = torch.stack([(p[:, 0] ** 2 + p[:, 2] ** 2).sqrt() - 0.2, p[:, 1] - 0.3], 1)
    return torch.minimum(upright, ring_r.norm(dim=1) - radius)


def test_a_sphere_keeps_its_volume_and_surface():
    v, f = surface(lambda p: p.norm(dim=1) - 0.3, (-0.3,) * 3, (0.3,) * 3)
    v2, f2 = decimate(v, f, 400)
    assert len(f2) <= 400 and is_watertight(f2) and piece_labels(f2, len(v2))[0] == 1
    assert volume(v2, f2) == pytest.approx(volume(v, f), rel=0.03)
    assert np.abs(np.linalg.norm(v2, axis=1) - 0.3).max() < 0.01


def test_thin_rods_never_pinch():
    """Rods 1.6 lattice cells across (tubes a few vertices round) through a heavy decimation:
    still closed, the same pieces (a rod and a ring round it), the same genus, every part
    still there. (fast-simplification, used before, left this mesh open from a quarter of its
    faces down.)"""
    v, f = surface(rod, (-0.25, -0.02, -0.25), (0.25, 0.62, 0.25))
    v2, f2 = decimate(v, f, len(f) // 6)
    assert len(f2) <= len(f) // 6
    assert is_watertight(f2)
    assert piece_labels(f2, len(v2))[0] == piece_labels(f, len(v))[0]
    assert euler(v2, f2) == euler(v, f)
    assert v2[:, 1].min() < 0.02 and v2[:, 1].max() > 0.58  # the rod's ends
    ring = np.linalg.norm(v2[:, [0, 2]], axis=1)
    assert (ring > 0.18).sum() > 10  # the ring


def test_a_mesh_within_the_budget_is_returned_as_it_is():
    v, f = surface(lambda p: p.norm(dim=1) - 0.1, (-0.1,) * 3, (0.1,) * 3)
    v2, f2 = decimate(v, f, len(f))
    assert np.array_equal(v2, v) and np.array_equal(f2, f)


def table(p):
    """A table: a 3 cm top on four legs 2.5 cm square (1.2 cells of a 48-point lattice)."""
    top = ((p - torch.tensor([0.0, 0.5, 0.0])).abs() - torch.tensor([0.4, 0.015, 0.3])).amax(1)
    legs = [((p - torch.tensor([x, 0.25, z])).abs() - torch.tensor([0.0125, 0.25, 0.0125])
             ).amax(1) for x in (-0.35, 0.35) for z in (-0.25, 0.25)]
    return torch.stack([top, *legs]).amin(0)


def test_extracted_table_keeps_all_four_legs_within_the_budget():
    """The budget needs decimation, and the decimated mesh is the one kept (not the coarser
    grid's last resort, on which thin legs vanish: two of a generated table's four did)."""
    bounds = np.array([[-0.5, 0.0, -0.5], [0.5, 0.6, 0.5]])
    mesh = extract_mesh(lambda p: 50.0 * torch.sigmoid(-table(p) / 0.003),
                        lambda p: torch.full((len(p), 3), 0.5), bounds=bounds,
                        config=ExtractConfig(resolution=48, face_budget=1200))
    assert len(mesh.faces) <= 1200 and is_watertight(mesh.faces)
    assert piece_labels(mesh.faces, len(mesh.vertices))[0] == 1
    assert not any("coarser grid" in c for c in mesh.corrections)
    low = mesh.vertices[mesh.vertices[:, 1] < 0.1]
    for x in (-0.35, 0.35):
        for z in (-0.25, 0.25):
            near = np.linalg.norm(low[:, [0, 2]] - [x, z], axis=1) < 0.04
            assert near.sum() >= 3, f"the leg at ({x}, {z}) is missing"
