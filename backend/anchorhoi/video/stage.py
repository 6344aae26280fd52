"""Stage C runner for the job pipeline: render the anchored composition, then animate it.

``run_video_stage`` poses the body in the key pose, places the object with stage B's placement,
chooses the video's camera (a three-quarter view, :mod:`.conditioning`), draws the conditioning
picture and asks the video prior for exactly ``num_frames`` at ``fps``. Files in ``out_dir``
(atomic writes):

- ``conditioning.png``: the render the video starts from (its first frame, the anchor frame);
- ``camera.json``: the video's camera (``K``, ``R``, ``t``, ``width``, ``height``; OpenCV,
  world → camera) — stages D and E read it;
- ``frames.npz`` + ``preview.gif``: the video (:func:`~.base.save_video`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..anchor.key_pose import KeyPose, key_pose_mesh, placed_object
from ..anchor.preview import save_png
from ..body import BodyModel
from ..nerf.cameras import Cameras, to_json
from ..objects.mesh_io import ObjectMesh
from ..portable.arrays import write_text_atomic
from .base import Video, VideoPrior, save_video
from .conditioning import choose_camera, facing_direction, render_composition

log = logging.getLogger(__name__)

StageCallback = Callable[[str, int, int, dict], None]
"""``on_step(stage_name, step, total, losses)``; may raise to cancel."""

CONDITIONING_FILE = "conditioning.png"
CAMERA_FILE = "camera.json"


@dataclass(frozen=True, eq=False)
class VideoStageOutput:
    video: Video
    """The generated clip: exactly the requested frame count and fps."""
    camera: Cameras
    """The video's camera (float64, one camera)."""
    conditioning: np.ndarray
    """(H, W, 3) uint8: the render of the anchored composition."""
    anchor_frame: int
    """The frame showing the anchored composition (0: image-to-video starts from it)."""
    files: dict[str, Path]
    """``conditioning``, ``camera``, ``frames``, ``preview``."""


def run_video_stage(*, prompt: str, key_pose: KeyPose, obj_mesh: ObjectMesh | None,
                    object_placement: np.ndarray | None, body: BodyModel, preset,
                    prior: VideoPrior, out_dir: str | Path, generator: torch.Generator,
                    num_frames: int, fps: float, on_step: StageCallback | None = None,
                    device: torch.device | str = "cpu") -> VideoStageOutput:
    """Stage C; see the module docstring. ``preset`` is a :class:`~..motion.presets.
    MotionPreset` (size and camera); ``prior`` a built video prior (e.g.
    ``motion.presets.make_video_prior``). ``obj_mesh`` None: the body alone. ``on_step`` gets
    ``("video", step, total, {})`` after each denoising step (and step 0 once the render is
    written). ``device`` is the compute device of the stage: the body is posed on the body
    model's own device and the render is drawn on the CPU, the prior runs where it was built;
    it is kept so that every stage runner takes one."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    verts, _ = key_pose_mesh(body, key_pose)
    points, obj_v, obj_f = [verts], None, None
    if obj_mesh is not None:
        if object_placement is None:
            raise ValueError("an object mesh needs its object_placement (stage B)")
        r, t = placed_object(object_placement)
        obj_v, obj_f = obj_mesh.vertices @ r.T + t, obj_mesh.faces
        points.append(obj_v)
    camera = choose_camera(np.concatenate(points), facing_direction(key_pose.root_orient),
                           preset.width, preset.height, preset.camera)
    image = render_composition(verts, np.asarray(body.faces), obj_v, obj_f, camera)
    files = {"conditioning": out_dir / CONDITIONING_FILE, "camera": out_dir / CAMERA_FILE}
    save_png(files["conditioning"], image)
    write_text_atomic(files["camera"], json.dumps(to_json(camera), indent=1))
    if on_step is not None:
        on_step("video", 0, 1, {})

    def report(step: int, total: int) -> None:
        if on_step is not None:
            on_step("video", step, total, {})

    video = prior.generate(prompt=prompt, image=image, num_frames=int(num_frames), fps=float(fps),
                           width=preset.width, height=preset.height, generator=generator,
                           on_step=report)
    if video.num_frames != int(num_frames) or abs(video.fps - float(fps)) > 1e-9:
        raise RuntimeError(f"the video prior returned {video.num_frames} frames at {video.fps} "
                           f"fps for a request of {num_frames} at {fps}")
    saved = save_video(video, out_dir)
    files.update(frames=saved.frames, preview=saved.preview)
    log.info("stage C: %d frames at %.3g fps, %dx%d, camera in %s", video.num_frames, video.fps,
             video.width, video.height, files["camera"])
    return VideoStageOutput(video=video, camera=camera, conditioning=image, anchor_frame=0,
                            files=files)
