"""``extract_mesh`` on analytic densities: closed, one piece, within budget, the right shape and
colours; and the written ``.glb`` / ``.obj`` read back through ``load_object_mesh``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from anchorhoi.objects.extract import (
    ExtractConfig,
    NoSurfaceError,
    extract_mesh,
    is_watertight,
    piece_labels,
)
from anchorhoi.objects.mesh_export import save_glb, save_mesh
from anchorhoi.objects.mesh_io import MeshError, load_object_mesh

BOUNDS = np.array([[-0.5, 0.0, -0.5], [0.5, 0.6, 0.5]])
CONFIG = ExtractConfig(resolution=48, face_budget=1500, density_level=25.0)
SOFT = 0.01  # metres over which the analytic densities fall from 50 to 0


def solid(sdf):
    """Density 50 well inside, 0 well outside, 25 on the surface ``sdf = 0``."""
    return lambda p: 50.0 * torch.sigmoid(-sdf(p) / SOFT)


def ball(centre, radius):
    c = torch.tensor(centre, dtype=torch.float32)
    return lambda p: (p - c).norm(dim=1) - radius


def box(centre, half):
    c, h = torch.tensor(centre), torch.tensor(half)
    return lambda p: ((p - c).abs() - h).amax(1)


def torus(p, big=0.3, small=0.08, height=0.15):
    ring = torch.stack([(p[:, 0] ** 2 + p[:, 2] ** 2).sqrt() - big, p[:, 1] - height], 1)
    return ring.norm(dim=1) - small


def height_colour(p):
    """Red everywhere, green rising with the height, blue 0.1: checks which vertex got what."""
    return torch.stack([torch.full_like(p[:, 0], 0.8), (p[:, 1] / 0.6).clamp(0, 1),
                        torch.full_like(p[:, 0], 0.1)], 1)


def check_clean(mesh, budget=CONFIG.face_budget):
    assert len(mesh.faces) <= budget
    assert np.isfinite(mesh.vertices).all()
    assert is_watertight(mesh.faces)
    assert piece_labels(mesh.faces, len(mesh.vertices))[0] == 1
    assert mesh.vertex_colors is not None and mesh.vertex_colors.shape == mesh.vertices.shape
    assert np.isfinite(mesh.vertex_colors).all()
    assert (mesh.vertex_colors >= 0).all() and (mesh.vertex_colors <= 1).all()


def enclosed_volume(mesh):
    a, b, c = (mesh.vertices[mesh.faces[:, i]] for i in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def test_ball_is_a_clean_sphere_with_its_colours():
    mesh = extract_mesh(solid(ball((0.1, 0.25, 0.0), 0.2)), height_colour, bounds=BOUNDS,
                        config=CONFIG)
    check_clean(mesh)
    radii = np.linalg.norm(mesh.vertices - [0.1, 0.25, 0.0], axis=1)
    assert np.abs(radii - 0.2).max() < 0.01  # within half a cell of the true sphere
    assert enclosed_volume(mesh) == pytest.approx(4 / 3 * np.pi * 0.2 ** 3, rel=0.05)
    expected = np.clip(mesh.vertices[:, 1] / 0.6, 0, 1)
    np.testing.assert_allclose(mesh.vertex_colors[:, 1], expected, atol=1e-5)
    np.testing.assert_allclose(mesh.vertex_colors[:, [0, 2]], np.tile([0.8, 0.1], (len(expected),
                                                                                   1)), atol=1e-6)
    assert any("simplified" in c for c in mesh.corrections)


def test_box_cut_by_the_bounds_is_closed_on_them():
    """A box on the floor taller than the bounds: capped at the floor and at the top bound."""
    mesh = extract_mesh(solid(box((0.0, 0.3, 0.0), (0.2, 1.0, 0.15))), height_colour,
                        bounds=BOUNDS, config=CONFIG)
    check_clean(mesh)
    lo, hi = mesh.bounds
    np.testing.assert_allclose(lo, [-0.2, 0.0, -0.15], atol=0.012)
    np.testing.assert_allclose(hi, [0.2, 0.6, 0.15], atol=0.012)
    assert enclosed_volume(mesh) == pytest.approx(0.4 * 0.6 * 0.3, rel=0.05)


def test_two_blobs_keep_the_larger_one():
    def two(p):
        return torch.minimum(ball((-0.25, 0.2, 0.0), 0.15)(p), ball((0.3, 0.2, 0.0), 0.08)(p))

    mesh = extract_mesh(solid(two), height_colour, bounds=BOUNDS, config=CONFIG)
    check_clean(mesh)
    assert np.linalg.norm(mesh.vertices - [-0.25, 0.2, 0.0], axis=1).max() < 0.16
    assert any("largest of 2" in c for c in mesh.corrections)


def test_torus_keeps_its_hole():
    mesh = extract_mesh(solid(torus), height_colour, bounds=BOUNDS, config=CONFIG)
    check_clean(mesh)
    edges = len(mesh.faces) * 3 // 2
    assert len(mesh.vertices) - edges + len(mesh.faces) == 0  # Euler characteristic of a torus
    axis_distance = np.linalg.norm(mesh.vertices[:, [0, 2]], axis=1)
    assert axis_distance.min() > 0.2  # nothing fills the hole


def test_small_budget_stays_within_it_and_closed():
    mesh = extract_mesh(solid(torus), height_colour, bounds=BOUNDS,
                        config=ExtractConfig(resolution=48, face_budget=120))
    check_clean(mesh, budget=120)


def test_empty_and_full_fields_say_so():
    with pytest.raises(NoSurfaceError, match="empty"):
        extract_mesh(lambda p: torch.zeros(len(p)), height_colour, bounds=BOUNDS, config=CONFIG)
    with pytest.raises(NoSurfaceError, match="solid everywhere"):
        extract_mesh(lambda p: torch.full((len(p),), 100.0), height_colour, bounds=BOUNDS,
                     config=CONFIG)
    with pytest.raises(MeshError, match="NaN"):
        extract_mesh(lambda p: torch.full((len(p),), float("nan")), height_colour,
                     bounds=BOUNDS, config=CONFIG)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="bounds"):
        extract_mesh(solid(torus), height_colour, bounds=[[0, 0, 0], [1, 0, 1]], config=CONFIG)
    with pytest.raises(ValueError, match="resolution"):
        ExtractConfig(resolution=2)


def test_chunks_do_not_change_the_mesh():
    calls = []

    def counted(p):
        calls.append(len(p))
        return solid(ball((0.0, 0.3, 0.0), 0.2))(p)

    whole = extract_mesh(counted, height_colour, bounds=BOUNDS, config=CONFIG)
    calls.clear()
    chunked = extract_mesh(counted, height_colour, bounds=BOUNDS,
                           config=ExtractConfig(resolution=48, face_budget=1500, chunk_points=999))
    assert max(calls) <= 999
    np.testing.assert_array_equal(whole.faces, chunked.faces)
    np.testing.assert_allclose(whole.vertices, chunked.vertices)


@pytest.mark.parametrize("suffix", [".glb", ".obj"])
def test_written_mesh_loads_back_with_its_colours(tmp_path, suffix):
    mesh = extract_mesh(solid(ball((0.0, 0.2, 0.0), 0.2)), height_colour, bounds=BOUNDS,
                        config=CONFIG)
    path = save_mesh(tmp_path / f"object{suffix}", mesh)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
    back = load_object_mesh(path)
    assert back.faces.shape == mesh.faces.shape
    # load_object_mesh stands the object on y = 0 and centres x, z: the same shape, moved
    lo = mesh.bounds[0]
    shift = np.array([(lo[0] + mesh.bounds[1][0]) / 2, lo[1], (lo[2] + mesh.bounds[1][2]) / 2])
    np.testing.assert_allclose(back.vertices, mesh.vertices - shift, atol=1e-5)
    np.testing.assert_allclose(back.vertex_colors, mesh.vertex_colors, atol=0.5 / 255 + 1e-6)
    assert is_watertight(back.faces)


def test_glb_without_colours_and_unknown_suffix(tmp_path):
    mesh = extract_mesh(solid(ball((0.0, 0.2, 0.0), 0.2)), height_colour, bounds=BOUNDS,
                        config=CONFIG)
    plain = type(mesh)(vertices=mesh.vertices, faces=mesh.faces)
    assert load_object_mesh(save_glb(tmp_path / "plain.glb", plain)).vertex_colors is None
    with pytest.raises(ValueError, match=".glb"):
        save_mesh(tmp_path / "object.stl", mesh)


def test_a_budget_too_small_for_the_shape_is_an_error():
    """A closed torus needs at least 14 triangles: decimation and the coarser grids both fail."""
    with pytest.raises(MeshError, match="Raise the face budget"):
        extract_mesh(solid(torus), height_colour, bounds=BOUNDS,
                     config=ExtractConfig(resolution=48, face_budget=10))
