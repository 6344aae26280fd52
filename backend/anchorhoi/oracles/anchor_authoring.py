"""Tools for writing anchor cases (``anchor_scene``): a pose from per-joint rotations, the posed
body, and a box placed so that it touches the body without intersecting it.

Poses are given as rotations per joint in the body model's frame (Y up, facing +Z, the left
arm along +X at rest); the ground is the rest pose's sole level, ``GROUND_Y``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from ..body import BodyModel, axis_angle_to_matrix
from ..portable.skeleton import JOINT_NAMES

GROUND_Y = -1.30
"""The rest pose's sole level (metres, Y up)."""


def euler_rotvec(axes: str, degrees: float | Sequence[float]) -> np.ndarray:
    """(3,) axis-angle of Euler rotations about ``axes`` (scipy's lower-case, extrinsic
    convention, e.g. ``"zy"``) by ``degrees``."""
    return Rotation.from_euler(axes, degrees, degrees=True).as_rotvec()


def pose_body(**joints: np.ndarray) -> np.ndarray:
    """(63,) axis-angle of the 21 body joints: ``joints`` by SMPL-X name (e.g.
    ``left_knee=(1.5, 0, 0)``), the others at rest."""
    body = np.zeros(63)
    for name, rotvec in joints.items():
        j = JOINT_NAMES.index(name)
        if not 1 <= j <= 21:
            raise ValueError(f"{name!r} is not one of the 21 body joints")
        body[3 * (j - 1):3 * j] = rotvec
    return body


def posed_vertices(body: BodyModel, pose: np.ndarray, trans: Sequence[float]) -> np.ndarray:
    """(V, 3) vertices of the body with root orientation 0, ``pose (63,)`` and ``trans``."""
    rot = axis_angle_to_matrix(torch.as_tensor(
        np.concatenate([np.zeros(3), pose]).reshape(22, 3), dtype=torch.float32))
    with torch.no_grad():
        out = body(global_orient=rot[None, 0], body_pose=rot[None, 1:],
                   transl=torch.tensor(trans, dtype=torch.float32)[None],
                   betas=torch.zeros(1, body.config.num_betas))
    return out.vertices[0].double().numpy()


@dataclass(frozen=True, kw_only=True)
class BoxContact:
    """How a box meets the posed body."""

    size: tuple[float, float | None, float]
    """Width, height, depth (m); height None: from the ground up to the body (``under``)."""
    centre_xz: tuple[float, float]
    """The box's centre in x and z before it is yawed (m)."""
    rests: Literal["under", "over"]
    """``under``: the body rests on the box, its top 5 mm below the lowest body vertex over
    it; ``over``: the box rests on the body, its bottom 5 mm above the highest vertex under
    it."""
    above: float = 0.0
    """Only body vertices this far above the ground count (a table: not the feet under it)."""


def place_box(contact: BoxContact, vertices: np.ndarray, yaw_deg: float
              ) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """(size, centre) of the box yawed by ``yaw_deg`` about Y that touches the body with
    ``vertices (V, 3)`` as ``contact`` says."""
    sx, sy, sz = contact.size
    cx, cz = contact.centre_xz
    r = Rotation.from_euler("y", yaw_deg, degrees=True).as_matrix()
    local = (vertices - np.array([cx, 0.0, cz])) @ r  # into the box's (yawed) frame
    over = (np.abs(local[:, 0]) <= sx / 2) & (np.abs(local[:, 2]) <= sz / 2) \
        & (vertices[:, 1] > GROUND_Y + contact.above)
    if not over.any():
        raise ValueError("no body vertex over the box: move it under the body")
    if contact.rests == "under":  # the body rests on the box: top just below the lowest vertex
        top = float(vertices[over, 1].min()) - 0.005
        return (sx, top - GROUND_Y, sz), (cx, (top + GROUND_Y) / 2, cz)
    if sy is None:
        raise ValueError("a box resting on the body needs its height")
    bottom = float(vertices[over, 1].max()) + 0.005  # the box rests on the body (the hands)
    return (sx, sy, sz), (cx, bottom + sy / 2, cz)


def box_obj(size: Sequence[float]) -> str:
    """OBJ text of an axis-aligned box of ``size`` (m) centred at the origin, 12 triangles."""
    sx, sy, sz = (s / 2 for s in size)
    v = [(x, y, z) for x in (-sx, sx) for y in (-sy, sy) for z in (-sz, sz)]
    f = [(1, 2, 4), (1, 4, 3), (5, 7, 8), (5, 8, 6), (1, 5, 6), (1, 6, 2),
         (3, 4, 8), (3, 8, 7), (1, 3, 7), (1, 7, 5), (2, 6, 8), (2, 8, 4)]
    return "".join(f"v {a:.4f} {b:.4f} {c:.4f}\n" for a, b, c in v) + \
        "".join(f"f {a} {b} {c}\n" for a, b, c in f)


def yaw_quaternion(yaw_deg: float) -> np.ndarray:
    """(4,) w, x, y, z of a rotation by ``yaw_deg`` about Y (the case files' convention)."""
    x, y, z, w = Rotation.from_euler("y", yaw_deg, degrees=True).as_quat()
    return np.array([w, x, y, z])
