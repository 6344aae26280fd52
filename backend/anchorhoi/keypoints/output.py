"""Stage D's output: the anchor keypoints in the camera's pixel frame, and their file.

``keypoints.npz`` (atomic, no pickle): ``keypoints (T, 55, 3)`` (u, v, confidence; camera
pixels, float32), ``occluded (T, 55)``, ``fps``, ``anchor_frame``, ``scale``, ``offset (2,)``
(the video ↔ camera alignment), ``anchor_projection (55, 2)``, ``joint_names (55,)`` and
``stats`` (JSON text). The overlay previews beside it are drawn by :mod:`.overlay`.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..portable.arrays import (
    MotionFileError,
    check_shape,
    float_array,
    int_array,
    load_npz,
    require,
    save_npz_atomic,
    string_value,
)
from ..portable.skeleton import JOINT_NAMES, NUM_JOINTS

KEYPOINTS_FILE = "keypoints.npz"
OVERLAY_FILE = "keypoints_overlay.png"
OVERLAY_GIF = "keypoints_overlay.gif"
BODY_JOINTS = slice(0, 25)
"""Pelvis … eyes: what the body size is measured on (and drawn at the anchor frame)."""


@dataclass(frozen=True, kw_only=True)
class AnchorKeypointsStats:
    """What stage D did (for result.json and the log)."""

    frames: int
    """Frames of the video."""
    frames_with_person: int
    """Frames in which the detector found a person."""
    observed_joints: int
    """Joints the detector reported in at least one frame."""
    rejected_low_confidence: int
    """Keypoints of observed joints below ``min_confidence`` (frames without a person
    included)."""
    rejected_anchor: int
    """Anchor-frame keypoints that disagreed with the key pose's projection."""
    rejected_jump: int
    """Keypoints that jumped away from their track."""
    bridged: int
    """Keypoints filled in by interpolation."""
    side_swaps: int
    """(frame, side group) pairs whose left and right labels were exchanged (step 1b)."""
    unbridged: int
    """Occluded keypoints left at confidence 0."""
    aligned: bool
    """The alignment was estimated (False: too few anchor-frame joints, or ``align="none"``)."""
    body_size_px: float
    """The key pose's projected body size (camera pixels)."""
    anchor_residual_px: float
    """Median distance between aligned detections and projections at the anchor frame
    (accepted joints, camera pixels; NaN when none)."""


@dataclass(frozen=True, eq=False)
class AnchorKeypoints:
    """Stage D's output, in the camera's pixel frame."""

    keypoints: np.ndarray
    """(T, 55, 3) ``(u, v, confidence)``; ``(0, 0, 0)`` where rejected and not bridged."""
    occluded: np.ndarray
    """(T, 55) bool: an observed joint whose detection was missing or rejected in that frame
    (bridged or not). Joints the detector never reports are not flagged (just unobserved)."""
    fps: float
    """Frame rate of the video."""
    anchor_frame: int
    """The frame showing the key pose."""
    scale: float
    """Alignment: video pixel = ``scale`` · camera pixel + ``offset``."""
    offset: np.ndarray
    """(2,) alignment offset in video pixels."""
    anchor_projection: np.ndarray
    """(55, 2) the key pose's joints projected with the camera."""
    stats: AnchorKeypointsStats
    """What stage D did."""

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])

    def save(self, folder: str | Path) -> Path:
        """Write ``keypoints.npz`` into ``folder`` (module docstring); returns its path."""
        path = Path(folder) / KEYPOINTS_FILE
        save_npz_atomic(path, {
            "keypoints": self.keypoints.astype(np.float32), "occluded": self.occluded,
            "fps": np.array(self.fps, dtype=np.float64),
            "anchor_frame": np.array(self.anchor_frame, dtype=np.int64),
            "scale": np.array(self.scale, dtype=np.float64),
            "offset": self.offset.astype(np.float64),
            "anchor_projection": self.anchor_projection.astype(np.float64),
            "joint_names": np.array(JOINT_NAMES),
            "stats": np.array(json.dumps(dataclasses.asdict(self.stats)))})
        return path

    @classmethod
    def load(cls, folder: str | Path) -> AnchorKeypoints:
        """What :meth:`save` wrote into ``folder`` (no pickle; ``MotionFileError`` naming a
        bad key)."""
        path = Path(folder) / KEYPOINTS_FILE
        a = load_npz(path)
        keypoints = float_array(path, a, "keypoints", (None, NUM_JOINTS, 3))
        t = keypoints.shape[0]
        occluded = require(path, a, "occluded")
        check_shape(path, "occluded", occluded, (t, NUM_JOINTS))
        if occluded.dtype != np.bool_:
            raise MotionFileError(path, f"expected bool, got {occluded.dtype}", key="occluded")
        try:
            stats = AnchorKeypointsStats(**json.loads(string_value(path, a, "stats")))
        except (TypeError, ValueError) as exc:
            raise MotionFileError(path, f"unreadable statistics ({exc})", key="stats") from None
        return cls(keypoints=keypoints, occluded=occluded,
                   fps=float(float_array(path, a, "fps", ())),
                   anchor_frame=int(int_array(path, a, "anchor_frame", ())),
                   scale=float(float_array(path, a, "scale", ())),
                   offset=float_array(path, a, "offset", (2,)),
                   anchor_projection=float_array(path, a, "anchor_projection", (NUM_JOINTS, 2)),
                   stats=stats)

    @staticmethod
    def previews(folder: str | Path) -> list[Path]:
        """The overlay previews in ``folder``: the strip of frames, then the animation."""
        return [p for p in (Path(folder) / OVERLAY_FILE, Path(folder) / OVERLAY_GIF)
                if p.is_file()]


