"""``optimize_motion``: stage E, the 4D motion (SMPL-X per frame + object SE(3) per frame).

Inputs: the anchor keypoints of the video, its camera, the key pose at the anchor frame and the
object with its placement there. All rotations move in 6D. Three phases:

1. **where and how to start** (``initialize.py``): global orientation and translation of a few
   whole-body candidate poses (the key pose; generic standing / crouching / sitting / squatting
   legs under the key pose's arms; standing with the arms hanging or carrying) fitted per frame
   to the torso and foot keypoints, standing on the ground; each frame starts from the
   candidate that fits best (Viterbi over frames);
2. **body pose**: + every body joint, with the robust reprojection (its scale annealed), the key
   pose at its frame, smoothness, knee/elbow hinges, a pull towards the key pose that is strong
   where a limb is hidden or where a frame looks like the key pose (``likeness.py``), the
   ground support and the foot contact (faded in); an
   object no hand touches never moves, so the body keeps out of it and the joints it hides
   behind it from here on (faded in too);
3. **contact**: the hand–object contact interval is decided (``contact.py``) and the object's
   trajectory initialised from it — a resting stretch before or after the contact placed from
   the phase-2 bodies of its frames (no penetration; the seen joints not behind it, the joints
   it hides behind it), not only from the hands at the boundary frame — then + object pose
   per frame with body–object penetration (the subset's vertices, and the mesh's own
   vertices wherever a check of the whole mesh at every contact refresh finds them near the
   object: ``watch.py``), the held object attached to the hands, a resting
   object static (and on the ground where it lies there), no ground penetration,
   and the centre of mass over the planted feet where nothing else supports the body
   (balance).

Foot contact and stillness (``stillness.py``) are re-detected every
``schedule.contact_refresh_every`` iterations from the keypoints' own speeds (a foot the
keypoints do not show is planted where the estimate leaves it still or the body's root does not
travel); with ``plants.enabled`` (the default) the
foot contact comes from the foot plants seen in the keypoints instead (``foot_plants.py``:
speed on the ground plane, footprints where the rays meet the ground) and planted feet are held
on their footprints in every phase (depth and travel from ground contact). The ground is the
floor everywhere but over the top of an object resting on it untouched where a foot is seen
on it (``supports.py``: a box or a stool stepped onto; a box hiding the feet is none), where
the soles, the foot heights and the footprints stand on the top. All T frames go through one
batched forward per iteration (``PosedSubset``: joints + a few hundred vertices); one Adam runs
through phases 2 and 3. The loss terms are in ``objective.py``, their weights and every other
setting in ``config.py``.
"""

from __future__ import annotations

import functools
import logging
import operator
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..body import BodyModel, matrix_to_axis_angle, matrix_to_rot6d, rot6d_to_matrix
from ..body.pose import KeyPose
from ..body.rotations import matrix_to_quaternion
from ..nerf.cameras import Cameras
from ..objects.mesh_io import ObjectMesh
from ..portable.contacts import contacts_from_stage
from ..portable.motion import MotionClip, ObjectTrack, SmplxMotion
from ..portable.quaternions import make_continuous
from ..progress import LossReadout, PhaseSteps, StepCallback
from . import losses as L
from .config import MotionConfig, MotionSchedule
from .contact import (
    FOOT_JOINTS,
    HIP_JOINTS,
    WRIST_JOINTS,
    ContactMode,
    contact_heights,
    decide_contact,
    fill_gaps,
    foot_contact_weights,
    footprint_matrix,
    grasp_frames,
    ground_speed,
    hold_still,
    mean_pose,
    object_path,
    true_runs,
)
from .foot_plants import contact_weights, feet_swing
from .initialize import BODY_JOINTS, SHOULDER_JOINTS, fit_candidates
from .objective import (
    LEFT_HAND,
    RIGHT_HAND,
    Problem,
    State,
    build_problem,
    decided,
    held_poses,
    loss_terms,
)
from .occlusion import hidden_targets, prior_target
from .stillness import still_weights, travel_frames
from .watch import refresh_watch, watched_depths, watched_points

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class MotionResult:
    """Stage E's output (numpy). ``T`` frames; the object's pose maps its scene object frame
    (the mesh as loaded by ``load_object_mesh``) into the world."""

    motion: SmplxMotion
    obj_trans: np.ndarray  # (T, 3) world position of the object frame's origin
    obj_rot: np.ndarray  # (T, 4) unit quaternions (w, x, y, z), object → world, sign-continuous
    obj_rotation: np.ndarray  # (T, 3, 3) the same rotations as matrices
    hand_contact: np.ndarray  # (T, 2) bool: the left / right hand holds the object
    foot_contact: np.ndarray  # (T, 4) contact of the left/right ankle, left/right foot, [0, 1]
    contact_mode: ContactMode
    ground_y: float
    losses: dict[str, float] = field(default_factory=dict)  # final weighted loss terms
    quality: dict[str, float] = field(default_factory=dict)  # see _finish

    def object_track(self, mesh: ObjectMesh, name: str = "Object") -> ObjectTrack:
        """The object's trajectory with its mesh (scene object frame)."""
        return ObjectTrack(name=name, vertices=mesh.vertices, faces=mesh.faces,
                           trans=self.obj_trans, rot=self.obj_rot)

    def clip(self, body: BodyModel, mesh: ObjectMesh | None = None, *,
             name: str = "AnchorHOI", object_name: str = "Object") -> MotionClip:
        """A ``MotionClip`` for ``portable.result_v1.write_result``: the body model's Y-up
        world moved down by ``ground_y``, so the floor is y = 0 (AMASS's z = 0 once the writer
        turns it Z up) and a rig's floor-level root lands on it."""
        down = np.array([0.0, self.ground_y, 0.0])
        motion = replace(self.motion, trans=np.asarray(self.motion.trans, np.float64) - down)
        obj = None
        if mesh is not None:
            track = self.object_track(mesh, object_name)
            obj = replace(track, trans=np.asarray(track.trans, np.float64) - down)
        return MotionClip(motion=motion, rig=body.rig(self.motion.betas), obj=obj, name=name,
                          body_kind=body.kind,
                          contacts=contacts_from_stage(self.foot_contact, self.hand_contact))


def optimize_motion(body: BodyModel, *, keypoints: torch.Tensor | np.ndarray, camera: Cameras,
                    key_pose: KeyPose, anchor_frame: int, obj_mesh: ObjectMesh,
                    obj_rotation: torch.Tensor | np.ndarray,
                    obj_translation: torch.Tensor | np.ndarray, fps: float,
                    config: MotionConfig = MotionConfig(),
                    generator: torch.Generator | None = None,
                    on_step: StepCallback | None = None) -> MotionResult:
    """Recover the motion of the body and the object.

    ``keypoints (T, 55, 3)``: per frame and SMPL-X joint ``(u, v, confidence)`` in pixels of
    ``camera`` (one camera, OpenCV convention; confidence 0, or NaN coordinates: not seen).
    ``key_pose``: the body at ``anchor_frame`` (world frame, Y up). ``obj_mesh``: the object in
    its scene object frame, placed at the anchor frame by ``obj_rotation (3, 3)`` and
    ``obj_translation (3,)`` (object → world). ``generator`` seeds the object surface samples.
    ``on_step(step, total, losses)`` after every Adam iteration of phases 1–3 (``step`` counts
    from 1 over all phases); raising from it stops the optimisation there, the exception
    propagates. Runs on the body model's device and dtype.
    """
    started = time.perf_counter()
    problem = build_problem(body, keypoints=keypoints, camera=camera, key_pose=key_pose,
                            anchor=anchor_frame, mesh=obj_mesh, obj_rotation=obj_rotation,
                            obj_translation=obj_translation, fps=fps, config=config,
                            generator=generator)
    schedule = config.schedule
    steps = PhaseSteps(on_step, schedule.total_iterations)
    t0 = time.perf_counter()
    state = _initial_state(problem, key_pose, config, steps.phase(schedule.root_iterations))
    timings = {"phase1_seconds": time.perf_counter() - t0}
    for phase, iterations in ((2, schedule.pose_iterations), (3, schedule.contact_iterations)):
        t0 = time.perf_counter()
        if phase == 3:
            _decide_contact(problem, state, config)
            _clear_resting_object(problem, state, config)
        _run_phase(problem, state, config, phase, iterations, steps.phase(iterations))
        timings[f"phase{phase}_seconds"] = time.perf_counter() - t0
    return _finish(problem, state, config, key_pose, started, timings)


def _initial_state(problem: Problem, key_pose: KeyPose, config: MotionConfig,
                   report: StepCallback | None = None) -> State:
    """Phase 1: root, translation and starting body pose of every frame."""
    t_count = problem.keypoints.shape[0]
    key = key_pose.to_params(device=problem.keypoints.device, dtype=problem.keypoints.dtype)
    root6d, trans, body6d, choice = fit_candidates(
        problem.kin, problem.keypoints, problem.camera, key, problem.key_joints, problem.anchor,
        problem.fps, problem.ground_y, config, on_step=report, plants=problem.plants,
        supports=problem.supports, soles=problem.soles, seat=(problem.sdf, problem.obj_anchor),
        hands_busy=problem.held_in_air)
    counts = torch.bincount(choice, minlength=len(config.schedule.initial_poses)).tolist()
    log.info("stage E phase 1: frames starting from %s", ", ".join(
        f"{name} {n}" for name, n in zip(config.schedule.initial_poses, counts) if n))
    r_a, t_a = problem.obj_anchor[:3, :3], problem.obj_anchor[:3, 3]
    return State(root6d=root6d, body6d=body6d, hand6d=key.hand.expand(t_count, 30, 6).clone(),
                 trans=trans, obj6d=matrix_to_rot6d(r_a).expand(t_count, 6).clone(),
                 obj_trans=t_a.expand(t_count, 3).clone(), start_body6d=body6d.clone())


def _run_phase(problem: Problem, state: State, config: MotionConfig, phase: int,
               iterations: int, report: StepCallback | None = None) -> None:
    """Phase 2 or 3. One Adam carries on from phase 2 into phase 3 (a fresh one would jolt
    every parameter by a full step); the parameters a phase adds are warmed up."""
    schedule, rep = config.schedule, config.reprojection
    new = [state.root6d, state.trans, state.body6d] if state.optimizer is None else []
    moves_object = phase == 3 and bool(decided(state.held, "held").any())
    if phase == 3:
        if moves_object:  # else the object stays at its anchor placement
            new += [state.obj6d, state.obj_trans]
        if problem.hands_free:
            new.append(state.hand6d)
    for p in new:
        p.requires_grad_(True)
    if state.optimizer is None:
        state.optimizer = torch.optim.Adam(new, lr=schedule.learning_rate)
    elif new:
        state.optimizer.add_param_group({"params": new, "lr": schedule.learning_rate})
    opt = state.optimizer
    warm = opt.param_groups[-1] if new else None
    anneal = schedule.root_iterations + schedule.pose_iterations
    done = schedule.root_iterations if phase == 2 else anneal
    ratio = rep.scale_px / rep.start_scale_px
    terms = {}
    readout = LossReadout(report, iterations, schedule.sync_every)
    for it in range(iterations):
        scale_px = rep.start_scale_px * ratio ** min(
            1.0, (done + it) / max(anneal - 1, 1))
        settle = _settle_factor(schedule, it, iterations) if phase == 3 else 1.0
        for group in opt.param_groups:
            group["lr"] = schedule.learning_rate * settle
        if warm is not None:
            warm["lr"] = schedule.learning_rate * settle * min(
                1.0, (it + 1) / schedule.warmup_iterations)
        if it % schedule.contact_refresh_every == 0:
            _refresh_contacts(problem, state, config, use_height=phase == 3)
            _refresh_hidden_targets(problem, state, config)
            if phase == 3:
                refresh_watch(problem, state, config)
        opt.zero_grad(set_to_none=True)
        terms = loss_terms(problem, state, config, phase, scale_px, it / max(iterations - 1, 1))
        total: torch.Tensor = functools.reduce(operator.add, terms.values())
        total.backward()
        opt.step()
        if moves_object:
            hold_still(state.obj6d, state.obj_trans, decided(state.held, "held").any(1))
        readout.step(it + 1, terms)
    if terms:  # the last iteration's terms, read at it
        log.info("stage E phase %d (%d iterations): %s", phase, iterations,
                 ", ".join(f"{k} {v:.4g}" for k, v in readout.values.items()))


def _settle_factor(schedule: MotionSchedule, it: int, iterations: int) -> float:
    """Phase 3's step size factor at iteration ``it`` of ``iterations``: 1, then over the
    last ``schedule.settle_iterations`` geometrically down to ``settle_learning_rate /
    learning_rate`` (reached at the last iteration)."""
    settle = min(schedule.settle_iterations, iterations)
    into = it - (iterations - settle) + 1
    if settle <= 0 or into <= 0:
        return 1.0
    return (schedule.settle_learning_rate / schedule.learning_rate) ** (into / settle)


def _refresh_contacts(problem: Problem, state: State, config: MotionConfig, *,
                      use_height: bool = True) -> None:
    """Foot contact from the keypoints' plants (``foot_plants.py``, with
    ``plants.enabled``; else from the foot keypoints' speeds like the body's) and whole-body
    stillness from the keypoints' speeds (pixels → metres at the current depth); with
    ``use_height``, the estimate's foot heights count too (phase 2 starts from candidate poses
    whose feet may be anywhere)."""
    with torch.no_grad():
        joints = state.pose(problem).joints
        depth = (joints @ problem.camera.R[0].T + problem.camera.t[0])[..., 2]  # (T, 55)
        focal = float(problem.camera.K[0, :2, :2].diagonal().mean())
        to_mps = depth / focal * problem.fps
        nan = float("nan")

        contact = config.contact
        feet = joints[:, list(FOOT_JOINTS)]
        floor = problem.supports.under(feet)  # the ground, or a resting object's top
        # a joint's height in contact: its rest height, the key pose's in the anchor's run
        heights = problem.foot_rest_height if state.foot_heights is None \
            else state.foot_heights
        travels = None
        moved = state.mode in ("held", "sliding")  # decided: the hands move the object
        if problem.plants is not None:  # the plants seen in the keypoints
            # where the body may travel along the camera's rays: not still there; with the
            # feet unseen, only once the contact is decided held or slid (before it, a body
            # leaning on a table would lose its stillness: lean_on-23-20 18.6 -> 32.2 mm)
            travels = travel_frames(problem.plants, moved, contact)
            # where a foot is unseen: its estimate's own speed, or the seen body's travel —
            # not where the hands may move the object: a body pushing it walks in strokes
            # along the camera ray, its root's travel unseen (push_pull-1-23, legs hidden
            # behind the pushed box: held planted, MPJPE 91 -> 177 mm). Before the contact
            # decision an object the hands touch may be pushed; after it, only a held or slid
            # one is: a body leaning on a table or reaching to a shelf with its legs hidden
            # stands where it stood (lean_on-5-07: the hidden feet, taken as planted only
            # where the estimate kept them still, skated 11 mm per frame; 0.2 mm held)
            hands_move = bool(problem.at_anchor.any()) and (state.held is None or moved)
            travel = None if hands_move else ground_speed(
                joints[:, :1], problem.fps, contact.travel_window)[:, 0]
            state.foot_weights = contact_weights(
                problem.plants, feet, heights, floor, contact,
                foot_contact_weights(feet, heights, floor, problem.fps, contact,
                                     use_height=use_height, body_speed_mps=travel), use_height,
                config.plants.toe_off_frames,
                stance_weight=0.0 if hands_move else config.plants.stance_weight)
        else:
            seen = problem.foot_image_mass >= contact.image_speed_min_confidence
            mps = problem.foot_image_speed_px * to_mps[:, list(FOOT_JOINTS)]
            mps = fill_gaps(torch.where(seen, mps, torch.full_like(mps, nan)))
            state.foot_weights = foot_contact_weights(
                feet, heights, floor, problem.fps, contact, mps,
                use_height=seen if use_height else False)
        state.footprints = footprint_matrix(state.foot_weights, problem.anchor)
        state.foot_heights = contact_heights(state.footprints, problem.anchor,
                                             problem.foot_rest_height, problem.key_foot_height)

        state.still_weights = still_weights(
            problem.body_image_speed_px * to_mps[:, :BODY_JOINTS],
            problem.body_image_speed_error_px * to_mps[:, :BODY_JOINTS],
            problem.body_image_mass >= contact.image_speed_min_confidence, contact, travels)
        state.still_runs = footprint_matrix(state.still_weights, problem.anchor)


def _refresh_hidden_targets(problem: Problem, state: State, config: MotionConfig) -> None:
    """The pose prior's per-frame target (``occlusion.py``): hidden rotations carried by time
    between the frames they are seen in, else phase 1's start pose; with
    ``hidden_limbs="key"`` the key pose everywhere."""
    if config.hidden_limbs == "key":
        state.prior_target = None
        return
    with torch.no_grad():
        hidden = hidden_targets(state.body6d, problem.visibility, problem.anchor,
                                problem.key_body6d, decided(state.start_body6d, "start_body6d"))
        _, state.prior_target = prior_target(
            problem.visibility, problem.key_body6d, hidden,
            seen_weight=config.weights.lambda_pose_prior,
            hidden_weight=config.weights.lambda_pose_prior_hidden)


def _decide_contact(problem: Problem, state: State, config: MotionConfig) -> None:
    """Hand–object contact interval and the object's initial trajectory (see contact.py)."""
    t_count, tolerance = state.trans.shape[0], config.contact.support_tolerance_m
    _refresh_contacts(problem, state, config)
    if not bool(problem.at_anchor.any()):
        state.held = torch.zeros(t_count, 2, dtype=torch.bool, device=state.trans.device)
        state.mode = "none"
        return
    with torch.no_grad():
        frames = state.pose(problem)
        wrists = frames.joints[:, list(WRIST_JOINTS)]  # (T, 2, 3)
        # each touching hand carries the object (both: their grip, where it is defined); a
        # seen hand counts more than a hidden one
        by_hand, holds = held_poses(problem, frames, problem.at_anchor.expand(t_count, 2))
        seen = torch.stack([problem.keypoints[:, list(LEFT_HAND), 2].mean(1),
                            problem.keypoints[:, list(RIGHT_HAND), 2].mean(1)])  # (2, T)
        weights = problem.at_anchor[:, None].to(seen.dtype) * (0.05 + seen)
        carried = torch.where(holds[:, 2, None, None], by_hand[2],
                              mean_pose(by_hand[:2], weights))
        carried[problem.anchor] = problem.obj_anchor
        lowest = L.transform_points(problem.obj_corners, carried[:, :3, :3],
                                    carried[:, :3, 3])[..., 1].amin(-1)
        share = weights.T / weights.sum(0)[:, None]  # (T, 2)
        contact, mode = decide_contact(
            lowest_anchor=float(lowest[problem.anchor]),
            hand_height=(share * wrists[..., 1]).sum(1),
            hand_track=(share[..., None] * _image_track(problem, wrists)).sum(1),
            body_track=_image_track(problem, frames.joints[:, list(HIP_JOINTS)],
                                    HIP_JOINTS).mean(1),
            ground_tracks=((share[..., None] * wrists[..., [0, 2]]).sum(1),
                           frames.joints[:, list(HIP_JOINTS)][..., [0, 2]].mean(1)),
            seen=(problem.at_anchor[:, None] * seen).amax(0), anchor=problem.anchor,
            ground_y=problem.ground_y, contact=config.contact,
            body_depth=_carried_depth(problem, frames.vertices, carried), fps=problem.fps,
            feet=None if problem.plants is None else feet_swing(problem.plants),
            scale=_shoulder_scale(problem, frames.joints))
        if mode == "resting":
            _touch_only(problem, state, contact)
            return
        if mode == "sliding":
            carried = _slid(problem, (share[..., None] * wrists).sum(1))
            lowest = L.transform_points(problem.obj_corners, carried[:, :3, :3],
                                        carried[:, :3, 3])[..., 1].amin(-1)
        path = object_path(carried, contact, lowest, problem.ground_y,
                           config.contact.rest_on_ground_m, corners=problem.obj_corners)
    if config.resting.iterations > 0:
        path = _fit_resting(problem, path, contact, frames.vertices, frames.joints, config)
    state.held = contact[:, None] & problem.at_anchor[None]
    state.mode = mode
    with torch.no_grad():
        low = L.transform_points(problem.obj_corners, path[:, :3, :3], path[:, :3, 3])
        state.rests_on_ground = ~contact & (
            low[..., 1].amin(-1) <= problem.ground_y + tolerance)
    if mode == "held":
        state.grasped = _grasped(problem, state, contact, config)
    state.obj6d = matrix_to_rot6d(path[:, :3, :3]).clone()
    state.obj_trans = path[:, :3, 3].clone()
    frames_held = torch.nonzero(contact).flatten()
    log.info("stage E: the object is %s by the hands in frames %d–%d", mode,
             int(frames_held[0]), int(frames_held[-1]))


def _clear_resting_object(problem: Problem, state: State, config: MotionConfig) -> None:
    """Move the bodies that phase 2 left inside the object where it rests (no hand holds it)
    out of it along their camera rays — the direction the keypoints barely see — rather than
    let phase 3's penetration term push them out sideways, off their keypoints (the robust
    reprojection lets go beyond its scale: lean_on-2-17's body, 65 cm too near the camera and
    inside the table, left 73 cm sideways). Each frame whose torso, legs or head go deeper
    than ``contact.clear_depth_m`` into it takes, of the shifts along the ray to its body's
    centre that clear them (away from the camera where the object hides some of its body
    joints: it stands behind the object; else either way), the one that leaves the arms
    least deep inside (they reach onto what they touch), the smallest of those."""
    contact = config.contact
    if contact.clear_step_m <= 0:
        return
    held = decided(state.held, "held").any(1)
    with torch.no_grad():
        verts = state.pose(problem).vertices  # (T, Vs, 3)
        rot = rot6d_to_matrix(state.obj6d)

        def inside(frames: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
            """(F, ..., Vs) how deep each of ``points (F, ..., Vs, 3)`` is inside."""
            shape = points.shape
            local = (points.reshape(shape[0], -1, 3) - state.obj_trans[frames, None]) \
                @ rot[frames]  # Rᵀ (p − t)
            d = problem.sdf.sample_sdf(local.reshape(-1, 3)).reshape(shape[:-1])
            return torch.relu(-d)

        every = torch.arange(len(verts), device=verts.device)
        trunk_depth = inside(every, verts)[:, problem.trunk].amax(-1)
        todo = torch.nonzero(~held & (trunk_depth > contact.clear_depth_m)).flatten()
        if len(todo) == 0:
            return
        ray = verts[todo].mean(1) - problem.camera.centers[0]
        ray = ray / ray.norm(dim=-1, keepdim=True)  # (F, 3)
        shifts = torch.arange(-contact.clear_reach_m, contact.clear_reach_m + 1e-6,
                              contact.clear_step_m, dtype=verts.dtype, device=verts.device)
        depth = inside(todo, verts[todo, None] + shifts[None, :, None, None]
                       * ray[:, None, None])  # (F, K, Vs)
        clear = depth[..., problem.trunk].amax(-1) <= contact.clear_depth_m
        # the arms' depth in centimetre steps, then the smallest shift
        cost = torch.round(depth[..., ~problem.trunk].sum(-1) / 0.01) + shifts.abs() / (
            2 * contact.clear_reach_m + 1)
        behind = problem.hidden[todo].sum(1) >= 2
        count = 0
        for i, t in enumerate(todo.tolist()):
            ok = clear[i] & (shifts > 0) if bool(behind[i]) else clear[i]
            if bool(ok.any()):
                best = int(torch.argmin(torch.where(ok, cost[i], torch.full_like(cost[i],
                                                                                 float("inf")))))
                state.trans[t] += shifts[best] * ray[i]
                count += 1
    log.info("stage E: %d of %d frames inside the resting object moved out along their camera "
             "rays", count, len(todo))


def _slid(problem: Problem, hands: torch.Tensor) -> torch.Tensor:
    """The poses ``(T, 4, 4)`` of an object pushed or pulled along the ground by hands at
    ``hands (T, 3)`` (their mean position): its anchor placement moved on the ground plane as
    far as the hands move from the anchor frame, upright and turned as at the anchor. Carried
    by the wrists' rotations (the offsets captured at the anchor) it swings over a lever arm
    as long as the hands' reach: started from the relaxed candidate's hanging arms,
    push_pull-6-00's box ended 22 cm off (8 cm slid)."""
    move = hands - hands[problem.anchor]
    move[:, 1] = 0
    out = problem.obj_anchor.expand(len(hands), 4, 4).clone()
    out[:, :3, 3] += move
    return out


def _carried_depth(problem: Problem, vertices: torch.Tensor, carried: torch.Tensor
                   ) -> torch.Tensor:
    """``(T,)`` how deep the object carried by the hands (``carried (T, 4, 4)``) would sink
    into the torso, legs or head of the bodies ``vertices (T, Vs, 3)`` (0 where clear)."""
    trunk = vertices[:, problem.trunk]
    local = (trunk - carried[:, None, :3, 3]) @ carried[:, :3, :3]  # Rᵀ (v − t)
    sdf = problem.sdf.sample_sdf(local.reshape(-1, 3)).reshape(trunk.shape[:2])
    return torch.relu(-sdf.amin(-1))


def _shoulder_scale(problem: Problem, joints: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """The shoulders' width in the image ``(T,)`` (pixels; NaN where either keypoint is
    unseen) and the depth of the estimate's shoulders ``joints (T, 55, 3)`` from the camera
    ``(T,)`` (``contact.scale_follows``)."""
    kp = problem.keypoints[:, list(SHOULDER_JOINTS)]
    width = (kp[:, 0, :2] - kp[:, 1, :2]).norm(dim=-1)
    width = torch.where((kp[..., 2] > 0).all(1), width, torch.full_like(width, float("nan")))
    camera = problem.camera
    mid = joints[:, list(SHOULDER_JOINTS)].mean(1)
    return width, mid @ camera.R[0][2] + camera.t[0][2]


def _image_track(problem: Problem, points: torch.Tensor,
                 joints: tuple[int, ...] = WRIST_JOINTS) -> torch.Tensor:
    """``(T, J, 2)``: the keypoints of ``joints`` in the image, pixels → metres at the
    estimated depth of ``points (T, J, 3)`` (world; those joints' estimate), interpolated over
    the frames they are unseen (where one is never seen: the estimate's projection)."""
    cam = problem.camera
    p_cam = points @ cam.R[0].T + cam.t[0]
    depth = p_cam[..., 2].clamp_min(1e-3)
    focal = float(cam.K[0, :2, :2].diagonal().mean())
    kp = problem.keypoints[:, list(joints)]  # (T, J, 3)
    projected = p_cam[..., :2] / depth[..., None] * focal
    centre = cam.K[0][:2, 2]
    uv = torch.where(kp[..., 2:] > 0, kp[..., :2] - centre, torch.full_like(kp[..., :2],
                                                                           float("nan")))
    uv = fill_gaps(uv.reshape(uv.shape[0], -1)).reshape(uv.shape)
    uv = torch.where(torch.isfinite(uv), uv, projected)
    return uv * depth[..., None] / focal


def _grasped(problem: Problem, state: State, contact: torch.Tensor, config: MotionConfig
             ) -> torch.Tensor:
    """``(T, 2)``: the touching hands in the frames they hold the object as it rests on the
    ground beside the held ``contact (T,)`` (``contact.grasp_frames``, from their keypoints'
    stillness)."""
    hands = [joint for joint, on in zip(WRIST_JOINTS, problem.at_anchor.tolist()) if on]
    still = decided(state.still_weights, "still_weights")[:, hands].mean(1)
    grasp = grasp_frames(contact, still, decided(state.rests_on_ground, "rests_on_ground"),
                         max_gap=config.contact.grasp_max_gap_frames,
                         min_still=config.contact.grasp_min_still)
    if bool(grasp.any()):
        log.info("stage E: the hands hold the resting object in frames %s", ", ".join(
            f"{a}–{b}" for a, b in true_runs(grasp, 1, 1)))
    return grasp[:, None] & problem.at_anchor[None]


def _touch_only(problem: Problem, state: State, contact: torch.Tensor) -> None:
    """The hands touch the resting object (``contact``) but the evidence shows them moving it
    nowhere: it stays at its anchor placement in every frame, no frame is held."""
    t_count = state.trans.shape[0]
    state.held = torch.zeros(t_count, 2, dtype=torch.bool, device=state.trans.device)
    state.mode = "resting"
    frames = torch.nonzero(contact).flatten()
    log.info("stage E: the hands touch the resting object in frames %d–%d but do not move it "
             "(seen hands would carry it less than the push threshold)", int(frames[0]),
             int(frames[-1]))


def _fit_resting(problem: Problem, path: torch.Tensor, contact: torch.Tensor,
                 vertices: torch.Tensor, joints: torch.Tensor,
                 config: MotionConfig) -> torch.Tensor:
    """Place each resting stretch of the initial object path (before and after the contact)
    from the bodies of its own frames instead of the hands at one boundary frame: one
    translation per stretch (horizontal where it rests on the ground), fitted to the phase-2
    bodies ``vertices (T, Vs, 3)``, ``joints (T, 55, 3)`` (fixed) — no penetration, the seen
    joints not behind it and the joints it hides behind it (``losses.occlusion_loss``) — with a
    weak pull to where the hands put it (``weights.lambda_rest_pull``). The fit starts from
    there and from points before and behind it along the camera ray
    (``resting.ray_starts_m``); one of those wins where its loss is ``resting.ray_start_gain``
    times lower. At the boundary frame the hands often reach along the camera ray or hide
    behind the object, so their depth is the weakest of the clip, and from their place the fit
    can stop where hidden joints still show through the object or the body still stands in
    it."""
    out = path.clone()
    frames = torch.nonzero(contact).flatten()
    if len(frames) == 0:
        return out
    t_count = path.shape[0]
    spans = [s for s in (range(int(frames[0])), range(int(frames[-1]) + 1, t_count))
             if len(s)]
    for span in spans:
        idx = list(span)
        rot, trans = path[idx, :3, :3], path[idx, :3, 3]
        lowest = L.transform_points(problem.obj_corners, rot[:1], trans[:1])[0, :, 1].amin()
        on_ground = float(lowest) <= problem.ground_y + config.contact.support_tolerance_m
        mask = torch.tensor([1.0, 0.0 if on_ground else 1.0, 1.0], dtype=trans.dtype,
                            device=trans.device)
        ray = (trans.mean(0) - problem.camera.centers[0]) * mask
        ray = ray / ray.norm().clamp_min(1e-9)
        fits = [_rest_fit(problem, idx, rot, trans, mask, ray * along, vertices[idx].detach(),
                          joints[idx, :BODY_JOINTS].detach(), config)
                for along in (0.0, *config.resting.ray_starts_m)]
        loss, delta = min(fits[1:], key=lambda fit: fit[0], default=fits[0])
        if loss * config.resting.ray_start_gain > fits[0][0]:
            loss, delta = fits[0]
        with torch.no_grad():
            out[idx, :3, 3] = trans + delta
        log.info("stage E: the object resting in frames %d–%d placed %.1f cm from where the "
                 "hands left it (loss %.3g; from the starts along the ray: %s)", idx[0],
                 idx[-1], 100 * float(delta.norm()), loss, ", ".join(f"{fit[0]:.3g}"
                                                                      for fit in fits))
    return out


def _rest_fit(problem: Problem, idx: list[int], rot: torch.Tensor, trans: torch.Tensor,
              mask: torch.Tensor, start: torch.Tensor, verts: torch.Tensor,
              body_joints: torch.Tensor, config: MotionConfig) -> tuple[float, torch.Tensor]:
    """One resting fit of ``_fit_resting`` from ``start (3,)``: its final loss and the
    translation ``(3,)`` (``mask``: the axes it may move along)."""
    w, rest = config.weights, config.resting
    delta = start.clone().requires_grad_(True)
    opt = torch.optim.Adam([delta], lr=rest.learning_rate)
    for step in range(rest.iterations + 1):
        opt.zero_grad(set_to_none=True)
        moved = trans + delta * mask
        seen, hidden = L.occlusion_loss(
            body_joints, problem.camera.centers[0], rot, moved, problem.sdf,
            problem.obj_centre, problem.obj_radius, problem.keypoints[idx, :BODY_JOINTS, 2],
            problem.hidden[idx], tail=rest.occlusion_tail_m, margin=rest.occlusion_margin_m,
            scale=rest.occlusion_scale_m)
        loss = w.lambda_penetration * L.penetration_loss(
            verts, rot, moved, problem.sdf, margin=config.contact.penetration_margin_m) \
            + w.lambda_occlusion * (seen + hidden) \
            + w.lambda_rest_pull * ((delta * mask) ** 2).sum()
        if step == rest.iterations:
            break
        loss.backward()
        opt.step()
    return float(loss.detach()), (delta * mask).detach()


def _finish(problem: Problem, state: State, config: MotionConfig, key_pose: KeyPose,
            started: float, timings: dict[str, float]) -> MotionResult:
    """The result and its quality figures (reprojection in pixels over the seen keypoints;
    penetration and skating measured on the optimised vertices: the subset, and the watched
    mesh vertices in their frames)."""
    state.optimizer = None
    for name in ("root6d", "body6d", "hand6d", "trans", "obj6d", "obj_trans"):
        setattr(state, name, getattr(state, name).detach())
    held = decided(state.held, "held")  # carried, or on the resting object (grasped)
    if state.grasped is not None:
        held = held | state.grasped
    foot_weights = decided(state.foot_weights, "foot_weights")
    with torch.no_grad():
        terms = loss_terms(problem, state, config, 3)
        frames = state.pose(problem)
        aa = matrix_to_axis_angle(state.rotations().double()).cpu().numpy()  # (T, 55, 3)
        obj_rot = rot6d_to_matrix(state.obj6d)
        quat = make_continuous(matrix_to_quaternion(obj_rot.double()).cpu().numpy())
        px = L.pixel_errors(frames.joints, problem.keypoints, problem.camera)
        verts = frames.vertices
        local = (verts - state.obj_trans[:, None]) @ obj_rot
        inside = -float(problem.sdf.sample_sdf(local.reshape(-1, 3)).min())
        if state.watch is not None:
            inside = max(inside, -float(watched_depths(
                state.watch, watched_points(state.watch, problem.kin, frames), obj_rot,
                state.obj_trans, problem.sdf).min()))
        below = problem.ground_y - float(verts[..., 1].min())
        feet = frames.joints[:, list(FOOT_JOINTS)]
        grounded = (foot_weights[1:] > 0.5) & (foot_weights[:-1] > 0.5)
        slide = (feet[1:, :, [0, 2]] - feet[:-1, :, [0, 2]]).norm(dim=-1)
        key_err = float((frames.joints[problem.anchor] - problem.key_joints).norm(dim=-1).mean())
    t_count = state.trans.shape[0]
    seconds = time.perf_counter() - started
    quality = {
        "frames": t_count,
        "reprojection_px_median": float(px.median()) if len(px) else float("nan"),
        "reprojection_px_mean": float(px.mean()) if len(px) else float("nan"),
        "key_pose_joint_error_mm": key_err * 1000,
        "max_object_penetration_mm": max(inside, 0.0) * 1000,
        "max_ground_penetration_mm": max(below, 0.0) * 1000,
        "foot_skate_mm": float(slide[grounded].mean()) * 1000 if bool(grounded.any()) else 0.0,
        "hand_contact_frames": int(held.any(1).sum()),
        "seconds": seconds,
        "seconds_per_100_frames": seconds * 100.0 / t_count,
        **timings,
    }
    motion = SmplxMotion(
        trans=state.trans.double().cpu().numpy(), root_orient=aa[:, 0],
        pose_body=aa[:, 1:22].reshape(t_count, 63), pose_hand=aa[:, 25:55].reshape(t_count, 90),
        pose_jaw=np.zeros((t_count, 3)), pose_eye=np.zeros((t_count, 6)),
        betas=np.asarray(key_pose.betas, dtype=np.float64), fps=problem.fps)
    log.info("stage E done in %.1f s (%.1f s per 100 frames): reprojection median %.1f px",
             seconds, quality["seconds_per_100_frames"], quality["reprojection_px_median"])
    return MotionResult(
        motion=motion, obj_trans=state.obj_trans.double().cpu().numpy(), obj_rot=quat,
        obj_rotation=obj_rot.double().cpu().numpy(), hand_contact=held.cpu().numpy(),
        foot_contact=foot_weights.double().cpu().numpy(), contact_mode=state.mode,
        ground_y=problem.ground_y, losses={k: float(v) for k, v in terms.items()},
        quality=quality)
