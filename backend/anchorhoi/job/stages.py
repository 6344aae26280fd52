"""The job's stages, in order: what each runs and the one output type it hands on.

| stage | runs | hands on | its files in ``JOB/<stage>/`` |
|---|---|---|---|
| ``anchor`` | A and B, alternated | ``AnchorOutput`` | key pose, NeRF checkpoint, 2 previews |
| | (no mesh given) | | + the generated object's ``.glb``, ``.obj`` and turntable |
| ``video`` | C, the video prior | ``VideoOutput`` | frames, render, camera, preview |
| ``keypoints`` | D, anchor keypoints | ``AnchorKeypoints`` | ``keypoints.npz``, 2 overlays |
| ``motion`` | E, the 4D motion | ``MotionOutput`` | the result v1 (copied to the job root) |

A stage's ``run(ctx, out_dir)`` computes and saves its output (``runs.py``); its output type's
``load(folder)`` reads it back for a resumed job and ``previews(folder)`` lists its images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..anchor import output as anchor_files
from ..anchor.output import AnchorOutput
from ..keypoints import output as keypoint_files
from ..keypoints.output import AnchorKeypoints
from ..motion.output import MotionOutput
from ..portable.result_v1 import MOTION_NPZ, RESULT_JSON
from ..video import output as video_files
from ..video.output import VideoOutput
from .context import StageContext
from .runs import run_anchor, run_keypoints, run_motion, run_video


class StageOutput(Protocol):
    """What the job asks of a stage's output type (the object: ``save``; the type: ``load``,
    ``previews``)."""

    def save(self, folder: Path) -> object: ...


class OutputType(Protocol):
    def load(self, folder: Path) -> StageOutput: ...

    def previews(self, folder: Path) -> list[Path]: ...


@dataclass(frozen=True)
class Stage:
    name: str
    """Folder and protocol name."""
    label: str
    """What a person reads while it runs."""
    run: Callable[[StageContext, Path], StageOutput]
    """Compute the output and save it in the folder."""
    output: OutputType
    """The output type: ``load`` (resume) and ``previews``."""
    files: tuple[str, ...]
    """Names of the files it writes into its folder: clearing the folder removes these (and
    the files recorded when it completed), never anything else."""


STAGES: tuple[Stage, ...] = (
    Stage("anchor", "Anchor NeRF and body fit", run_anchor, AnchorOutput,
          (anchor_files.KEY_POSE_FILE, anchor_files.NERF_FILE, anchor_files.TURNTABLE_FILE,
           anchor_files.FIT_PREVIEW_FILE, anchor_files.OBJECT_GLB_FILE,
           anchor_files.OBJECT_OBJ_FILE, anchor_files.OBJECT_TURNTABLE_FILE)),
    Stage("video", "Video prior", run_video, VideoOutput,
          (video_files.FRAMES_FILE, video_files.PREVIEW_FILE, video_files.CONDITIONING_FILE,
           video_files.CAMERA_FILE, video_files.VIDEO_FILE)),
    Stage("keypoints", "Anchor keypoints", run_keypoints, AnchorKeypoints,
          (keypoint_files.KEYPOINTS_FILE, keypoint_files.OVERLAY_FILE,
           keypoint_files.OVERLAY_GIF)),
    Stage("motion", "4D motion", run_motion, MotionOutput, (RESULT_JSON, MOTION_NPZ)),
)
