"""Stage E runner: the 4D motion, written as a result v1.

``run_motion_stage`` fits SMPL-X per frame and the object's rigid motion to stage D's anchor
keypoints (:func:`~.optimize.optimize_motion`) and saves the result where the add-on's importer
reads it (:class:`~.output.MotionOutput`: ``motion.npz`` and ``result.json`` with the stage's
time and quality figures — reprojection, key-pose error, penetration, skating, contact frames —
and the plausibility report, :mod:`~.plausibility`).

Progress: ``progress("motion")`` after every Adam iteration, with the loss terms.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ..body import BodyModel
from ..body.pose import KeyPose
from ..nerf.cameras import Cameras
from ..objects.mesh_io import ObjectMesh
from ..objects.placement import placed_object
from ..portable.result_v1 import ResultInfo
from ..progress import StageProgress
from .config import MotionConfig
from .optimize import optimize_motion
from .output import MotionOutput
from .plausibility import report_of_result

log = logging.getLogger(__name__)


def run_motion_stage(*, keypoints: np.ndarray, camera: Cameras, key_pose: KeyPose,
                     anchor_frame: int, obj_mesh: ObjectMesh, object_placement: np.ndarray,
                     body: BodyModel, config: MotionConfig = MotionConfig(), fps: float,
                     out_dir: str | Path, generator: torch.Generator,
                     progress: StageProgress | None = None, info: ResultInfo | None = None,
                     name: str = "AnchorHOI", object_name: str = "Object",
                     geometry_mesh: ObjectMesh | None = None) -> MotionOutput:
    """Stage E; see the module docstring. ``keypoints (T, 55, 3)``: stage D's keypoints in
    camera pixels of ``camera``; ``key_pose`` the body at ``anchor_frame``;
    ``object_placement`` (4, 4) object → world there. ``info`` (prompt, seed, other stages'
    timings) is merged into ``result.json``; this stage adds its own timing and quality. The
    clip keeps the keypoints' frame count and ``fps``. ``geometry_mesh``: the object simplified
    (same frame) for the distance grid and contacts; None: ``obj_mesh`` itself. The result
    carries ``obj_mesh``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    r, t = placed_object(object_placement)
    started = time.perf_counter()
    result = optimize_motion(body, keypoints=torch.as_tensor(np.asarray(keypoints),
                                                             dtype=torch.float32),
                             camera=camera, key_pose=key_pose, anchor_frame=int(anchor_frame),
                             obj_mesh=obj_mesh if geometry_mesh is None else geometry_mesh,
                             obj_rotation=r, obj_translation=t, fps=float(fps),
                             config=config, generator=generator,
                             on_step=None if progress is None else progress("motion"))
    seconds = time.perf_counter() - started
    info = info or ResultInfo()
    report = report_of_result(body, result, obj_mesh, keypoints=np.asarray(keypoints),
                              camera=camera)
    quality = {**info.quality, **{k: v for k, v in result.quality.items()
                                  if isinstance(v, (int, float, str, bool))},
               "plausibility": report.as_json()}
    if report.warnings():
        log.warning("stage E: the motion's plausibility warns on %s", ", ".join(report.warnings()))
    timings = {**info.timings, "motion": {"seconds": round(seconds, 3)}}
    extra = {**info.extra, "contact_mode": result.contact_mode,
             "anchor_frame": int(anchor_frame)}
    info = replace(info, object_name=info.object_name or object_name, quality=quality,
                   timings=timings, extra=extra)
    out = MotionOutput(clip=result.clip(body, obj_mesh, name=name, object_name=object_name),
                       info=info, result=result, seconds=seconds)
    path = out.save(out_dir)
    log.info("stage E: %d frames in %.1f s, result in %s", result.motion.num_frames, seconds, path)
    return out
