"""Where the generated object starts (``anchor/object_start.py``): oracle priors render a
person crouched low (a squat capsule, not the standing body stage A starts from) and a crate
behind them and to their right; the stand-in search — after the human field has trained
alone for a few steps — must start the object on the crate, not on the person, and give it
a region that holds the crate."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from anchorhoi.anchor.anchor_nerf import (
    AnchorNeRFConfig,
    ViewSampling,
    init_human_field,
    occupancy_of,
)
from anchorhoi.anchor.object_search import ObjectSearchConfig
from anchorhoi.anchor.object_start import (
    ObjectStartConfig,
    body_points,
    search_object_start,
    stand_in_mesh,
)
from anchorhoi.nerf.cameras import SceneBox
from anchorhoi.nerf.encoding import HashGridConfig
from anchorhoi.nerf.field import NeRFFieldConfig
from anchorhoi.nerf.renderer import render_image
from anchorhoi.nerf.samplers import DenseSamplerConfig, DenseStratifiedSampler
from anchorhoi.objects.extract import is_watertight
from anchorhoi.objects.field import ObjectField, ObjectFieldConfig
from anchorhoi.objects.mesh_io import ObjectMesh
from anchorhoi.priors.oracle import OracleImagePrior

BOX = SceneBox(center=(0.0, -0.2, 0.0), half_size=(1.25, 1.25, 1.25))
GROUND = -1.3
CRATE = np.array([0.7, GROUND, -0.6])  # bottom centre: behind the body, to its right


def _field(mesh: trimesh.Trimesh, colour, at) -> ObjectField:
    m = ObjectMesh(vertices=np.asarray(mesh.vertices), faces=np.asarray(mesh.faces, np.int64),
                   vertex_colors=np.tile(colour, (len(mesh.vertices), 1)))
    f = ObjectField(m, ObjectFieldConfig(grid_resolution=32)).requires_grad_(False)
    f.set_placement(np.eye(3), np.asarray(at, dtype=np.float64))
    return f


def _person(height: float, at) -> ObjectField:
    """A skin-coloured capsule ``height`` tall standing at ``at`` (its bottom centre)."""
    c = trimesh.creation.capsule(height=height - 0.4, radius=0.2)
    c.apply_transform(trimesh.transformations.rotation_matrix(-np.pi / 2, [1, 0, 0]))
    c.apply_translation([0, height / 2, 0])
    return _field(c, (0.9, 0.7, 0.6), at)


NERF = AnchorNeRFConfig(
    iterations=1, init_iterations=60, resolution=16, views_per_step=1,
    sampler=DenseSamplerConfig(num_samples=24), box=BOX,
    views=ViewSampling(radius=(2.8, 3.2), fov_deg=40.0, target=(0.0, -0.2, 0.1)),
    human_field=NeRFFieldConfig(encoding=HashGridConfig(
        levels=4, log2_hashmap_size=13, base_resolution=8, per_level_scale=1.6),
        hidden_dim=16, num_layers=1),
    lambda_body_drift=0.0, lambda_sparsity=0.1, drift_points=256)


@pytest.mark.slow
def test_the_object_starts_on_the_crate_not_on_the_person():
    torch.set_num_threads(1)
    standing = _person(1.7, (0.0, GROUND, 0.0))  # where stage A's body starts
    crouched = _person(1.0, (0.0, GROUND, 0.05))  # what the prior pictures
    crate = _field(trimesh.creation.box(extents=(0.4, 0.4, 0.4)).apply_translation(
        [0, 0.2, 0]), (0.2, 0.4, 0.8), CRATE)
    sampler = DenseStratifiedSampler(DenseSamplerConfig(num_samples=32), box=BOX)

    def renders(fields):
        def target(views):
            with torch.no_grad():
                return render_image(fields, views.cameras, sampler,
                                    background=views.background if views.background is not None
                                    else torch.ones(3)).rgb.permute(0, 3, 1, 2)
        return OracleImagePrior(target_fn=target)

    def standing_occupancy(x):
        return occupancy_of(standing.density(x), NERF.occupancy_step)

    g = torch.Generator().manual_seed(0)
    human = init_human_field(NERF, standing_occupancy, g)
    config = ObjectStartConfig(stand_ins=((0.4, 0.4, 0.4), (0.4, 1.5, 0.4)), human_steps=60)
    search = ObjectSearchConfig(resolution=16, num_samples=24)
    start = search_object_start(
        human=human, prior=renders([crouched, crate]), human_prior=renders([crouched]),
        prompt="a person crouches by a crate", nerf=NERF, search=search, config=config,
        body_occupancy=standing_occupancy,
        sampler=DenseStratifiedSampler(NERF.sampler, box=BOX), centre_xz=(0.0, 0.0),
        ground_y=GROUND, height=2.4, generator=g)
    centre = start.bounds.mean(0)
    assert np.linalg.norm(centre - (CRATE + [0, 0.2, 0])) < 0.15, centre
    assert start.size == (0.4, 0.4, 0.4)  # the crate-sized stand-in, not the post
    # the region: 0.9 m either way of the stand-in in x and z; the blob's usual spot in front
    # of the body (0, 0.45) is moved into it, its 20 cm radius inside
    np.testing.assert_allclose(np.asarray(start.region.center)[[0, 2]], centre[[0, 2]],
                               atol=0.35)  # less where the scene box clips it
    blob = np.asarray(start.blob_centre((0.0, GROUND + 0.2, 0.45), (0.2, 0.2, 0.2)))
    r_lo = np.asarray(start.region.center) - np.asarray(start.region.half_size)
    r_hi = np.asarray(start.region.center) + np.asarray(start.region.half_size)
    assert (blob >= r_lo + 0.2 - 1e-9).all() and (blob <= r_hi - 0.2 + 1e-9).all()
    assert blob[1] == pytest.approx(GROUND + 0.2)
    lo = np.asarray(start.region.center) - np.asarray(start.region.half_size)
    hi = np.asarray(start.region.center) + np.asarray(start.region.half_size)
    assert (lo <= CRATE - [0.2, 0, 0.2]).all() and (hi >= CRATE + [0.2, 0.4, 0.2]).all()
    assert lo[1] == pytest.approx(GROUND) and hi[1] <= BOX.center[1] + BOX.half_size[1] + 1e-9
    assert start.candidates > 100 and np.isfinite(start.search.score)
    # the human field learnt the crouched person: little of it is left above a metre
    def person(x):
        return occupancy_of(human.density(x), NERF.occupancy_step)

    pts = body_points(person, BOX, 32, "cpu")
    assert len(pts) > 0 and (pts[:, 1] > GROUND + 1.2).mean() < 0.1


def test_stand_in_is_a_closed_box_standing_on_the_floor():
    mesh = stand_in_mesh((0.9, 0.75, 0.5))
    assert is_watertight(mesh.faces)
    np.testing.assert_allclose(mesh.bounds, [[-0.45, 0, -0.25], [0.45, 0.75, 0.25]])
    assert trimesh.Trimesh(mesh.vertices, mesh.faces).volume == pytest.approx(0.9 * 0.75 * 0.5)


@pytest.mark.parametrize("bad", [dict(stand_ins=()), dict(stand_ins=((0.4, 0.0, 0.4),)),
                                 dict(margin=-0.1), dict(max_body_covered=1.5),
                                 dict(yaw_steps=0), dict(body_lattice=2)])
def test_start_settings_are_checked(bad):
    with pytest.raises(ValueError, match="ObjectStartConfig"):
        ObjectStartConfig(**bad)
