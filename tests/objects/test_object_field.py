"""Winding number, distances, the SDF grid and the placed object field."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import trimesh

from anchorhoi.objects import (
    ObjectField,
    ObjectFieldConfig,
    ObjectMesh,
    TriangleLeaves,
    build_sdf_grid,
    load_object_mesh,
    signed_distance,
    simplify_for_field,
    unsigned_distance,
    winding_number,
)
from anchorhoi.objects.inside import _distance_terms, _solid_angles, _squared_distances

DTYPE = torch.float64


def _cube_mesh(extents=(1.0, 1.0, 1.0)) -> ObjectMesh:
    """A box standing on the ground, centred in x/z (the scene object frame)."""
    box = trimesh.creation.box(extents=extents)
    return ObjectMesh(vertices=box.vertices + [0, extents[1] / 2, 0],
                      faces=box.faces.astype(np.int64))


def _grid_points(lo, hi, n=7):
    axes = [torch.linspace(a, b, n, dtype=DTYPE) for a, b in zip(lo, hi)]
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)


def _brute_winding(points, vertices, faces):
    corners = torch.as_tensor(vertices[faces].reshape(-1, 9).T, dtype=DTYPE)  # (9, F)
    angles = _solid_angles(points, corners[:, None, :].expand(9, len(points), -1))
    return angles.sum(1) / (4 * math.pi)


def _brute_distance(points, vertices, faces):
    terms = torch.as_tensor(_distance_terms(vertices[faces][None]), dtype=DTYPE)  # (20, 1, F)
    return _squared_distances(points, terms.expand(-1, len(points), -1)).amin(1).sqrt()


def test_winding_number_of_a_closed_box_is_one_inside_zero_outside():
    mesh = _cube_mesh()
    inside = _grid_points((-0.45, 0.05, -0.45), (0.45, 0.95, 0.45))
    outside = torch.cat([_grid_points((0.55, -1, -1), (3, 2, 1)),
                         _grid_points((-1, 1.05, -1), (1, 4, 1))])

    np.testing.assert_allclose(winding_number(inside, mesh.vertices, mesh.faces), 1, atol=1e-9)
    np.testing.assert_allclose(winding_number(outside, mesh.vertices, mesh.faces), 0, atol=1e-9)


def test_winding_number_of_a_box_with_a_missing_side_still_separates():
    mesh = _cube_mesh()
    normals = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False).face_normals
    faces = mesh.faces[normals[:, 0] < 0.5]  # the +x side removed: not watertight
    assert len(faces) == 10
    inside = _grid_points((-0.45, 0.05, -0.45), (0.3, 0.95, 0.45))
    outside = torch.cat([_grid_points((-3, -1, -1), (-0.55, 2, 1)),
                         _grid_points((-1, 1.05, -1), (0.3, 4, 1))])

    w_in = winding_number(inside, mesh.vertices, faces)
    w_out = winding_number(outside, mesh.vertices, faces)

    assert w_in.min() > 0.5 and w_out.max() < 0.5
    # seen from the centre the missing side is a sixth of the sphere
    centre = torch.tensor([[0.0, 0.5, 0.0]], dtype=DTYPE)
    assert winding_number(centre, mesh.vertices, faces).item() == pytest.approx(5 / 6, abs=1e-9)


def test_accelerated_queries_match_brute_force_on_a_finer_mesh():
    sphere = trimesh.creation.icosphere(subdivisions=3)  # 1280 faces, 40 leaves
    v = sphere.vertices * (1 + 0.2 * np.sin(3 * sphere.vertices[:, :1]))
    f = sphere.faces.astype(np.int64)
    points = torch.as_tensor(np.random.default_rng(0).uniform(-1.5, 1.5, (600, 3)), dtype=DTYPE)
    leaves = TriangleLeaves(v, f, dtype=DTYPE)
    assert leaves.num_leaves == 64

    w_ref, d_ref = _brute_winding(points, v, f), _brute_distance(points, v, f)
    w, d = leaves.winding_number(points), leaves.unsigned_distance(points)

    assert (w - w_ref).abs().max() < 1e-2  # far leaves by their dipole term
    assert (d - d_ref).abs().max() < 1e-12  # exact
    sdf = leaves.signed_distance(points)
    np.testing.assert_array_equal((sdf < 0).numpy(), (w_ref > 0.5).numpy())
    np.testing.assert_allclose(sdf.abs(), d_ref, atol=1e-12)


def test_point_triangle_distance_matches_trimesh():
    rng = np.random.default_rng(2)
    tri = rng.normal(size=(500, 3, 3))
    tri[:5, 2] = tri[:5, 0] + 0.5 * (tri[:5, 1] - tri[:5, 0])  # slivers: the segment a–b
    points = rng.normal(size=(500, 3)) * 2
    expected = np.linalg.norm(trimesh.triangles.closest_point(tri, points) - points, axis=1)

    terms = torch.as_tensor(_distance_terms(tri[:, None]), dtype=DTYPE)  # (20, 500, 1)
    got = _squared_distances(torch.as_tensor(points), terms)[:, 0].sqrt()

    np.testing.assert_allclose(got.numpy(), expected, atol=1e-12)


def test_unsigned_and_signed_distance_of_a_cube():
    mesh = _cube_mesh()
    points = torch.tensor([[0.2, 0.5, 0.1], [0.0, 0.5, 0.8], [0.8, 1.3, 0.9], [0.0, -0.25, 0.0]],
                          dtype=DTYPE)
    expected = [-0.3, 0.3, math.sqrt(0.09 + 0.09 + 0.16), 0.25]

    np.testing.assert_allclose(signed_distance(points, mesh.vertices, mesh.faces), expected,
                               atol=1e-12)
    np.testing.assert_allclose(unsigned_distance(points, mesh.vertices, mesh.faces),
                               np.abs(expected), atol=1e-12)


def test_sdf_grid_pins_the_unit_cube():
    mesh = _cube_mesh()
    grid = build_sdf_grid(mesh.vertices, mesh.faces, resolution=48)
    points = torch.tensor([[0.2, 0.5, 0.1], [0.0, 0.5, 0.8], [0.8, 1.3, 0.9], [0.0, -0.25, 0.0],
                           [0.1, 0.9, -0.2], [3.0, 0.5, 0.0], [0.0, 0.5, -2.5]], dtype=DTYPE)
    expected = [-0.3, 0.3, math.sqrt(0.09 + 0.09 + 0.16), 0.25, -0.1, 2.5, 2.0]

    assert grid.values.shape == (1, 48, 48, 48)
    assert grid.cell == pytest.approx(1.2 / 47)
    np.testing.assert_allclose(grid.sample_sdf(points.float()), expected, atol=1e-2)


def test_density_is_high_inside_and_vanishes_outside():
    field = ObjectField(_cube_mesh(), ObjectFieldConfig(grid_resolution=48), dtype=DTYPE)
    inside = _grid_points((-0.4, 0.1, -0.4), (0.4, 0.9, 0.4))
    outside = torch.cat([_grid_points((0.55, -0.2, -1), (2, 1.5, 1)),
                         _grid_points((-1, 1.05, -1), (1, 2, 1))])
    sigma = field.config.density_max

    assert field.density(inside).min() > 0.99 * sigma
    assert field.density(outside).max() < 1e-3 * sigma
    out = field(torch.cat([inside, outside]))
    assert out.density.shape == (len(inside) + len(outside),)
    np.testing.assert_allclose(out.albedo, np.tile(field.config.default_albedo, (len(out.density),
                                                                                 1)))
    assert list(field.state_dict()) == ["translation", "rotation_6d", "log_scale"]


def test_moving_the_placement_moves_the_object():
    field = ObjectField(_cube_mesh((0.4, 1.0, 1.6)), ObjectFieldConfig(grid_resolution=40),
                        dtype=DTYPE)
    probe = torch.tensor([[2.7, 0.5, 0.0], [0.0, 0.5, 0.0], [0.0, 0.5, 0.7]], dtype=DTYPE)
    assert (field.sdf_world(probe) < 0).tolist() == [False, True, True]

    turn = trimesh.transformations.rotation_matrix(math.pi / 2, [0, 1, 0])[:3, :3]
    field.set_placement(turn, [2.0, 0.0, 0.0])  # long side now along x, 2 m away

    assert (field.sdf_world(probe) < 0).tolist() == [True, False, False]
    assert field.sdf_world(probe)[0].item() == pytest.approx(-0.1, abs=1e-2)
    expected = np.eye(4)
    expected[:3, :3], expected[:3, 3] = turn, [2, 0, 0]
    np.testing.assert_allclose(field.placement_matrix().detach(), expected, atol=1e-12)
    p = torch.tensor([[0.1, 0.2, 0.3]], dtype=DTYPE)
    world = p @ field.rotation().T + field.translation
    np.testing.assert_allclose(field.to_object(world).detach(), p, atol=1e-12)


def test_gradients_reach_the_placement_and_the_query_points():
    field = ObjectField(_cube_mesh(), ObjectFieldConfig(grid_resolution=32, sharpness_m=0.02))
    x = torch.tensor([[0.49, 0.5, 0.1], [0.1, 0.98, -0.2], [-0.2, 0.5, 0.51]],
                     requires_grad=True)

    field.density(x).sum().backward()

    for grad in (field.translation.grad, field.rotation_6d.grad, x.grad):
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert field.log_scale.grad is None  # frozen by default
    # pushing the object along +x lowers the density at a point on its +x face's inside
    assert field.translation.grad[0] > 0

    scaled = ObjectField(_cube_mesh(), ObjectFieldConfig(grid_resolution=16, learn_scale=True))
    scaled.sdf_world(x.detach()).sum().backward()
    assert scaled.log_scale.grad is not None and scaled.log_scale.grad.abs() > 0


def test_surface_points_lie_on_the_placed_surface():
    field = ObjectField(_cube_mesh(), ObjectFieldConfig(grid_resolution=40))
    field.set_placement(trimesh.transformations.rotation_matrix(0.3, [1, 1, 0])[:3, :3],
                        [0.5, 0.2, -1.0])

    a = field.surface_points(2000, torch.Generator().manual_seed(0))
    b = field.surface_points(2000, torch.Generator().manual_seed(0))

    assert a.shape == (2000, 3) and torch.equal(a, b)
    assert field.sdf_world(a).abs().max() < 0.6 * field.grid_cell  # the grid rounds the edges
    assert field.sdf_world(a).abs().median() < 1e-3


def test_colour_comes_from_the_nearest_vertex(tmp_path):
    box = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    colours = np.zeros((8, 4), dtype=np.uint8)
    colours[:, 3] = 255
    colours[box.vertices[:, 1] > 0, 0] = 255  # top red, bottom blue
    colours[box.vertices[:, 1] < 0, 2] = 255
    box.visual.vertex_colors = colours
    box.export(tmp_path / "box.ply")
    field = ObjectField(load_object_mesh(tmp_path / "box.ply"),
                        ObjectFieldConfig(grid_resolution=24))

    albedo = field.albedo(torch.tensor([[0.45, 0.95, 0.45], [-0.45, 0.05, 0.45]]))

    np.testing.assert_allclose(albedo.detach(), [[1, 0, 0], [0, 0, 1]], atol=1e-6)


def test_user_object_matrix_maps_the_users_coordinates_into_the_world(tmp_path):
    box = trimesh.creation.box(extents=(50.0, 100.0, 75.0))  # centimetres, centred at 0
    box.export(tmp_path / "box.obj")
    mesh = load_object_mesh(tmp_path / "box.obj")
    field = ObjectField(mesh, ObjectFieldConfig(grid_resolution=16))
    field.set_placement(np.eye(3), [1.0, 0.0, 0.0])

    m = field.user_object_matrix().detach().numpy()
    world = box.vertices @ m[:3, :3].T + m[:3, 3]

    np.testing.assert_allclose(world.min(0), [0.75, 0.0, -0.375], atol=1e-6)
    np.testing.assert_allclose(world.max(0), [1.25, 1.0, 0.375], atol=1e-6)


def test_large_meshes_are_simplified_before_the_field_is_built():
    sphere = trimesh.creation.icosphere(subdivisions=5, radius=0.5)  # 20480 faces
    mesh = ObjectMesh(vertices=sphere.vertices + [0, 0.5, 0], faces=sphere.faces.astype(np.int64))

    small = simplify_for_field(mesh, max_faces=2000)

    assert 1000 < len(small.faces) <= 2000
    assert "simplified for the object field: 20480 → " in small.corrections[-1]
    assert simplify_for_field(small, max_faces=2000) is small
    r = np.linalg.norm(small.vertices - [0, 0.5, 0], axis=1)
    assert np.abs(r - 0.5).max() < 0.02
    w = winding_number(torch.tensor([[0.0, 0.5, 0.0], [0.0, 0.5, 0.9]]), small.vertices,
                       small.faces)
    np.testing.assert_allclose(w, [1, 0], atol=3e-2)  # far leaves by their dipole term
    field = ObjectField(mesh, ObjectFieldConfig(grid_resolution=16, max_faces=2000))
    assert len(field.field_mesh.faces) == len(small.faces)
