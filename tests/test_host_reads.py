"""Hot loops keep their logged values on the device and read them to the host every N steps
(``progress.LossReadout``, through the one place ``progress.read_losses``): the reads per run
are ≈ steps / N, the progress callback still gets numbers after every step, and the results do
not depend on N."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from anchorhoi import progress
from anchorhoi.anchor.anchor_nerf import AnchorNeRFConfig, train_anchor_nerf
from anchorhoi.body import BodyModel
from anchorhoi.job.presets import PRESETS
from anchorhoi.motion.config import MotionConfig, MotionSchedule
from anchorhoi.nerf.samplers import DenseStratifiedSampler
from anchorhoi.objects.field import ObjectField, ObjectFieldConfig
from anchorhoi.objects.mesh_io import load_object_mesh
from anchorhoi.oracles.motion_case import load_motion_case
from anchorhoi.oracles.motion_oracle import run_oracle_motion
from anchorhoi.priors import StableDiffusionPrior, StableDiffusionPriorConfig
from anchorhoi.priors.tiny import build_tiny_sd

BENCH = Path(__file__).resolve().parents[1] / "bench" / "cases"


@pytest.fixture
def reads(monkeypatch) -> list[int]:
    """Every host read of a loop's values (its size), counted where it happens."""
    seen: list[int] = []
    read = progress.read_losses

    def counted(losses):
        seen.append(len(losses))
        return read(losses)

    monkeypatch.setattr(progress, "read_losses", counted)
    return seen


def test_the_readout_reads_every_n_steps_and_reports_every_step(reads):
    reported = []
    readout = progress.LossReadout(lambda s, n, losses: reported.append((s, dict(losses))),
                                   25, 10, unreported=("bad",))
    for step in range(1, 26):
        readout.step(step, {"loss": torch.tensor(float(step)), "bad": torch.tensor(0.0)})
    assert len(reads) == 3  # steps 10, 20 and the last
    assert [s for s, _ in reported] == list(range(1, 26))
    assert reported[0][1] == {} and reported[9][1] == {"loss": 10.0}
    assert reported[15][1] == {"loss": 10.0} and reported[24][1] == {"loss": 25.0}
    assert readout.extra == {"bad": 0.0}
    with pytest.raises(ValueError, match="every"):
        progress.LossReadout(None, 5, 0)


def test_read_losses_is_exact_for_float64():
    x = torch.tensor(1.0 / 3.0, dtype=torch.float64)
    assert progress.read_losses({"x": x, "y": torch.tensor(0.1)}) == {
        "x": 1.0 / 3.0, "y": float(torch.tensor(0.1))}


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory) -> StableDiffusionPrior:
    folder = build_tiny_sd(tmp_path_factory.mktemp("tiny-sd"), seed=0)
    return StableDiffusionPrior(StableDiffusionPriorConfig(model_id=str(folder)))


def _train(prior: StableDiffusionPrior, sync_every: int, on_step):
    base = PRESETS["tiny"].anchor.nerf
    config = dataclasses.replace(base, iterations=12, init_iterations=5, resolution=16,
                                 sync_every=sync_every)
    assert isinstance(config, AnchorNeRFConfig)
    box = load_object_mesh(BENCH / "anchor" / "sit_on_box" / "object.obj")
    obj = ObjectField(box, ObjectFieldConfig(grid_resolution=24)).requires_grad_(False)
    return train_anchor_nerf(
        prompt="a person sits on the box", prior=prior, obj=obj,
        body_occupancy=lambda x: (x.norm(dim=-1) < 0.4).to(x.dtype), config=config,
        sampler=DenseStratifiedSampler(config.sampler, box=config.box),
        generator=torch.Generator().manual_seed(0), on_step=on_step)


def test_stage_a_reads_every_n_steps_with_the_same_result(tiny_sd, reads):
    steps = []
    every_step = _train(tiny_sd, 1, None)
    assert len(reads) == 12
    reads.clear()
    result = _train(tiny_sd, 5, lambda s, n, losses: steps.append((s, dict(losses))))
    assert len(reads) == 3  # steps 5, 10 and 12: one read for all terms each time
    assert [s for s, _ in steps] == list(range(1, 13))
    assert all(isinstance(v, float) for _, losses in steps[4:] for v in losses.values())
    assert result.losses == every_step.losses and "total" in result.losses
    for a, b in zip(result.human.state_dict().values(), every_step.human.state_dict().values()):
        assert torch.equal(a, b)


def test_stage_e_reads_every_n_steps_with_the_same_result(reads):
    torch.set_num_threads(1)
    body = BodyModel()
    case = load_motion_case(BENCH / "motion" / "push_table")
    results = {}
    for every in (1, 8):
        reads.clear()
        config = MotionConfig(schedule=MotionSchedule(
            root_iterations=16, pose_iterations=16, contact_iterations=16, sync_every=every))
        results[every] = run_oracle_motion(case, body=body, config=config, seed=0).result
        # phase 1, 2 and 3: 16 iterations each
        assert len(reads) == 3 * (16 if every == 1 else 2)
    a, b = results[1], results[8]
    # the same optimisation, not a bitwise-equal one: CPU kernels may sum in another order with
    # another memory alignment (it depends on what the process ran before), and 48 Adam steps
    # carry that float32 rounding up to ~2e-4 (seen on CI). One step more or less, or a step
    # with other losses, moves values by about the learning rate (0.02): ten times the bound.
    step = config.schedule.learning_rate
    for x, y in ((a.motion.trans, b.motion.trans), (a.motion.pose_body, b.motion.pose_body),
                 (a.obj_trans, b.obj_trans)):
        np.testing.assert_allclose(x, y, rtol=0, atol=step / 10)
