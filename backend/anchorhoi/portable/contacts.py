"""Per-frame contacts of a clip: feet planted on the floor, hands holding the object.

A result (from 1.1) carries them in ``motion.npz`` as four ``(T,)`` uint8 arrays of 0/1, all four
or none: stage E's decisions (a foot is planted where its ankle's or its toes' contact weight
exceeds one half; a hand holds where stage E's hand–object contact interval says so).
"""

from __future__ import annotations

import numpy as np

from .arrays import MotionFileError

CONTACT_KEYS: tuple[str, ...] = ("contact_foot_l", "contact_foot_r", "contact_hand_l",
                                 "contact_hand_r")
"""The arrays' keys, also the names of the animated custom properties in Blender."""


def contacts_from_stage(foot_contact: np.ndarray, hand_contact: np.ndarray
                        ) -> dict[str, np.ndarray]:
    """Stage E's ``foot_contact (T, 4)`` weights (left/right ankle, left/right toes) and
    ``hand_contact (T, 2)`` (left/right) → the four 0/1 arrays."""
    feet = np.asarray(foot_contact, dtype=np.float64) > 0.5
    hands = np.asarray(hand_contact).astype(bool)
    values = (feet[:, 0] | feet[:, 2], feet[:, 1] | feet[:, 3], hands[:, 0], hands[:, 1])
    return {k: v.astype(np.uint8) for k, v in zip(CONTACT_KEYS, values, strict=True)}


def contacts_from_arrays(path, arrays: dict[str, np.ndarray], num_frames: int
                         ) -> dict[str, np.ndarray] | None:
    """The contacts of a ``motion.npz`` (None when it has none); ``MotionFileError`` naming
    the key unless all four are there as ``(T,)`` arrays of 0/1."""
    present = [k for k in CONTACT_KEYS if k in arrays]
    if not present:
        return None
    out = {}
    for key in CONTACT_KEYS:
        if key not in arrays:
            raise MotionFileError(path, f"missing key (contacts come all four: {CONTACT_KEYS})",
                                  key=key)
        a = np.asarray(arrays[key])
        if a.dtype.kind not in "biu" or a.shape != (num_frames,) or \
                not np.isin(a, (0, 1)).all():
            raise MotionFileError(path, f"expected {num_frames} values of 0 or 1", key=key)
        out[key] = a.astype(np.uint8)
    return out
