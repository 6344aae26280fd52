"""Sparse linear keys for the FBX: which of a node's per-frame keys to keep, error-bounded.

Blender's FBX writer flags every key *linear* (``KeyAttrFlags`` bit 2): between two keys an
FBX reader interpolates each channel linearly, the rotation as XYZ Euler angles in degrees
(the FBX SDK, hence Unity and Unreal). Other readers interpolate rotations differently:
Blender's importer turns the keys into quaternion F-curves with linear interpolation
(normalised linear blend of the key quaternions), Assimp into glTF rotation keys that are
slerped. A node keeps the keys at which, under every one of these three readings, no point
tied to the node moves more than its tolerance from its per-frame position.

The displacement is measured where it matters: for a node with local transform ``L`` (its
parent's space), the points are the node's own origin and the origins of all its descendants
(the joints it carries) and any extra points (the corners of a prop's bounding box), each as
a per-frame position ``q`` in the node's space. ``|(L' - L) q|`` times the parent's world
scale is how far the point moves in the world when this node alone is interpolated. A
point's world error is at most the sum of these over its chain of ancestors (the rigid
prefix keeps lengths), so the tolerances of a chain must add up to the bound:
:func:`tolerances` gives each node the bound divided by the length of the longest animated
chain through it.
"""

from __future__ import annotations

import numpy as np

from .keyreduce import worst_frames
from .pose_locals import matrix_quaternions
from .quaternions import to_matrix as quaternions_to_matrix


def euler_xyz(degrees: np.ndarray) -> np.ndarray:
    """(..., 3) FBX XYZ Euler angles in degrees → (..., 3, 3) rotation ``Rz @ Ry @ Rx``."""
    x, y, z = np.moveaxis(np.radians(degrees), -1, 0)
    cx, sx, cy, sy, cz, sz = np.cos(x), np.sin(x), np.cos(y), np.sin(y), np.cos(z), np.sin(z)
    return np.stack([
        cy * cz, sx * sy * cz - cx * sz, cx * sy * cz + sx * sz,
        cy * sz, sx * sy * sz + cx * cz, cx * sy * sz - sx * cz,
        -sy, sx * cy, cx * cy,
    ], axis=-1).reshape(np.shape(x) + (3, 3))


def local_matrices(channels: np.ndarray) -> np.ndarray:
    """(N, 9) translation, XYZ Euler degrees, scale → (N, 4, 4) FBX local matrices ``T R S``."""
    m = np.zeros((len(channels), 4, 4))
    m[:, :3, :3] = euler_xyz(channels[:, 3:6]) * channels[:, None, 6:9]
    m[:, :3, 3] = channels[:, :3]
    m[:, 3, 3] = 1.0
    return m


def tolerances(parents: list[int], animated: list[bool], bound: float) -> np.ndarray:
    """(J,) tolerance per node: ``bound`` over the number of animated nodes on the longest
    root-to-leaf chain through it, so that every chain's tolerances sum to at most ``bound``.
    ``parents`` lists each node's parent index (-1: none), parents before children."""
    up = np.zeros(len(parents), dtype=np.int64)
    for j, p in enumerate(parents):
        up[j] = (up[p] if p >= 0 else 0) + int(animated[j])
    down = np.zeros(len(parents), dtype=np.int64)  # animated nodes below j on its longest chain
    for j in reversed(range(len(parents))):
        p = parents[j]
        if p >= 0:
            down[p] = max(down[p], down[j] + int(animated[j]))
    return bound / np.maximum(up + down, 1)


class _Node:
    """One node's per-frame channels and points, and the displacement of any key set."""

    def __init__(self, channels: np.ndarray, points: np.ndarray, scale: np.ndarray):
        self.channels, self.points, self.scale = channels, points, scale
        true = local_matrices(channels)[:, :3, :]
        self.moved = self._apply(true[:, :, :3], true[:, :, 3], np.arange(len(channels)))
        self.quats = quaternions(channels)

    def _apply(self, rot: np.ndarray, shift: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return np.matmul(self.points[rows], np.swapaxes(rot, 1, 2)) + shift[:, None, :]

    def error(self, idx: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(M,) largest displacement at ``rows`` under the three readings of keys ``idx``."""
        worst = np.zeros(len(rows))
        for local in readings(self.channels, self.quats, idx, rows):
            got = self._apply(local[:, :3, :3], local[:, :3, 3], rows)
            worst = np.maximum(worst, np.linalg.norm(got - self.moved[rows], axis=-1).max(1))
        return worst * self.scale[rows]


def quaternions(channels: np.ndarray) -> np.ndarray:
    """(N, 4) unit quaternions (w, x, y, z) of the channels' XYZ Euler rotations."""
    return matrix_quaternions(euler_xyz(channels[:, 3:6]))


def readings(channels: np.ndarray, quats: np.ndarray, idx: np.ndarray,
             rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The local matrices (M, 4, 4) at ``rows`` of the keys ``idx`` as the three readers
    interpolate them: linear XYZ Euler (FBX SDK), normalised linear quaternion blend (Blender's
    importer) and slerp (Assimp's glTF); translation and scale linear in all three.
    ``quats``: :func:`quaternions` of the channels."""
    seg = np.clip(np.searchsorted(idx, rows, side="right") - 1, 0, len(idx) - 2)
    i0, i1 = idx[seg], idx[seg + 1]
    w = ((rows - i0) / (i1 - i0))[:, None]
    linear = (1.0 - w) * channels[i0] + w * channels[i1]
    q0, q1 = quats[i0], quats[i1]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)  # the short way, as the readers blend
    angle = np.arccos(np.clip(np.abs(dot), 0.0, 1.0))
    sin = np.sin(angle)
    small = sin < 1e-9
    safe = np.where(small, 1.0, sin)
    a = np.where(small, 1.0 - w, np.sin((1.0 - w) * angle) / safe)
    b = np.where(small, w, np.sin(w * angle) / safe)
    out = []
    for rot in (euler_xyz(linear[:, 3:6]), quaternions_to_matrix((1.0 - w) * q0 + w * q1),
                quaternions_to_matrix(a * q0 + b * q1)):
        m = np.zeros((len(rows), 4, 4))
        m[:, :3, :3] = rot * linear[:, None, 6:9]
        m[:, :3, 3] = linear[:, :3]
        m[:, 3, 3] = 1.0
        out.append(m)
    return out[0], out[1], out[2]


def key_indices(channels: np.ndarray, points: np.ndarray, scale: np.ndarray,
                tolerance: float) -> np.ndarray:
    """Indices of the keys to keep of a node's (N, 9) per-frame channels (translation, XYZ
    Euler degrees, scale): the first and last, and Douglas–Peucker refinement (the worst frame
    of every segment out of ``tolerance`` becomes a key) until, at every frame and under each
    of the :func:`readings`, no point of ``points`` (N, P, 3, in the node's space) moves more
    than ``tolerance`` in the world (``scale`` (N,): the parent's world scale). Terminates:
    with every key kept the displacement is zero.
    Each round re-evaluates only the frames of the segments it split."""
    n = len(channels)
    if n <= 2:
        return np.arange(n)
    node = _Node(channels, points, scale)
    is_key = np.zeros(n, dtype=bool)
    is_key[[0, -1]] = True
    idx = np.flatnonzero(is_key)
    rows = np.arange(n)
    error = np.zeros(n)
    while True:
        error[rows] = node.error(idx, rows)
        new = worst_frames(error, idx, tolerance)
        if new.size == 0:
            return idx
        is_key[new] = True
        idx = np.flatnonzero(is_key)
        error[new] = 0.0
        at = np.searchsorted(idx, new)
        lo, hi = idx[at - 1], idx[np.minimum(at + 1, len(idx) - 1)]
        rows = np.unique(np.concatenate([np.arange(a + 1, b) for a, b in zip(lo, hi)]
                                        + [np.empty(0, np.int64)]))
