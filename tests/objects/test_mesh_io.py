"""Object mesh loading: formats, colours, units, centring, cleaning, errors, OBJ writing."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from PIL import Image

from anchorhoi.objects import MeshError, ObjectMesh, Similarity, load_object_mesh, save_obj

# dyadic numbers: exact in the float32 of STL/GLB/PLY, so the round trip is exact too
EXTENTS = (0.5, 1.0, 0.75)
OFFSET = (1.0, 2.0, 3.0)
SCENE_BOUNDS = [[-0.25, 0.0, -0.375], [0.25, 1.0, 0.375]]
RGB = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0],
                [0, 255, 255], [255, 0, 255], [128, 64, 32], [64, 128, 255]], dtype=np.uint8)


def _box(extents=EXTENTS, offset=OFFSET) -> trimesh.Trimesh:
    box = trimesh.creation.box(extents=extents)
    box.apply_translation(offset)
    return box


def _assert_same_points(a: np.ndarray, b: np.ndarray, atol: float) -> None:
    """Same point sets (each point of ``a`` has a twin in ``b``), any order."""
    assert a.shape == b.shape
    d = np.linalg.norm(a[:, None] - b[None], axis=-1)
    assert d.min(1).max() <= atol and d.min(0).max() <= atol


@pytest.mark.parametrize("suffix", [".obj", ".ply", ".glb", ".stl"])
def test_formats_load_centred_with_the_way_back(tmp_path, suffix):
    box = _box()
    if suffix == ".ply":
        box.visual.vertex_colors = np.c_[RGB, np.full(8, 255, np.uint8)]
    path = tmp_path / f"box{suffix}"
    box.export(path)

    mesh = load_object_mesh(path)

    assert mesh.vertices.shape == (8, 3) and mesh.faces.shape == (12, 3)
    assert mesh.vertices.dtype == np.float64 and mesh.faces.dtype == np.int64
    np.testing.assert_allclose(mesh.bounds, SCENE_BOUNDS, atol=1e-12)
    assert np.allclose(mesh.to_user.scale, 1.0) and np.allclose(mesh.to_user.rotation, np.eye(3))
    _assert_same_points(mesh.to_user.apply(mesh.vertices), box.vertices, atol=1e-9)
    # every face still a face of the box, same orientation (outward normals)
    normals = np.cross(*(mesh.vertices[mesh.faces[:, i]] - mesh.vertices[mesh.faces[:, 0]]
                         for i in (1, 2)))
    centres = mesh.vertices[mesh.faces].mean(1) - [0, 0.5, 0]
    assert ((normals * centres).sum(1) > 0).all()
    if suffix == ".stl":  # STL stores three vertices per triangle
        assert mesh.corrections == ["merged 28 duplicate vertices"]
    else:
        assert mesh.corrections == []
    if suffix == ".ply":
        user = mesh.to_user.apply(mesh.vertices)
        nearest = np.linalg.norm(user[:, None] - box.vertices[None], axis=-1).argmin(1)
        np.testing.assert_allclose(mesh.vertex_colors, RGB[nearest] / 255.0, atol=1e-12)
    else:
        assert mesh.vertex_colors is None


def test_glb_scene_parts_are_concatenated_with_their_node_transforms(tmp_path):
    scene = trimesh.Scene()
    scene.add_geometry(trimesh.creation.box(extents=(1.0, 1.0, 1.0)), node_name="a",
                       transform=trimesh.transformations.translation_matrix((2.0, 0.5, 0.0)))
    scene.add_geometry(trimesh.creation.box(extents=(1.0, 1.0, 1.0)), node_name="b",
                       transform=np.diag([2.0, 2.0, 2.0, 1.0]))  # 2 m cube at the origin
    scene.export(tmp_path / "two.glb")

    mesh = load_object_mesh(tmp_path / "two.glb")

    assert mesh.vertices.shape == (16, 3) and mesh.faces.shape == (24, 3)
    np.testing.assert_allclose(mesh.bounds, [[-1.75, 0, -1], [1.75, 2, 1]], atol=1e-6)
    user = mesh.to_user.apply(mesh.vertices)
    np.testing.assert_allclose([user.min(0), user.max(0)], [[-1, -1, -1], [2.5, 1, 1]], atol=1e-6)


def test_colour_from_face_colours_and_from_a_texture(tmp_path):
    faces = _box()
    faces.visual.face_colors = [0, 255, 0, 255]
    faces.export(tmp_path / "faces.ply")
    textured = _box()
    textured.visual = trimesh.visual.TextureVisuals(uv=np.full((8, 2), 0.5),
                                                    image=Image.new("RGB", (4, 4), (255, 0, 0)))
    textured.export(tmp_path / "textured.glb")

    np.testing.assert_allclose(load_object_mesh(tmp_path / "faces.ply").vertex_colors,
                               np.tile([0.0, 1.0, 0.0], (8, 1)))
    np.testing.assert_allclose(load_object_mesh(tmp_path / "textured.glb").vertex_colors,
                               np.tile([1.0, 0.0, 0.0], (8, 1)))


def test_z_up_file_is_turned_to_y_up(tmp_path):
    box = _box(extents=(0.5, 0.75, 1.0))  # 1 m tall along z
    box.export(tmp_path / "zup.obj")

    mesh = load_object_mesh(tmp_path / "zup.obj", up_axis="Z")

    np.testing.assert_allclose(mesh.bounds, SCENE_BOUNDS, atol=1e-12)
    _assert_same_points(mesh.to_user.apply(mesh.vertices), box.vertices, atol=1e-9)
    # Blender's front (−Y) faces the body's +Z
    front = mesh.to_user.inverse().rotation @ np.array([0.0, -1.0, 0.0])
    np.testing.assert_allclose(front, [0, 0, 1], atol=1e-15)


@pytest.mark.parametrize("unit, factor, word", [(100.0, 0.01, "centimetres"),
                                                (1000.0, 0.001, "millimetres")])
def test_centimetres_and_millimetres_are_scaled_and_reported(tmp_path, unit, factor, word):
    box = _box(extents=tuple(unit * e for e in EXTENTS), offset=(10.0, 20.0, 30.0))
    box.export(tmp_path / "box.obj")

    mesh = load_object_mesh(tmp_path / "box.obj")

    np.testing.assert_allclose(mesh.bounds, SCENE_BOUNDS, atol=1e-12)
    assert mesh.to_user.scale == pytest.approx(1 / factor)
    assert len(mesh.corrections) == 1 and word in mesh.corrections[0]
    assert f"×{factor:g}" in mesh.corrections[0]
    _assert_same_points(mesh.to_user.apply(mesh.vertices), box.vertices, atol=1e-9)


def test_target_size_sets_the_longest_side(tmp_path):
    _box().export(tmp_path / "box.obj")

    mesh = load_object_mesh(tmp_path / "box.obj", target_size_m=0.25)

    np.testing.assert_allclose(mesh.bounds, np.array(SCENE_BOUNDS) / 4, atol=1e-12)
    assert "target_size_m" in mesh.corrections[0]
    _assert_same_points(mesh.to_user.apply(mesh.vertices), _box().vertices, atol=1e-9)


@pytest.mark.parametrize("extents, message", [((1e-4, 2e-4, 3e-4), "too small"),
                                               ((2e4, 1e4, 1e4), "too large")])
def test_absurd_sizes_are_errors(tmp_path, extents, message):
    _box(extents=extents, offset=(0, 0, 0)).export(tmp_path / "box.obj")
    with pytest.raises(MeshError, match=message):
        load_object_mesh(tmp_path / "box.obj")
    # ... unless the size is given
    assert load_object_mesh(tmp_path / "box.obj", target_size_m=1.0).bounds[1, 0] > 0


def test_cleaning_is_reported(tmp_path):
    vertices = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1],
                [1, 0, 0],  # 4: the same position as 1
                [5, 5, 5]]  # 5: unused
    faces = [[0, 2, 1], [0, 1, 3], [0, 3, 2], [4, 2, 3],  # a tetrahedron; face 3 through 4
             [2, 1, 0],  # face 0 again (rotated)
             [1, 2, 4]]  # degenerate once 4 is merged into 1
    trimesh.Trimesh(vertices, faces, process=False).export(tmp_path / "messy.ply")

    mesh = load_object_mesh(tmp_path / "messy.ply")

    assert mesh.vertices.shape == (4, 3) and mesh.faces.shape == (4, 3)
    assert mesh.corrections == ["merged 1 duplicate vertices",
                                "removed 1 degenerate (zero-area) faces",
                                "removed 1 duplicate faces", "removed 1 unreferenced vertices"]
    assert set(map(tuple, mesh.faces.tolist())) == {(0, 2, 1), (0, 1, 3), (0, 3, 2), (1, 2, 3)}


@pytest.mark.parametrize("name, text, message", [
    ("cloud.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\n", "no triangle faces"),
    ("nan.obj", "v 0 0 0\nv 1 0 0\nv nan 1 0\nf 1 2 3\n", "NaN or infinite coordinates in 1 "),
    ("inf.obj", "v 0 0 0\nv inf 0 0\nv 0 -inf 0\nf 1 2 3\n", "NaN or infinite coordinates in 2 "),
    ("flat.obj", "v 0 0 0\nv 1 0 0\nv 2 0 0\nv 3 0 0\nf 1 2 3\nf 2 3 4\n",
     "all 2 faces have zero area"),
    ("chair.fbx", "Kaydara FBX Binary", r"Unsupported object mesh format '\.fbx'.*"
     r"\.obj, \.ply, \.glb, \.gltf, \.stl"),
])
def test_unusable_files_give_a_clear_error(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(MeshError, match=message):
        load_object_mesh(tmp_path / name)


def test_point_cloud_ply_and_missing_file(tmp_path):
    trimesh.PointCloud(np.random.default_rng(0).random((10, 3))).export(tmp_path / "cloud.ply")
    with pytest.raises(MeshError, match="no triangle faces"):
        load_object_mesh(tmp_path / "cloud.ply")
    with pytest.raises(MeshError, match="Object mesh not found: .*nothere.obj"):
        load_object_mesh(tmp_path / "nothere.obj")
    with pytest.raises(MeshError, match="up_axis"):
        load_object_mesh(tmp_path / "cloud.ply", up_axis="X")


def test_save_obj_round_trip_is_atomic_and_exact(tmp_path):
    box = _box()
    box.visual.vertex_colors = np.c_[RGB, np.full(8, 255, np.uint8)]
    box.export(tmp_path / "box.ply")
    mesh = load_object_mesh(tmp_path / "box.ply")

    out = save_obj(tmp_path / "object.obj", mesh)
    again = load_object_mesh(out)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["box.ply", "object.obj"]
    np.testing.assert_array_equal(again.vertices, mesh.vertices)
    np.testing.assert_array_equal(again.faces, mesh.faces)
    np.testing.assert_allclose(again.vertex_colors, mesh.vertex_colors, atol=1e-6)
    assert again.corrections == []


def test_similarity_algebra():
    rng = np.random.default_rng(1)
    rot = trimesh.transformations.random_rotation_matrix(rng.random(3))[:3, :3]
    a = Similarity(2.5, rot, np.array([1.0, -2.0, 0.5]))
    b = Similarity(0.1, rot.T, np.array([0.0, 3.0, 1.0]))
    p = rng.normal(size=(5, 3))

    np.testing.assert_allclose(a.inverse().apply(a.apply(p)), p, atol=1e-12)
    np.testing.assert_allclose(a.compose(b).apply(p), a.apply(b.apply(p)), atol=1e-12)
    homogeneous = np.c_[p, np.ones(5)] @ a.as_matrix().T
    np.testing.assert_allclose(homogeneous[:, :3], a.apply(p), atol=1e-12)


def test_object_mesh_checks_shapes():
    with pytest.raises(ValueError, match="vertex_colors"):
        ObjectMesh(vertices=np.zeros((3, 3)), faces=np.array([[0, 1, 2]]),
                   vertex_colors=np.zeros((2, 3)))
