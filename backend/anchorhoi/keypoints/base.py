"""The keypoint-detector interface: what stage D (anchor keypoints) asks of a 2D pose estimator.

A :class:`KeypointDetector` turns video frames into :class:`Detections` expressed on the 55
SMPL-X joints (``anchorhoi.portable.skeleton.JOINT_NAMES`` order), whatever the detector's own
landmark set is. Joints a detector has no landmark for carry confidence 0, so stage D and the
motion fit (stage E) never need to know which detector ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ..portable.skeleton import JOINT_NAMES, NUM_JOINTS
from ..progress import StepCallback

NO_PERSON_HINT = ("try another seed or prompt (the video may show no clearly visible person), "
                  "or another keypoint detector")

JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}


class NoPersonFoundError(RuntimeError):
    """No frame of a video shows a person the detector can find. ``str()`` is what happened
    (``message``); ``hint`` says what to try."""

    def __init__(self, message: str, *, hint: str = NO_PERSON_HINT):
        self.message = message
        self.hint = hint
        super().__init__(message)


@dataclass(frozen=True, eq=False)
class Detections:
    """Per-frame 2D keypoints of one person on the 55 SMPL-X joints."""

    xy: np.ndarray
    """(T, 55, 2) float64 pixel coordinates ``(u, v)``; pixel centres on integers (as in
    :mod:`anchorhoi.nerf.cameras`). Meaningless where ``confidence`` is 0."""
    confidence: np.ndarray
    """(T, 55) float64 in [0, 1]; 0 for joints the detector cannot see or has no landmark for,
    and for every joint of a frame without a person."""
    person_found: np.ndarray
    """(T,) bool: the detector found a person in the frame."""
    image_size: tuple[int, int]
    """``(width, height)`` of the frames in pixels."""

    def __post_init__(self) -> None:
        t = self.xy.shape[0] if self.xy.ndim == 3 else -1
        if (self.xy.shape != (t, NUM_JOINTS, 2) or self.confidence.shape != (t, NUM_JOINTS)
                or self.person_found.shape != (t,)):
            raise ValueError(
                f"Detections want xy (T,{NUM_JOINTS},2), confidence (T,{NUM_JOINTS}), "
                f"person_found (T,); got {self.xy.shape}, {self.confidence.shape}, "
                f"{self.person_found.shape}")
        if self.person_found.dtype != np.bool_:
            raise ValueError(f"person_found must be bool, got {self.person_found.dtype}")
        conf = self.confidence
        if not np.all(np.isfinite(conf)) or conf.min(initial=0) < 0 or conf.max(initial=0) > 1:
            raise ValueError("confidence must be finite and lie in [0, 1]")
        if not np.all(np.isfinite(self.xy[conf > 0])):
            raise ValueError("xy must be finite where confidence > 0")
        if np.any(conf[~self.person_found] > 0):
            raise ValueError("frames without a person must have confidence 0 everywhere")

    @property
    def num_frames(self) -> int:
        return int(self.xy.shape[0])

    @classmethod
    def empty(cls, num_frames: int, image_size: tuple[int, int]) -> Detections:
        """No person in any of ``num_frames`` frames (what a detector fills in)."""
        return cls(xy=np.zeros((num_frames, NUM_JOINTS, 2)),
                   confidence=np.zeros((num_frames, NUM_JOINTS)),
                   person_found=np.zeros(num_frames, dtype=bool), image_size=image_size)


@runtime_checkable
class KeypointDetector(Protocol):
    """A 2D human pose estimator (stage D's input)."""

    def detect(self, frames: np.ndarray, on_step: StepCallback | None = None) -> Detections:
        """Keypoints of the (most prominent) person in ``frames`` (T, H, W, 3) uint8 RGB.
        ``on_step(done, total, {})`` reports progress in frames (at least once per frame for
        per-frame detectors) and may raise to cancel.

        ``T == 1`` is a single image; for ``T > 1`` detectors that track may use the previous
        frames. A frame without a person gets ``person_found`` False and confidence 0 (this is
        not an error here; stage D decides).
        """
        ...


def map_to_smplx(points: np.ndarray, scores: np.ndarray, weights: np.ndarray,
                 factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A detector's landmarks → SMPL-X joints by a fixed linear map.

    ``points (T, L, 2)`` pixels and ``scores (T, L)`` in [0, 1] of the detector's L landmarks;
    ``weights (55, L)``: joint ``j`` sits at ``Σ_i weights[j, i] · points_i``; its confidence is
    ``factor[j] · min_{i: weights[j, i] ≠ 0} scores_i`` (0 for joints without landmarks).
    Returns ``xy (T, 55, 2)`` and ``confidence (T, 55)``.
    """
    xy = np.einsum("ji,tic->tjc", weights, points)
    used = weights != 0  # (55, L)
    worst = np.where(used[None], scores[:, None, :], np.inf).min(axis=-1)  # (T, 55)
    conf = np.where(used.any(axis=1)[None], worst, 0.0) * factor[None]
    return xy, np.clip(conf, 0.0, 1.0)


def check_frames(frames: np.ndarray) -> np.ndarray:
    """``frames`` as a C-contiguous (T, H, W, 3) uint8 array; ``ValueError`` otherwise."""
    frames = np.asarray(frames)
    if frames.ndim == 3:
        raise ValueError(f"frames must be (T, H, W, 3); got one image {frames.shape} — add a "
                         "leading frame axis (frames[None])")
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
        raise ValueError(f"frames must be (T, H, W, 3) RGB with T ≥ 1, got {frames.shape}")
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 RGB (0–255), got {frames.dtype}")
    return np.ascontiguousarray(frames)
