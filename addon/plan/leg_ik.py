"""Foot locking with an analytic two-bone leg IK (bpy-free).

A leg is the chain pelvis → hip (thigh) → knee (calf) → ankle (foot). Posed armature-space
matrices follow Blender's rule ``M_b = M_parent · R_b · B_b`` (``R_b`` the bone's rest matrix
relative to its parent, ``B_b`` its pose basis from the keys). ``lock_leg`` holds the ankle —
position and orientation, so the toes stay put too — at one target per contact span (the
ankle's mean position over the span, its orientation at the span's middle frame), eased out over
``blend`` frames either side (``contact_spans.lock_weights``), and solves per frame:

1. the knee goes where the law of cosines puts it for the thigh and calf lengths and the
   target's distance from the hip, in the plane of the current knee bend (the pole; a straight
   leg bends towards ``forward``);
2. the thigh turns by the shortest arc onto the new knee, the calf by the shortest arc onto the
   target, the ankle takes the held orientation;
3. the new world rotations become pose-basis rotations, ``B = Rᵀ·M_parentᵀ·M`` (rotation parts).

The pelvis and everything above stay as they were; a target beyond the leg's reach is
approached as closely as the straightened leg allows and reported (``residual_m``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import quaternions
from .contact_spans import lock_weights, spans

EPS = 1e-9


@dataclass(frozen=True, kw_only=True)
class LegPose:
    """One leg over ``T`` frames (armature space)."""

    pelvis: np.ndarray  # (T, 4, 4) posed matrix of the hip's parent
    rest: np.ndarray  # (3, 4, 4) rest matrices of hip, knee, ankle relative to their parents
    basis: np.ndarray  # (T, 3, 4, 4) pose bases of hip, knee, ankle


@dataclass(frozen=True, kw_only=True)
class LegLock:
    frames: np.ndarray  # (F,) indices of the frames that change
    rotations: np.ndarray  # (F, 3, 4) new basis quaternions (w, x, y, z) of hip, knee, ankle
    correction_m: np.ndarray  # (T,) how far the ankle target is from the free ankle
    residual_m: np.ndarray  # (T,) distance left between the solved ankle and its target


def chain(leg: LegPose) -> np.ndarray:
    """(T, 3, 4, 4) posed matrices of hip, knee, ankle."""
    out = np.empty_like(leg.basis)
    parent = leg.pelvis
    for b in range(3):
        out[:, b] = parent @ leg.rest[b] @ leg.basis[:, b]
        parent = out[:, b]
    return out


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The shortest-arc rotation (3, 3) turning direction ``a`` onto direction ``b``."""
    a = a / max(np.linalg.norm(a), EPS)
    b = b / max(np.linalg.norm(b), EPS)
    v, c = np.cross(a, b), float(a @ b)
    if c < -1.0 + 1e-12:  # opposite: half a turn about any axis normal to a
        n = np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0])
        n /= np.linalg.norm(n)
        return 2.0 * np.outer(n, n) - np.eye(3)
    vx = np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
    return np.eye(3) + vx + vx @ vx / (1.0 + c)


def solve_two_bone(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, target: np.ndarray,
                   forward: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World rotations ``(r_thigh, r_calf)`` to apply to thigh and calf (the calf's includes the
    thigh's) so the ankle reaches ``target``, and the ankle's new position."""
    a, b = float(np.linalg.norm(knee - hip)), float(np.linalg.norm(ankle - knee))
    to_target = target - hip
    d_raw = np.linalg.norm(to_target)
    u = to_target / max(d_raw, EPS)
    d = min(max(float(d_raw), abs(float(a - b)) + 1e-9), float(a + b) - 1e-9)
    bend = knee - hip
    pole = bend - (bend @ u) * u
    if np.linalg.norm(pole) < 1e-6 * a:  # a straight leg bends its knee forward
        pole = forward - (forward @ u) * u
    pole /= max(np.linalg.norm(pole), EPS)
    cos_hip = np.clip((a * a + d * d - b * b) / (2.0 * a * d), -1.0, 1.0)
    new_knee = hip + a * (cos_hip * u + np.sqrt(1.0 - cos_hip * cos_hip) * pole)
    r_thigh = rotation_between(knee - hip, new_knee - hip)
    calf = r_thigh @ (ankle - knee)
    reach = hip + d * u
    r_calf = rotation_between(calf, reach - new_knee) @ r_thigh
    return r_thigh, r_calf, new_knee + r_calf @ (ankle - knee)


def lock_leg(leg: LegPose, planted: np.ndarray, *, blend: int, forward: np.ndarray) -> LegLock:
    """Hold the ankle still over the spans of ``planted`` (T,) and ease out over ``blend``
    frames; ``forward`` (3,) or (T, 3) the body's front, armature space (pole of a straight
    leg)."""
    posed = chain(leg)
    t = len(posed)
    forward = np.broadcast_to(np.asarray(forward, dtype=np.float64), (t, 3))
    ankle_pos = posed[:, 2, :3, 3]
    weights = lock_weights(planted, blend)
    runs = spans(planted)
    if not runs:
        return LegLock(frames=np.zeros(0, np.int64), rotations=np.zeros((0, 3, 4)),
                       correction_m=np.zeros(t), residual_m=np.zeros(t))
    # each frame follows the target of its nearest span
    middles = np.array([(a + b) / 2.0 for a, b in runs])
    nearest = np.abs(np.arange(t)[:, None] - middles[None, :]).argmin(axis=1)
    targets_p = np.array([ankle_pos[a:b + 1].mean(axis=0) for a, b in runs])
    targets_q = np.array([quaternions.from_matrix(posed[(a + b) // 2, 2, :3, :3])
                          for a, b in runs])
    frames = np.flatnonzero(weights > 0.0)
    rotations = np.empty((len(frames), 3, 4))
    correction, residual = np.zeros(t), np.zeros(t)
    for i, f in enumerate(frames):
        w, k = weights[f], nearest[f]
        hip, knee, ankle = posed[f, 0, :3, 3], posed[f, 1, :3, 3], ankle_pos[f]
        target = (1.0 - w) * ankle + w * targets_p[k]
        free_q = quaternions.from_matrix(posed[f, 2, :3, :3])
        held_q = slerp(free_q, targets_q[k], w)
        r_thigh, r_calf, reached = solve_two_bone(hip, knee, ankle, target, forward[f])
        thigh = r_thigh @ posed[f, 0, :3, :3]
        calf = r_calf @ posed[f, 1, :3, :3]
        foot = quaternions.to_matrix(held_q)
        parents = (leg.pelvis[f, :3, :3], thigh, calf)
        for b, world in enumerate((thigh, calf, foot)):
            local = leg.rest[b, :3, :3].T @ parents[b].T @ world
            rotations[i, b] = quaternions.from_matrix(local)
        correction[f] = np.linalg.norm(target - ankle)
        residual[f] = np.linalg.norm(reached - target)
    return LegLock(frames=frames, rotations=rotations, correction_m=correction,
                   residual_m=residual)


def slerp(q0: np.ndarray, q1: np.ndarray, w: float) -> np.ndarray:
    """Spherical interpolation of unit quaternions (the shorter way)."""
    if q0 @ q1 < 0.0:
        q1 = -q1
    c = float(np.clip(q0 @ q1, -1.0, 1.0))
    if c > 0.9995:
        q = (1.0 - w) * q0 + w * q1
    else:
        theta = np.arccos(c)
        q = (np.sin((1.0 - w) * theta) * q0 + np.sin(w * theta) * q1) / np.sin(theta)
    return q / np.linalg.norm(q)
