"""Stage D runner for the job pipeline: detect the person in the video, clean the tracks.

``run_keypoint_stage`` reads stage C's ``frames.npz``, runs the detector frame by frame
(progress and cancel per frame), and turns the detections into anchor keypoints
(:func:`~.anchor_keypoints.anchor_keypoints`: confidence, left/right swaps, alignment through
the anchor frame, jumps, gaps). Files in ``out_dir`` (atomic writes):

- ``keypoints.npz``: ``keypoints (T, 55, 3)`` (u, v, confidence; camera pixels), ``occluded``,
  ``fps``, ``anchor_frame``, ``scale``, ``offset``, ``joint_names``
  (:func:`~.anchor_keypoints.save_keypoints`);
- ``keypoints_overlay.png`` (a strip of frames) and ``keypoints_overlay.gif`` (every frame)
  with the keypoints drawn.

A video in which the detector finds nobody raises :class:`~.base.NoPersonFoundError` (its
message and ``hint``: try another seed or prompt). Frames without a person, and joints seen in
only some frames, are handled by stage D (confidence 0, gaps bridged where short).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..anchor.key_pose import KeyPose, key_pose_mesh
from ..body import BodyModel
from ..nerf.cameras import Cameras
from ..portable.arrays import check_shape, load_npz, require
from ..video.base import load_video
from .anchor_keypoints import (AnchorKeypoints, AnchorKeypointsConfig, anchor_keypoints,
                               save_keypoints, save_overlay)
from .base import Detections, KeypointDetector

log = logging.getLogger(__name__)

KEYPOINTS_FILE = "keypoints.npz"
OVERLAY_FILE = "keypoints_overlay.png"
OVERLAY_GIF = "keypoints_overlay.gif"


@dataclass(frozen=True, eq=False)
class KeypointStageOutput:
    keypoints: AnchorKeypoints
    """The cleaned keypoints (camera pixels) with their statistics."""
    detections: Detections
    """The detector's raw output (video pixels, its own labels)."""
    seconds_per_frame: float
    """Detector wall time per frame."""
    files: dict[str, Path]
    """``keypoints``, ``overlay``, ``overlay_gif``."""


def run_keypoint_stage(*, video_dir: str | Path, camera: Cameras, key_pose: KeyPose,
                       body: BodyModel, anchor_frame: int, detector: KeypointDetector,
                       config: AnchorKeypointsConfig = AnchorKeypointsConfig(),
                       out_dir: str | Path,
                       on_step: Callable[[str, int, int, dict], None] | None = None
                       ) -> KeypointStageOutput:
    """Stage D; see the module docstring. ``camera`` is the video's (stage C's
    ``camera.json``); ``key_pose`` is the body at ``anchor_frame``. ``on_step`` gets
    ``("keypoints", frame, total, {})`` after each detected frame."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    video = load_video(video_dir)
    _, joints = key_pose_mesh(body, key_pose)

    def report(done: int, total: int) -> None:
        if on_step is not None:
            on_step("keypoints", done, total, {})

    started = time.perf_counter()
    detections = detector.detect(video.frames, on_frame=report)
    per_frame = (time.perf_counter() - started) / video.num_frames
    result = anchor_keypoints(detections, camera=camera, anchor_frame=anchor_frame,
                              anchor_joints_3d=joints, fps=video.fps, config=config)
    files = {"keypoints": out_dir / KEYPOINTS_FILE, "overlay": out_dir / OVERLAY_FILE,
             "overlay_gif": out_dir / OVERLAY_GIF}
    save_keypoints(files["keypoints"], result)
    save_overlay(files["overlay"], video.frames, result, detections=detections,
                 gif_path=files["overlay_gif"])
    seen = int((result.keypoints[..., 2] > 0).sum())
    log.info("stage D: person in %d of %d frames, %d keypoints kept, %.1f ms/frame",
             result.stats.frames_with_person, result.num_frames, seen, per_frame * 1e3)
    return KeypointStageOutput(keypoints=result, detections=detections,
                               seconds_per_frame=float(per_frame), files=files)


def load_keypoints(path: str | Path) -> np.ndarray:
    """``keypoints (T, 55, 3)`` from a ``keypoints.npz`` written by stage D (no pickle)."""
    path = Path(path)
    kp = require(path, load_npz(path, ("keypoints",)), "keypoints").astype(np.float64)
    check_shape(path, "keypoints", kp, (None, 55, 3))
    return kp
