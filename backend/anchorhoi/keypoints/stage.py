"""Stage D runner: detect the person in the video's frames, clean the tracks.

``run_keypoint_stage`` runs the detector frame by frame over stage C's frames (progress and
cancel per frame) and turns the detections into anchor keypoints
(:func:`~.anchor_keypoints.anchor_keypoints`: confidence, left/right swaps, alignment through
the anchor frame, jumps, gaps). The result is an :class:`~.output.AnchorKeypoints`, saved in
``out_dir`` (``keypoints.npz``) with its overlay previews (``keypoints_overlay.png``, a strip
of frames, and ``keypoints_overlay.gif``, every frame; :mod:`.overlay`).

A video in which the detector finds nobody raises :class:`~.base.NoPersonFoundError` (its
message and ``hint``: try another seed or prompt). Frames without a person, and joints seen in
only some frames, are handled by stage D (confidence 0, gaps bridged where short).

Progress: ``progress("keypoints")`` after every detected frame.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from ..body import BodyModel
from ..body.pose import KeyPose, key_pose_mesh
from ..nerf.cameras import Cameras
from ..progress import StageProgress
from .anchor_keypoints import AnchorKeypointsConfig, anchor_keypoints
from .base import KeypointDetector, check_frames
from .output import OVERLAY_FILE, OVERLAY_GIF, AnchorKeypoints
from .overlay import save_overlay

log = logging.getLogger(__name__)


def run_keypoint_stage(*, frames: np.ndarray, fps: float, camera: Cameras, key_pose: KeyPose,
                       body: BodyModel, anchor_frame: int, detector: KeypointDetector,
                       config: AnchorKeypointsConfig = AnchorKeypointsConfig(),
                       out_dir: str | Path,
                       progress: StageProgress | None = None) -> AnchorKeypoints:
    """Stage D; see the module docstring. ``frames (T, H, W, 3)`` uint8 at ``fps`` are the
    video's (stage C), ``camera`` its camera; ``key_pose`` is the body at ``anchor_frame``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = check_frames(frames)
    _, joints = key_pose_mesh(body, key_pose)
    started = time.perf_counter()
    detections = detector.detect(frames, None if progress is None else progress("keypoints"))
    per_frame = (time.perf_counter() - started) / frames.shape[0]
    result = anchor_keypoints(detections, camera=camera, anchor_frame=anchor_frame,
                              anchor_joints_3d=joints, fps=fps, config=config)
    result.save(out_dir)
    save_overlay(out_dir / OVERLAY_FILE, frames, result, detections=detections,
                 gif_path=out_dir / OVERLAY_GIF)
    seen = int((result.keypoints[..., 2] > 0).sum())
    log.info("stage D: person in %d of %d frames, %d keypoints kept, %.1f ms/frame",
             result.stats.frames_with_person, result.num_frames, seen, per_frame * 1e3)
    return result
