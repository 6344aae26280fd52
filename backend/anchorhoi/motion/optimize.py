"""``optimize_motion``: stage E, the 4D motion (SMPL-X per frame + object SE(3) per frame).

Inputs are the anchor keypoints of the video, its camera, the key pose at the anchor frame and
the object with its placement there. Every frame starts at the key pose, translated to follow
the 2D torso track (a per-frame linear least-squares fit of the translation, depth tied to the
anchor frame's), then Adam moves 6D rotations and translations in three phases:

1. root orientation + translation (torso keypoints, key pose at its frame, smoothness);
2. + body pose (all keypoints, weak pull to the key pose);
3. hand–object contact is decided (``contact.py``), the object trajectory initialised from it,
   then + object pose per frame, with foot contact (no skating), ground, body–object
   penetration, attachment of the held object to the hands, a static object otherwise.

All T frames go through one batched forward per iteration (``PosedSubset``: joints plus a few
hundred vertices). Hands stay at the key pose unless ``hands="observed"``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..anchor.key_pose import KeyPose
from ..body import BodyModel, matrix_to_axis_angle, matrix_to_rot6d, rot6d_to_matrix
from ..body.rotations import matrix_to_quaternion
from ..nerf.cameras import Cameras
from ..objects.inside import SdfGrid, build_sdf_grid
from ..objects.mesh_io import ObjectMesh
from ..portable.motion import MotionClip, ObjectTrack, SmplxMotion
from ..portable.skeleton import PARENTS
from . import losses as L
from .config import MotionConfig
from .contact import (FOOT_JOINTS, WRIST_JOINTS, foot_contact_weights, footprint_matrix,
                      fill_gaps, grow_contact, hands_touching, image_speed, mean_pose,
                      object_path, rigid)
from .initialize import BODY_JOINTS, TORSO_JOINTS, fit_candidates
from .posing import PosedFrames, PosedSubset, farthest_point_ids

log = logging.getLogger(__name__)

LEFT_HAND = (20, *range(25, 40))
RIGHT_HAND = (21, *range(40, 55))


@dataclass(frozen=True)
class MotionResult:
    """Stage E's output (numpy). ``T`` frames."""

    motion: SmplxMotion
    obj_trans: np.ndarray  # (T, 3) world position of the object frame's origin
    obj_rot: np.ndarray  # (T, 4) unit quaternion (w, x, y, z), object → world
    obj_rotation: np.ndarray  # (T, 3, 3) the same rotations as matrices
    hand_contact: np.ndarray  # (T, 2) bool: the left / right hand holds the object
    foot_contact: np.ndarray  # (T, 4) soft ground contact of left/right ankle, left/right foot
    contact_mode: str  # "none", "held" or "sliding" (see contact.py)
    ground_y: float
    losses: dict[str, float] = field(default_factory=dict)  # final weighted terms
    quality: dict[str, float] = field(default_factory=dict)

    def object_track(self, mesh: ObjectMesh, name: str = "Object") -> ObjectTrack:
        """The object's trajectory with its mesh (scene object frame)."""
        return ObjectTrack(name=name, vertices=mesh.vertices, faces=mesh.faces,
                           trans=self.obj_trans, rot=self.obj_rot)

    def clip(self, body: BodyModel, mesh: ObjectMesh | None = None, *,
             name: str = "AnchorHOI", object_name: str = "Object") -> MotionClip:
        """A ``MotionClip`` ready for ``portable.result_v1.write_result``."""
        return MotionClip(motion=self.motion, rig=body.rig(self.motion.betas),
                          obj=None if mesh is None else self.object_track(mesh, object_name),
                          name=name, body_kind=body.kind)


@dataclass
class _Setup:
    """What the phases share (tensors on the body's device and dtype)."""

    kin: PosedSubset
    groups: dict[str, slice]  # vertex subset ranges: "body", "soles", "left_hand", "right_hand"
    keypoints: torch.Tensor  # (T, 55, 3)
    camera: Cameras
    fps: float
    anchor: int
    ground_y: float
    foot_rest_height: torch.Tensor  # (4,)
    foot_image_speed_px: torch.Tensor  # (T, 4) px per frame, from the keypoints
    foot_image_mass: torch.Tensor  # (T, 4) confidence behind each speed
    key_joints: torch.Tensor  # (55, 3)
    key_rot6d: torch.Tensor  # (22, 6) root + body
    key_body6d: torch.Tensor  # (21, 6)
    key_hand6d: torch.Tensor  # (30, 6)
    sdf: SdfGrid
    obj_points: torch.Tensor  # (P, 3) object frame
    obj_corners: torch.Tensor  # (C, 3) object frame, its lowest point is the object's
    obj_anchor: torch.Tensor  # (4, 4)
    offsets: torch.Tensor  # (2, 4, 4) hand → object at the anchor
    at_anchor: torch.Tensor  # (2,) bool
    hands_free: bool  # hand rotations optimised in phase 3
    prior_weights: torch.Tensor  # (T, 21) pose prior weight of each body joint per frame
    hand_side: torch.Tensor  # (Vs,) 0 / 1 for subset vertices on the left / right hand, else -1


@dataclass
class _State:
    root6d: torch.Tensor  # (T, 6)
    body6d: torch.Tensor  # (T, 21, 6)
    hand6d: torch.Tensor  # (T, 30, 6)
    trans: torch.Tensor  # (T, 3)
    obj6d: torch.Tensor  # (T, 6)
    obj_trans: torch.Tensor  # (T, 3)
    held: torch.Tensor | None = None  # (T, 2) bool, from phase 3 on
    foot_weights: torch.Tensor | None = None  # (T, 4)
    footprints: torch.Tensor | None = None  # (4, T, T), see contact.footprint_matrix
    mode: str = "none"
    optimizer: torch.optim.Optimizer | None = None

    def rotations(self) -> torch.Tensor:
        """(T, 55, 3, 3) local joint rotations (jaw and eyes identity)."""
        t = self.root6d.shape[0]
        eye = torch.eye(3, dtype=self.root6d.dtype, device=self.root6d.device)
        return torch.cat([rot6d_to_matrix(self.root6d)[:, None], rot6d_to_matrix(self.body6d),
                          eye.expand(t, 3, 3, 3), rot6d_to_matrix(self.hand6d)], 1)


def optimize_motion(body: BodyModel, *, keypoints: torch.Tensor | np.ndarray, camera: Cameras,
                    key_pose: KeyPose, anchor_frame: int, obj_mesh: ObjectMesh,
                    obj_rotation: torch.Tensor | np.ndarray,
                    obj_translation: torch.Tensor | np.ndarray, fps: float,
                    config: MotionConfig = MotionConfig(),
                    generator: torch.Generator | None = None) -> MotionResult:
    """Recover the motion.

    ``keypoints (T, 55, 3)``: per frame and SMPL-X joint ``(u, v, confidence)`` in pixels of
    ``camera`` (one camera, OpenCV convention; confidence 0 = not seen). ``key_pose``: the body
    at ``anchor_frame``. ``obj_mesh`` in its scene object frame, placed at the anchor frame by
    ``obj_rotation (3, 3)`` and ``obj_translation (3,)`` (object → world). ``generator`` seeds
    the object surface samples.
    """
    started = time.perf_counter()
    setup = _prepare(body, keypoints, camera, key_pose, anchor_frame, obj_mesh, obj_rotation,
                     obj_translation, fps, config, generator)
    t0 = time.perf_counter()
    state = _initial_state(setup, key_pose, config)
    timings = {"phase1_seconds": time.perf_counter() - t0}
    for phase, iterations in ((2, config.iterations_pose), (3, config.iterations_contact)):
        t0 = time.perf_counter()
        if phase == 3:
            _decide_contact(setup, state, config)
        _run_phase(setup, state, config, phase, iterations)
        timings[f"phase{phase}_seconds"] = time.perf_counter() - t0
    return _finish(setup, state, config, key_pose, started, timings)


# -- set-up ---------------------------------------------------------------------------------


def _prepare(body, keypoints, camera, key_pose, anchor, mesh, obj_rotation, obj_translation,
             fps, config, generator) -> _Setup:
    like = dict(device=body.layer.v_template.device, dtype=body.layer.v_template.dtype)
    kp = torch.as_tensor(np.asarray(keypoints) if not torch.is_tensor(keypoints) else keypoints)
    kp = kp.to(**like)
    if kp.ndim != 3 or kp.shape[1:] != (55, 3) or kp.shape[0] < 1:
        raise ValueError(f"keypoints must be (T, 55, 3) = (u, v, confidence) per SMPL-X joint, "
                         f"got {tuple(kp.shape)}")
    t_count = kp.shape[0]
    if not 0 <= int(anchor) < t_count:
        raise ValueError(f"anchor_frame {anchor} is outside the clip's {t_count} frames")
    if len(camera) != 1:
        raise ValueError(f"stage E takes the video's one camera, got {len(camera)}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    finite = torch.isfinite(kp).all(-1)
    conf = torch.where(finite, kp[..., 2], torch.zeros_like(kp[..., 2]))
    conf = torch.where(conf >= config.min_confidence, conf.clamp(max=1.0), torch.zeros_like(conf))
    kp = torch.cat([torch.nan_to_num(kp[..., :2]), conf[..., None]], -1)

    key = key_pose.to_params(**like)
    num_betas = body.config.num_betas
    betas = key.betas[0, :num_betas]
    rest_v = body.layer.v_template.detach().cpu().numpy()
    weights = body.layer.lbs_weights.detach().cpu().numpy().argmax(1)
    ids, groups = _vertex_subset(rest_v, weights, config)
    kin = PosedSubset(body, betas, ids)
    with torch.no_grad():
        key_frames = kin(key.rotations(), key.trans)
        full = body(**key.body_inputs(num_betas))
    ground_y = float(full.vertices[0, :, 1].min()) if config.ground_y is None \
        else float(config.ground_y)
    sole = float(kin.all_rest_vertices[:, 1].min())
    foot_rest = kin.rest_joints[list(FOOT_JOINTS), 1] - sole

    r_a = torch.as_tensor(np.asarray(obj_rotation, dtype=np.float64)).to(**like)
    t_a = torch.as_tensor(np.asarray(obj_translation, dtype=np.float64)).to(**like)
    if r_a.shape != (3, 3) or t_a.shape != (3,):
        raise ValueError(f"the object placement wants R (3, 3) and t (3,), got "
                         f"{tuple(r_a.shape)}, {tuple(t_a.shape)}")
    sdf = build_sdf_grid(mesh.vertices, mesh.faces, resolution=config.sdf_resolution, **like)
    obj_points = _object_points(mesh, config.num_object_points, generator, like)
    obj_anchor = rigid(r_a, t_a)

    # hand contact at the anchor frame, from the key pose
    hand_sdf = []
    for name in ("left_hand", "right_hand"):
        v = key_frames.vertices[0, groups[name]]
        hand_sdf.append(sdf.sample_sdf((v - t_a) @ r_a))
    at_anchor = hands_touching(torch.stack(hand_sdf), config)
    wrists = rigid(key_frames.rotations[0, list(WRIST_JOINTS)],
                   key_frames.joints[0, list(WRIST_JOINTS)])
    offsets = torch.linalg.inv(wrists) @ obj_anchor
    hands_free = config.hands == "observed" and bool((conf[:, 25:] > 0).any())
    log.info("stage E: %d frames, anchor %d, ground y = %.3f m, hands touching the object at "
             "the anchor: left %s, right %s", t_count, anchor, ground_y, bool(at_anchor[0]),
             bool(at_anchor[1]))
    image_speed_px, image_mass = image_speed(kp[:, list(FOOT_JOINTS)], config.foot_image_window)
    seen = _child_visibility(conf)  # (T, 21)
    prior = config.lambda_pose_prior * seen + config.lambda_pose_prior_hidden * (1 - seen)
    return _Setup(kin=kin, groups=groups, keypoints=kp, camera=camera.to(**like), fps=float(fps),
                  anchor=int(anchor), ground_y=ground_y, foot_rest_height=foot_rest,
                  foot_image_speed_px=image_speed_px, foot_image_mass=image_mass,
                  key_joints=key_frames.joints[0],
                  key_rot6d=torch.cat([key.root, key.body[0]], 0),
                  key_body6d=key.body[0], key_hand6d=key.hand[0], sdf=sdf,
                  obj_points=obj_points,
                  obj_corners=torch.as_tensor(mesh.vertices, **like), obj_anchor=obj_anchor,
                  offsets=offsets, at_anchor=at_anchor, hands_free=hands_free,
                  prior_weights=prior,
                  hand_side=torch.as_tensor(
                      np.where(np.isin(weights[ids], LEFT_HAND), 0,
                               np.where(np.isin(weights[ids], RIGHT_HAND), 1, -1)),
                      device=like["device"]))


def _child_visibility(conf: torch.Tensor) -> torch.Tensor:
    """(T, 55) keypoint confidence → (T, 21): for each body joint, the mean confidence of the
    joints its rotation moves directly (its children), i.e. how well that rotation is seen."""
    out = []
    for j in range(1, 22):
        children = [c for c, p in enumerate(PARENTS) if p == j]
        out.append(conf[:, children].mean(1) if children else torch.zeros_like(conf[:, 0]))
    return torch.stack(out, 1).clamp(0, 1)


def _vertex_subset(rest: np.ndarray, dominant: np.ndarray, config: MotionConfig):
    """Vertex ids ``(Vs,)`` and their groups: a farthest-point spread over the body, then soles
    and each hand's vertices (also farthest-point within the part)."""
    parts = {"body": farthest_point_ids(rest, config.num_body_vertices)}
    soles = np.flatnonzero(rest[:, 1] < rest[:, 1].min() + 0.015)
    parts["soles"] = soles[farthest_point_ids(rest[soles], config.num_sole_vertices)]
    for name, joints in (("left_hand", LEFT_HAND), ("right_hand", RIGHT_HAND)):
        hand = np.flatnonzero(np.isin(dominant, joints))
        parts[name] = hand[farthest_point_ids(rest[hand], config.num_hand_vertices)]
    groups, start = {}, 0
    for name, ids in parts.items():
        groups[name] = slice(start, start + len(ids))
        start += len(ids)
    return np.concatenate(list(parts.values())), groups


def _object_points(mesh: ObjectMesh, n: int, generator, like) -> torch.Tensor:
    """(P, 3) the mesh's vertices (at most n) and n area-weighted surface samples."""
    v = torch.as_tensor(mesh.vertices, **like)
    f = torch.as_tensor(mesh.faces, dtype=torch.long, device=like["device"])
    tri = v[f]  # (F, 3, 3)
    area = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=-1).norm(dim=-1)
    idx = torch.multinomial(area.cpu().double(), n, replacement=True, generator=generator)
    u = torch.rand(n, 2, generator=generator, dtype=torch.float64).to(**like)
    r = u[:, :1].sqrt()
    t = tri[idx.to(like["device"])]
    samples = (1 - r) * t[:, 0] + r * (1 - u[:, 1:]) * t[:, 1] + r * u[:, 1:] * t[:, 2]
    corners = v[torch.as_tensor(farthest_point_ids(mesh.vertices, n), device=like["device"])]
    return torch.cat([corners, samples])


def _initial_state(setup: _Setup, key_pose: KeyPose, config: MotionConfig) -> _State:
    """Phase 1 (``initialize.fit_candidates``): root, translation and starting body pose."""
    like = dict(device=setup.keypoints.device, dtype=setup.keypoints.dtype)
    t_count = setup.keypoints.shape[0]
    key = key_pose.to_params(**like)
    root6d, trans, body6d, choice = fit_candidates(
        setup.kin, setup.keypoints, setup.camera, key, setup.key_joints, setup.anchor,
        setup.fps, setup.ground_y, config)
    counts = torch.bincount(choice, minlength=len(config.initial_poses)).tolist()
    log.info("stage E phase 1: frames starting from %s", ", ".join(
        f"{name} {n}" for name, n in zip(config.initial_poses, counts) if n))
    r_a, t_a = setup.obj_anchor[:3, :3], setup.obj_anchor[:3, 3]
    return _State(root6d=root6d, body6d=body6d,
                  hand6d=key.hand.expand(t_count, 30, 6).clone(), trans=trans,
                  obj6d=matrix_to_rot6d(r_a).expand(t_count, 6).clone(),
                  obj_trans=t_a.expand(t_count, 3).clone())


# -- phases ---------------------------------------------------------------------------------


def _forward(setup: _Setup, state: _State) -> PosedFrames:
    return setup.kin(state.rotations(), state.trans)


def _loss_terms(setup: _Setup, state: _State, config: MotionConfig, phase: int,
                scale_px: float | None = None, ramp: float = 1.0) -> dict[str, torch.Tensor]:
    """The weighted loss terms of ``phase``; ``scale_px`` is the current robust scale and
    ``ramp`` in [0, 1] fades in the support term during phase 2."""
    c, fps, a = config, setup.fps, setup.anchor
    scale_px = c.robust_scale_px if scale_px is None else scale_px
    rotations = state.rotations()
    frames = setup.kin(rotations, state.trans)
    joints = frames.joints
    torso = None
    if phase == 1:
        torso = torch.zeros(55, dtype=joints.dtype, device=joints.device)
        torso[list(TORSO_JOINTS)] = 1
    body_joints = joints[:, :BODY_JOINTS]
    terms = {
        "reproj": c.lambda_reproj * L.reprojection_loss(
            joints, setup.keypoints, setup.camera, scale=scale_px, kind=c.robust_loss,
            unit_px=c.robust_scale_px, joint_mask=torso),
        "key_pose": c.lambda_key_pose * L.key_pose_loss(
            joints[a], torch.cat([state.root6d[a:a + 1], state.body6d[a]], 0), setup.key_joints,
            setup.key_rot6d),
        "velocity": c.lambda_velocity * L.velocity_loss(body_joints, fps),
        "accel": c.lambda_accel * L.acceleration_loss(body_joints, fps),
        "rot_smooth": c.lambda_rot_smooth * L.second_difference_loss(
            torch.cat([state.root6d[:, None], state.body6d], 1)),
    }
    if phase >= 2:
        terms["pose_prior"] = (setup.prior_weights * (
            (state.body6d - setup.key_body6d) ** 2).sum(-1)).sum(-1).mean()
        terms["hinge"] = c.lambda_hinge * L.hinge_loss(rotations)
        fade = ramp if phase == 2 else 1.0
        if c.lambda_support > 0:
            terms["support"] = c.lambda_support * fade * L.support_loss(frames.vertices,
                                                                        setup.ground_y)
        feet = joints[:, list(FOOT_JOINTS)]
        terms["foot_skate"] = c.lambda_foot_skate * L.foot_skate_loss(feet, state.foot_weights,
                                                                      state.footprints)
        terms["foot_height"] = c.lambda_foot_height * fade * L.foot_height_loss(
            feet, state.foot_weights, setup.foot_rest_height, setup.ground_y)
    if phase < 3:
        return terms
    verts = frames.vertices
    obj_rot = rot6d_to_matrix(state.obj6d)
    obj_pts = L.transform_points(setup.obj_points, obj_rot, state.obj_trans)
    moving = state.held.any(1)
    terms.update(
        ground=c.lambda_ground * L.ground_loss(verts, setup.ground_y),
        penetration=c.lambda_penetration * L.penetration_loss(  # moves the body, not the object
            verts, obj_rot.detach(), state.obj_trans.detach(), setup.sdf,
            margin=c.penetration_margin_m, weights=_penetration_weights(setup, state, c)),
        object_anchor=c.lambda_object_anchor * (
            (obj_pts[a] - L.transform_points(setup.obj_points, setup.obj_anchor[None, :3, :3],
                                             setup.obj_anchor[None, :3, 3])[0]) ** 2
        ).sum(-1).mean(),
        object_accel=c.lambda_object_accel / obj_pts.shape[1] * L.acceleration_loss(
            obj_pts, fps, moving[2:] & moving[1:-1] & moving[:-2]),  # carried stretches only
        object_ground=c.lambda_object_ground * L.ground_loss(
            L.transform_points(setup.obj_corners, obj_rot, state.obj_trans), setup.ground_y),
    )
    terms["object_static"] = c.lambda_object_static * L.object_static_loss(
        obj_pts, ~(moving[1:] & moving[:-1]))
    if state.mode == "sliding":
        terms["object_upright"] = c.lambda_object_upright * L.upright_loss(
            obj_rot, state.obj_trans, setup.obj_anchor[:3, :3], setup.obj_anchor[:3, 3])
    if bool(state.held.any()):
        wrists = rigid(frames.rotations[:, list(WRIST_JOINTS)], joints[:, list(WRIST_JOINTS)])
        carried = wrists.transpose(0, 1) @ setup.offsets[:, None]  # (2, T, 4, 4)
        held_pts = setup.obj_points @ carried[..., :3, :3].transpose(-1, -2) \
            + carried[..., None, :3, 3]
        terms["attach"] = c.lambda_attach * L.attachment_loss(obj_pts, held_pts, state.held)
    if setup.hands_free:
        terms["hand_prior"] = c.lambda_hand_prior * (
            (state.hand6d - setup.key_hand6d) ** 2).sum((-1, -2)).mean()
    return terms


def _penetration_weights(setup: _Setup, state: _State, config: MotionConfig) -> torch.Tensor:
    """(T, Vs) weight of each subset vertex in the penetration term: a hand holding the object
    touches it, so its vertices count only ``hand_penetration_weight``."""
    w = torch.ones(state.trans.shape[0], len(setup.hand_side), dtype=state.trans.dtype,
                   device=state.trans.device)
    for side in (0, 1):
        held = state.held[:, side:side + 1] & (setup.hand_side == side)[None]
        w = torch.where(held, torch.full_like(w, config.hand_penetration_weight), w)
    return w


def _run_phase(setup: _Setup, state: _State, config: MotionConfig, phase: int,
               iterations: int) -> None:
    """Phase 2 or 3. One Adam carries on from phase 2 into phase 3 (a fresh one would jolt
    every parameter by a full step); the parameters a phase adds are warmed up."""
    if state.optimizer is None:
        new = [state.root6d, state.trans, state.body6d]
    else:
        new = []
    if phase == 3:
        if bool(state.held.any()):  # else the object stays at its anchor placement
            new += [state.obj6d, state.obj_trans]
        if setup.hands_free:
            new.append(state.hand6d)
    for p in new:
        p.requires_grad_(True)
    if state.optimizer is None:
        state.optimizer = torch.optim.Adam(new, lr=config.learning_rate)
    elif new:
        state.optimizer.add_param_group({"params": new, "lr": config.learning_rate})
    opt = state.optimizer
    warm = opt.param_groups[-1] if new else None
    terms = {}
    anneal = config.iterations_root + config.iterations_pose
    done = config.iterations_root if phase == 2 else anneal
    ratio = config.robust_scale_px / config.robust_scale_start_px
    for it in range(iterations):
        progress = min(1.0, (done + it) / max(anneal - 1, 1))
        scale_px = config.robust_scale_start_px * ratio ** progress
        if warm is not None:
            warm["lr"] = config.learning_rate * min(1.0, (it + 1) / config.warmup_iterations)
        if it % config.contact_refresh_every == 0:
            _refresh_foot_contact(setup, state, config, use_height=phase == 3)
        opt.zero_grad(set_to_none=True)
        terms = _loss_terms(setup, state, config, phase, scale_px, it / max(iterations - 1, 1))
        total = sum(terms.values())
        total.backward()
        opt.step()
    if terms:
        log.info("stage E phase %d (%d iterations): %s", phase, iterations,
                 ", ".join(f"{k} {float(v.detach()):.4g}" for k, v in terms.items()))


def _refresh_foot_contact(setup: _Setup, state: _State, config: MotionConfig, *,
                          use_height: bool = True) -> None:
    """Foot contact weights from the keypoints' speed and (``use_height``) the estimate's foot
    heights — phase 2 starts from the key pose everywhere, whose feet may be anywhere."""
    with torch.no_grad():
        feet = _forward(setup, state).joints[:, list(FOOT_JOINTS)]
        depth = (feet @ setup.camera.R[0].T + setup.camera.t[0])[..., 2]
        focal = float(setup.camera.K[0, :2, :2].diagonal().mean())
        mps = setup.foot_image_speed_px * depth / focal * setup.fps
        seen = setup.foot_image_mass >= config.foot_image_min_confidence
        mps = fill_gaps(torch.where(seen, mps, torch.full_like(mps, float("nan"))))
        state.foot_weights = foot_contact_weights(feet, setup.foot_rest_height, setup.ground_y,
                                                  setup.fps, config, mps,
                                                  use_height=seen if use_height else False)
        state.footprints = footprint_matrix(state.foot_weights, setup.anchor)


def _decide_contact(setup: _Setup, state: _State, config: MotionConfig) -> None:
    """Hand–object contact interval and the object's initial trajectory (see contact.py)."""
    t_count = state.trans.shape[0]
    _refresh_foot_contact(setup, state, config)
    if not bool(setup.at_anchor.any()):
        state.held = torch.zeros(t_count, 2, dtype=torch.bool, device=state.trans.device)
        state.mode = "none"
        return
    with torch.no_grad():
        frames = _forward(setup, state)
        wrists = rigid(frames.rotations[:, list(WRIST_JOINTS)],
                       frames.joints[:, list(WRIST_JOINTS)])
        carried_each = wrists.transpose(0, 1) @ setup.offsets[:, None]  # (2, T, 4, 4)
        weights = setup.at_anchor[:, None].expand(2, t_count).to(carried_each.dtype)
        carried = mean_pose(carried_each, weights)
        carried[setup.anchor] = setup.obj_anchor
        lowest = L.transform_points(setup.obj_corners, carried[:, :3, :3],
                                    carried[:, :3, 3])[..., 1].amin(-1)
        hands = wrists[:, setup.at_anchor, 1, 3].mean(1)  # (T,) height of the touching hands
        contact, mode = grow_contact(float(lowest[setup.anchor]), hands - hands[setup.anchor],
                                     setup.anchor, setup.ground_y, config.support_tolerance_m,
                                     config.contact_patience_frames)
        path = object_path(carried, contact, lowest, setup.ground_y, config.support_tolerance_m)
    state.held = contact[:, None] & setup.at_anchor[None]
    state.mode = mode
    state.obj6d = matrix_to_rot6d(path[:, :3, :3]).clone()
    state.obj_trans = path[:, :3, 3].clone()
    log.info("stage E: the object is %s by the hands in frames %d–%d",
             mode, int(torch.nonzero(contact)[0]), int(torch.nonzero(contact)[-1]))


# -- result ---------------------------------------------------------------------------------


def _finish(setup: _Setup, state: _State, config: MotionConfig, key_pose: KeyPose,
            started: float, timings: dict[str, float]) -> MotionResult:
    state.optimizer = None
    for name in ("root6d", "body6d", "hand6d", "trans", "obj6d", "obj_trans"):
        setattr(state, name, getattr(state, name).detach())
    with torch.no_grad():
        terms = _loss_terms(setup, state, config, 3)
        frames = _forward(setup, state)
        rot = state.rotations()
        aa = matrix_to_axis_angle(rot.double()).cpu().numpy()  # (T, 55, 3)
        obj_rot = rot6d_to_matrix(state.obj6d).double()
        quat = matrix_to_quaternion(obj_rot).cpu().numpy()
        quat = _continuous_signs(quat)
        px = L.pixel_errors(frames.joints, setup.keypoints, setup.camera)
        verts = frames.vertices
        local = (verts - state.obj_trans[:, None]) @ rot6d_to_matrix(state.obj6d)
        inside = -setup.sdf.sample_sdf(local.reshape(-1, 3)).min()
        below = setup.ground_y - verts[..., 1].min()
        feet = frames.joints[:, list(FOOT_JOINTS)]
        grounded = (state.foot_weights[1:] > 0.5) & (state.foot_weights[:-1] > 0.5)
        slide = (feet[1:, :, [0, 2]] - feet[:-1, :, [0, 2]]).norm(dim=-1)
        key_err = (frames.joints[setup.anchor] - setup.key_joints).norm(dim=-1).mean()
    t_count = state.trans.shape[0]
    seconds = time.perf_counter() - started
    quality = {
        "frames": t_count,
        "reprojection_px_median": float(px.median()) if len(px) else float("nan"),
        "reprojection_px_mean": float(px.mean()) if len(px) else float("nan"),
        "key_pose_joint_error_mm": float(key_err) * 1000,
        "max_object_penetration_mm": max(float(inside), 0.0) * 1000,
        "max_ground_penetration_mm": max(float(below), 0.0) * 1000,
        "foot_skate_mm": float(slide[grounded].mean()) * 1000 if bool(grounded.any()) else 0.0,
        "hand_contact_frames": int(state.held.any(1).sum()),
        "seconds": seconds,
        "seconds_per_100_frames": seconds * 100.0 / t_count,
        **timings,
    }
    motion = SmplxMotion(
        trans=state.trans.double().cpu().numpy(), root_orient=aa[:, 0],
        pose_body=aa[:, 1:22].reshape(t_count, 63), pose_hand=aa[:, 25:55].reshape(t_count, 90),
        pose_jaw=np.zeros((t_count, 3)), pose_eye=np.zeros((t_count, 6)),
        betas=np.asarray(key_pose.betas, dtype=np.float64), fps=setup.fps)
    log.info("stage E done in %.1f s (%.1f s per 100 frames): reprojection median %.1f px",
             seconds, quality["seconds_per_100_frames"], quality["reprojection_px_median"])
    return MotionResult(
        motion=motion, obj_trans=state.obj_trans.double().cpu().numpy(), obj_rot=quat,
        obj_rotation=obj_rot.cpu().numpy(), hand_contact=state.held.cpu().numpy(),
        foot_contact=state.foot_weights.double().cpu().numpy(), contact_mode=state.mode,
        ground_y=setup.ground_y, losses={k: float(v) for k, v in terms.items()},
        quality=quality)


def _continuous_signs(q: np.ndarray) -> np.ndarray:
    """(T, 4) quaternions with each one's sign chosen nearest the previous frame's."""
    q = q.copy()
    for t in range(1, len(q)):
        if np.dot(q[t], q[t - 1]) < 0:
            q[t] = -q[t]
    return q
