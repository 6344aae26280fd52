"""Stage E runner for the job pipeline: the 4D motion, written as a result v1.

``run_motion_stage`` fits SMPL-X per frame and the object's rigid motion to stage D's anchor
keypoints (:func:`~.optimize.optimize_motion`) and writes the result where the add-on's
importer reads it (:func:`anchorhoi.portable.result_v1.write_result`). Files in ``out_dir``
(atomic writes):

- ``motion.npz``: AMASS SMPL-X keys (``trans``, ``root_orient``, ``pose_body``, ``pose_hand``,
  ``pose_jaw``, ``pose_eye``, ``betas``, ``gender``, ``mocap_frame_rate``), the object's
  trajectory and mesh (``obj_*``) and the rig (``rig_*``);
- ``result.json``: schema ``anchorhoi.result`` 1.0, fps, frame count, the object, the stage's
  time (``timings.motion``) and quality figures (reprojection, key-pose error, penetration,
  skating, contact frames).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..anchor.key_pose import KeyPose, placed_object
from ..body import BodyModel
from ..keypoints.anchor_keypoints import AnchorKeypoints
from ..nerf.cameras import Cameras
from ..objects.mesh_io import ObjectMesh
from ..portable.result_v1 import ResultInfo, write_result
from .config import MotionConfig
from .optimize import MotionResult, optimize_motion

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class MotionStageOutput:
    result: MotionResult
    """The recovered motion of the body and the object, with quality figures."""
    seconds: float
    """Wall time of the optimisation."""
    files: dict[str, Path]
    """``result`` (result.json) and ``motion`` (motion.npz)."""


def run_motion_stage(*, keypoints: AnchorKeypoints | np.ndarray, camera: Cameras,
                     key_pose: KeyPose, anchor_frame: int, obj_mesh: ObjectMesh,
                     object_placement: np.ndarray, body: BodyModel,
                     config: MotionConfig = MotionConfig(), fps: float, out_dir: str | Path,
                     generator: torch.Generator,
                     on_step: Callable[[str, int, int, dict], None] | None = None,
                     info: ResultInfo | None = None, name: str = "AnchorHOI",
                     object_name: str = "Object") -> MotionStageOutput:
    """Stage E; see the module docstring. ``keypoints``: stage D's output or its
    ``(T, 55, 3)`` array (camera pixels of ``camera``); ``key_pose`` the body at
    ``anchor_frame``; ``object_placement`` (4, 4) object → world there. ``on_step`` gets
    ``("motion", iteration, total, losses)`` after every Adam iteration. ``info`` (prompt,
    seed, other stages' timings) is merged into ``result.json``; this stage adds its own
    timing and quality. The clip keeps the keypoints' frame count and ``fps``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kp = keypoints.keypoints if isinstance(keypoints, AnchorKeypoints) else np.asarray(keypoints)
    r, t = placed_object(object_placement)

    def report(step: int, total: int, losses: dict[str, float]) -> None:
        if on_step is not None:
            on_step("motion", step, total, losses)

    started = time.perf_counter()
    result = optimize_motion(body, keypoints=torch.as_tensor(kp, dtype=torch.float32),
                             camera=camera, key_pose=key_pose, anchor_frame=int(anchor_frame),
                             obj_mesh=obj_mesh, obj_rotation=r, obj_translation=t, fps=float(fps),
                             config=config, generator=generator, on_step=report)
    seconds = time.perf_counter() - started
    info = info or ResultInfo()
    quality = {**info.quality, **{k: v for k, v in result.quality.items()
                                  if isinstance(v, (int, float, str, bool))}}
    timings = {**info.timings, "motion": {"seconds": round(seconds, 3)}}
    extra = {**info.extra, "contact_mode": result.contact_mode,
             "anchor_frame": int(anchor_frame)}
    info = replace(info, object_name=info.object_name or object_name, quality=quality,
                   timings=timings, extra=extra)
    path = write_result(out_dir, result.clip(body, obj_mesh, name=name, object_name=object_name),
                        info)
    log.info("stage E: %d frames in %.1f s, result in %s", result.motion.num_frames, seconds, path)
    return MotionStageOutput(result=result, seconds=seconds,
                             files={"result": path, "motion": out_dir / "motion.npz"})
