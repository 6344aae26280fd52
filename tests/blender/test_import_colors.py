"""A generated object in real Blender: the mesh ``extract_mesh`` makes, written as a result with
its vertex colours, imports as the prop with a colour attribute and a material that shows it,
named after its words; its ``object.glb`` opens in Blender's own glTF importer with its
colours; a failure after the prop was built leaves the scene (materials too) unchanged."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from helpers.blender_scene import snapshot
from helpers.motions import make_motion, make_object

from anchorhoi.body import BodyModel, BodyModelConfig
from anchorhoi.objects.extract import ExtractConfig, extract_mesh
from anchorhoi.objects.mesh_export import save_glb
from anchorhoi.portable import result_v1
from anchorhoi.portable.motion import MotionClip

bpy = pytest.importorskip("bpy")
pytestmark = pytest.mark.blender


def _ball(p):
    return 50.0 * torch.sigmoid((0.15 - (p - torch.tensor([0.0, 0.15, 0.0])).norm(dim=1)) / 0.01)


def _colour(p):
    """Red rising with the height, a little green, no blue (sRGB-encoded, as renders show)."""
    return torch.stack([(p[:, 1] / 0.3).clamp(0, 1), torch.full_like(p[:, 0], 0.25),
                        torch.zeros_like(p[:, 0])], 1)


@pytest.fixture(scope="module")
def generated():
    return extract_mesh(_ball, _colour, bounds=[[-0.3, 0.0, -0.3], [0.3, 0.35, 0.3]],
                        config=ExtractConfig(resolution=24, face_budget=300))


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory, generated):
    body = BodyModel(BodyModelConfig(), dtype=torch.float64)
    motion = make_motion(8, fps=24.0)
    track = dataclasses.replace(make_object(8), name="a wooden\x00 stool\t\n",
                                vertices=generated.vertices, faces=generated.faces,
                                vertex_colors=generated.vertex_colors)
    clip = MotionClip(motion=motion, rig=body.rig(motion.betas), obj=track, name="Sit")
    folder = tmp_path_factory.mktemp("coloured")
    result_v1.write_result(folder, clip, result_v1.ResultInfo(object_name=track.name))
    return folder


def _srgb_to_linear(c):
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def test_generated_prop_has_its_colours_and_a_material_showing_them(addon, result_dir,
                                                                     generated):
    assert bpy.ops.anchorhoi.import_motion(filepath=str(result_dir)) == {"FINISHED"}
    prop = bpy.data.objects["a wooden stool"]  # control characters gone, like other names
    mesh = prop.data
    assert len(mesh.vertices) == len(generated.vertices)
    attribute = mesh.color_attributes.active_color
    assert attribute is not None and attribute.domain == "POINT"
    assert attribute.data_type == "FLOAT_COLOR"
    assert mesh.color_attributes.render_color_index == mesh.color_attributes.active_color_index
    rgba = np.empty(len(mesh.vertices) * 4, dtype=np.float32)
    attribute.data.foreach_get("color", rgba)
    rgba = rgba.reshape(-1, 4)
    want = _srgb_to_linear(generated.vertex_colors)
    np.testing.assert_allclose(rgba[:, :3], want, atol=1e-5)
    assert np.allclose(rgba[:, 3], 1.0) and rgba[:, 0].std() > 0.05  # not one flat colour
    material = mesh.materials[0]
    tree = material.node_tree
    bsdf = next(n for n in tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
    base = bsdf.inputs["Base Color"]
    assert base.is_linked
    source = base.links[0].from_node
    assert source.bl_idname == "ShaderNodeVertexColor" and source.layer_name == attribute.name


def test_a_result_without_colours_gets_no_colour_attribute(addon, tmp_path):
    body = BodyModel(BodyModelConfig(), dtype=torch.float64)
    motion = make_motion(8, fps=24.0)
    clip = MotionClip(motion=motion, rig=body.rig(motion.betas), obj=make_object(8), name="Lift")
    result_v1.write_result(tmp_path / "plain", clip)
    assert bpy.ops.anchorhoi.import_motion(filepath=str(tmp_path / "plain")) == {"FINISHED"}
    box = bpy.data.objects["Box"].data
    assert len(box.color_attributes) == 0 and len(box.materials) == 0


def test_failure_after_the_prop_is_built_removes_its_material(addon, result_dir, monkeypatch):
    import bl_ext.user_default.anchorhoi.scene.build as scene_build

    def broken(plan, o, obj):
        raise MemoryError("simulated")

    monkeypatch.setattr(scene_build, "write_object_action", broken)
    before = snapshot(bpy)
    materials = set(bpy.data.materials.keys())
    with pytest.raises(RuntimeError, match="scene left unchanged: simulated"):
        bpy.ops.anchorhoi.import_motion(filepath=str(result_dir))
    assert snapshot(bpy) == before and set(bpy.data.materials.keys()) == materials


def test_object_glb_opens_in_blenders_gltf_importer_with_its_colours(addon, tmp_path,
                                                                      generated):
    path = save_glb(tmp_path / "object.glb", generated)
    assert bpy.ops.import_scene.gltf(filepath=str(path)) == {"FINISHED"}
    meshes = [o for o in bpy.context.scene.objects if o.type == "MESH"]
    assert len(meshes) == 1
    mesh = meshes[0].data
    assert len(mesh.polygons) == len(generated.faces)
    assert len(mesh.color_attributes) == 1
    attribute = mesh.color_attributes[0]
    n = len(attribute.data)
    rgba = np.empty(n * 4, dtype=np.float32)
    attribute.data.foreach_get("color", rgba)
    # Blender's importer reads COLOR_0 (8-bit here) as linear values: the bytes come back
    # (within the one step its own 8-bit attribute storage may round them by)
    np.testing.assert_allclose(np.sort(rgba.reshape(-1, 4)[:, 0]),
                               np.sort(_importer_values(generated, attribute.domain)),
                               atol=1.5 / 255)
    # Y up and metres: the glTF importer turns Y up into Blender's Z up, sizes unchanged
    co = np.empty(len(mesh.vertices) * 3)
    mesh.vertices.foreach_get("co", co)
    height = np.ptp(co.reshape(-1, 3)[:, 2])
    assert height == pytest.approx(np.ptp(generated.vertices[:, 1]), abs=1e-4)


def _importer_values(mesh, domain):
    """The red channel as the importer stores it: the 8-bit value per vertex, once per vertex
    (POINT) or once per face corner (CORNER)."""
    red = np.rint(mesh.vertex_colors[:, 0] * 255.0) / 255.0
    return red if domain == "POINT" else red[mesh.faces.reshape(-1)]
