"""Foot plants against the truth (``anchorhoi.oracles.plant_check``, ``bench/foot_plants.py``):
hand-made plants of a known step give known shares and footprint errors, and the bench scores
a shipped family case."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from anchorhoi.motion.foot_plants import FootPlants
from anchorhoi.oracles.plant_check import plant_scores

ROOT = Path(__file__).resolve().parents[2]
FPS = 30.0


def step() -> np.ndarray:
    """(30, 1, 3) a foot joint still at the origin to frame 10, moving 1 m/s along x to frame
    20, still after: by central differences still in frames 0–9 and 21–29, 0.5 m/s at 10 and
    20, 1 m/s between."""
    x = np.clip((np.arange(30) - 10) / FPS, 0.0, 1 / 3)
    return np.stack([x, np.full(30, 0.08), np.zeros(30)], -1)[:, None]


def plants_of(truth: np.ndarray, second_weight: float = 1.0) -> FootPlants:
    """Planted in frames 0–12 (three moving frames held), released in 13–24 (four still frames
    let go), planted in 25–29; the first footprint 3 cm off the truth, the second 10 cm, with
    ``second_weight``."""
    t = len(truth)
    weights = np.zeros((t, 1))
    weights[:13] = weights[25:] = 1.0
    ids = np.full((t, 1), -1)
    ids[:13], ids[25:] = 0, 1
    footprints = np.zeros((t, 1, 3))
    footprints[:13] = truth[0] + [0.03, 0.0, 0.0]
    footprints[25:] = truth[-1] + [0.10, 0.0, 0.0]
    fw = weights.copy()
    fw[25:] = second_weight
    as_t = torch.as_tensor
    return FootPlants(speed_mps=as_t(np.zeros((t, 1))), weights=as_t(weights),
                      footprints=as_t(footprints), footprint_weights=as_t(fw),
                      footprint_sigma_m=as_t(np.full((t, 1), 0.01)), plant_ids=as_t(ids),
                      plant_count=2)


def test_a_known_step_gives_its_false_releases_false_plants_and_footprint_errors():
    truth = step()
    seen = np.ones((30, 1), bool)
    s = plant_scores(plants_of(truth), truth, seen, FPS)
    assert (s.still_frames, s.moving_frames) == (19, 11)
    assert s.false_release == pytest.approx(4 / 19)
    assert s.false_plant == pytest.approx(3 / 11)
    # its mid-swing (faster than 0.8 m/s: frames 11–19), of which frames 11 and 12 are held
    mid = plant_scores(plants_of(truth), truth, seen, FPS, swing_mps=0.8)
    assert (mid.swing_frames, mid.planted_swing_frames) == (9, 2)
    assert mid.false_swing_plant == pytest.approx(2 / 9)
    slow = plant_scores(plants_of(truth), truth, seen, FPS, swing_mps=1.5)
    assert slow.swing_frames == 0 and np.isnan(slow.false_swing_plant)
    assert slow.as_json()["false_swing_plant"] is None
    # pulling footprints over still frames: ten at 3 cm (frames 0–9), five at 10 cm (25–29)
    assert s.footprint_err_cm == pytest.approx(3.0)
    assert s.footprint_worst_cm == pytest.approx(10.0)
    # a footprint that barely pulls is not scored
    weak = plant_scores(plants_of(truth, second_weight=0.05), truth, seen, FPS)
    assert weak.footprint_worst_cm == pytest.approx(3.0)
    assert json.loads(json.dumps(s.as_json()))["false_plant"] == pytest.approx(0.2727)


def test_unseen_frames_are_not_scored_and_bad_shapes_say_so():
    truth = step()
    seen = np.ones((30, 1), bool)
    seen[21:25] = False  # the still frames let go are not seen
    s = plant_scores(plants_of(truth), truth, seen, FPS)
    assert s.false_release == 0.0 and (s.still_frames, s.released_frames) == (15, 0)
    nothing = plant_scores(plants_of(truth), truth, np.zeros((30, 1), bool), FPS)
    assert np.isnan(nothing.false_release) and np.isnan(nothing.footprint_err_cm)
    assert nothing.as_json()["false_release"] is None
    with pytest.raises(ValueError, match="truth"):
        plant_scores(plants_of(truth), truth[:, :, :2], seen, FPS)


def test_the_bench_scores_a_family_case_from_its_keypoints():
    """``bench/foot_plants.py`` on a shipped walk: one JSON line with the figures, in range,
    and the pooled summary on stderr."""
    folder = ROOT / "bench" / "cases" / "family" / "motion" / "walk_straight-0-09"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "backend"), "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "foot_plants.py"), str(folder),
                          "--seed", "1"], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    row = json.loads(run.stdout.strip().splitlines()[-1])
    assert row["case"] == "walk_straight-0-09" and row["plants"] > 4
    assert row["still_frames"] > 0 and row["moving_frames"] > 0
    for key in ("false_release", "false_plant", "false_swing_plant"):
        assert 0.0 <= row[key] <= 1.0
    assert row["footprint_err_cm"] < row["footprint_worst_cm"] + 1e-9
    assert "false release" in run.stderr and "in mid-swing" in run.stderr
    assert "nan" not in run.stderr
