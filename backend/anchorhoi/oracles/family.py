"""The case family: motion and anchor cases drawn at random from interaction kinds, in the
existing case formats (``motion_case``, ``anchor_scene``).

A case is drawn from ``(seed, kind, attempt)``: a body shape (betas), the kind's timing, path,
pose and object (``family_moves``, ``family_poses``), and a camera (height, distance,
azimuth). A draw is kept only if it is physically sensible (``check_drawn``): the body stands on
the floor or on the object in every frame and never sinks into either, a resting object stands
on the floor, the hands touch the object at the key frame where the kind says they do, and
the knees keep apart (``knees_together``); otherwise the next attempt is drawn. The same seed
always gives the same cases.

Folder names are ``<kind>-<seed>-<index>``; ``kind_of`` reads the kind back for the benches'
per-kind tables.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..body import BodyModel
from ..motion.plausibility import object_distances
from ..nerf.cameras import Cameras, to_json
from . import family_moves as moves
from . import family_poses as poses
from .family_ik import J, ShapedBody
from .family_place import Drawn, hand_ids
from .motion_authoring import camera_for, write_obj

log = logging.getLogger(__name__)

Kind = Callable[[ShapedBody, np.random.Generator], Drawn]
KINDS: dict[str, tuple[Kind, str]] = {
    "walk_straight": (moves.walk_straight, "none"),
    "walk_curved": (moves.walk_curved, "none"),
    "turn_in_place": (moves.turn_in_place, "none"),
    "sit_stand": (poses.sit_stand, "seat"),
    "crouch": (poses.crouch, "none"),
    "kneel": (poses.kneel, "none"),
    "reach_low": (poses.reach_low, "hands"),
    "reach_high": (poses.reach_high, "hands"),
    "pick_up_carry": (moves.pick_up_and_carry, "hands"),
    "push_pull": (moves.push_pull, "hands"),
    "lift_overhead": (poses.lift_overhead, "hands"),
    "lean_on": (poses.lean_on, "hands"),
    "step_onto": (moves.step_onto, "feet"),
}
"""Kind name → (the function drawing it, where the body touches the object)."""
FPS = 30.0
"""Frame rate of every family motion."""
ATTEMPTS = 24
"""Draws tried per case before giving up."""
ANCHOR_BOX = (np.array([0.0, -0.2, 0.0]), 1.2)
"""An anchor case's body and object stay inside this cube (centre, half side; the oracle's
render box less 5 cm)."""


@dataclass(frozen=True, kw_only=True, eq=False)
class FamilyCase:
    """One drawn case."""

    name: str
    """``<kind>-<seed>-<index>``."""
    kind: str
    """One of ``KINDS``."""
    body: ShapedBody
    """The body at the case's shape."""
    drawn: Drawn
    """The motion and its object."""
    camera: Cameras
    """The camera of the motion case."""


def kind_of(case_name: str) -> str:
    """The kind of a case folder name (the name itself for cases outside the family)."""
    return case_name.split("-")[0]


def kinds_for(count: int, seed: int) -> list[str]:
    """``count`` kinds: shuffled rounds through every kind (each covered once ``count`` reaches
    the number of kinds)."""
    rng = np.random.default_rng([seed, 7])
    names = list(KINDS)
    out: list[str] = []
    while len(out) < count:
        out += [names[i] for i in rng.permutation(len(names))]
    return out[:count]


def placed_vertices(drawn: Drawn) -> np.ndarray:
    """(T, Vo, 3) the object's vertices in the world per frame."""
    v = drawn.mesh[0]
    return np.einsum("tij,vj->tvi", drawn.obj_poses[:, :3, :3], v) + drawn.obj_poses[:, None, :3, 3]


def stands_on_top(verts: np.ndarray, obj_vertices: np.ndarray, obj_rot: np.ndarray,
                  obj_trans: np.ndarray, reach: float = 0.012) -> np.ndarray:
    """(T,) whether a body vertex of ``verts (T, V, 3)`` lies within ``reach`` of the object's
    top face, over it (its top: the highest level of ``obj_vertices (Vo, 3)``, its footprint:
    their box, both in its own frame; placed by ``obj_rot (T, 3, 3)``, ``obj_trans (T, 3)``).
    The lowest vertex need not be there: the other foot swings below the top."""
    local = np.einsum("tji,tvj->tvi", obj_rot, verts - obj_trans[:, None])
    lo, hi = obj_vertices.min(0), obj_vertices.max(0)
    over = ((local[..., 0] >= lo[0]) & (local[..., 0] <= hi[0])
            & (local[..., 2] >= lo[2]) & (local[..., 2] <= hi[2]))
    return (over & (np.abs(local[..., 1] - hi[1]) < reach)).any(1)


def knees_together(root_orient: np.ndarray, joints: np.ndarray, share: float = 0.5
                   ) -> np.ndarray:
    """(T,) frames where the knee joints of ``joints (T, 55, 3)`` lie closer together along
    the pelvis's left (``root_orient (T, 3)``, axis-angle) than ``share`` of the hip joints'
    spacing (their surfaces press into each other), or cross."""
    side = Rotation.from_rotvec(root_orient).as_matrix()[:, :, 0]
    lat = np.einsum("tjk,tk->tj", joints[:, [J["left_hip"], J["right_hip"],
                                             J["left_knee"], J["right_knee"]]], side)
    return lat[:, 2] - lat[:, 3] < share * (lat[:, 0] - lat[:, 1])


def check_drawn(body: ShapedBody, drawn: Drawn, touch: str) -> None:
    """``ValueError`` unless the draw is physically sensible (see the module docstring)."""
    clip, g = drawn.clip, body.ground_y
    lowest = clip.verts[..., 1].min(1)
    obj = placed_vertices(drawn)
    if obj[..., 1].min() < g - 1e-3:
        raise ValueError("the object sinks into the floor")
    supported = np.abs(lowest - g) < 0.012
    if touch == "feet":
        supported |= (lowest > g - 0.012) & stands_on_top(
            clip.verts, drawn.mesh[0], drawn.obj_poses[:, :3, :3], drawn.obj_poses[:, :3, 3])
    if not supported.all():
        raise ValueError(f"the body floats in {int((~supported).sum())} frames")
    close = knees_together(clip.root_orient, clip.joints)
    if close.any():
        raise ValueError(f"the knees press together or cross in {int(close.sum())} frames")
    left, right = hand_ids(body)
    dist = object_distances(clip.verts, drawn.mesh[0], drawn.mesh[1], drawn.obj_poses[:, :3, :3],
                            drawn.obj_poses[:, :3, 3],
                            groups={"hands": np.concatenate([left, right])}, reach=0.1)
    if dist["inside"].max() > 0.005:
        raise ValueError(f"the body is {dist['inside'].max() * 1000:.0f} mm inside the object")
    if touch == "none" and dist["body"].min() < 0.04:
        raise ValueError("the body touches an object it should not")
    if touch == "hands" and dist["hands"][drawn.anchor_frame] > 0.02:
        raise ValueError("the hands miss the object at the key frame")


def draw_case(model: BodyModel, kind: str, seed: int, index: int, *,
              anchor: bool = False) -> FamilyCase:
    """The case ``index`` of ``kind`` from ``seed`` (``anchor``: its key frame must also fit
    the anchor oracle's box)."""
    make, touch = KINDS[kind]
    last: Exception | None = None
    for attempt in range(ATTEMPTS):
        rng = np.random.default_rng([seed, list(KINDS).index(kind), index, attempt])
        betas = np.zeros(10)
        betas[:2] = np.clip(rng.normal(0.0, 1.0, 2), -2.0, 2.0)
        body = ShapedBody.build(model, betas)
        try:
            drawn = make(body, rng)
            check_drawn(body, drawn, touch)
            if anchor:
                anchor_arrays(body, drawn)
            azimuth = drawn.facing + rng.uniform(-0.5, 0.5)
            cam = camera_for(drawn.clip.joints, float(np.degrees(azimuth)),
                             elevation=rng.uniform(0.0, 0.35), min_distance=rng.uniform(3.0, 5.0))
        except ValueError as exc:
            log.info("%s %d/%d: draw %d rejected: %s", kind, seed, index, attempt, exc)
            last = exc
            continue
        return FamilyCase(name=f"{kind}-{seed}-{index:02d}", kind=kind, body=body, drawn=drawn,
                          camera=cam)
    raise ValueError(f"no sensible {kind} case in {ATTEMPTS} draws (last: {last})")


def draw_family(model: BodyModel, count: int, seed: int, *, anchor: bool = False
                ) -> list[FamilyCase]:
    """``count`` cases from ``seed`` over every kind (``kinds_for``)."""
    return [draw_case(model, kind, seed, i, anchor=anchor)
            for i, kind in enumerate(kinds_for(count, seed))]


def write_motion(case: FamilyCase, folder: Path) -> Path:
    """Write ``case`` as a motion case folder (``motion_case.load_motion_case``), float32."""
    out = folder / case.name
    out.mkdir(parents=True, exist_ok=True)
    d, clip = case.drawn, case.drawn.clip
    write_obj(out / "object.obj", d.mesh[0], d.mesh[1])
    (out / "camera.json").write_text(json.dumps(to_json(case.camera), indent=1) + "\n")
    quat = Rotation.from_matrix(d.obj_poses[:, :3, :3]).as_quat()[:, [3, 0, 1, 2]]
    t = len(clip.trans)
    f32 = lambda x: np.asarray(x, np.float32)  # noqa: E731
    np.savez_compressed(out / "motion.npz", trans=f32(clip.trans),
                        root_orient=f32(clip.root_orient), pose_body=f32(clip.pose_body),
                        pose_hand=np.zeros((t, 90), np.float32), betas=f32(case.body.betas),
                        gender=np.array("neutral"), mocap_frame_rate=np.array(FPS),
                        obj_trans=f32(d.obj_poses[:, :3, 3]), obj_rot=f32(quat),
                        anchor_frame=np.array(d.anchor_frame),
                        ground_y=np.array(case.body.ground_y))
    return out


def anchor_arrays(body: ShapedBody, drawn: Drawn) -> dict[str, np.ndarray]:
    """The anchor case of the draw's key frame (``anchor_scene`` keys), moved so that the
    pelvis stands over the origin. When body and object do not both fit ``ANCHOR_BOX`` there
    (a curved walk's key frame can be 1.5 m from the furniture it walks round), the nearest
    frame of the clip where they do is the anchor case's frame; ``ValueError`` if none does."""
    clip, centre, half = drawn.clip, *ANCHOR_BOX
    placed = placed_vertices(drawn)
    for a in sorted(range(len(clip.joints)), key=lambda f: (abs(f - drawn.anchor_frame), f)):
        shift = -clip.joints[a, 0] * [1, 0, 1]
        pts = np.concatenate([clip.verts[a], placed[a]]) + shift
        if np.abs(pts - centre).max() <= half:
            break
    else:
        raise ValueError("no frame fits the anchor oracle's box")
    quat = Rotation.from_matrix(drawn.obj_poses[a, :3, :3]).as_quat()[[3, 0, 1, 2]]
    return {"root_orient": clip.root_orient[a], "pose_body": clip.pose_body[a],
            "trans": clip.trans[a] + shift, "betas": body.betas,
            "obj_trans": drawn.obj_poses[a, :3, 3] + shift, "obj_rot": quat}


def write_anchor(case: FamilyCase, folder: Path) -> Path:
    """Write ``case``'s key frame as an anchor case folder (``anchor_scene.load_anchor_case``)."""
    arrays = anchor_arrays(case.body, case.drawn)  # raises before anything is written
    out = folder / case.name
    out.mkdir(parents=True, exist_ok=True)
    write_obj(out / "object.obj", case.drawn.mesh[0], case.drawn.mesh[1])
    np.savez(out / "case.npz", **arrays)
    return out
