"""Pose prior and joint limits on SMPL-X body pose (axis-angle, each joint relative to its parent).

SMPL-X joints have identity rest orientations in a T-pose rest (the body faces +Z, Y up, the
left arm along +X), so an axis-angle component is a rotation about the parent's world axis at
rest. The signs follow from that:

- knee: +x swings the shin backwards (flexion); −x is hyper-extension;
- hip: −x swings the thigh forwards (flexion); +z moves the left leg outwards (abduction), −z
  the right one;
- spine: +x bends the torso forwards;
- left elbow: −y swings the forearm forwards (flexion), the right elbow +y; x twists the forearm
  about its own axis (pronation/supination).

``JOINT_LIMITS`` lists, per body joint (index into the 21 ``pose_body`` joints, i.e. SMPL-X
joint − 1), the allowed range of each axis-angle component in degrees; a component outside its
range is penalised by the squared excess in radians. Joints not listed (shoulders) are free.
Axis-angle components are not Euler angles; the ranges are generous around the one-axis joints
(knees, elbows) where the two agree, which is what the limits are for: no bending the wrong way.
This is the usual fitting practice (SMPLify penalises the wrong-way knee and elbow components
the same way), widened to a table.
"""

from __future__ import annotations

import math

import torch

from ..portable.skeleton import JOINT_NAMES

Range = tuple[float, float]

JOINT_LIMITS: dict[str, tuple[Range, Range, Range]] = {
    # name: ((x lo, x hi), (y lo, y hi), (z lo, z hi)) in degrees
    "left_hip": ((-140.0, 45.0), (-60.0, 60.0), (-40.0, 80.0)),
    "right_hip": ((-140.0, 45.0), (-60.0, 60.0), (-80.0, 40.0)),
    "spine1": ((-30.0, 60.0), (-40.0, 40.0), (-30.0, 30.0)),
    "left_knee": ((0.0, 160.0), (-20.0, 20.0), (-15.0, 15.0)),
    "right_knee": ((0.0, 160.0), (-20.0, 20.0), (-15.0, 15.0)),
    "spine2": ((-30.0, 60.0), (-40.0, 40.0), (-30.0, 30.0)),
    "left_ankle": ((-45.0, 60.0), (-30.0, 30.0), (-30.0, 30.0)),
    "right_ankle": ((-45.0, 60.0), (-30.0, 30.0), (-30.0, 30.0)),
    "spine3": ((-30.0, 60.0), (-40.0, 40.0), (-30.0, 30.0)),
    "left_foot": ((-30.0, 30.0), (-20.0, 20.0), (-20.0, 20.0)),
    "right_foot": ((-30.0, 30.0), (-20.0, 20.0), (-20.0, 20.0)),
    "neck": ((-40.0, 60.0), (-60.0, 60.0), (-40.0, 40.0)),
    "left_collar": ((-30.0, 30.0), (-30.0, 30.0), (-30.0, 30.0)),
    "right_collar": ((-30.0, 30.0), (-30.0, 30.0), (-30.0, 30.0)),
    "head": ((-40.0, 50.0), (-60.0, 60.0), (-40.0, 40.0)),
    "left_elbow": ((-100.0, 100.0), (-160.0, 0.0), (-20.0, 20.0)),
    "right_elbow": ((-100.0, 100.0), (0.0, 160.0), (-20.0, 20.0)),
    "left_wrist": ((-90.0, 90.0), (-80.0, 80.0), (-90.0, 90.0)),
    "right_wrist": ((-90.0, 90.0), (-80.0, 80.0), (-90.0, 90.0)),
}


def joint_limit_table(*, device: torch.device | str = "cpu",
                      dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """``(lo, hi)``, each ``(21, 3)`` radians; ±inf for free components."""
    lo = torch.full((21, 3), -math.inf, dtype=torch.float64)
    hi = torch.full((21, 3), math.inf, dtype=torch.float64)
    body_names = JOINT_NAMES[1:22]
    for name, ranges in JOINT_LIMITS.items():
        j = body_names.index(name)
        for axis, (a, b) in enumerate(ranges):
            lo[j, axis], hi[j, axis] = math.radians(a), math.radians(b)
    return lo.to(device=device, dtype=dtype), hi.to(device=device, dtype=dtype)


def joint_limit_penalty(pose_body: torch.Tensor, lo: torch.Tensor,
                        hi: torch.Tensor) -> torch.Tensor:
    """``pose_body (B, 21, 3)`` axis-angle, limits ``(21, 3)`` → ``(B,)`` Σ squared excess."""
    excess = (lo - pose_body).clamp_min(0) + (pose_body - hi).clamp_min(0)
    return (excess * excess).sum((-1, -2))


def pose_prior(pose: torch.Tensor) -> torch.Tensor:
    """``pose (B, J, 3)`` axis-angle → ``(B,)`` mean squared angle per joint (L2 towards the
    rest pose; a weak regulariser for what the anchor does not determine, e.g. limb twist)."""
    return (pose * pose).sum(-1).mean(-1)
