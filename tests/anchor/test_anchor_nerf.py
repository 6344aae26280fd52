"""Stage A against an oracle: renders of a known sitting body and box are the prior's data;
SDS from the default standing body's occupancy must recover the scene on held-out views."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from anchorhoi.anchor.anchor_nerf import (
    AnchorNeRFConfig,
    ViewSampling,
    fit_field_to_occupancy,
    psnr,
    train_anchor_nerf,
)
from anchorhoi.anchor.preview import turntable
from anchorhoi.body import BodyModel
from anchorhoi.images import save_png
from anchorhoi.nerf.cameras import SceneBox, orbit_cameras
from anchorhoi.nerf.encoding import HashGridConfig
from anchorhoi.nerf.field import NeRFField, NeRFFieldConfig
from anchorhoi.nerf.renderer import render_image
from anchorhoi.nerf.samplers import DenseSamplerConfig, DenseStratifiedSampler
from anchorhoi.objects.field import ObjectField, ObjectFieldConfig
from anchorhoi.objects.mesh_io import ObjectMesh
from anchorhoi.oracles.anchor_scene import ground_truth_fields, load_anchor_case, oracle_priors

CASES = Path(__file__).resolve().parents[2] / "bench" / "cases" / "anchor"
BOX = SceneBox()
TINY = AnchorNeRFConfig(
    iterations=60, init_iterations=60, resolution=32, views_per_step=1,
    sampler=DenseSamplerConfig(num_samples=32), views=ViewSampling(radius=(2.4, 2.8)),
    human_field=NeRFFieldConfig(encoding=HashGridConfig(
        levels=6, log2_hashmap_size=15, base_resolution=8, per_level_scale=1.6),
        hidden_dim=32, num_layers=1),
    lambda_body_drift=0.0, lambda_sparsity=0.0, lambda_inside_object=1.0, lr_placement=0.0,
    drift_points=1024)


@pytest.fixture(scope="module")
def scene():
    torch.set_num_threads(1)
    body = BodyModel()
    case = load_anchor_case(CASES / "sit_on_box")
    gt_body, gt_obj = ground_truth_fields(body, case, grid_resolution=40)
    rig = body.rig()  # the default initial pose: standing at rest
    start = ObjectField(ObjectMesh(vertices=rig.rest_vertices, faces=rig.faces),
                        ObjectFieldConfig(grid_resolution=40, max_faces=3000))
    start.requires_grad_(False)
    obj = ObjectField(case.obj_mesh, ObjectFieldConfig(grid_resolution=32))
    obj.set_placement(case.obj_rotation, case.obj_translation)
    return gt_body, gt_obj, start, obj


@pytest.mark.slow
def test_oracle_anchor_recovers_the_scene(scene):
    gt_body, gt_obj, start, obj = scene
    comp, human_only = oracle_priors(gt_body, gt_obj, box=BOX, background=TINY.background,
                                     num_samples=32)
    sampler = DenseStratifiedSampler(TINY.sampler, box=BOX)
    g = torch.Generator().manual_seed(0)

    def occupancy(x):
        return 1 - torch.exp(-start.density(x) * TINY.occupancy_step)

    human = NeRFField(TINY.human_field, aabb=BOX.aabb(), generator=g)
    fit_field_to_occupancy(human, occupancy, TINY, g)
    held_out = orbit_cameras([45, 135, 225, 315], 20, 2.6, 45, 32, target=(0, -0.4, 0.1))

    def score():
        with torch.no_grad():
            a = render_image([human, obj], held_out, sampler, background=torch.ones(3)).rgb
            b = render_image([gt_body, gt_obj], held_out, sampler, background=torch.ones(3)).rgb
        return psnr(a, b)

    before = score()
    steps = []
    train_anchor_nerf(prompt="a person sits on a box", prior=comp, human_prior=human_only,
                      obj=obj, body_occupancy=occupancy, config=TINY, sampler=sampler,
                      generator=g, human=human, on_step=lambda s, n, losses: steps.append(s))
    after = score()
    assert steps == list(range(1, 61))
    assert before < 16.0  # standing body vs the sitting scene (measured 14.6 dB)
    assert after >= 22.0, f"held-out PSNR {after:.1f} dB"  # measured 22.6 dB after 60 steps


def test_cancel_from_step_callback(scene):
    gt_body, gt_obj, _start, obj = scene
    comp, human_only = oracle_priors(gt_body, gt_obj, box=BOX, background=TINY.background,
                                     num_samples=16)

    class Cancelled(Exception):
        pass

    def stop(step, total, losses):
        if step == 2:
            raise Cancelled

    cfg = dataclasses.replace(TINY, init_iterations=2, resolution=16)
    with pytest.raises(Cancelled):
        train_anchor_nerf(prompt="sit", prior=comp, human_prior=human_only, obj=obj,
                          body_occupancy=lambda x: torch.zeros(len(x)), config=cfg,
                          sampler=DenseStratifiedSampler(DenseSamplerConfig(num_samples=16),
                                                         box=BOX),
                          generator=torch.Generator().manual_seed(1), on_step=stop)


def test_every_step_refreshes_the_sampler_from_the_composite_density(scene):
    """The occupancy-grid sampler (CUDA) starts empty and renders nothing until ``update``
    fills it: training must hand it the human + object density at every step."""
    gt_body, gt_obj, _start, obj = scene
    comp, human_only = oracle_priors(gt_body, gt_obj, box=BOX, background=TINY.background,
                                     num_samples=16)
    x = torch.rand(64, 3, generator=torch.Generator().manual_seed(2)) - 0.5

    class Recording(DenseStratifiedSampler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.seen = []

        def update(self, step, density_fn):
            self.seen.append((step, density_fn(x).detach()))

    sampler = Recording(DenseSamplerConfig(num_samples=16), box=BOX)
    cfg = dataclasses.replace(TINY, iterations=2, init_iterations=2, resolution=16)
    human = train_anchor_nerf(prompt="sit", prior=comp, human_prior=human_only, obj=obj,
                              body_occupancy=lambda x: torch.zeros(len(x)), config=cfg,
                              sampler=sampler, generator=torch.Generator().manual_seed(1)).human
    assert [step for step, _ in sampler.seen] == [0, 1]
    with torch.no_grad():  # the last refresh saw the field as it was before the last step
        expected = human.density(x) + obj.density(x)
    assert torch.allclose(sampler.seen[-1][1], expected, rtol=0.2, atol=1e-3)
    assert sampler.seen[-1][1].max() > 0


def test_turntable_preview(scene, tmp_path):
    gt_body, gt_obj, _, _ = scene
    strip = turntable([gt_body, gt_obj], box=BOX, views=4, size=24, num_samples=32)
    assert strip.shape == (24, 96, 3) and strip.dtype == np.uint8
    assert strip.min() < 200 and strip.max() == 255  # something drawn on a white background
    path = save_png(tmp_path / "anchor_turntable.png", strip)
    assert Image.open(path).size == (96, 24)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["anchor_turntable.png"]


def test_training_in_parts_runs_the_whole_runs_steps(scene):
    """Round 0's SDS runs in two parts around a second object search (``anchor.stage``): the
    parts' steps are the whole run's (their progress, the sampler's step, the reported step)."""
    gt_body, gt_obj, _start, obj = scene
    comp, human_only = oracle_priors(gt_body, gt_obj, box=BOX, background=TINY.background,
                                     num_samples=16)

    class Recording(DenseStratifiedSampler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.seen: list[int] = []

        def update(self, step, density_fn):
            self.seen.append(step)

    sampler = Recording(DenseSamplerConfig(num_samples=16), box=BOX)
    cfg = dataclasses.replace(TINY, iterations=4, init_iterations=2, resolution=16)
    reported: list[tuple[int, int]] = []
    kw = dict(prompt="sit", prior=comp, human_prior=human_only, obj=obj,
              body_occupancy=lambda x: torch.zeros(len(x)), config=cfg, sampler=sampler,
              generator=torch.Generator().manual_seed(1),
              on_step=lambda s, n, losses: reported.append((s, n)))
    human = train_anchor_nerf(**kw, steps=(0, 1)).human
    train_anchor_nerf(**kw, human=human, steps=(1, 4))
    assert sampler.seen == [0, 1, 2, 3]
    assert reported == [(1, 4), (2, 4), (3, 4), (4, 4)]
    with pytest.raises(ValueError, match="steps"):
        train_anchor_nerf(**kw, human=human, steps=(2, 5))
