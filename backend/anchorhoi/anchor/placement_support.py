"""Whether the image prior's own scores support the placement the object search kept.

The search keeps the lowest denoising error it saw; that is only a finding when the prior
told the candidates apart. Two ways it may not have:

- **flat**: the kept score is hardly lower than the typical (median) score of the coarse grid —
  the prior sees little difference between the object here and almost anywhere else;
- **ambiguous**: a coarse candidate far from the kept one (more than ``rival_distance`` times
  the object's size away) scores almost as well as the best coarse candidate near it (both
  at the grid's resolution, so refinement does not tip the comparison) — the prior would have
  accepted both.

Either is reported (a sentence for the stage's log and output), never silently kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, kw_only=True)
class SupportConfig:
    """Thresholds of the placement-support check (see the module docstring)."""

    min_contrast: float = 0.1
    """Smallest ``(median − best) / median`` of the coarse scores for a placement the prior
    prefers (below: flat)."""
    min_margin: float = 0.1
    """Smallest ``(rival − near) / (median − near)``: how much worse the far rival scores than
    the best coarse candidate near the kept placement, as a share of that one's lead over the
    median (below: ambiguous)."""
    rival_distance: float = 1.0
    """A rival is more than this many object sizes (the largest extent) from the kept centre."""

    def __post_init__(self) -> None:
        if not (0 <= self.min_contrast < 1 and 0 <= self.min_margin < 1
                and self.rival_distance > 0):
            raise ValueError("SupportConfig: min_contrast and min_margin in [0, 1), "
                             "rival_distance > 0")


@dataclass(frozen=True, kw_only=True)
class PlacementSupport:
    """How clearly the prior's scores single out the kept placement."""

    contrast: float
    """``(median − best) / median`` of the coarse grid's scores (0: flat)."""
    margin: float
    """``(rival − near) / (median − near)``, ``near`` the best coarse score near the kept
    placement (1: no far rival comes close; 0: a tie)."""
    rival_centre: np.ndarray | None
    """(3,) the best far candidate's centre, if any candidate was far enough."""
    note: str | None
    """The sentence reporting an unsupported placement; None when the scores support it."""


def placement_support(*, scores: np.ndarray, centres: np.ndarray, best_score: float,
                      best_centre: np.ndarray, size: float,
                      config: SupportConfig) -> PlacementSupport:
    """Judge the kept placement (``best_score`` at ``best_centre``) against the coarse grid's
    ``scores`` (K,) at ``centres`` (K, 3); ``size`` is the object's largest extent (metres)."""
    scores = np.asarray(scores, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64).reshape(-1, 3)
    median = float(np.median(scores))
    lead = median - best_score
    contrast = lead / median if median > 0 else 0.0
    far = np.linalg.norm(centres - best_centre, axis=1) > config.rival_distance * size
    rival_centre = None
    margin = 1.0
    if far.any() and lead > 0:
        i = int(np.argmin(np.where(far, scores, np.inf)))
        rival_centre = centres[i]
        near = min(float(np.min(scores[~far], initial=np.inf)), float(scores[i]))
        margin = float(np.clip((scores[i] - near) / max(median - near, 1e-12), 0.0, 1.0))
    where = np.round(best_centre, 2).tolist()
    note = None
    if contrast < config.min_contrast:
        note = (f"object placement not supported by the image prior: its score at {where} is "
                f"only {100 * contrast:.0f}% below the typical placement's (flat; "
                f"{100 * config.min_contrast:.0f}% wanted), so the object may be anywhere — "
                "check anchor_turntable.png and describe where the object is in the prompt")
    elif margin < config.min_margin:
        other = np.round(rival_centre, 2).tolist() if rival_centre is not None else None
        note = (f"object placement ambiguous: the image prior scores {other} almost as well "
                f"as the kept {where} ({100 * margin:.0f}% of the lead, "
                f"{100 * config.min_margin:.0f}% wanted) — check anchor_turntable.png and "
                "describe where the object is in the prompt")
    return PlacementSupport(contrast=float(contrast), margin=margin,
                            rival_centre=rival_centre, note=note)
