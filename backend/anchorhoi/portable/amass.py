"""Reading SMPL-X motion arrays in the AMASS layout (plain AMASS files and our own motion.npz)."""

from __future__ import annotations

import numpy as np

from .arrays import MotionFileError, check_frames, float_array, string_value
from .motion import SmplxMotion

# (key, width) of the per-frame pose arrays, in the order they make up AMASS's `poses (T, 165)`.
POSE_KEYS: tuple[tuple[str, int], ...] = (
    ("root_orient", 3), ("pose_body", 63), ("pose_jaw", 3), ("pose_eye", 6), ("pose_hand", 90),
)
OPTIONAL_POSE_KEYS = ("pose_jaw", "pose_eye", "pose_hand")
"""Zero when a plain AMASS file lacks them."""
GENDERS = ("neutral", "male", "female")
FRAME_RATE_KEYS = ("mocap_frame_rate", "mocap_framerate", "fps")
"""Where real files keep the frame rate: SMPL-X AMASS releases, SMPL-H releases, other tools."""


def motion_from_arrays(path, arrays: dict[str, np.ndarray], *, strict: bool) -> SmplxMotion:
    """An :class:`SmplxMotion` from AMASS-style arrays.

    ``strict`` (our result files) requires every key; otherwise (plain AMASS files) hands, jaw
    and eyes default to zero, ``betas`` to zeros, ``gender`` to neutral, and a file with only
    the packed ``poses (T, 165)`` array is accepted too.
    """
    arrays = dict(arrays)
    if not strict and "pose_body" not in arrays and "poses" in arrays:
        poses = float_array(path, arrays, "poses", (None, 165))
        start = 0
        for key, width in POSE_KEYS:
            arrays.setdefault(key, poses[:, start:start + width])
            start += width
    trans = float_array(path, arrays, "trans", (None, 3))
    t = trans.shape[0]
    pose = {}
    for key, width in POSE_KEYS:
        if key not in arrays and not strict and key in OPTIONAL_POSE_KEYS:
            pose[key] = np.zeros((t, width))
            continue
        pose[key] = float_array(path, arrays, key, (None, width))
    check_frames(path, {"trans": trans, **pose}, ["trans", *pose])

    if "betas" in arrays or strict:
        ndim = 2 if getattr(arrays.get("betas"), "ndim", 1) == 2 else 1
        betas = float_array(path, arrays, "betas", (None,) * ndim)
        if betas.ndim == 2:  # (T, B) or (1, B): one body shape per clip
            if not np.allclose(betas, betas[:1]):
                raise MotionFileError(path, "per-frame body shapes are not supported; "
                                      "use one row of betas", key="betas")
            betas = betas[0]
    else:
        betas = np.zeros(10)

    gender = "neutral"
    if "gender" in arrays or strict:
        gender = string_value(path, arrays, "gender").strip().lower()
        if gender not in GENDERS:
            raise MotionFileError(path, f"unknown gender {gender!r}; use one of {GENDERS}",
                                  key="gender")

    rate_key = "mocap_frame_rate"
    if not strict:
        found = [k for k in FRAME_RATE_KEYS if k in arrays]
        if not found:
            raise MotionFileError(path, "missing key — the frame rate of the clip is needed "
                                  f"(one of {', '.join(FRAME_RATE_KEYS)})", key=rate_key)
        rate_key = found[0]
    fps = float(float_array(path, arrays, rate_key, ()))
    if not 1.0 <= fps <= 1000.0:
        raise MotionFileError(path, f"frame rate {fps} is outside 1..1000 fps", key=rate_key)
    return SmplxMotion(trans=trans, betas=betas, gender=gender, fps=fps, **pose)


def motion_to_arrays(motion: SmplxMotion) -> dict[str, np.ndarray]:
    """The AMASS keys of a motion (float32 arrays, as AMASS ships them)."""
    out = {key: getattr(motion, key).astype(np.float32) for key, _ in POSE_KEYS}
    out["trans"] = motion.trans.astype(np.float32)
    out["betas"] = motion.betas.astype(np.float32)
    out["gender"] = np.array(motion.gender)
    out["mocap_frame_rate"] = np.array(motion.fps, dtype=np.float64)
    return out
