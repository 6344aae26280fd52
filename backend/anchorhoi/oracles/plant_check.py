"""Stage E's foot plants (``motion.foot_plants``) against the truth of an oracle case: how often
a still foot joint is let go, how often a moving one is held, and how far the footprints that
pull lie from where the foot stands. Plants come from keypoints alone; their errors are what
skating and depth drift start from, and this check measures them in seconds per case instead
of a whole optimisation (``bench/foot_plants.py``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..motion.foot_plants import FootPlants


@dataclass(frozen=True)
class PlantScores:
    """The plants of one case against its truth (see ``plant_scores``)."""

    still_frames: int
    """Seen (frame, foot joint) pairs whose true joint stands still."""
    released_frames: int
    """Those of them not planted."""
    moving_frames: int
    """Seen pairs whose true joint moves."""
    planted_moving_frames: int
    """Those of them planted."""
    swing_frames: int
    """Seen pairs whose true joint moves faster than ``swing_mps``: a swing's middle, not the
    slow frames of its lift-off and landing."""
    planted_swing_frames: int
    """Those of them planted: a foot held where it swings (the body is dragged after its
    footprint), unlike a plant reaching a frame or two into the slow end of a swing."""
    footprint_err_cm: float
    """Median distance of a pulling footprint from its still true joint (NaN without any)."""
    footprint_worst_cm: float
    """The largest of the plants' median footprint distances (NaN without any)."""

    @property
    def false_release(self) -> float:
        """Share of the still pairs not planted (NaN without still pairs)."""
        return _share(self.released_frames, self.still_frames)

    @property
    def false_plant(self) -> float:
        """Share of the moving pairs planted (NaN without moving pairs)."""
        return _share(self.planted_moving_frames, self.moving_frames)

    @property
    def false_swing_plant(self) -> float:
        """Share of the mid-swing pairs planted (NaN without any)."""
        return _share(self.planted_swing_frames, self.swing_frames)

    def as_json(self) -> dict[str, float | int | None]:
        """Rounded, NaN as None."""
        def num(x: float, digits: int) -> float | None:
            return None if np.isnan(x) else round(float(x), digits)
        return {"still_frames": self.still_frames, "moving_frames": self.moving_frames,
                "false_release": num(self.false_release, 4),
                "false_plant": num(self.false_plant, 4),
                "false_swing_plant": num(self.false_swing_plant, 4),
                "footprint_err_cm": num(self.footprint_err_cm, 2),
                "footprint_worst_cm": num(self.footprint_worst_cm, 2)}


def _share(part: int, whole: int) -> float:
    return part / whole if whole else float("nan")


def pooled_scores(scores: list[PlantScores]) -> PlantScores:
    """The frame counts of several cases' ``scores`` summed (their shares pooled over every
    joint-frame); the footprint figures, medians of their own cases, are NaN."""
    def total(name: str) -> int:
        return sum(getattr(s, name) for s in scores)
    return PlantScores(
        still_frames=total("still_frames"), released_frames=total("released_frames"),
        moving_frames=total("moving_frames"),
        planted_moving_frames=total("planted_moving_frames"),
        swing_frames=total("swing_frames"), planted_swing_frames=total("planted_swing_frames"),
        footprint_err_cm=float("nan"), footprint_worst_cm=float("nan"))


def plant_scores(plants: FootPlants, truth: np.ndarray, seen: np.ndarray, fps: float, *,
                 still_mps: float = 0.1, moving_mps: float = 0.3, swing_mps: float = 1.0,
                 pulling: float = 0.1) -> PlantScores:
    """Score ``plants`` of the foot joints against their true positions ``truth (T, F, 3)`` over
    the frames where each joint's keypoint is ``seen (T, F)``. A true joint stands still below
    ``still_mps``, moves above ``moving_mps`` and swings above ``swing_mps`` (3D speed, central
    differences: a heel rising is moving); a joint is planted where its plant weight is above
    one half; a footprint pulls where its weight is at least ``pulling`` (where the plant has a
    footprint behind an object's top as well, the nearer of the two counts)."""
    truth = np.asarray(truth, dtype=float)
    seen = np.asarray(seen, dtype=bool)
    if truth.ndim != 3 or truth.shape[2] != 3 or seen.shape != truth.shape[:2] \
            or tuple(plants.weights.shape) != seen.shape:
        raise ValueError(f"plant_scores wants truth (T, F, 3) and seen (T, F) matching the "
                         f"plants' {tuple(plants.weights.shape)}, got {truth.shape} and "
                         f"{seen.shape}")
    if len(truth) < 2:
        raise ValueError("plant_scores needs at least two frames")
    speed = np.linalg.norm(np.gradient(truth, axis=0), axis=-1) * fps
    still, moving = seen & (speed < still_mps), seen & (speed > moving_mps)
    swing = seen & (speed > swing_mps)
    planted = plants.weights.detach().cpu().numpy() > 0.5
    err = np.linalg.norm(plants.footprints.detach().cpu().numpy() - truth, axis=-1)
    pull = plants.footprint_weights.detach().cpu().numpy() >= pulling
    if plants.behind is not None and plants.behind_weights is not None:
        err_behind = np.linalg.norm(plants.behind.detach().cpu().numpy() - truth, axis=-1)
        behind = plants.behind_weights.detach().cpu().numpy() >= pulling
        err = np.where(behind & (~pull | (err_behind < err)), err_behind, err)
        pull = pull | behind
    scored = pull & still
    worst = float("nan")
    if plants.plant_ids is not None and scored.any():
        ids = plants.plant_ids.detach().cpu().numpy()
        per_plant = [float(np.median(err[scored & (ids == k)]))
                     for k in np.unique(ids[scored])]
        worst = 100 * max(per_plant)
    return PlantScores(
        still_frames=int(still.sum()), released_frames=int((still & ~planted).sum()),
        moving_frames=int(moving.sum()), planted_moving_frames=int((moving & planted).sum()),
        swing_frames=int(swing.sum()), planted_swing_frames=int((swing & planted).sum()),
        footprint_err_cm=100 * float(np.median(err[scored])) if scored.any() else float("nan"),
        footprint_worst_cm=worst)
