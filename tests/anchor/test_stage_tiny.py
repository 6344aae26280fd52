"""The ``tiny`` preset runs stages A and B end to end with a tiny random Stable Diffusion
(built from config, saved, reloaded through ``from_pretrained`` offline) and writes its outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from anchorhoi.anchor.key_pose import default_initial_pose
from anchorhoi.anchor.presets import preset
from anchorhoi.anchor.stage import run_anchor_stages
from anchorhoi.body import BodyModel
from anchorhoi.objects.mesh_io import load_object_mesh
from anchorhoi.priors.stable_diffusion import StableDiffusionPrior, StableDiffusionPriorConfig
from anchorhoi.priors.tiny import build_tiny_sd

CASES = Path(__file__).resolve().parents[2] / "bench" / "cases" / "anchor"


def test_tiny_anchor_stages_end_to_end(tmp_path):
    torch.set_num_threads(1)
    folder = build_tiny_sd(tmp_path / "tiny-sd")
    prior = StableDiffusionPrior(StableDiffusionPriorConfig(model_id=str(folder)), device="cpu")
    body = BodyModel()
    steps = []
    out = run_anchor_stages(
        prompt="a person sits down on the box", obj_mesh=load_object_mesh(
            CASES / "sit_on_box" / "object.obj"), body=body, preset=preset("tiny"),
        prior=prior, out_dir=tmp_path / "job",
        generator=torch.Generator().manual_seed(0),
        on_step=lambda stage, s, n, losses: steps.append((stage, s, n)))
    sds_steps = preset("tiny").nerf.iterations
    assert steps[0] == ("anchor_nerf[0]", 1, sds_steps) and steps[-1] == ("fit", 1, 1)
    for name in ("anchor_nerf.safetensors", "key_pose.npz", "anchor_turntable.png",
                 "fit_preview.png"):
        assert (tmp_path / "job" / name).is_file(), name
    assert not [p for p in (tmp_path / "job").iterdir() if p.name.startswith(".")]
    tensors = load_file(tmp_path / "job" / "anchor_nerf.safetensors")
    assert tensors["object.placement"].shape == (4, 4)
    assert Image.open(tmp_path / "job" / "anchor_turntable.png").size == (6 * 64, 64)
    with np.load(tmp_path / "job" / "key_pose.npz") as kp:
        assert kp["pose_body"].shape == (63,) and np.isfinite(kp["pose_body"]).all()
        np.testing.assert_allclose(kp["object_placement"], out.object_placement)
    # the random prior says nothing useful, so the body-drift term keeps the anchor at the
    # initial body and the fit stays near it: the pelvis moves less than 10 cm
    start = default_initial_pose(10).trans
    assert np.linalg.norm(out.key_pose.trans - start) < 0.10
    # the box stood in front of the body on the ground (0.45 m ahead, on the soles' level)
    np.testing.assert_allclose(out.object_placement[:3, 3], [0.0, -1.30, 0.45], atol=0.05)
    # pinned (seed 0, one thread, torch 2.13 CPU): the pelvis, the fit's losses, the box
    np.testing.assert_allclose(out.key_pose.trans, [0.0372, -0.0585, -0.0608], atol=2e-3)
    assert out.fit.losses["total"] == pytest.approx(0.1667, rel=0.02)
    assert out.fit.losses["chamfer_body"] == pytest.approx(0.0701, rel=0.02)
    assert out.fit.losses["penetration"] == 0.0 and len(out.contact_vertices) == 0
    np.testing.assert_allclose(out.object_placement[:3, 3], [-0.0175, -1.3174, 0.4660],
                               atol=2e-3)
    assert out.object_search is None  # the tiny preset does not search the placement
