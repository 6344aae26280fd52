"""The ``tiny`` preset runs stages A and B end to end with a tiny random Stable Diffusion
(built from config, saved, reloaded through ``from_pretrained`` offline) and writes its outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from anchorhoi.anchor.fit import fit_steps
from anchorhoi.anchor.output import AnchorOutput
from anchorhoi.anchor.stage import run_anchor_stages
from anchorhoi.body import BodyModel
from anchorhoi.body.pose import default_initial_pose
from anchorhoi.job.presets import PRESETS
from anchorhoi.objects.mesh_io import load_object_mesh
from anchorhoi.priors.stable_diffusion import StableDiffusionPrior, StableDiffusionPriorConfig
from anchorhoi.priors.tiny import build_tiny_sd

pytestmark = pytest.mark.slow

CASES = Path(__file__).resolve().parents[2] / "bench" / "cases" / "anchor"


def test_tiny_anchor_stages_end_to_end(tmp_path):
    torch.set_num_threads(1)
    folder = build_tiny_sd(tmp_path / "tiny-sd")
    prior = StableDiffusionPrior(StableDiffusionPriorConfig(model_id=str(folder)), device="cpu")
    body = BodyModel()
    steps = []

    def progress(part):
        return lambda s, n, losses: steps.append((part, s, n))

    out = run_anchor_stages(
        prompt="a person sits down on the box", obj_mesh=load_object_mesh(
            CASES / "sit_on_box" / "object.obj"), body=body, config=PRESETS["tiny"].anchor,
        prior=prior, out_dir=tmp_path / "job",
        generator=torch.Generator().manual_seed(0), progress=progress)
    # every SDS step, then every fit step (all of its phases and the exact evaluation)
    sds_steps = PRESETS["tiny"].anchor.nerf.iterations
    fit_total = fit_steps(PRESETS["tiny"].anchor.fit)
    assert steps[:sds_steps] == [("anchor_nerf[0]", s, sds_steps) for s in range(1, sds_steps + 1)]
    assert steps[sds_steps:] == [("fit[0]", s, fit_total) for s in range(1, fit_total + 1)]
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
    back = AnchorOutput.load(tmp_path / "job")  # what a resumed job hands on
    np.testing.assert_array_equal(back.key_pose.pose_body, out.key_pose.pose_body)
    np.testing.assert_array_equal(back.key_pose.betas, out.key_pose.betas)
    np.testing.assert_array_equal(back.object_placement, out.object_placement)
    np.testing.assert_array_equal(back.contact_vertices, out.contact_vertices)
    assert back.max_penetration == out.max_penetration and back.human is None
    assert back.placement_note == out.placement_note == ""  # no search, nothing to report
    handed = out.hand_off()  # what the job passes on: the same as a resumed job reads back
    assert handed.human is None and handed.object_field is None and handed.fit is None
    assert handed.key_pose is out.key_pose and out.human is not None
    assert [p.name for p in AnchorOutput.previews(tmp_path / "job")] == [
        "anchor_turntable.png", "fit_preview.png"]
    # the random prior says nothing useful, so the body-drift term keeps the anchor at the
    # initial body and the fit stays near it: the pelvis moves less than 10 cm
    start = default_initial_pose(10).trans
    assert np.linalg.norm(out.key_pose.trans - start) < 0.10
    # the box stood in front of the body on the ground (0.45 m ahead, on the soles' level)
    np.testing.assert_allclose(out.object_placement[:3, 3], [0.0, -1.30, 0.45], atol=0.05)
    # the fitted body explains the anchor it was fitted to (the initial body's occupancy):
    # a mean surface distance of a few centimetres at most, every loss finite
    assert all(np.isfinite(v) for v in out.fit.losses.values())
    assert out.fit.losses["chamfer_body"] < 0.15
    assert out.fit.losses["penetration"] == 0.0 and len(out.contact_vertices) == 0
    assert out.object_search is None  # the tiny preset does not search the placement
