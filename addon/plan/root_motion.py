"""Root motion for game engines (bpy-free): where the ``root`` bone goes per frame and how much
the whole body is shifted, from the pelvis's world track. Blender's world: Z up, floor z = 0.

- ``AS_IS``: the root keeps its own track (the import's), nothing is shifted.
- ``ROOT_MOTION``: the root follows the pelvis's ground projection (x, y at the root's rest
  height) and, with ``yaw``, the pelvis's heading about the vertical; every joint keeps its
  world position (the pelvis is re-expressed relative to the moving root).
- ``IN_PLACE``: the root stays at rest and the pelvis's horizontal travel is removed: the
  whole body (and the prop with it) is shifted so the pelvis stays over the root.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROOT_MOTION_MODES = ("AS_IS", "ROOT_MOTION", "IN_PLACE")
UP = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True, kw_only=True)
class RootTracks:
    root: np.ndarray
    """(T, 4, 4) world matrices of the ``root`` bone."""
    shift: np.ndarray
    """(T, 3) world translation added to every joint and to the prop (non-zero for
    ``IN_PLACE`` only)."""


def heading(pelvis_rot: np.ndarray, rest_rot: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """(T,) yaw angles (radians, about +Z) of the pelvis relative to its rest: the turn of the
    body's horizontal facing ``forward`` (3,) under each frame's rotation ``pelvis_rot`` (T, 3, 3)
    relative to ``rest_rot`` (3, 3)."""
    f0 = np.asarray(forward, dtype=np.float64) * np.array([1.0, 1.0, 0.0])
    if np.linalg.norm(f0) < 1e-9:
        raise ValueError("the body's facing direction must not be vertical")
    f0 = f0 / np.linalg.norm(f0)
    f = np.einsum("tij,jk,k->ti", pelvis_rot, rest_rot.T, f0)
    cross = f0[0] * f[:, 1] - f0[1] * f[:, 0]
    return np.arctan2(cross, f[:, :2] @ f0[:2])


def yaw_matrices(angles: np.ndarray) -> np.ndarray:
    """(T,) angles → (T, 3, 3) rotations about +Z."""
    c, s = np.cos(angles), np.sin(angles)
    out = np.zeros((len(angles), 3, 3))
    out[:, 0, 0], out[:, 0, 1], out[:, 1, 0], out[:, 1, 1] = c, -s, s, c
    out[:, 2, 2] = 1.0
    return out


def root_tracks(*, mode: str, pelvis: np.ndarray, pelvis_rest: np.ndarray, root: np.ndarray,
                root_rest: np.ndarray, forward: np.ndarray, yaw: bool = True) -> RootTracks:
    """The root's world matrices and the body's shift for ``mode``.

    ``pelvis`` (T, 4, 4) and ``root`` (T, 4, 4): the source's world tracks; ``pelvis_rest`` and
    ``root_rest`` (4, 4): their rest world matrices; ``forward`` (3,): the body's facing at rest.
    """
    pelvis, root = np.asarray(pelvis, np.float64), np.asarray(root, np.float64)
    n = len(pelvis)
    shift = np.zeros((n, 3))
    if mode == "AS_IS":
        return RootTracks(root=root.copy(), shift=shift)
    if mode not in ROOT_MOTION_MODES:
        raise ValueError(f"unknown root motion {mode!r}; choose one of {ROOT_MOTION_MODES}")
    still = np.repeat(np.asarray(root_rest, np.float64)[None], n, axis=0)
    if mode == "IN_PLACE":
        shift[:, :2] = still[:, :2, 3] - pelvis[:, :2, 3]
        return RootTracks(root=still, shift=shift)
    moving = still.copy()
    moving[:, :2, 3] = pelvis[:, :2, 3]
    if yaw:
        turn = yaw_matrices(heading(pelvis[:, :3, :3], pelvis_rest[:3, :3], forward))
        moving[:, :3, :3] = turn @ still[:, :3, :3]
    return RootTracks(root=moving, shift=shift)
