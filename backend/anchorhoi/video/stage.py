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

import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..anchor.key_pose import KeyPose
from ..body import BodyModel
from ..nerf.cameras import Cameras, to_json
from ..objects.mesh_io import ObjectMesh
from ..portable.arrays import atomic_write, write_text_atomic
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


def placed_object(obj_mesh: ObjectMesh, object_placement: np.ndarray) -> tuple[np.ndarray,
                                                                                 np.ndarray]:
    """``(R (3, 3), t (3,))`` of a rigid (4, 4) object → world matrix; ``ValueError`` if it
    is not one."""
    m = np.asarray(object_placement, dtype=np.float64)
    if m.shape != (4, 4) or not np.isfinite(m).all():
        raise ValueError(f"object_placement must be a finite (4, 4) matrix, got {m.shape}")
    r = m[:3, :3]
    if not np.allclose(r.T @ r, np.eye(3), atol=1e-4) or np.linalg.det(r) < 0:
        raise ValueError("object_placement must be rigid (a rotation and a translation; "
                         "stage B's key_pose.npz writes one)")
    return r, m[:3, 3]


def key_pose_mesh(body: BodyModel, key_pose: KeyPose) -> tuple[np.ndarray, np.ndarray]:
    """The posed body's vertices ``(V, 3)`` and joints ``(55, 3)`` (world, float64)."""
    like = dict(device=body.layer.v_template.device, dtype=body.layer.v_template.dtype)
    with torch.no_grad():
        out = body(**key_pose.body_inputs(**like, num_betas=body.config.num_betas))
    return out.vertices[0].double().cpu().numpy(), out.joints[0].double().cpu().numpy()


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
        r, t = placed_object(obj_mesh, object_placement)
        obj_v, obj_f = obj_mesh.vertices @ r.T + t, obj_mesh.faces
        points.append(obj_v)
    camera = choose_camera(np.concatenate(points), facing_direction(key_pose.root_orient),
                           preset.width, preset.height, preset.camera)
    image = render_composition(verts, np.asarray(body.faces), obj_v, obj_f, camera)
    files = {"conditioning": out_dir / CONDITIONING_FILE, "camera": out_dir / CAMERA_FILE}
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    atomic_write(files["conditioning"], lambda fh: fh.write(buf.getvalue()))
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
