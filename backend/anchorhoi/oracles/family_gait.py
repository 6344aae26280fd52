"""Feet and trunk channels for the case family: footprints along a path, the step schedule,
the feet's ankle and ball targets, and the pelvis that rides over them.

A *station* is where the body stands between steps: its centre on the floor (x, z), its
heading (radians about +Y, 0 facing +Z) and the height of the floor under it. A foot's
footprint at a station is the rest pose's ball of that foot turned by the heading. Walking is
a list of stations: both feet start at the first, then the feet take turns (right first) to
step to the next station's footprint, and the trailing foot closes at the last. A foot lifts
``lift`` above the higher of its two floors while it swings (eased, no sliding while planted).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .family_ik import J, ShapedBody
from .motion_authoring import ease


def yaw_matrix(yaw: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations by ``yaw`` about +Y."""
    c, s = np.cos(yaw), np.sin(yaw)
    m = np.zeros(np.shape(yaw) + (3, 3))
    m[..., 0, 0], m[..., 0, 2], m[..., 1, 1], m[..., 2, 0], m[..., 2, 2] = c, s, 1, -s, c
    return m


@dataclass(frozen=True, kw_only=True)
class Station:
    """Where the body stands between steps."""

    x: float
    """Centre on the floor, x (m)."""
    z: float
    """Centre on the floor, z (m)."""
    heading: float
    """Facing direction about +Y (radians; 0 faces +Z)."""
    floor: float = 0.0
    """Height of the floor under it above the ground (m; a platform stepped onto)."""


def footprint(body: ShapedBody, station: Station, side: str, stance: float) -> np.ndarray:
    """(4,) ball of the ``side`` foot (x, y, z) and its heading at ``station``; ``stance``
    widens (> 0) or narrows the rest stance (m per foot)."""
    rest = body.rest[J[f"{side}_foot"]] - body.rest[0]
    rest = rest + np.array([np.sign(rest[0]) * stance, 0.0, 0.0])
    p = yaw_matrix(np.array(station.heading)) @ np.array([rest[0], 0.0, rest[2]])
    y = body.rest[J[f"{side}_foot"], 1] + station.floor
    return np.array([station.x + p[0], y, station.z + p[2], station.heading])


@dataclass(frozen=True)
class Feet:
    """Per-frame feet: ball of the foot ``(T, 3)``, heading ``(T,)``, heel raise ``(T,)``
    (radians) and whether the foot is planted ``(T,)``, per side."""

    ball: dict[str, np.ndarray]
    heading: dict[str, np.ndarray]
    heel: dict[str, np.ndarray]
    planted: dict[str, np.ndarray]


def walk(body: ShapedBody, stations: list[Station], frames: np.ndarray, *, start: int,
         swing: int, pause: int, stance: float, lift: float = 0.06, climb: float = 0.5
         ) -> Feet:
    """The feet stepping through ``stations`` from frame ``start``, each swing ``swing``
    frames, ``pause`` frames of double support between swings; a foot reaches the higher of
    its two floors within the first ``climb`` share of its swing (a step up clears the edge)."""
    ball, heading, planted = {}, {}, {}
    moves: dict[str, list[tuple[int, int, np.ndarray, np.ndarray]]] = {"left": [], "right": []}
    at = {s: footprint(body, stations[0], s, stance) for s in ("left", "right")}
    f = start
    order = [("right" if k % 2 == 0 else "left", k + 1) for k in range(len(stations) - 1)]
    if len(stations) > 1:
        order.append(("left" if len(order) % 2 else "right", len(stations) - 1))
    for side, k in order:
        to = footprint(body, stations[k], side, stance)
        moves[side].append((f, f + swing, at[side], to))
        at[side] = to
        f += swing + pause
    for side in ("left", "right"):
        p0 = footprint(body, stations[0], side, stance)
        pos = np.repeat(p0[None, :3], len(frames), 0)
        yaw = np.full(len(frames), p0[3])
        down = np.ones(len(frames), bool)
        for f0, f1, a, b in moves[side]:
            s = (frames - f0) / (f1 - f0)
            inside = (s > 0) & (s < 1)
            e = ease(s)[:, None]
            rise = ease(np.minimum(1.0, s / climb))
            span = a[:3] + (b[:3] - a[:3]) * e
            span[:, 1] = a[1] + (b[1] - a[1]) * rise + lift * np.sin(np.pi * ease(s))
            later = s >= 1
            pos = np.where(inside[:, None], span, np.where(later[:, None], b[:3], pos))
            yaw = np.where(inside, a[3] + (b[3] - a[3]) * e[:, 0], np.where(later, b[3], yaw))
            down &= ~inside
        ball[side], heading[side], planted[side] = pos, yaw, down
    zeros = {s: np.zeros(len(frames)) for s in ("left", "right")}
    return Feet(ball, heading, zeros, planted)


def standing(body: ShapedBody, station: Station, frames: np.ndarray, *, stance: float,
             heel: dict[str, np.ndarray] | None = None) -> Feet:
    """Both feet planted at ``station`` for all frames, heels raised by ``heel`` per side."""
    t = len(frames)
    ball, heading = {}, {}
    for side in ("left", "right"):
        p = footprint(body, station, side, stance)
        ball[side], heading[side] = np.repeat(p[None, :3], t, 0), np.full(t, p[3])
    raise_ = heel or {s: np.zeros(t) for s in ("left", "right")}
    return Feet(ball, heading, raise_, {s: np.ones(t, bool) for s in ("left", "right")})


def foot_targets(body: ShapedBody, feet: Feet) -> dict[str, np.ndarray]:
    """IK targets: each side's ball of the foot and its ankle (the foot turned by its
    heading, the heel raised about the ball)."""
    out = {}
    for side in ("left", "right"):
        d = body.rest[J[f"{side}_foot"]] - body.rest[J[f"{side}_ankle"]]  # ankle → ball
        phi = feet.heel[side]
        c, s = np.cos(phi), np.sin(phi)
        raised = np.stack([np.full_like(phi, d[0]), d[1] * c - d[2] * s,
                           d[1] * s + d[2] * c], -1)
        turned = np.einsum("tij,tj->ti", yaw_matrix(feet.heading[side]), raised)
        out[f"{side}_foot"] = feet.ball[side]
        out[f"{side}_ankle"] = feet.ball[side] - turned
    return out


def pelvis_over(body: ShapedBody, feet: Feet, *, drop: np.ndarray, forward: float = 0.0,
                heading: np.ndarray | None = None, lower: bool = False
                ) -> tuple[np.ndarray, np.ndarray]:
    """Pelvis ``(T, 3)`` and heading ``(T,)`` riding over the feet: the rest pelvis's place
    against the balls of the feet at the feet's mean heading (or ``heading``), ``drop (T,)``
    lower than rest above the mean floor (``lower``: the lower foot's floor, for steps up),
    ``forward`` metres ahead."""
    yaw = heading if heading is not None else (feet.heading["left"] + feet.heading["right"]) / 2
    mid = (feet.ball["left"] + feet.ball["right"]) / 2
    rest_mid = (body.rest[J["left_foot"]] + body.rest[J["right_foot"]]) / 2
    off = body.rest[0] - rest_mid
    off = np.array([off[0], 0.0, off[2] + forward])
    pelvis = mid + np.einsum("tij,j->ti", yaw_matrix(yaw), off)
    if lower:  # the lower foot, but never above the higher planted one (a swing's lift)
        ys = np.stack([feet.ball["left"][:, 1], feet.ball["right"][:, 1]])
        down = np.stack([feet.planted["left"], feet.planted["right"]])
        floor = np.minimum(ys.min(0), np.where(down, ys, -np.inf).max(0)) - rest_mid[1]
    else:
        floor = mid[:, 1] - rest_mid[1]
    pelvis[:, 1] = body.rest[0, 1] + floor - drop
    # smooth the weight shift (the mean of two feet jumps a little at every lift-off)
    k = np.array([1, 4, 6, 4, 1], float) / 16
    padded = np.pad(pelvis, ((2, 2), (0, 0)), mode="edge")
    pelvis = np.stack([np.convolve(padded[:, i], k, mode="valid") for i in range(3)], 1)
    return pelvis, yaw
