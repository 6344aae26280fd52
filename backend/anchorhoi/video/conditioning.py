"""Stage C's conditioning picture: the anchored composition seen from the video's camera.

The camera looks at the composition (the body in the key pose and the placed object) from a
**three-quarter view**: ``azimuth_deg`` away from the direction the body faces, a little from
above, far enough that the body and the object fill ``fill`` of the frame. A three-quarter
view, not a straight front view: on our faceless procedural body MediaPipe confuses the
person's left and right from the front, and the turned torso also shows the interaction in
depth. That camera is the video's camera (stage D reprojects into it, stage E fits to it).
The picture is drawn by :mod:`.raster` (skin-coloured smooth-shaded body, a neutral object
colour, a plain background).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..nerf.cameras import Cameras, intrinsics, look_at
from .raster import rasterize, shade, vertex_normals

SKIN = (0.8, 0.55, 0.42)
OBJECT_COLOR = (0.42, 0.47, 0.62)


@dataclass(frozen=True, kw_only=True)
class ConditioningCameraConfig:
    """Where the video's camera stands relative to the anchored composition."""

    azimuth_deg: float = 30.0
    """Angle between the body's facing direction and the direction to the camera, about the
    vertical (positive: towards the body's left). 0 is a front view."""
    elevation_deg: float = 10.0
    """Camera height above the composition's centre, as an angle."""
    fov_deg: float = 40.0
    """Vertical field of view."""
    fill: float = 0.85
    """Fraction of the image's smaller side the composition's extent takes."""

    def __post_init__(self) -> None:
        if not 0 < self.fov_deg < 150:
            raise ValueError(f"fov_deg must lie in (0, 150), got {self.fov_deg}")
        if not 0 < self.fill <= 1:
            raise ValueError(f"fill must lie in (0, 1], got {self.fill}")
        if not -80 < self.elevation_deg < 80:
            raise ValueError(f"elevation_deg must lie in (-80, 80), got {self.elevation_deg}")


def facing_direction(root_orient: np.ndarray) -> np.ndarray:
    """(3,) unit horizontal direction the body faces (its +Z turned by ``root_orient``)."""
    aa = np.asarray(root_orient, dtype=np.float64)
    angle = np.linalg.norm(aa)
    k = aa / angle if angle > 1e-12 else np.zeros(3)
    z = np.array([0.0, 0.0, 1.0])
    d = z * math.cos(angle) + np.cross(k, z) * math.sin(angle) + k * (k @ z) * (1 - math.cos(angle))
    d[1] = 0.0
    n = np.linalg.norm(d)
    return d / n if n > 1e-9 else z


def choose_camera(points: np.ndarray, facing: np.ndarray, width: int, height: int,
                  config: ConditioningCameraConfig = ConditioningCameraConfig()) -> Cameras:
    """The video camera (float64) for a composition whose surface points are ``points (N, 3)``
    (world, Y up) and whose body faces ``facing (3,)``: see the module docstring. The distance
    is solved so the points' projected extent is ``fill`` of the smaller image side."""
    pts = np.asarray(points, dtype=np.float64)
    lo, hi = pts.min(0), pts.max(0)
    target = (lo + hi) / 2
    az, el = math.radians(config.azimuth_deg), math.radians(config.elevation_deg)
    f = np.asarray(facing, dtype=np.float64)
    left = np.array([f[2], 0.0, -f[0]])  # facing turned +90° about +Y
    horizontal = math.cos(az) * f + math.sin(az) * left
    direction = math.cos(el) * horizontal + math.sin(el) * np.array([0.0, 1.0, 0.0])
    k = intrinsics(config.fov_deg, width, height, dtype=torch.float64)
    focal = float(k[1, 1])
    half = 0.5 * config.fill * min(width, height)
    radius = 0.5 * float(np.linalg.norm(hi - lo)) / math.tan(math.radians(config.fov_deg) / 2)
    for _ in range(4):  # fixed point: the largest projected offset → the distance
        eye = torch.as_tensor(target + radius * direction)[None]
        R, t = look_at(eye, torch.as_tensor(target)[None])
        p = torch.as_tensor(pts) @ R[0].T + t[0]
        extent = float((p[:, :2].abs() / p[:, 2:].clamp_min(1e-3)).amax()) * focal
        radius *= extent / half
        radius = max(radius, float(np.linalg.norm(hi - lo)) * 0.5 + 0.05)
    eye = torch.as_tensor(target + radius * direction)[None]
    R, t = look_at(eye, torch.as_tensor(target)[None])
    return Cameras(K=k[None].contiguous(), R=R, t=t, width=width, height=height)


def render_composition(body_vertices: np.ndarray, body_faces: np.ndarray,
                       obj_vertices: np.ndarray | None, obj_faces: np.ndarray | None,
                       camera: Cameras) -> np.ndarray:
    """(H, W, 3) uint8: the body (skin) and the object (neutral blue-grey) seen by ``camera``;
    all vertices in the world frame."""
    verts = [np.asarray(body_vertices, dtype=np.float64)]
    faces = [np.asarray(body_faces, dtype=np.int64)]
    colors = [np.tile(SKIN, (len(faces[0]), 1))]
    if obj_vertices is not None and obj_faces is not None:
        verts.append(np.asarray(obj_vertices, dtype=np.float64))
        faces.append(np.asarray(obj_faces, dtype=np.int64) + len(verts[0]))
        colors.append(np.tile(OBJECT_COLOR, (len(obj_faces), 1)))
    # normals per mesh (the body's smooth, the object's own), then joined
    normals = np.concatenate([vertex_normals(v, f - (0 if i == 0 else len(verts[0])))
                              for i, (v, f) in enumerate(zip(verts, faces))])
    v_all, f_all, c_all = np.concatenate(verts), np.concatenate(faces), np.concatenate(colors)
    frags = rasterize(v_all, f_all, camera)
    return shade(frags, normals, f_all, c_all, camera)
