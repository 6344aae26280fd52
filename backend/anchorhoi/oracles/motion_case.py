"""Known motions for checking stage E: a posed body, its object and the camera that sees them.

A case folder (written by ``bench/make_motion_cases.py``) holds ``object.obj`` (scene object
frame: centred in x/z, standing at y = 0, metres), ``camera.json`` (``K``, ``R``, ``t``,
``width``, ``height``; world → camera, OpenCV) and ``motion.npz``: AMASS keys ``trans (T,3)``,
``root_orient (T,3)``, ``pose_body (T,63)``, ``pose_hand (T,90)``, ``betas (10,)``,
``mocap_frame_rate``, plus ``obj_trans (T,3)``, ``obj_rot (T,4)`` (w, x, y, z; object.obj
coordinates → world), ``anchor_frame`` and optionally ``ground_y`` — all in the body model's
frame (Y up, facing +Z, metres).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..nerf.cameras import Cameras, from_json
from ..objects.mesh_io import ObjectMesh, load_object_mesh
from ..portable.amass import motion_from_arrays
from ..portable.arrays import float_array, load_npz
from ..portable.motion import SmplxMotion
from .quaternions import quaternion_to_matrix


@dataclass(frozen=True, eq=False)
class MotionCase:
    """One known motion (see the module docstring for the files)."""

    name: str
    """The case folder's name."""
    motion: SmplxMotion
    """The ground-truth motion."""
    camera: Cameras
    """The camera the keypoints are seen by (float64)."""
    mesh: ObjectMesh
    """The object in its scene frame."""
    obj_rot: np.ndarray
    """(T, 3, 3) scene object frame → world (with the file's scale)."""
    obj_trans: np.ndarray
    """(T, 3) scene object frame → world."""
    anchor_frame: int
    """The frame whose pose stage E gets as the key pose."""
    ground_y: float | None
    """The floor's height, if the case gives it."""

    def truncated(self, frames: int) -> MotionCase:
        """The first ``frames`` frames (the anchor frame moved inside if needed)."""
        t = min(frames, self.motion.num_frames)
        m = self.motion
        cut = SmplxMotion(trans=m.trans[:t], root_orient=m.root_orient[:t],
                          pose_body=m.pose_body[:t], pose_hand=m.pose_hand[:t],
                          pose_jaw=m.pose_jaw[:t], pose_eye=m.pose_eye[:t], betas=m.betas,
                          gender=m.gender, fps=m.fps)
        return replace(self, motion=cut, obj_rot=self.obj_rot[:t], obj_trans=self.obj_trans[:t],
                       anchor_frame=min(self.anchor_frame, t - 1))


def load_motion_case(folder: str | Path) -> MotionCase:
    """The case in ``folder`` (``motion.npz``, ``camera.json``, ``object.obj``)."""
    folder = Path(folder)
    path = folder / "motion.npz"
    arrays = load_npz(path)
    motion = motion_from_arrays(path, arrays, strict=False)
    t = motion.num_frames
    r_file = quaternion_to_matrix(float_array(path, arrays, "obj_rot", (t, 4)))
    mesh = load_object_mesh(folder / "object.obj")
    u = mesh.to_user  # scene object frame → file coordinates; world = R·file + t
    rot = r_file @ (u.scale * np.asarray(u.rotation))
    trans = r_file @ np.asarray(u.translation) + float_array(path, arrays, "obj_trans", (t, 3))
    camera = from_json(json.loads((folder / "camera.json").read_text()), dtype=torch.float64)
    ground = float(arrays["ground_y"]) if "ground_y" in arrays else None
    return MotionCase(name=folder.name, motion=motion, camera=camera, mesh=mesh, obj_rot=rot,
                      obj_trans=trans, anchor_frame=int(arrays["anchor_frame"]), ground_y=ground)
