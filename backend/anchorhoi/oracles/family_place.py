"""Posing a family clip from its channels and fitting objects against the posed body.

``pose_clip`` turns the channels (pelvis, heading, pitch, spine, feet, wrist and knee targets)
into SMPL-X parameters with ``family_ik.solve`` and lifts any frame whose lowest vertex sinks
under the floor. Wrist targets are given *in the body's frame* (relative to the pelvis, turned
by the heading), so hands keep their place on a carried object while the body walks.

The object helpers measure the posed body so that the ground truth is contact without
penetration: a top just under the hands or the seat, a grasp between the inner faces of the
hands, a near face just clear of the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from .family_gait import Feet, foot_targets, yaw_matrix
from .family_ik import J, ShapedBody, solve, trunk_pose
from .motion_authoring import LEFT_HAND, RIGHT_HAND

GAP_M = 0.003
"""Clearance between a contact surface of an authored object and the body (m)."""


@dataclass(frozen=True, kw_only=True, eq=False)
class Clip:
    """A posed clip: SMPL-X parameters and the posed mesh."""

    root_orient: np.ndarray
    """(T, 3)"""
    pose_body: np.ndarray
    """(T, 63)"""
    trans: np.ndarray
    """(T, 3)"""
    verts: np.ndarray
    """(T, V, 3) posed vertices."""
    joints: np.ndarray
    """(T, 55, 3) posed joints."""
    yaw: np.ndarray
    """(T,) heading."""


def root_orient(yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """(T, 3) axis-angle of the heading about +Y after the forward pitch about x."""
    rot = Rotation.from_euler("y", yaw[:, None]) * Rotation.from_euler("x", pitch[:, None])
    return rot.as_rotvec()


def body_to_world(pelvis: np.ndarray, yaw: np.ndarray, rel: np.ndarray) -> np.ndarray:
    """(T, 3) world points of ``rel (T, 3)`` given in the body's frame (pelvis, heading)."""
    return pelvis + np.einsum("tij,tj->ti", yaw_matrix(yaw), rel)


def pose_clip(body: ShapedBody, *, pelvis: np.ndarray, yaw: np.ndarray, pitch: np.ndarray,
              spine: np.ndarray, feet: Feet, wrists_rel: Mapping[str, np.ndarray] | None = None,
              extra: Mapping[str, np.ndarray] | None = None,
              drop_targets: Mapping[str, np.ndarray] | None = None,
              guess: Mapping[str, np.ndarray] | None = None, tolerance_m: float = 0.012) -> Clip:
    """Solve the clip (see the module docstring). ``wrists_rel``: side → ``(T, 3)`` wrist in
    the body's frame (NaN rows: arms free); ``extra``: joint name → world ``(T, 3)`` targets;
    ``drop_targets``: joint name → ``(T,)`` True where that joint's foot target is dropped;
    ``tolerance_m``: the largest target miss accepted (objects are fitted to the posed body
    afterwards, so a small miss only moves the contact; a swinging foot's miss is not held to
    it)."""
    root = root_orient(yaw, pitch)
    targets = foot_targets(body, feet)
    for name, off in (drop_targets or {}).items():
        targets[name] = np.where(off[:, None], np.nan, targets[name])
    for side, rel in (wrists_rel or {}).items():
        targets[f"{side}_wrist"] = body_to_world(pelvis, yaw, rel)
    targets.update(extra or {})
    swinging = {f"{side}_{part}": ~feet.planted[side]
                for side in ("left", "right") for part in ("foot", "ankle")}
    pose, trans = solve(body, root_orient=root, pelvis=pelvis, trunk=trunk_pose(pitch, spine),
                        targets=targets, guess=guess, tolerance_m=tolerance_m,
                        unchecked=swinging)
    verts, joints = body.forward(root, pose, trans)
    sink = np.maximum(0.0, body.ground_y - verts[..., 1].min(1))
    trans = trans + sink[:, None] * [0, 1, 0]
    verts = verts + sink[:, None, None] * [0, 1, 0]
    joints = joints + sink[:, None, None] * [0, 1, 0]
    return Clip(root_orient=root, pose_body=pose, trans=trans, verts=verts, joints=joints,
                yaw=yaw)


def hanging_wrists(body: ShapedBody, clip: Clip, pelvis: np.ndarray) -> dict[str, np.ndarray]:
    """Side → (T, 3) the clip's wrists in the body's frame (where free arms hang)."""
    out = {}
    for side in ("left", "right"):
        w = clip.joints[:, J[f"{side}_wrist"]] - pelvis
        out[side] = np.einsum("tji,tj->ti", yaw_matrix(clip.yaw), w)
    return out


def within_reach(body: ShapedBody, clip: Clip, pelvis: np.ndarray, side: str, frame: int,
                 wrist_rel: np.ndarray, *, share: float = 0.92) -> np.ndarray:
    """``wrist_rel (3,)`` (body frame, as ``pose_clip``'s ``wrists_rel``) moved towards the
    ``side`` shoulder of ``clip`` at ``frame`` until it is at most ``share`` of the arm's
    length from it: a target drawn for an average body is out of reach of a shorter one, or
    of any body whose trunk leans less than the target assumed."""
    arm = (np.linalg.norm(body.rest[J[f"{side}_shoulder"]] - body.rest[J[f"{side}_elbow"]])
           + np.linalg.norm(body.rest[J[f"{side}_elbow"]] - body.rest[J[f"{side}_wrist"]]))
    shoulder = clip.joints[frame, J[f"{side}_shoulder"]] - pelvis[frame]
    shoulder = yaw_matrix(clip.yaw[frame:frame + 1])[0].T @ shoulder
    away = np.asarray(wrist_rel, float) - shoulder
    far = float(np.linalg.norm(away))
    return shoulder + away * min(1.0, share * arm / far) if far > 0 else shoulder


def hand_ids(body: ShapedBody) -> tuple[np.ndarray, np.ndarray]:
    """Ids of the vertices the left and the right hand move most."""
    dom = body.model.layer.lbs_weights.numpy().argmax(1)
    return np.flatnonzero(np.isin(dom, LEFT_HAND)), np.flatnonzero(np.isin(dom, RIGHT_HAND))


def to_frame(points: np.ndarray, origin: np.ndarray, yaw: float) -> np.ndarray:
    """``points (..., 3)`` into the frame at ``origin`` turned by ``yaw`` about +Y."""
    return (points - origin) @ yaw_matrix(np.array(yaw))


def pose_matrix(origin: np.ndarray, yaw: float) -> np.ndarray:
    """(4, 4) object → world: turned by ``yaw`` about +Y, at ``origin``."""
    m = np.eye(4)
    m[:3, :3] = yaw_matrix(np.array(yaw))
    m[:3, 3] = origin
    return m


@dataclass(frozen=True)
class Support:
    """A flat top under body vertices, in a frame turned by ``yaw`` about +Y at ``centre``."""

    top: float
    """World height of the top surface."""
    near: float
    """Local z of the face towards the body (the body is at smaller z)."""
    centre: np.ndarray
    """(3,) the frame's origin (on the floor under the contact)."""
    yaw: float
    """The frame's heading."""


def support_under(verts: np.ndarray, contact: np.ndarray, *, centre: np.ndarray, yaw: float,
                  half_width: float, others: np.ndarray | None = None,
                  sweep: np.ndarray | None = None) -> Support:
    """A top just under the ``contact`` vertices ``(Vc, 3)`` of one frame, and the near face
    just clear of ``others (N, 3)`` (the rest of the body over all frames, in world) that lie
    under the top within ``half_width`` of the centre line, and of ``sweep (M, 3)`` (the
    contacting part in the other frames, in world: a hand coming onto the top) that lie lower
    than the top."""
    local = to_frame(contact, centre, yaw)
    top = float(contact[:, 1].min()) - GAP_M
    near = float(local[:, 2].min()) - 0.04
    for points, level in ((others, top + 0.01), (sweep, top)):
        if points is None:
            continue
        lo = to_frame(points, centre, yaw)
        under = (lo[:, 1] + centre[1] < level) & (np.abs(lo[:, 0]) < half_width + 0.02)
        if under.any():
            near = max(near, float(lo[under, 2].max()) + 0.02)
    if near > float(local[:, 2].max()) - 0.04:
        raise ValueError("the body is in the way of a support under the hands")
    return Support(top=top, near=near, centre=centre, yaw=yaw)


def grasp_width(verts: np.ndarray, left: np.ndarray, right: np.ndarray, centre: np.ndarray,
                yaw: float, *, palms: float | None = None) -> tuple[float, np.ndarray]:
    """(width between the inner faces of the hands less 2 × ``GAP_M``, the grasp's centre
    (3,) in world) for one frame; the left hand is at +x in the body's frame. The centre's
    height and depth are the hands' means, or (``palms``) the means of the vertices within
    ``palms`` metres of each inner face (where the hands touch, fingers pointing anywhere)."""
    lh, rh = to_frame(verts[left], centre, yaw), to_frame(verts[right], centre, yaw)
    inner_l, inner_r = float(lh[:, 0].min()), float(rh[:, 0].max())
    if palms is not None:
        lh, rh = lh[lh[:, 0] < inner_l + palms], rh[rh[:, 0] > inner_r - palms]
    mid_local = np.array([(inner_l + inner_r) / 2, (lh[:, 1].mean() + rh[:, 1].mean()) / 2,
                          (lh[:, 2].mean() + rh[:, 2].mean()) / 2])
    world = centre + yaw_matrix(np.array(yaw)) @ mid_local
    return inner_l - inner_r - 2 * GAP_M, world


def narrowest_grasp(verts: np.ndarray, left: np.ndarray, right: np.ndarray,
                    pelvis: np.ndarray, yaw: np.ndarray, frames: range, key: int
                    ) -> tuple[float, np.ndarray]:
    """``grasp_width`` at ``key`` with the width the narrowest over ``frames`` (the hands turn
    while they carry: the object must fit between them in every frame)."""
    width, centre = grasp_width(verts[key], left, right, pelvis[key], float(yaw[key]))
    for f in frames:
        width = min(width, grasp_width(verts[f], left, right, pelvis[f], float(yaw[f]))[0])
    if width < 0.12:
        raise ValueError("the hands close too far for an object between them")
    return width, centre


def follow(anchor: np.ndarray, yaw: np.ndarray, start: int, obj0: np.ndarray, *,
           until: int | None = None, lift: bool = True) -> np.ndarray:
    """(T, 4, 4) object poses riding rigidly on a point ``anchor (T, 3)`` turning with
    ``yaw (T,)`` from frame ``start`` (to ``until``, then left where it is); ``lift`` False
    keeps the object's height (pushed along the floor)."""
    t = len(anchor)
    out = np.repeat(obj0[None], t, 0)
    end = t if until is None else until
    for f in range(start, t):
        g = min(f, end - 1)
        turn = yaw_matrix(np.array(yaw[g] - yaw[start]))
        move = anchor[g] - anchor[start]
        if not lift:
            move = move * [1, 0, 1]
        out[f, :3, :3] = turn @ obj0[:3, :3]
        out[f, :3, 3] = anchor[start] + move + turn @ (obj0[:3, 3] - anchor[start])
    return out


@dataclass(frozen=True, kw_only=True, eq=False)
class Drawn:
    """One drawn family motion before it is written."""

    clip: Clip
    """The posed body."""
    mesh: tuple[np.ndarray, np.ndarray]
    """The object (vertices, faces) in its scene frame."""
    obj_poses: np.ndarray
    """(T, 4, 4) scene object frame → world."""
    anchor_frame: int
    """The interaction's key frame."""
    facing: float
    """The direction the camera should look from by default (radians about +Y; 0: +Z)."""
