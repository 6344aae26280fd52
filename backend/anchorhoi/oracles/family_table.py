"""The benches' per-kind table: per case kind the median and the worst of every figure, and how
many cases miss any target (issue 11's acceptance targets)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .family import kind_of


@dataclass(frozen=True)
class Target:
    """A figure's acceptance target."""

    limit: float
    """The limit."""
    higher_is_better: bool = False
    """True: met at or above the limit; else at or below."""

    def met(self, value: float) -> bool:
        """Whether ``value`` meets the target (NaN never does)."""
        if not np.isfinite(value):
            return False
        return value >= self.limit if self.higher_is_better else value <= self.limit


ANCHOR_TARGETS = {"mpjpe_mm": Target(40.0), "obj_trans_err_cm": Target(3.0),
                  "psnr_db": Target(22.0, higher_is_better=True)}
"""Stages A + B: body joints ≤ 40 mm, the object ≤ 3 cm, the anchor NeRF ≥ 22 dB."""
MOTION_TARGETS = {"mpjpe_mm": Target(80.0), "pa_mpjpe_mm": Target(50.0),
                  "foot_skate_mm": Target(5.0), "max_penetration_mm": Target(10.0),
                  "obj_trans_err_cm": Target(5.0)}
"""Stage E: MPJPE ≤ 80 mm, PA-MPJPE ≤ 50 mm, skating ≤ 5 mm per contact frame, penetration
≤ 10 mm, the object ≤ 5 cm."""


def misses(row: Mapping[str, object], targets: Mapping[str, Target]) -> list[str]:
    """The figures of one bench row that miss their targets."""
    return [k for k, t in targets.items() if not t.met(_number(row.get(k)))]


def _number(value: object) -> float:
    """A figure as a float (NaN when missing or not a number)."""
    return float(value) if isinstance(value, (int, float)) else float("nan")


def kind_table(rows: Sequence[Mapping[str, object]], targets: Mapping[str, Target],
               figures: Sequence[str]) -> str:
    """A Markdown table: one line per kind (and ``all``) with the case count, ``median /
    worst`` of each of ``figures`` (worst by its target's direction, else the largest) and the
    count of cases missing any target."""
    kinds: dict[str, list[Mapping[str, object]]] = {}
    for row in rows:
        kinds.setdefault(kind_of(str(row["case"])), []).append(row)
    head = ["kind", "cases", *[f"{f} med / worst" for f in figures], "missing a target"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for kind, group in [*sorted(kinds.items()), ("all", list(rows))]:
        cells = [kind, str(len(group))]
        for f in figures:
            vals = np.array([_number(r.get(f)) for r in group], dtype=np.float64)
            vals = vals[np.isfinite(vals)]
            if not len(vals):
                cells.append("–")
                continue
            t = targets.get(f)
            worst = vals.min() if t is not None and t.higher_is_better else vals.max()
            cells.append(f"{np.median(vals):.3g} / {worst:.3g}")
        cells.append(str(sum(bool(misses(r, targets)) for r in group)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
