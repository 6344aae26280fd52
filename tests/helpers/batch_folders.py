"""Hand-made job folders as a batch leaves them: ``state.json`` for the finished stages and,
for a done job, a ``result.json`` with timings and quality (the shapes the job writes)."""

from __future__ import annotations

import json
from pathlib import Path

STAGES = ("anchor", "video", "keypoints", "motion")


def plausibility(penetration_mm: float) -> dict:
    return {"penetration_max_mm": {"value": penetration_mm, "unit": "mm", "limit": 10.0,
                                   "status": "pass" if penetration_mm <= 10 else "warn",
                                   "better": "lower"},
            "hand_contact_share": {"value": None, "unit": "share", "limit": 0.8,
                                   "status": "n/a", "better": "higher"}}


def state(stages: dict[str, float], *, rss: float = 900.0) -> dict:
    return {"version": 1, "stages": {name: {"fingerprint": f"fp-{name}", "seconds": s,
                                            "peak_rss_mb": rss + i}
                                     for i, (name, s) in enumerate(stages.items())}}


def done_job(folder: Path, *, seconds: float = 2.0, resumed: tuple[str, ...] = (),
             penetration_mm: float = 3.5) -> Path:
    """A finished job: all four stages in state.json and result.json (no motion.npz: the
    records read only result.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    st = state({s: seconds * (i + 1) for i, s in enumerate(STAGES)})
    (folder / "state.json").write_text(json.dumps(st))
    timings = {name: {k: v for k, v in entry.items() if k != "fingerprint"}
               | ({"resumed": True} if name in resumed else {})
               for name, entry in st["stages"].items()}
    result = {"schema": "anchorhoi.result", "version": "1.1", "name": "clip", "prompt": "p",
              "fps": 30.0, "frame_count": 8, "units": "meters", "up_axis": "Z",
              "body_model": {"kind": "procedural", "gender": "neutral", "num_betas": 10},
              "object": None, "files": {"motion": "motion.npz"}, "timings": timings,
              "quality": {"frames": 8, "reprojection_px_median": float("nan"),
                          "foot_skate_mm": 1.25, "plausibility": plausibility(penetration_mm)}}
    (folder / "result.json").write_text(json.dumps(result))  # NaN as the job writes it
    return folder


def failed_job(folder: Path, stages_done: tuple[str, ...] = ("anchor",)) -> Path:
    """A job that crashed after ``stages_done``: state.json only."""
    folder.mkdir(parents=True, exist_ok=True)
    st = state({s: 1.5 for s in stages_done})
    (folder / "state.json").write_text(json.dumps(st))
    return folder
