"""The object search of stage A on its own: an oracle whose data are renders of a box on a known
spot, an empty human field, the box starting far from that spot."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from anchorhoi.anchor.object_search import ObjectSearchConfig, search_object_translation
from anchorhoi.nerf.cameras import SceneBox
from anchorhoi.nerf.field import FieldOutput
from anchorhoi.nerf.renderer import render_image
from anchorhoi.nerf.samplers import DenseSamplerConfig, DenseStratifiedSampler
from anchorhoi.objects.field import ObjectField, ObjectFieldConfig
from anchorhoi.objects.mesh_io import ObjectMesh
from anchorhoi.priors.oracle import OracleImagePrior

pytestmark = pytest.mark.slow

BOX = SceneBox(center=(0.0, -0.2, 0.0), half_size=(1.25, 1.25, 1.25))
TRUTH = np.array([0.3, -0.9, -0.25])  # where the oracle's box stands (its bottom centre)
START = np.array([0.0, -1.3, 0.45])  # on the ground in front of the body


class Empty(torch.nn.Module):
    """A human field with nothing in it."""

    def forward(self, x: torch.Tensor) -> FieldOutput:
        return FieldOutput(density=torch.zeros(len(x)), albedo=torch.zeros(len(x), 3))

    def density(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(x))


def _box_field() -> ObjectField:
    box = trimesh.creation.box(extents=(0.4, 0.35, 0.3))
    mesh = ObjectMesh(vertices=box.vertices + [0, 0.175, 0], faces=box.faces.astype(np.int64),
                      vertex_colors=np.tile([0.2, 0.4, 0.8], (len(box.vertices), 1)))
    return ObjectField(mesh, ObjectFieldConfig(grid_resolution=24))


def test_search_finds_the_box_from_far_away():
    torch.set_num_threads(1)
    truth = _box_field().requires_grad_(False)
    truth.set_placement(np.eye(3), TRUTH)
    sampler = DenseStratifiedSampler(DenseSamplerConfig(num_samples=24), box=BOX)

    def target(views):
        with torch.no_grad():
            return render_image([truth], views.cameras, sampler,
                                background=torch.ones(3)).rgb.permute(0, 3, 1, 2)

    obj = _box_field()
    obj.set_placement(np.eye(3), START)
    config = ObjectSearchConfig(resolution=16, num_samples=24, refine_rounds=4)
    result = search_object_translation(
        human=Empty(), obj=obj, prior=OracleImagePrior(target_fn=target), prompt="a box",
        box=BOX, centre_xz=(0.0, 0.0), ground_y=-1.3, target=(0.0, -0.2, 0.1), radius=3.0,
        fov_deg=40.0, background=(1.0, 1.0, 1.0), config=config,
        generator=torch.Generator().manual_seed(0))
    # x, z ∈ ±1 m, y from the ground (−1.3) to the box top less the box (0.7): spaced at most
    # 0.75 × the box's 0.4 / 0.35 / 0.3 m → 8 × 9 × 10 points; + the start, + 4 × 26 refinements
    assert result.candidates == 1 + 8 * 9 * 10 + 4 * 26
    np.testing.assert_allclose(obj.translation.detach().numpy(), result.translation, atol=1e-6)
    # found to 1 cm (measured [0.304, −0.909, −0.25]: the finest steps are 1.6-1.8 cm)
    np.testing.assert_allclose(result.translation, TRUTH, atol=0.012)
    assert result.score < 0.05 * result.start_score
    assert obj.translation.requires_grad  # still a parameter SDS can refine


def test_search_settings_are_checked():
    with pytest.raises(ValueError, match="overlap_spacing"):
        ObjectSearchConfig(overlap_spacing=0.0)
    with pytest.raises(ValueError, match="views"):
        ObjectSearchConfig(views=0)
