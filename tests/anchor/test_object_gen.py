"""Stage A generates the object when no mesh is given: the ``tiny`` preset's path end to end
with a random tiny Stable Diffusion (a random model makes a random blob — the machinery is what
this checks), the object's words taken from the prompt, and a prompt naming no object refused
before any work."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from anchorhoi.anchor.object_field import (
    InitialBlob,
    ObjectFocus,
    ObjectGenConfig,
    ObjectRegion,
    ObjectViews,
)
from anchorhoi.anchor.object_gen import floor_slab
from anchorhoi.anchor.object_prompt import (
    NoObjectError,
    lifts_object,
    object_phrase,
    resolve_object_prompt,
)
from anchorhoi.anchor.output import AnchorOutput
from anchorhoi.anchor.stage import ground_level, run_anchor_stages
from anchorhoi.body import BodyModel
from anchorhoi.body.pose import default_initial_pose
from anchorhoi.job.presets import PRESETS
from anchorhoi.nerf.cameras import SceneBox
from anchorhoi.objects.extract import is_watertight, piece_labels
from anchorhoi.objects.field import ObjectFieldConfig
from anchorhoi.objects.mesh_io import load_object_mesh
from anchorhoi.priors.stable_diffusion import StableDiffusionPrior, StableDiffusionPriorConfig
from anchorhoi.priors.tiny import build_tiny_sd

TINY_OBJECT = ObjectGenConfig(
    iterations=8, views=ObjectViews(resolution=32, num_samples=24), blob=InitialBlob(iterations=40),
    extract_resolution=40, max_faces=600, mesh_field=ObjectFieldConfig(grid_resolution=32))
"""The tiny preset's figures with a smaller extraction (the test's budget)."""


@pytest.mark.parametrize(("prompt", "phrase"), [
    ("a person sits down on a wooden stool", "a wooden stool"),
    ("A man lifts the heavy box over his head", "the heavy box"),
    ("a woman kicks a ball with her right foot", "a ball"),
    ("someone sitting on the chair.", "the chair"),
    ("a person waves", None),
    ("a person claps their hands", None),
])
def test_object_phrase_is_the_first_thing_named_after_the_person(prompt, phrase):
    assert object_phrase(prompt) == phrase


def test_object_prompt_resolution():
    assert resolve_object_prompt("a person waves", "  a red umbrella ") == "a red umbrella"
    assert resolve_object_prompt("a person sits on a crate", None) == "a crate"
    with pytest.raises(NoObjectError, match="names no object") as err:
        resolve_object_prompt("a person waves", " ")
    assert "--object-prompt" in err.value.hint and "--object" in err.value.hint
    assert lifts_object("a person lifts a box") and not lifts_object("a person sits on a box")


def test_the_object_density_ramps_up_to_its_scale():
    config = ObjectGenConfig(density_ramp=(0.25, 0.5))
    assert config.density_gain(0.0) == 0.25
    assert config.density_gain(0.25) == pytest.approx(0.625)
    assert config.density_gain(0.5) == config.density_gain(1.0) == 1.0
    for bad in ((0.0, 0.5), (1.5, 0.5), (0.5, 0.0)):
        with pytest.raises(ValueError, match="density_ramp"):
            ObjectGenConfig(density_ramp=bad)


def test_the_object_region_and_the_floor_slab_reach_below_the_initial_soles():
    """The person's floor is a few centimetres above or below the initial body's soles: the
    object may stand there, and the floor term counts it as on the floor."""
    scene = SceneBox(center=(0.0, -0.2, 0.0), half_size=(1.25, 1.25, 1.25))
    config = ObjectGenConfig(region=ObjectRegion(below_soles=0.06))
    region = config.region.box(centre_xz=(0.1, 0.2), ground_y=-1.3, scene=scene)
    lo, hi = region.aabb(dtype=torch.float64).reshape(2, 3).tolist()
    assert lo == pytest.approx([-1.1, -1.36, -1.0]) and hi == pytest.approx([1.25, 1.05, 1.25])
    focus = ObjectFocus(centre=(0.0, -1.0, 0.6), radius=0.4, lowest=(-0.2, 0.4, 0.2, 0.8))
    slab = floor_slab(focus, -1.3, config).aabb(dtype=torch.float64).reshape(2, 3).tolist()
    assert slab[0] == pytest.approx([-0.2, -1.36, 0.4])
    assert slab[1] == pytest.approx([0.2, -1.3 + config.losses.floor_slab, 0.8])
    with pytest.raises(ValueError, match="below_soles"):
        ObjectRegion(below_soles=-0.01)


@pytest.fixture(scope="module")
def body():
    return BodyModel()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, body):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("object_gen")
    prior = StableDiffusionPrior(StableDiffusionPriorConfig(
        model_id=str(build_tiny_sd(tmp / "tiny-sd"))), device="cpu")
    config = dataclasses.replace(PRESETS["tiny"].anchor, object=TINY_OBJECT)
    parts: list[str] = []

    def progress(part):
        return lambda s, n, losses: parts.append(part)

    out = run_anchor_stages(prompt="a person sits down on a wooden stool", obj_mesh=None,
                            body=body, config=config, prior=prior, out_dir=tmp / "job",
                            generator=torch.Generator().manual_seed(0), progress=progress)
    torch.set_num_threads(threads)
    return out, tmp / "job", parts


@pytest.mark.slow
def test_tiny_path_makes_a_clean_object_mesh(tiny_run, body):
    out, _, parts = tiny_run
    mesh = out.object_mesh
    assert mesh is not None and out.object_prompt == "a wooden stool"
    # watertight, one piece, within the budget, finite, coloured
    assert is_watertight(mesh.faces) and piece_labels(mesh.faces, len(mesh.vertices))[0] == 1
    assert 4 <= len(mesh.faces) <= TINY_OBJECT.max_faces
    assert np.isfinite(mesh.vertices).all() and mesh.vertex_colors is not None
    assert ((mesh.vertex_colors >= 0) & (mesh.vertex_colors <= 1)).all()
    # the object frame: bounding box centred in x and z, bottom at y = 0
    lo, hi = mesh.vertices.min(0), mesh.vertices.max(0)
    np.testing.assert_allclose([(lo[0] + hi[0]) / 2, lo[1], (lo[2] + hi[2]) / 2], 0, atol=1e-9)
    # placed back where it was distilled: inside the object region, a pure translation
    placed = mesh.vertices + out.object_placement[:3, 3]
    soles = ground_level(body, default_initial_pose(body.config.num_betas))
    assert placed[:, 1].min() >= soles - TINY_OBJECT.region.below_soles - 1e-6
    assert placed[:, 2].max() <= 0.3 + 0.9 + 1e-6
    np.testing.assert_allclose(out.object_placement[:3, :3], np.eye(3), atol=1e-6)
    # the progress parts: the joint SDS steps, the mesh, then stage B's fit
    n = TINY_OBJECT.iterations
    assert parts[:n] == ["object_nerf"] * n and parts[n] == "object_mesh"
    assert set(parts[n + 1:]) == {"fit[0]"}
    assert out.object_field is not None and out.object_field.mesh is mesh


@pytest.mark.slow
def test_tiny_path_saves_and_loads_the_object(tiny_run):
    out, folder, _ = tiny_run
    for name in ("object.glb", "object.obj", "object_turntable.png", "key_pose.npz",
                 "anchor_nerf.safetensors", "anchor_turntable.png", "fit_preview.png"):
        assert (folder / name).is_file(), name
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]
    back = AnchorOutput.load(folder)
    assert back.object_prompt == "a wooden stool" and back.object_mesh is not None
    assert len(back.object_mesh.faces) == len(out.object_mesh.faces)
    np.testing.assert_allclose(back.object_mesh.vertices, out.object_mesh.vertices, atol=1e-5)
    np.testing.assert_allclose(back.object_mesh.vertex_colors, out.object_mesh.vertex_colors,
                               atol=1 / 255)
    obj = load_object_mesh(folder / "object.obj")
    assert obj.vertex_colors is not None and len(obj.faces) == len(out.object_mesh.faces)
    np.testing.assert_array_equal(back.object_placement, out.object_placement)
    handed = out.hand_off()  # the later stages get the mesh like a user's
    assert handed.object_mesh is out.object_mesh and handed.object_field is None
    assert [p.name for p in AnchorOutput.previews(folder)] == [
        "anchor_turntable.png", "fit_preview.png", "object_turntable.png"]


def test_a_given_mesh_is_not_saved_as_generated(tmp_path):
    given = AnchorOutput(key_pose=default_initial_pose(10), object_placement=np.eye(4),
                         contact_vertices=np.zeros(0, np.int64), max_penetration=0.0)
    given.save(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key_pose.npz"]
    back = AnchorOutput.load(tmp_path)
    assert back.object_mesh is None and back.object_prompt == ""


def test_no_nameable_object_is_refused_before_any_work(tmp_path, body):
    with pytest.raises(NoObjectError, match="names no object"):
        run_anchor_stages(prompt="a person waves", obj_mesh=None, body=body,
                          config=PRESETS["tiny"].anchor, prior=None,  # type: ignore[arg-type]
                          out_dir=tmp_path / "job", generator=torch.Generator())
    assert not (tmp_path / "job").exists()
