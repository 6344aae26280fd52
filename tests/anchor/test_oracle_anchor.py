"""The full oracle check of stages A + B (``anchorhoi.oracles.anchor_oracle``): renders of a
known sitting body and its box are the prior's data; from the default standing body, with the
box starting on the ground in front of it, the anchor NeRF must recover the scene on held-out
views, the fit the pose, and the loop the box's placement. Plus the pieces: the denoising error
the object search ranks candidates with, and the stage refusing an empty prompt before any
work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from anchorhoi.anchor.config import AnchorConfig
from anchorhoi.anchor.stage import run_anchor_stages
from anchorhoi.objects.mesh_io import load_object_mesh
from anchorhoi.oracles.anchor_oracle import OracleAnchorConfig, run_oracle_anchor
from anchorhoi.oracles.anchor_scene import load_anchor_case
from anchorhoi.priors.base import ViewBatch
from anchorhoi.priors.oracle import OracleImagePrior

pytestmark = pytest.mark.slow

CASES = Path(__file__).resolve().parents[2] / "bench" / "cases" / "anchor"


# Measured (seed 0, one thread, this 2-core VM; ~55 s quiet, ~280 s loaded): MPJPE 18.7 mm, box
# 0.59 cm / 1.6° off, held-out PSNR 32.3 dB; the search (turns, blurred coarse stages, 3
# hypotheses: 1084 candidates) moved the box from 0.5 m in front of the seat to near it, SDS took
# it the rest of the way. (Position-only search, 553 candidates: 16.3 mm, 0.59 cm, 33.0 dB.)
# Stage B alone refitted to this anchor with seeds 0-5: 13.8-20.4 mm with its 8 headings × 5
# postures (it starts this sitter from the crouch leaning forward), 13.1-16.5 mm with the
# former 4 × 3 (which fitted a person bent far over at a diagonal heading 110-340 mm off).
# With the search's refinement blurred coarse to fine, walking on while it improves, and run
# again half way through SDS and after it (2026-12-05): 13.7 mm, 1.26 cm, 0.05°, 34.3 dB.
def test_oracle_anchor_recovers_pose_and_placement(body, tmp_path):
    case = load_anchor_case(CASES / "sit_on_box")
    report = run_oracle_anchor(case, body=body, config=OracleAnchorConfig(),
                               out_dir=tmp_path / "job", generator=torch.Generator().manual_seed(0))
    print(report.figures())
    assert report.psnr_db >= 22.0
    assert report.mpjpe_mm <= 40.0
    assert report.obj_trans_err_cm <= 3.0
    # pinned (tolerances cover thread-count and library-version noise, not a regression);
    # since the search's cameras widened to the whole searched space (2026-12-04) the box was
    # kept 16° turned (PSNR 29.7, 17.5 mm, 1.2 cm); with the search refined coarse to fine and
    # run again during and after SDS (2026-12-05) 13.7 mm, 1.26 cm, 34.3 dB: see
    # bench/oracle_anchor.py
    assert report.psnr_db == pytest.approx(34.3, abs=1.5)
    assert report.mpjpe_mm == pytest.approx(13.7, abs=5.0)
    assert report.obj_trans_err_cm == pytest.approx(1.3, abs=1.0)
    # the box's half turn about its up axis is the same box (measured: 179.95°, i.e. 0.05°)
    fitted = report.output.object_placement[:3, :3]
    half = np.diag([-1.0, 1.0, -1.0])
    assert min(_angle_deg(fitted, case.obj_rotation),
               _angle_deg(fitted, case.obj_rotation @ half)) < 5.0
    # the last search (after SDS) kept where it started unless it found better, far from the
    # initial placement and near the box's place
    search = report.output.object_search
    assert search is not None and search.candidates > 1000
    assert search.score <= search.start_score
    start = np.array([0.0, -1.303, 0.45])  # where initial_object_placement stood the box
    assert np.linalg.norm(search.translation - start) > 0.4
    assert np.linalg.norm(search.translation - case.obj_translation) < 0.03
    assert all((tmp_path / "job" / name).is_file() for name in (
        "anchor_nerf.safetensors", "key_pose.npz", "anchor_turntable.png", "fit_preview.png"))


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """The angle (degrees) between two rotations (their scale divided out)."""
    a = a / np.cbrt(np.linalg.det(a))
    b = b / np.cbrt(np.linalg.det(b))
    return float(np.degrees(np.arccos(np.clip((np.trace(a.T @ b) - 1) / 2, -1, 1))))


def test_oracle_denoising_error_is_the_scaled_image_error():
    target = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    prior = OracleImagePrior(target_fn=lambda views: target)
    views = ViewBatch(azimuth_deg=torch.zeros(2), elevation_deg=torch.zeros(2))
    rgb = target.clone()
    rgb[1] = 0.5
    err = prior.denoising_error(rgb, prompt="a box", views=views, timestep_fraction=0.5,
                                generator=torch.Generator().manual_seed(1))
    a = float(prior.alphas_cumprod[500])  # round(0.5 · 999)
    want = a / (1 - a) * ((2 * rgb - 2 * target) ** 2).flatten(1).mean(1)
    torch.testing.assert_close(err, want, rtol=1e-4, atol=1e-6)
    assert float(err[0]) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="timestep_fraction"):
        prior.denoising_error(rgb, prompt="a box", views=views, timestep_fraction=1.5,
                              generator=torch.Generator())
    with pytest.raises(ValueError, match="prompt is empty"):
        prior.denoising_error(rgb, prompt=" ", views=views, timestep_fraction=0.5,
                              generator=torch.Generator())


def test_stage_refuses_an_empty_prompt_before_any_work(body, tmp_path):
    prior = OracleImagePrior(target_fn=lambda views: None)
    with pytest.raises(ValueError, match="prompt is empty"):
        run_anchor_stages(prompt="  ", obj_mesh=load_object_mesh(CASES / "sit_on_box" /
                                                                 "object.obj"),
                          body=body, config=AnchorConfig(), prior=prior,
                          out_dir=tmp_path / "job", generator=torch.Generator())
    assert not (tmp_path / "job").exists()
