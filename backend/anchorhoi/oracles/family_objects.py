"""Random objects of the case family and where untouched ones stand (clear of the body)."""

from __future__ import annotations

import numpy as np

from . import family_shapes as S
from .family_place import pose_matrix

OBJECTS = ("box", "cylinder", "table", "shelf", "stool", "pole", "ball")
"""The object kinds the family draws from."""


def draw_object(rng: np.random.Generator, kind: str) -> S.Mesh:
    """A random ``kind`` object (sizes in everyday ranges)."""
    u = rng.uniform
    if kind == "box":
        return S.box(u(0.3, 0.8), u(0.3, 0.9), u(0.3, 0.7))
    if kind == "cylinder":
        return S.cylinder(u(0.12, 0.3), u(0.4, 1.0))
    if kind == "table":
        return S.table(u(0.8, 1.2), u(0.5, 0.8), u(0.7, 0.8))
    if kind == "shelf":
        return S.shelf(u(0.6, 1.0), u(0.3, 0.4), u(1.2, 1.8))
    if kind == "stool":
        return S.stool(u(0.15, 0.2), u(0.4, 0.7))
    if kind == "pole":
        return S.pole(u(0.02, 0.04), u(1.8, 2.2))
    if kind == "ball":
        return S.ball(u(0.1, 0.2))
    raise ValueError(f"unknown object kind {kind!r}; one of {', '.join(OBJECTS)}")


def place_clear(rng: np.random.Generator, mesh: S.Mesh, verts: np.ndarray, ground_y: float, *,
                centre: np.ndarray, radius: tuple[float, float], clearance: float = 0.25,
                tries: int = 60) -> np.ndarray:
    """(4, 4) pose of ``mesh`` standing on the floor ``radius`` metres from ``centre (x, z)``
    in a random direction, at least ``clearance`` from every body vertex ``(T, V, 3)`` of the
    clip (in x/z, within the object's height); ``ValueError`` when no try fits."""
    v = mesh[0]
    reach = float(np.linalg.norm(v[:, [0, 2]], axis=1).max())
    top = ground_y + float(v[:, 1].max())
    pts = verts[:, ::7].reshape(-1, 3)
    pts = pts[pts[:, 1] < top + 0.05][:, [0, 2]]
    for _ in range(tries):
        a = rng.uniform(0, 2 * np.pi)
        r = rng.uniform(*radius)
        at = np.asarray(centre) + r * np.array([np.cos(a), np.sin(a)])
        if np.linalg.norm(pts - at, axis=1).min() > reach + clearance:
            return pose_matrix(np.array([at[0], ground_y, at[1]]), rng.uniform(-np.pi, np.pi))
    raise ValueError("no place clear of the body for the object")
