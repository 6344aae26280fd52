"""Per-frame contacts as spans, and foot plants of a clip that has none (bpy-free).

A clip without stage E's contacts (a plain AMASS file, a result 1.0) gets its foot plants from
its own motion, with the thresholds of the usual foot-skating measure (GMD; CHOIS uses the same
5 cm): a foot is planted on a frame where its ankle or its toes are within
``FOOT_HEIGHT_M`` of the floor and slower than ``FOOT_SPEED_MPS``. Heights are measured from
each joint's rest height above the soles, and the floor is the clip's own lowest such point
(mocap floors are often off by centimetres). Spans shorter than ``MIN_SPAN_FRAMES`` are
dropped. Hands hold nothing (no object contact is known).
"""

from __future__ import annotations

import numpy as np

from ..portable.contacts import CONTACT_KEYS
from ..portable.kinematics import posed_joints
from ..portable.motion import MotionClip

FOOT_HEIGHT_M = 0.05
FOOT_SPEED_MPS = 0.5
MIN_SPAN_FRAMES = 3
FEET = {"contact_foot_l": (7, 10), "contact_foot_r": (8, 11)}  # (ankle, toes) joints


def spans(values: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) frame indices, both inclusive, of the runs of non-zero ``values`` (T,)."""
    on = np.concatenate([[False], np.asarray(values) > 0, [False]])
    edges = np.flatnonzero(on[1:] != on[:-1])
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def derive_contacts(clip: MotionClip) -> dict[str, np.ndarray]:
    """Foot plants from the motion of ``clip`` (in the body model's Y-up world)."""
    m, rig = clip.motion, clip.rig
    joints, _ = posed_joints(m.full_pose(), rig.rest_joints, rig.parents, m.trans)
    clearance = np.asarray(rig.rest_joints)[:, 1] - np.min(np.asarray(rig.rest_vertices)[:, 1])
    ids = [j for pair in FEET.values() for j in pair]
    height = joints[:, ids, 1] - clearance[ids]
    height = height - height.min()
    velocity = np.gradient(joints[:, ids], axis=0) * m.fps if m.num_frames > 1 \
        else np.zeros_like(joints[:, ids])
    speed = np.linalg.norm(velocity, axis=-1)
    low_slow = (height < FOOT_HEIGHT_M) & (speed < FOOT_SPEED_MPS)  # (T, 4)
    out = {}
    for k, key in enumerate(FEET):
        planted = low_slow[:, 2 * k] | low_slow[:, 2 * k + 1]
        for a, b in spans(planted):
            if b - a + 1 < MIN_SPAN_FRAMES:
                planted[a:b + 1] = False
        out[key] = planted.astype(np.uint8)
    for key in CONTACT_KEYS[2:]:
        out[key] = np.zeros(m.num_frames, dtype=np.uint8)
    return out


def clip_contacts(clip: MotionClip) -> tuple[dict[str, np.ndarray], str]:
    """The clip's contacts and where they came from (``"stage E"`` or ``"derived"``)."""
    if clip.contacts is not None:
        return dict(clip.contacts), "stage E"
    return derive_contacts(clip), "derived"


def lock_weights(values: np.ndarray, blend: int) -> np.ndarray:
    """(T,) how much a foot is held: 1 inside its spans, easing to 0 over ``blend`` frames on
    each side (smoothstep), 0 beyond."""
    values = np.asarray(values) > 0
    t = len(values)
    w = values.astype(np.float64)
    if blend <= 0 or not values.any():
        return w
    idx = np.arange(t)
    on = np.flatnonzero(values)
    # distance of every frame to the nearest planted frame
    pos = np.searchsorted(on, idx)
    left = np.where(pos > 0, idx - on[np.clip(pos - 1, 0, len(on) - 1)], t)
    right = np.where(pos < len(on), on[np.clip(pos, 0, len(on) - 1)] - idx, t)
    d = np.minimum(left, right).astype(np.float64)
    x = np.clip(1.0 - d / (blend + 1), 0.0, 1.0)
    return np.maximum(w, x * x * (3.0 - 2.0 * x))
