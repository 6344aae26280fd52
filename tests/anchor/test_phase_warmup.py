"""Stage B's learning-rate warm-up: each phase starts a fresh Adam, whose first steps move every
parameter by the full learning rate whatever its gradient; started on the answer, a phase must
not throw the body off it."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import torch

from anchorhoi.anchor import FitConfig, fit_body
from anchorhoi.anchor.fit import AnchorLattice, FitSampling, FitSchedule
from anchorhoi.anchor.phases import lr_factor
from anchorhoi.anchor.stage import posed_body_field
from anchorhoi.body.pose import default_initial_pose


def test_lr_factor_ramps_up_then_decays():
    schedule = FitSchedule(warmup_steps=4, final_lr_factor=0.1)
    pose = [lr_factor(schedule, phase="pose", step=s, iterations=40) for s in range(40)]
    assert pose[0] == pytest.approx(0.2 * (0.1 + 0.9 * 1.0))  # 1/(4+1) of the start rate
    assert all(a < b for a, b in itertools.pairwise(pose[:5]))  # rising over the warm-up
    assert all(a >= b for a, b in itertools.pairwise(pose[4:]))  # then the cosine decay
    assert pose[-1] == pytest.approx(0.1, abs=0.01)
    # the rigid phase starts far from the anchor: no warm-up there
    assert lr_factor(schedule, phase="rigid", step=0, iterations=40) == pytest.approx(1.0)
    # a short phase warms up over half its steps at most
    short = [lr_factor(schedule, phase="detail", step=s, iterations=5) for s in range(5)]
    assert short[2] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * 2 / 5)))
    off = dataclasses.replace(schedule, warmup_steps=0)
    assert lr_factor(off, phase="pose", step=0, iterations=40) == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"warmup_steps must be ≥ 0"):
        FitSchedule(warmup_steps=-1)
    with pytest.raises(ValueError, match=r"warmup_phases"):
        FitSchedule(warmup_phases=("posing",))


@pytest.mark.slow
def test_a_phase_started_on_the_answer_stays_there(body):
    """The detail phase from the anchor's own pose: with the warm-up the body stays on the
    anchor at every step; without it (a fresh Adam at full rate) the first step throws it off —
    what threw a fitted forward lean's arms 10-20 cm away."""
    pose = default_initial_pose(10)
    field = posed_body_field(body, pose)
    schedule = FitSchedule(rigid_iterations=0, search_rounds=1, search_iterations=0,
                           pose_iterations=0, detail_iterations=12, yaw_hypotheses_deg=(0.0,),
                           posture_hypotheses=((0.0, 0.0, 0.0),), sync_every=1)
    config = FitConfig(schedule=schedule, limb_search=None, lattice=AnchorLattice(resolution=48),
                       sampling=FitSampling(num_body_samples=600, num_anchor_samples=1200))
    worst = {}
    for warmup in (0, schedule.warmup_steps):
        result = fit_body(body, human_density=lambda x: field.density(x).detach(), init=pose,
                          config=dataclasses.replace(config, schedule=dataclasses.replace(
                              schedule, warmup_steps=warmup)),
                          generator=torch.Generator().manual_seed(0))
        chamfer = [h["chamfer_body"] for h in result.history if h["phase"] == "detail"]
        worst[warmup] = max(chamfer) - chamfer[0]
        print(warmup, np.round(chamfer, 4))
    assert worst[schedule.warmup_steps] < 0.002  # metres of mean chamfer gained at any step
    assert worst[0] > 2 * worst[schedule.warmup_steps]
