"""Stage C runner: render the anchored composition, then animate it.

``run_video_stage`` poses the body in the key pose, places the object with stage B's placement,
chooses the video's camera (a three-quarter view, :mod:`.conditioning`), draws the conditioning
picture and asks the video prior for exactly ``num_frames`` at ``fps``. The result is a
:class:`~.output.VideoOutput`, saved in ``out_dir`` (its files: :mod:`.output`).

Progress: ``progress("video")`` gets step 0 of 1 once the render is drawn, then every
denoising step.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..body import BodyModel
from ..body.pose import KeyPose, key_pose_mesh
from ..objects.mesh_io import ObjectMesh
from ..objects.placement import placed_object
from ..progress import StageProgress
from .base import VideoPrior, VideoSampling
from .conditioning import (
    ConditioningCameraConfig,
    choose_camera,
    facing_direction,
    render_composition,
)
from .output import VideoOutput

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class VideoStageConfig:
    """Stage C at one quality level: the video's size and camera, and how the prior samples."""

    width: int
    """Width of the conditioning render and the video, pixels (a multiple of 32)."""
    height: int
    """Height of the conditioning render and the video, pixels (a multiple of 32)."""
    sampling: VideoSampling
    """Steps, guidance, conditioning strength, tiling of the video prior."""
    camera: ConditioningCameraConfig = field(default_factory=ConditioningCameraConfig)
    """Where the video's camera stands (three-quarter view by default)."""
    expected_vram_gb: float | None = None
    """Peak GPU memory budget of the stage in GiB (``job/memory.py`` computes it from the
    component sizes; the preset table states it); None on the CPU."""

    def __post_init__(self) -> None:
        if self.width % 32 or self.height % 32 or self.width < 32 or self.height < 32:
            raise ValueError(f"the video's width and height must be multiples of 32 (the Wan "
                             f"VAE × patch grid), got {self.width}×{self.height}")


def run_video_stage(*, prompt: str, key_pose: KeyPose, obj_mesh: ObjectMesh | None,
                    object_placement: np.ndarray | None, body: BodyModel,
                    config: VideoStageConfig, prior: VideoPrior, out_dir: str | Path,
                    generator: torch.Generator, num_frames: int, fps: float,
                    progress: StageProgress | None = None,
                    device: torch.device | str = "cpu") -> VideoOutput:
    """Stage C; see the module docstring. ``prior`` is a built video prior (e.g.
    ``registry.make_video_prior``). ``obj_mesh`` None: the body alone. ``device`` is the
    compute device of the stage: the body is posed on the body model's own device and the
    render is drawn on the CPU, the prior runs where it was built; it is kept so that every
    stage runner takes one."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    on_step = None if progress is None else progress("video")
    verts, _ = key_pose_mesh(body, key_pose)
    points, obj_v, obj_f = [verts], None, None
    if obj_mesh is not None:
        if object_placement is None:
            raise ValueError("an object mesh needs its object_placement (stage B)")
        r, t = placed_object(object_placement)
        obj_v, obj_f = obj_mesh.vertices @ r.T + t, obj_mesh.faces
        points.append(obj_v)
    camera = choose_camera(np.concatenate(points), facing_direction(key_pose.root_orient),
                           config.width, config.height, config.camera)
    image = render_composition(verts, np.asarray(body.faces), obj_v, obj_f, camera)
    if on_step is not None:
        on_step(0, 1, {})
    video = prior.generate(prompt=prompt, image=image, num_frames=int(num_frames), fps=float(fps),
                           width=config.width, height=config.height, generator=generator,
                           on_step=on_step)
    if video.num_frames != int(num_frames) or abs(video.fps - float(fps)) > 1e-9:
        raise RuntimeError(f"the video prior returned {video.num_frames} frames at {video.fps} "
                           f"fps for a request of {num_frames} at {fps}")
    out = VideoOutput(video=video, camera=camera, conditioning=image, anchor_frame=0)
    out.save(out_dir)
    log.info("stage C: %d frames at %.3g fps, %dx%d, in %s", video.num_frames, video.fps,
             video.width, video.height, out_dir)
    return out
