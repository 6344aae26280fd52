"""Whole-body inverse kinematics for the case family (``family``): the legs and arms that put
chosen joints on per-frame targets, all frames at once.

The trunk is given (root orientation, pelvis position, spine bend); the unknowns are the hips,
knees, ankles, shoulders and elbows of every frame. Targets are world positions of joints by
SMPL-X name (the ankles and the balls of the feet place a foot with its heading and its heel
raise; a knee on the floor; the wrists). The solve is one batched L-BFGS over the clip:
squared target errors, a pull towards a guess pose, frame-to-frame smoothness, hinge terms
(knees bend forward about x, elbows about their y hinge) and the knees tracking over the feet
(``knees_inside``). Targets it misses by more than
``tolerance_m`` raise ``ValueError`` (the family draws again), except where they are marked
unchecked (a swinging foot's target shapes the swing; a miss in the air touches nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from ..body import BodyModel, axis_angle_to_matrix
from ..motion.posing import PosedSubset
from ..portable.skeleton import JOINT_NAMES

J = {name: i for i, name in enumerate(JOINT_NAMES)}
"""Joint index by SMPL-X name."""
SOLVED = ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
          "left_shoulder", "right_shoulder", "left_elbow", "right_elbow")
"""The joints the solve moves (the others follow the trunk channels or stay at rest)."""


@dataclass(frozen=True)
class ShapedBody:
    """The body model in float64 at one shape, with what authoring needs at hand."""

    model: BodyModel
    """The body model, float64."""
    betas: np.ndarray
    """(10,) the shape."""
    kin: PosedSubset
    """Joints only (one vertex) at this shape: fast forward kinematics."""
    rest: np.ndarray
    """(55, 3) rest joints at this shape."""
    ground_y: float
    """The rest pose's sole level at this shape (the floor)."""

    @staticmethod
    def build(model: BodyModel, betas: np.ndarray) -> ShapedBody:
        """``model`` (float64) at ``betas (10,)``."""
        kin = PosedSubset(model, torch.as_tensor(betas), np.array([0]))
        ground = float(kin.all_rest_vertices[:, 1].min())
        return ShapedBody(model, np.asarray(betas, float), kin,
                          np.asarray(kin.rest_joints, dtype=np.float64), ground)

    def forward(self, root_orient: np.ndarray, pose_body: np.ndarray, trans: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        """Full mesh and joints, numpy ``(T, V, 3)``, ``(T, 55, 3)``."""
        t = len(trans)
        rot = axis_angle_to_matrix(torch.as_tensor(
            np.concatenate([root_orient, pose_body], 1).reshape(t, 22, 3)))
        with torch.no_grad():
            out = self.model(global_orient=rot[:, 0], body_pose=rot[:, 1:22],
                             transl=torch.as_tensor(trans),
                             betas=torch.as_tensor(self.betas)[None].expand(t, -1))
        return out.vertices.numpy(), out.joints.numpy()


KNEE_TRACKING = 10.0
"""Weight of ``knees_inside`` in the solve (m²)."""
KNEE_ROOM_M = 0.0
"""How far a knee may come inside its leg's hip and ankle before ``knees_inside`` counts."""


def knees_inside(joints: torch.Tensor, side: torch.Tensor, room: float = KNEE_ROOM_M
                 ) -> torch.Tensor:
    """Σ squared distance (m²) by which each knee of ``joints (T, 55, 3)`` lies further inside
    (towards the other leg, along the pelvis's left ``side (T, 3)``) than both its hip and its
    ankle, beyond ``room``. A knee tracks over its foot: the hip's three rotations leave the
    knee free to swivel about the line from hip to ankle, and in a deep squat the solve turned
    both knees in until the thighs passed through each other (pick_up_carry-0-01: the left
    knee 12 cm on the body's right, the right one as far on its left)."""
    out = joints.new_zeros(())
    for sign, hip, knee, ankle in ((1.0, "left_hip", "left_knee", "left_ankle"),
                                   (-1.0, "right_hip", "right_knee", "right_ankle")):
        lat = sign * (joints[:, [J[hip], J[knee], J[ankle]]] * side[:, None]).sum(-1)
        inside = torch.minimum(lat[:, 0], lat[:, 2]) - lat[:, 1] - room
        out = out + torch.relu(inside).pow(2).sum()
    return out


def hanging_arms() -> dict[str, np.ndarray]:
    """Axis-angles of arms hanging at the sides (the guess where no wrist has a target)."""
    return {"left_shoulder": np.array([0, 0, -np.radians(70)]),
            "right_shoulder": np.array([0, 0, np.radians(70)]),
            "left_elbow": np.array([0, -0.15, 0]), "right_elbow": np.array([0, 0.15, 0])}


def trunk_pose(pitch: np.ndarray, spine: np.ndarray) -> np.ndarray:
    """(T, 21, 3) body axis-angles with ``spine (T, 3)`` bending spine1..3 about x and the neck
    keeping the head level-ish against the trunk's ``pitch (T,)``."""
    t = len(pitch)
    aa = np.zeros((t, 21, 3))
    for i, name in enumerate(("spine1", "spine2", "spine3")):
        aa[:, J[name] - 1, 0] = spine[:, i]
    aa[:, J["neck"] - 1, 0] = -0.5 * (pitch + spine.sum(1))
    return aa


def bent_arm(body: ShapedBody, side: str, reach: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(elbow angles (T,), wrist offsets (T, 3))``: the bend about the ``side`` elbow's hinge
    (y, the forearm forward) that puts the wrist ``reach (T,)`` from the shoulder (straight
    where the target lies beyond the arm, bent by at most 2.6 rad where it lies nearer), and the
    wrist's offset from the shoulder at that bend, the shoulder at rest (the collar's frame)."""
    sh, el, wr = (body.rest[J[f"{side}_{n}"]] for n in ("shoulder", "elbow", "wrist"))
    sign = -1.0 if side == "left" else 1.0  # the bend's sign on the hinge (``solve``'s hinge)

    def offsets(bend: np.ndarray) -> np.ndarray:
        c, s = np.cos(sign * bend)[:, None], np.sin(sign * bend)[:, None]
        fore = wr - el
        turned = np.concatenate([c * fore[0] + s * fore[2], np.broadcast_to(fore[1], c.shape),
                                 c * fore[2] - s * fore[0]], 1)  # about y
        return (el - sh) + turned

    grid = np.linspace(0.0, 2.6, 261)
    lengths = np.linalg.norm(offsets(grid), axis=1)  # falls as the elbow bends
    bend = np.interp(reach, lengths[::-1], grid[::-1])
    return sign * bend, offsets(bend)


def aim_arms(body: ShapedBody, params: np.ndarray, root: torch.Tensor, trunk_rot: torch.Tensor,
             trans: torch.Tensor, targets: Mapping[str, np.ndarray]) -> None:
    """Start each arm with a wrist target reaching it: the elbow bent to the target's distance
    from the shoulder (``bent_arm``) and the shoulder's smallest rotation turning that arm's
    shoulder-to-wrist direction onto the target, in ``params (T, 10, 3)`` (``SOLVED`` order)
    where the target is given. Far from the hanging guess (an arm raised overhead) the solve
    would otherwise stall against the elbow's hinge, and from a straight arm the pull towards
    the guess would hold a near target off by a centimetre or more."""
    t = len(params)
    rot = torch.eye(3, dtype=torch.float64).repeat(t, 55, 1, 1)
    rot[:, 0] = root
    rot[:, 1:22] = trunk_rot
    with torch.no_grad():
        out = body.kin(rot, trans)
    for side in ("left", "right"):
        goal = targets.get(f"{side}_wrist")
        if goal is None:
            continue
        sh = J[f"{side}_shoulder"]
        parent = out.rotations[:, J[f"{side}_collar"]].numpy()  # (T, 3, 3)
        want = np.einsum("tji,tj->ti", parent, goal - out.joints[:, sh].numpy())
        known = np.flatnonzero(np.isfinite(want).all(1))
        bend, arm = bent_arm(body, side, np.linalg.norm(want[known], axis=1))
        for f, b, a in zip(known, bend, arm, strict=True):
            d = want[f] / max(np.linalg.norm(want[f]), 1e-9)
            a = a / np.linalg.norm(a)
            axis = np.cross(a, d)
            angle = np.arctan2(np.linalg.norm(axis), float(a @ d))
            if np.linalg.norm(axis) > 1e-9:
                params[f, SOLVED.index(f"{side}_shoulder")] = axis / np.linalg.norm(axis) * angle
                params[f, SOLVED.index(f"{side}_elbow")] = [0.0, b, 0.0]


def solve(body: ShapedBody, *, root_orient: np.ndarray, pelvis: np.ndarray,
          trunk: np.ndarray, targets: Mapping[str, np.ndarray],
          guess: Mapping[str, np.ndarray] | None = None, tolerance_m: float = 0.012,
          unchecked: Mapping[str, np.ndarray] | None = None,
          iterations: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """``(pose_body (T, 63), trans (T, 3))`` putting the pelvis joint at ``pelvis (T, 3)``,
    the root at ``root_orient (T, 3)``, the trunk joints at ``trunk (T, 21, 3)`` and the
    ``targets`` joints (name → ``(T, 3)``, NaN rows: no target that frame) where they say (see
    the module docstring). ``unchecked``: name → ``(T,)`` True in frames where that target is
    pursued but its miss not held to ``tolerance_m`` (a foot in the air)."""
    t = len(pelvis)
    start = {**hanging_arms(), "left_knee": np.array([0.15, 0, 0]),
             "right_knee": np.array([0.15, 0, 0])}
    start.update(guess or {})
    ids = [J[n] - 1 for n in SOLVED]
    prior = np.zeros((t, len(SOLVED), 3))
    for k, n in enumerate(SOLVED):
        if n in start:
            prior[:, k] = np.broadcast_to(start[n], (t, 3))
    root = axis_angle_to_matrix(torch.as_tensor(root_orient))
    trunk_rot = axis_angle_to_matrix(torch.as_tensor(trunk))
    trans = torch.as_tensor(pelvis - body.rest[0])
    aim_arms(body, prior, root, trunk_rot, trans, targets)
    prior_t = torch.as_tensor(prior)
    x = prior_t.clone().requires_grad_(True)
    names = list(targets)
    tid = [J[n] for n in names]
    goal_np = np.stack([targets[n] for n in names], 1) if names else np.zeros((t, 0, 3))
    mask = torch.as_tensor(np.isfinite(goal_np).all(-1)[..., None], dtype=torch.float64)
    goal = torch.as_tensor(np.nan_to_num(goal_np))
    knees = [SOLVED.index("left_knee"), SOLVED.index("right_knee")]
    elbows = [SOLVED.index("left_elbow"), SOLVED.index("right_elbow")]
    side = root[:, :, 0]  # (T, 3) the pelvis's left in the world

    def joints(params: torch.Tensor) -> torch.Tensor:
        rot = torch.eye(3, dtype=torch.float64).repeat(t, 55, 1, 1)
        rot[:, 0] = root
        rot[:, 1:22] = trunk_rot
        rot[:, [i + 1 for i in ids]] = axis_angle_to_matrix(params)
        return body.kin(rot, trans).joints

    def loss_of(params: torch.Tensor) -> torch.Tensor:
        err = (mask * (joints(params)[:, tid] - goal) ** 2).sum()
        reg = 1e-3 * ((params - prior_t) ** 2).sum()
        smooth = 1e-2 * ((params[1:] - params[:-1]) ** 2).sum()
        kn = params[:, knees]
        el = params[:, elbows]
        hinge = (kn[..., 1:] ** 2).sum() + torch.relu(-kn[..., 0]).pow(2).sum() \
            + (el[..., [0, 2]] ** 2).sum() + torch.relu(el[:, 0, 1]).pow(2).sum() \
            + torch.relu(-el[:, 1, 1]).pow(2).sum()
        return err + reg + smooth + 0.1 * hinge + KNEE_TRACKING * knees_inside(
            joints(params), side)

    opt = torch.optim.LBFGS([x], lr=1, max_iter=iterations, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-9, tolerance_change=1e-11, history_size=20)

    def closure():
        opt.zero_grad()
        loss = loss_of(x)
        loss.backward()
        return loss

    opt.step(closure)
    checked = mask[..., 0].clone()
    for k, n in enumerate(names):
        if unchecked is not None and n in unchecked:
            checked[torch.as_tensor(np.asarray(unchecked[n], bool)), k] = 0.0
    with torch.no_grad():
        misses = (checked * (joints(x)[:, tid] - goal).norm(dim=-1)).amax(0)
    if names and float(misses.max()) > tolerance_m:
        worst = int(misses.argmax())
        raise ValueError(f"the IK misses the {names[worst]} target by "
                         f"{float(misses[worst]) * 100:.1f} cm")
    aa = trunk.copy()
    aa[:, ids] = x.detach().numpy()
    return aa.reshape(t, 63), pelvis - body.rest[0]
