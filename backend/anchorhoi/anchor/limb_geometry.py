"""Limb geometry for the limb search: which joints form each limb, and rotations from bone
directions.

A pair of world directions ``(u, f)`` for a limb's upper and lower bone is turned into
rotations the way the limb bends: the middle joint (elbow / knee) is a hinge about ``a × b``
(``a`` the upper bone's rest direction, ``b`` the way the lower bone swings when the hinge
flexes, see ``LIMBS``) by the angle between ``u`` and ``f``; the upper joint maps ``a → u`` and
``b →`` the part of ``f`` perpendicular to ``u`` (for a straight limb, ``b`` keeps a given
direction). So no such pair bends a knee or elbow backwards.
"""

from __future__ import annotations

import math

import torch

from ..body import axis_angle_to_matrix
from ..portable.skeleton import JOINT_NAMES, PARENTS

Vec = tuple[float, float, float]

LIMBS: dict[str, tuple[str, str, str, str, Vec, Vec]] = {
    # limb: (upper joint, hinge joint, end joint, the joint the end bone points at,
    #        a: rest direction of the upper bone,
    #        b: rest direction the lower bone swings towards when the hinge flexes)
    "left_leg": ("left_hip", "left_knee", "left_ankle", "left_foot",
                 (0.0, -1.0, 0.0), (0.0, 0.0, -1.0)),
    "right_leg": ("right_hip", "right_knee", "right_ankle", "right_foot",
                  (0.0, -1.0, 0.0), (0.0, 0.0, -1.0)),
    "left_arm": ("left_shoulder", "left_elbow", "left_wrist", "left_middle1",
                 (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "right_arm": ("right_shoulder", "right_elbow", "right_wrist", "right_middle1",
                  (-1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
}

def subtree(joint: int) -> list[int]:
    """Joint ids of ``joint`` and all its descendants (SMPL-X tree)."""
    out = [joint]
    for j in range(joint + 1, len(PARENTS)):
        if PARENTS[j] in out:
            out.append(j)
    return out


def limb_joints() -> list[int]:
    """Joint ids of every limb (from the upper joints down, hands and feet included)."""
    return sorted({j for upper, *_ in LIMBS.values() for j in subtree(JOINT_NAMES.index(upper))})


def global_rotations(local: torch.Tensor) -> torch.Tensor:
    """``(B, 55, 3, 3)`` local (parent-relative) rotations → world rotations of each joint."""
    out = [local[:, 0]]
    for j in range(1, local.shape[1]):
        out.append(out[PARENTS[j]] @ local[:, j])
    return torch.stack(out, 1)


def fibonacci_directions(n: int, *, device, dtype) -> torch.Tensor:
    """``(n, 3)`` unit vectors spread evenly over the sphere."""
    i = torch.arange(n, dtype=torch.float64) + 0.5
    y = 1 - 2 * i / n
    r = torch.sqrt(1 - y * y)
    phi = math.pi * (3 - math.sqrt(5)) * i
    return torch.stack([r * torch.cos(phi), y, r * torch.sin(phi)], -1).to(device, dtype)


def frame(x: torch.Tensor, y_hint: torch.Tensor) -> torch.Tensor:
    """``(..., 3, 3)`` rotation with columns ``x``, ``y``, ``x × y`` where ``y`` is ``y_hint``
    made perpendicular to ``x`` (``x`` unit, ``y_hint`` not parallel to it)."""
    y = torch.nn.functional.normalize(y_hint - (x * y_hint).sum(-1, keepdim=True) * x, dim=-1)
    return torch.stack([x, y, torch.linalg.cross(x, y, dim=-1)], -1)


def align(r: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Minimal rotations ``(..., 3, 3)`` taking unit ``r (3,)`` to unit ``t (..., 3)``."""
    r = r.expand_as(t)
    axis = torch.linalg.cross(r, t, dim=-1)
    sin, cos = axis.norm(dim=-1, keepdim=True), (r * t).sum(-1, keepdim=True)
    other = torch.linalg.cross(r, torch.roll(r, 1, -1) + torch.tensor([0.0, 0.1, 0.0]).to(r),
                               dim=-1)  # ⟂ r, for t = −r
    unit = torch.where(sin > 1e-6, axis / sin.clamp_min(1e-12),
                       torch.nn.functional.normalize(other, dim=-1))
    return axis_angle_to_matrix(unit * torch.atan2(sin, cos))


def two_bone_rotations(u: torch.Tensor, f: torch.Tensor, parent: torch.Tensor, a: torch.Tensor,
                       b: torch.Tensor, fallback_hint: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Local rotations of the upper and hinge joints putting the upper bone along world ``u``
    and the lower bone along world ``f`` (both ``(..., 3)`` unit), given the parent's world
    rotation ``parent (..., 3, 3)``. ``fallback_hint (..., 3)``: where ``b`` should point when
    ``f ∥ u`` (the limb is straight)."""
    bend = torch.acos((u * f).sum(-1).clamp(-1, 1))  # (...)
    perp = f - (u * f).sum(-1, keepdim=True) * u
    hint = torch.where(perp.norm(dim=-1, keepdim=True) > 1e-3, perp, fallback_hint)
    hint = torch.where((torch.linalg.cross(u, hint, dim=-1).norm(dim=-1, keepdim=True) > 1e-3),
                       hint, torch.linalg.cross(u, torch.roll(u, 1, -1), dim=-1))
    rest = frame(a, b)  # (3, 3)
    world_upper = frame(u, hint) @ rest.transpose(-1, -2)  # maps a → u, b → hint⊥
    upper = parent.transpose(-1, -2) @ world_upper
    axis = torch.nn.functional.normalize(torch.linalg.cross(a, b, dim=-1), dim=-1)
    hinge = axis_angle_to_matrix(axis * bend[..., None])
    return upper, hinge
