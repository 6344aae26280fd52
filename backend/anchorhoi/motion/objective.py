"""What stage E minimises: the fixed inputs (``Problem``), the moving parameters (``State``)
and the weighted loss terms of each phase (``loss_terms``).

``build_problem`` checks the inputs and precomputes everything the iterations share: the posed
subset of the body (joints + a few hundred vertices), the key pose's joints and 6D rotations,
the ground height, the object's SDF grid and sample points, which hands touch the object at the
anchor frame (and their hand → object offsets), the keypoints' own speeds (contact
detection) and the per-joint weight of the pull towards the key pose.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from ..body import BodyModel, rot6d_to_matrix
from ..body.pose import KeyPose
from ..nerf.cameras import Cameras, project
from ..objects.inside import SdfGrid, TriangleLeaves, build_sdf_grid
from ..objects.mesh_io import ObjectMesh
from ..randomness import multinomial
from . import losses as L
from .config import MotionConfig, MotionSampling, RestingObjectConfig
from .contact import (
    FOOT_JOINTS,
    LEFT_HAND,
    RIGHT_HAND,
    WRIST_JOINTS,
    ContactMode,
    grip_frames,
    hands_touching,
    rigid,
)
from .foot_plants import FootPlants, detect_plants, drop_raised, key_footprints, plant_loss
from .initialize import BODY_JOINTS
from .likeness import key_likeness
from .line_fits import LineFits, image_speed, image_velocity, keypoint_noise_px
from .occlusion import rotation_visibility
from .posing import PosedFrames, PosedSubset, farthest_point_ids
from .supports import Supports, build_supports
from .watch import Watch, hand_sides, watch_penetration

log = logging.getLogger(__name__)

ARM_JOINTS = (16, 17, 18, 19, *LEFT_HAND, *RIGHT_HAND)
"""Shoulders, elbows, wrists and fingers: the vertices they drive are the arms."""
TOE_JOINTS = (10, 11)
"""left_foot, right_foot: the vertices they drive are the front of the feet."""


@dataclass(eq=False)
class Problem:
    """The fixed inputs of the optimisation (tensors on the body's device and dtype)."""

    kin: PosedSubset
    keypoints: torch.Tensor  # (T, 55, 3) u, v, confidence (0 where unusable)
    camera: Cameras
    fps: float
    anchor: int
    ground_y: float
    key_joints: torch.Tensor  # (55, 3) the key pose's joints
    key_rot6d: torch.Tensor  # (22, 6) its root + body rotations
    key_body6d: torch.Tensor  # (21, 6)
    key_hand6d: torch.Tensor  # (30, 6)
    prior_weights: torch.Tensor  # (T, 21) pull of each body joint towards the key pose
    visibility: torch.Tensor  # (T, 21) how well each body joint's rotation is seen
    hand_side: torch.Tensor  # (Vs,) 0 / 1 for subset vertices on the left / right hand, else -1
    trunk: torch.Tensor  # (Vs,) bool: subset vertices of the torso, legs and head (not arms)
    hands_free: bool  # hand rotations are optimised (phase 3)
    foot_rest_height: torch.Tensor  # (4,) foot joints' height above the sole at rest
    key_foot_height: torch.Tensor  # (4,) the key pose's foot joints above their support
    body_image_speed_px: torch.Tensor  # (T, 22) the same for the body keypoints
    body_image_mass: torch.Tensor  # (T, 22)
    body_image_speed_error_px: torch.Tensor  # (T, 22) the standard error of those speeds
    sdf: SdfGrid  # the object's signed distance, object frame
    leaves: TriangleLeaves  # and its exact one (the watch's check, watch.py)
    obj_points: torch.Tensor  # (P, 3) object frame: vertices + surface samples
    obj_corners: torch.Tensor  # (C, 3) object frame: all vertices (its lowest point)
    obj_anchor: torch.Tensor  # (4, 4) object → world at the anchor frame
    at_anchor: torch.Tensor  # (2,) bool: left / right hand touches the object there
    held_in_air: bool  # a hand touches it there and its lowest point is off the ground
    offsets: torch.Tensor  # (2, 4, 4) object pose in each wrist's frame at the anchor
    grip_offset: torch.Tensor | None  # (4, 4) the same in the two hands' grip frame, if both
    grip_side: float | None  # m the hands' grip lies off the body's midplane there, if both
    # hold it in the air
    hidden: torch.Tensor  # (T, 22) 1 where the object likely hides a body joint (unseen runs)
    obj_centre: torch.Tensor  # (3,) object frame: its bounding sphere's centre
    obj_radius: float  # and radius
    foot_image_speed_px: torch.Tensor  # (T, 4) foot keypoints' speed, px per frame
    foot_image_mass: torch.Tensor  # (T, 4) the confidence each speed rests on
    plants: FootPlants | None  # the foot joints' plants and footprints (config.plants.enabled)
    supports: Supports  # the ground and a resting object's top (supports.py)
    soles: torch.Tensor  # (Vs,) bool: subset vertices on the soles (they stand on a top)
    likeness: torch.Tensor  # (T, 22) how much each rotation's frame looks like the key pose


@dataclass(eq=False)
class State:
    """The parameters (6D rotations, translations) and the current contact decisions."""

    root6d: torch.Tensor  # (T, 6)
    body6d: torch.Tensor  # (T, 21, 6)
    hand6d: torch.Tensor  # (T, 30, 6)
    trans: torch.Tensor  # (T, 3)
    obj6d: torch.Tensor  # (T, 6)
    obj_trans: torch.Tensor  # (T, 3)
    held: torch.Tensor | None = None  # (T, 2) bool: left / right hand holds the object
    grasped: torch.Tensor | None = None  # (T, 2) bool: it holds the object resting on the floor
    mode: ContactMode = "none"
    rests_on_ground: torch.Tensor | None = None  # (T,) bool: the object lies on the ground
    foot_weights: torch.Tensor | None = None  # (T, 4) soft contact of the foot joints
    footprints: torch.Tensor | None = None  # (4, T, T) their runs (contact.footprint_matrix)
    foot_heights: torch.Tensor | None = None  # (T, 4) their heights in contact (foot_heights)
    still_weights: torch.Tensor | None = None  # (T, 22) the body, and each joint, keeps still
    still_runs: torch.Tensor | None = None  # (22, T, T) their still runs
    start_body6d: torch.Tensor | None = None  # (T, 21, 6) phase 1's start poses
    prior_target: torch.Tensor | None = None  # (T, 21, 6) the pose prior's target (occlusion.py)
    watch: Watch | None = None  # mesh (frame, vertex) pairs met near the object (watch.py)
    optimizer: torch.optim.Optimizer | None = None

    def rotations(self) -> torch.Tensor:
        """(T, 55, 3, 3) local joint rotations (jaw and eyes identity)."""
        t = self.root6d.shape[0]
        eye = torch.eye(3, dtype=self.root6d.dtype, device=self.root6d.device)
        return torch.cat([rot6d_to_matrix(self.root6d)[:, None], rot6d_to_matrix(self.body6d),
                          eye.expand(t, 3, 3, 3), rot6d_to_matrix(self.hand6d)], 1)

    def pose(self, problem: Problem) -> PosedFrames:
        return problem.kin(self.rotations(), self.trans)


def decided(value: torch.Tensor | None, name: str) -> torch.Tensor:
    """``value``, the contact decision ``State.<name>``, which the optimiser makes before any
    loss reads it (``RuntimeError`` if it has not)."""
    if value is None:
        raise RuntimeError(f"State.{name} is read before the contact decisions set it")
    return value


def build_problem(body: BodyModel, *, keypoints, camera: Cameras, key_pose: KeyPose,
                  anchor: int, mesh: ObjectMesh, obj_rotation, obj_translation, fps: float,
                  config: MotionConfig, generator: torch.Generator | None) -> Problem:
    """Check the inputs (``ValueError`` saying what is wrong) and precompute the problem."""
    like = dict(device=body.layer.v_template.device, dtype=body.layer.v_template.dtype)
    kp = (keypoints if torch.is_tensor(keypoints) else torch.as_tensor(np.asarray(keypoints)))
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
    r_a = torch.as_tensor(np.asarray(obj_rotation, dtype=np.float64)).to(**like)
    t_a = torch.as_tensor(np.asarray(obj_translation, dtype=np.float64)).to(**like)
    if r_a.shape != (3, 3) or t_a.shape != (3,):
        raise ValueError(f"the object placement wants R (3, 3) and t (3,), got "
                         f"{tuple(r_a.shape)}, {tuple(t_a.shape)}")
    conf = torch.where(torch.isfinite(kp).all(-1), kp[..., 2], torch.zeros_like(kp[..., 2]))
    conf = torch.where(conf >= config.reprojection.min_confidence, conf.clamp(max=1.0),
                       torch.zeros_like(conf))
    kp = torch.cat([torch.nan_to_num(kp[..., :2]), conf[..., None]], -1)

    # the body: a vertex subset posed at the key pose's shape
    key = key_pose.to_params(**like)
    num_betas = body.config.num_betas
    rest = body.layer.v_template.detach().cpu().numpy()
    dominant = body.layer.lbs_weights.detach().cpu().numpy().argmax(1)
    ids, groups = _vertex_subset(rest, dominant, config.sampling)
    kin = PosedSubset(body, key.betas[0, :num_betas], ids)
    with torch.no_grad():
        key_frames = kin(key.rotations(), key.trans)
        full = body(**key.body_inputs(num_betas))
    ground_y = float(full.vertices[0, :, 1].min()) if config.ground_y is None \
        else float(config.ground_y)
    sole = float(kin.all_rest_vertices[:, 1].min())

    # the object and the hands touching it at the anchor frame
    leaves = TriangleLeaves(mesh.vertices, mesh.faces, **like)
    sdf = build_sdf_grid(mesh.vertices, mesh.faces, resolution=config.sampling.sdf_resolution,
                         leaves=leaves, **like)
    obj_anchor = rigid(r_a, t_a)
    hand_sdf = torch.stack([sdf.sample_sdf((key_frames.vertices[0, groups[name]] - t_a) @ r_a)
                            for name in ("left_hand", "right_hand")])
    at_anchor = hands_touching(hand_sdf, config.contact.hand_distance_m)
    wrists = rigid(key_frames.rotations[0, list(WRIST_JOINTS)],
                   key_frames.joints[0, list(WRIST_JOINTS)])
    log.info("stage E: %d frames, anchor %d, ground y = %.3f m, hands touching the object at "
             "the anchor: left %s, right %s", t_count, anchor, ground_y, bool(at_anchor[0]),
             bool(at_anchor[1]))

    seen = rotation_visibility(conf)
    corners = torch.as_tensor(mesh.vertices, **like)
    centre = 0.5 * (corners.amin(0) + corners.amax(0))
    window = config.contact.image_speed_window
    body_fits = image_velocity(kp[:, :BODY_JOINTS], window, window)
    body_speed, body_mass = body_fits.velocity.norm(dim=-1), body_fits.mass
    foot_rest_height = kin.rest_joints[list(FOOT_JOINTS), 1] - sole
    camera = camera.to(**like)
    foot_speed, foot_mass = image_speed(kp[:, list(FOOT_JOINTS)], window)
    supports = build_supports(mesh, obj_anchor, ground_y, config.supports,
                              moved_by_hands=bool(at_anchor.any()), sdf=sdf)
    plants = detect_plants(kp[:, list(FOOT_JOINTS)], camera, ground_y + foot_rest_height,
                           float(fps), config.plants, supports) \
        if config.plants.enabled else None
    key_soles = key_frames.vertices[0, groups["soles"]]
    if supports.has_tops and config.supports.seen_on_top and not (
            _key_on_top(supports, key_soles) or _planted_on_top(plants, ground_y
                                                                + foot_rest_height)):
        log.info("stage E: neither the key pose nor a foot seen planted stands on the "
                 "object's top: the ground alone supports the body")
        supports = Supports(ground_y=ground_y)
        plants = detect_plants(kp[:, list(FOOT_JOINTS)], camera, ground_y + foot_rest_height,
                               float(fps), config.plants, supports) \
            if config.plants.enabled else None
    if supports.tops is not None:  # has_tops, narrowed for the type checker
        log.info("stage E: the object rests on the ground untouched; its top (up to %.2f m) "
                 "is a support", float(supports.tops.amax()) - ground_y)
    key_feet = key_frames.joints[0, list(FOOT_JOINTS)]
    key_foot_height = key_feet[:, 1] - supports.under(key_feet[None])[0]
    if plants is not None and config.plants.key_footprints:
        plants = key_footprints(plants, int(anchor), key_feet)
    if plants is not None:
        rest = kin.rest_joints[list(FOOT_JOINTS)]
        plants = drop_raised(plants, camera, (rest[2:] - rest[:2]).norm(dim=-1),
                             config.plants.raised_sigmas)
    soles = torch.zeros(len(ids), dtype=torch.bool, device=like["device"])
    soles[groups["soles"]] = True
    hand_side = hand_sides(kin, kin.vertex_ids)
    held_in_air = bool(at_anchor.any()) and float(
        (corners @ r_a.T + t_a)[:, 1].min()) > ground_y + config.contact.support_tolerance_m
    key_grip = grip_hand_points(held_in_air, key_frames.vertices, key_frames.joints,
                                hand_side)[0]
    return Problem(
        kin=kin, keypoints=kp, camera=camera, fps=float(fps), anchor=int(anchor),
        ground_y=ground_y, key_joints=key_frames.joints[0],
        key_rot6d=torch.cat([key.root, key.body[0]], 0), key_body6d=key.body[0],
        key_hand6d=key.hand[0],
        prior_weights=config.weights.lambda_pose_prior * seen
        + config.weights.lambda_pose_prior_hidden * (1 - seen), visibility=seen,
        hand_side=hand_side,
        trunk=torch.as_tensor(~np.isin(dominant[ids], ARM_JOINTS), device=like["device"]),
        hands_free=config.hands == "observed" and bool((conf[:, 25:] > 0).any()),
        foot_rest_height=foot_rest_height, key_foot_height=key_foot_height,
        body_image_speed_px=body_speed, body_image_mass=body_mass,
        body_image_speed_error_px=speed_error(body_fits,
                                              config.contact.image_speed_min_confidence),
        sdf=sdf, leaves=leaves,
        obj_points=_object_points(mesh, config.sampling.num_object_points, generator, like),
        obj_corners=torch.as_tensor(mesh.vertices, **like), obj_anchor=obj_anchor,
        at_anchor=at_anchor, held_in_air=held_in_air,
        offsets=torch.linalg.inv(wrists) @ obj_anchor,
        grip_offset=_grip_offset(at_anchor, key_grip,
                                 key_frames.joints[0, list(WRIST_JOINTS)], obj_anchor),
        grip_side=float(grip_sideways(key_grip[None], key_frames.joints)[0])
        if held_in_air and bool(at_anchor.all()) else None,
        hidden=_likely_hidden(conf[:, :BODY_JOINTS], config.resting), obj_centre=centre,
        obj_radius=float((corners - centre).norm(dim=-1).max()),
        foot_image_speed_px=foot_speed, foot_image_mass=foot_mass, plants=plants,
        supports=supports, soles=soles,
        likeness=key_likeness(kp[:, :BODY_JOINTS],
                              project(camera, key_frames.joints[:, :BODY_JOINTS])[0],
                              int(anchor), config.likeness))


def _key_on_top(supports: Supports, soles: torch.Tensor, reach: float = 0.02) -> bool:
    """Whether a sole vertex of the key pose, ``soles (N, 3)``, stands on an object's top:
    within ``reach`` of a top above the ground."""
    floor = supports.under(soles)
    on = (floor > supports.ground_y + reach) & ((soles[:, 1] - floor).abs() < reach)
    return bool(on.any())


def _planted_on_top(plants: FootPlants | None, heights: torch.Tensor,
                    above: float = 0.02) -> bool:
    """Whether a foot plant seen in the keypoints stands on an object's top with no ground
    footprint behind it (``foot_plants.detect_plants``): its footprint more than ``above``
    over the joint's height on the ground, ``heights (F,)`` (world y)."""
    if plants is None:
        return False
    on_top = (plants.footprint_weights > 0) & (plants.footprints[..., 1] > heights + above)
    if plants.behind_weights is not None:
        on_top &= plants.behind_weights <= 0
    return bool(on_top.any())


def speed_error(fits: LineFits, min_confidence: float) -> torch.Tensor:
    """``(T, F)`` the standard error (pixels per frame) of the speeds of the line ``fits``:
    the keypoints' own noise (``keypoint_noise_px`` over the fits seen with at least
    ``min_confidence``) over the root of each fit's spread."""
    noise_px = keypoint_noise_px(fits, fits.mass >= min_confidence)
    return noise_px / fits.spread.clamp_min(1.0).sqrt()


def _vertex_subset(rest: np.ndarray, dominant: np.ndarray, sampling: MotionSampling):
    """Vertex ids ``(Vs,)`` and their groups: a farthest-point spread over the body, then the
    soles, the toes and each hand (farthest-point within the part too)."""
    parts = {"body": farthest_point_ids(rest, sampling.num_body_vertices)}
    soles = np.flatnonzero(rest[:, 1] < rest[:, 1].min() + 0.015)
    parts["soles"] = soles[farthest_point_ids(rest[soles], sampling.num_sole_vertices)]
    if sampling.num_toe_vertices > 0:
        toes = np.flatnonzero(np.isin(dominant, TOE_JOINTS)
                              & (rest[:, 1] < rest[:, 1].min() + 0.05))
        parts["toes"] = toes[farthest_point_ids(rest[toes], sampling.num_toe_vertices)]
    for name, joints in (("left_hand", LEFT_HAND), ("right_hand", RIGHT_HAND)):
        hand = np.flatnonzero(np.isin(dominant, joints))
        parts[name] = hand[farthest_point_ids(rest[hand], sampling.num_hand_vertices)]
    groups, start = {}, 0
    for name, ids in parts.items():
        groups[name] = slice(start, start + len(ids))
        start += len(ids)
    return np.concatenate(list(parts.values())), groups


def _object_points(mesh: ObjectMesh, n: int, generator, like) -> torch.Tensor:
    """(P, 3): up to ``n`` of the mesh's vertices (spread) and ``n`` area-weighted surface
    samples, object frame."""
    v = torch.as_tensor(mesh.vertices, **like)
    tri = v[torch.as_tensor(mesh.faces, dtype=torch.long, device=like["device"])]  # (F, 3, 3)
    area = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=-1).norm(dim=-1)
    draw_on = like["device"] if generator is None else generator.device
    idx = multinomial(area.double(), n, replacement=True, generator=generator)
    u = torch.rand(n, 2, generator=generator, device=draw_on, dtype=torch.float64).to(**like)
    r = u[:, :1].sqrt()
    t = tri[idx.to(like["device"])]
    samples = (1 - r) * t[:, 0] + r * (1 - u[:, 1:]) * t[:, 1] + r * u[:, 1:] * t[:, 2]
    corners = v[torch.as_tensor(farthest_point_ids(mesh.vertices, n), device=like["device"])]
    return torch.cat([corners, samples])


def _likely_hidden(conf: torch.Tensor, resting: RestingObjectConfig) -> torch.Tensor:
    """(T, J) confidence → (T, J) 1 where a joint is unseen and unseen in at least
    ``occlusion_min_unseen`` frames of the ``±occlusion_window`` frames around (clipped at the
    ends: the share counts): hidden for a while, not dropped at random."""
    unseen = (conf <= 0).to(conf.dtype)
    t_count, w = unseen.shape[0], resting.occlusion_window
    out = torch.zeros_like(unseen)
    need = resting.occlusion_min_unseen / (2 * w + 1)
    for t in range(t_count):
        lo, hi = max(0, t - w), min(t_count, t + w + 1)
        share = unseen[lo:hi].mean(0)
        out[t] = unseen[t] * (share >= need - 1e-9).to(conf.dtype)
    return out


def loss_terms(problem: Problem, state: State, config: MotionConfig, phase: int,
               scale_px: float | None = None, ramp: float = 1.0) -> dict[str, torch.Tensor]:
    """The weighted loss terms of phase 2 or 3. ``scale_px``: the current robust scale
    (default: the final one); ``ramp`` in [0, 1] fades the ground terms in during phase 2."""
    w, rep, fps, a = config.weights, config.reprojection, problem.fps, problem.anchor
    rotations = state.rotations()
    frames = problem.kin(rotations, state.trans)
    joints = frames.joints
    body_joints = joints[:, :BODY_JOINTS]
    feet = joints[:, list(FOOT_JOINTS)]
    fade = ramp if phase == 2 else 1.0
    foot_weights = decided(state.foot_weights, "foot_weights")
    still_weights = decided(state.still_weights, "still_weights")
    terms = {
        "reproj": w.lambda_reproj * L.reprojection_loss(
            joints, problem.keypoints, problem.camera, kind=rep.robust_loss,
            scale=rep.scale_px if scale_px is None else scale_px,
            unit_px=rep.scale_px),
        "key_pose": w.lambda_key_pose * L.key_pose_loss(
            joints[a], torch.cat([state.root6d[a:a + 1], state.body6d[a]], 0),
            problem.key_joints, problem.key_rot6d),
        "velocity": w.lambda_velocity * L.velocity_loss(body_joints, fps),
        "accel": w.lambda_accel * L.acceleration_loss(body_joints, fps),
        "rot_smooth": w.lambda_rot_smooth * L.second_difference_loss(
            torch.cat([state.root6d[:, None], state.body6d], 1)),
        "pose_prior": (problem.prior_weights * ((state.body6d - (
            problem.key_body6d if state.prior_target is None else state.prior_target)) ** 2
        ).sum(-1)).sum(-1).mean(),
        "hinge": w.lambda_hinge * L.hinge_loss(rotations),
        "support": w.lambda_support * fade * L.support_loss(
            frames.vertices, problem.supports.sole_floor(frames.vertices, problem.soles)),
        "foot_skate": w.lambda_foot_skate * L.run_loss(feet, foot_weights,
                                                       decided(state.footprints, "footprints")),
        "foot_height": w.lambda_foot_height * fade * L.foot_height_loss(
            feet, foot_weights, decided(state.foot_heights, "foot_heights"),
            problem.supports.under(feet)),
        "still": w.lambda_still * L.run_loss(
            body_joints, still_weights, decided(state.still_runs, "still_runs")),
    }
    if problem.plants is not None and w.lambda_plant > 0:
        terms["plant"] = w.lambda_plant * plant_loss(feet, problem.plants)
    if w.lambda_likeness > 0:
        rot = torch.cat([state.root6d[:, None], state.body6d], 1)
        terms["likeness"] = w.lambda_likeness * (problem.likeness * (
            (rot - problem.key_rot6d) ** 2).sum(-1)).sum(-1).mean()
    untouched = not bool(problem.at_anchor.any())
    if untouched and w.lambda_body_occlusion > 0:
        terms["body_occlusion"] = w.lambda_body_occlusion * fade * untouched_occlusion(
            problem, body_joints, config)
    if phase < 3:
        if config.contact.untouched_penetration_early and untouched \
                and not problem.supports.has_tops:  # a top stood on: the support term's
            terms["penetration"] = w.lambda_penetration * fade * untouched_penetration(
                problem, frames.vertices, config)
        return terms
    verts = frames.vertices
    obj_rot = rot6d_to_matrix(state.obj6d)
    obj_pts = L.transform_points(problem.obj_points, obj_rot, state.obj_trans)
    anchor_pts = L.transform_points(problem.obj_points, problem.obj_anchor[None, :3, :3],
                                    problem.obj_anchor[None, :3, 3])[0]
    held = decided(state.held, "held")
    moving = held.any(1)
    if w.lambda_balance > 0:
        terms["balance"] = w.lambda_balance * balance_loss(problem, state, config, frames, obj_rot)
    penetration = L.penetration_loss(
        verts, obj_rot, state.obj_trans, problem.sdf, margin=config.contact.penetration_margin_m,
        weights=penetration_weights(problem, state, config))
    if state.watch is not None:  # the mesh between the subset's vertices, where it meets the object
        penetration = penetration + watch_penetration(
            state.watch, problem.kin, frames, obj_rot, state.obj_trans, problem.sdf, held,
            config.sampling.watch_margin_m, config.contact.holding_hand_penetration_share)
    terms.update(
        ground=w.lambda_ground * L.ground_loss(verts, problem.ground_y),
        penetration=w.lambda_penetration * penetration,
        object_anchor=w.lambda_object_anchor * ((obj_pts[a] - anchor_pts) ** 2).sum(-1).mean(),
        object_accel=w.lambda_object_accel / obj_pts.shape[1] * L.acceleration_loss(
            obj_pts, fps, moving[2:] & moving[1:-1] & moving[:-2]),  # carried stretches only
        object_ground=w.lambda_object_ground * L.ground_loss(
            L.transform_points(problem.obj_corners, obj_rot, state.obj_trans), problem.ground_y),
        object_static=w.lambda_object_static * L.object_static_loss(
            obj_pts, ~(moving[1:] & moving[:-1])),
    )
    if state.rests_on_ground is not None and bool(state.rests_on_ground.any()):
        low = L.transform_points(problem.obj_corners, obj_rot, state.obj_trans)[..., 1].amin(-1)
        gap = (low - problem.ground_y)[state.rests_on_ground]
        terms["object_rest"] = w.lambda_object_rest * (gap * gap).sum() / len(low)
    if state.mode == "sliding":
        terms["object_upright"] = w.lambda_object_upright * L.upright_loss(
            obj_rot, state.obj_trans, problem.obj_anchor[:3, :3], problem.obj_anchor[:3, 3])
    if bool(held.any()):
        terms["attach"] = w.lambda_attach * attachment(problem, frames, obj_pts, held)
        if problem.grip_side is not None and w.lambda_grip_side > 0:
            terms["grip_side"] = w.lambda_grip_side * grip_side_loss(problem, frames,
                                                                     held.all(1))
    if state.grasped is not None and bool(state.grasped.any()):
        terms["grasp"] = w.lambda_grasp * attachment(problem, frames, obj_pts, state.grasped)
    if problem.hands_free:
        terms["hand_prior"] = w.lambda_hand_prior * (
            (state.hand6d - problem.key_hand6d) ** 2).sum((-1, -2)).mean()
    return terms


def attachment(problem: Problem, frames: PosedFrames, obj_pts: torch.Tensor,
               hands: torch.Tensor) -> torch.Tensor:
    """The object's points ``obj_pts (T, P, 3)`` against where the hands of the posed
    ``frames`` put them (``held_poses``) over the frames each of ``hands (T, 2)`` holds it
    (``losses.attachment_loss``, m²). The carry (``State.held``) and the grasp of the resting
    object (``State.grasped``) are two terms, each a mean over its own frames: a pick-up's
    grasp lasts a few frames of a long carry, and pooled with it, its pull on the hands'
    depth was diluted (pick_up_carry-23-07: the box 4.9 cm off before the lift, 1.9 apart)."""
    carried, holds = held_poses(problem, frames, hands)
    held_pts = problem.obj_points @ carried[..., :3, :3].transpose(-1, -2) \
        + carried[..., None, :3, 3]
    return L.attachment_loss(obj_pts, held_pts, holds)


def grip_points(vertices: torch.Tensor, hand_side: torch.Tensor, reach_m: float = 0.015
                ) -> torch.Tensor:
    """Where each hand would press on an object held between both ``(T, 2, 3)`` (left,
    right): the mean of the hand's subset vertices ``vertices (T, Vs, 3)``
    (``Problem.hand_side``) weighted towards its inner face, the side facing the other hand
    (softmax of how far inwards each vertex lies, scale ``reach_m``). A box squeezed between the
    palms touches their innermost skin, wherever the hands point. Captured overhead, the
    wrists' grip put the box of a lift 9 cm too low and 7 cm too near the body at the chest,
    the hands' centres still 8 cm too near (lift_overhead-4-21)."""
    hands = [vertices[:, hand_side == side] for side in (0, 1)]
    centres = torch.stack([h.mean(1) for h in hands], 1)  # (T, 2, 3)
    axis = centres[:, 1] - centres[:, 0]
    axis = axis / axis.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    points = []
    for h, c, sign in zip(hands, centres.unbind(1), (1.0, -1.0), strict=True):
        inward = sign * ((h - c[:, None]) * axis[:, None]).sum(-1)  # (T, Vh)
        w = torch.softmax(inward / reach_m, dim=1)
        points.append((w[..., None] * h).sum(1))
    return torch.stack(points, 1)


def grip_hand_points(held_in_air: bool, vertices: torch.Tensor, joints: torch.Tensor,
                     hand_side: torch.Tensor) -> torch.Tensor:
    """The points ``(T, 2, 3)`` the two-handed grip frame stands on: for a load held between
    the hands in the air, where they press on it (``grip_points`` on the subset vertices
    ``vertices (T, Vs, 3)``); for an object on the ground (pushed, leaned on: the palms press
    on one face of it rather than squeeze it between them) the wrists ``joints (T, 55, 3)``."""
    if held_in_air:
        return grip_points(vertices, hand_side)
    return joints[:, list(WRIST_JOINTS)]


def _grip_offset(at_anchor: torch.Tensor, points: torch.Tensor, wrists: torch.Tensor,
                 obj_anchor: torch.Tensor) -> torch.Tensor | None:
    """The object's pose ``(4, 4)`` in the grip frame of both hands at the anchor
    (``contact.grip_frames`` on ``grip_hand_points`` ``points (2, 3)``, its line through the
    ``wrists (2, 3)``), None unless both touch it there and the frame is defined."""
    if not bool(at_anchor.all()):
        return None
    frame, ok = grip_frames(points[None], wrists[None])
    return torch.linalg.inv(frame[0]) @ obj_anchor if bool(ok[0]) else None


def held_poses(problem: Problem, frames: PosedFrames, held: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Where the hands of the posed ``frames`` put the object: poses ``(3, T, 4, 4)`` (by the
    left wrist, the right wrist, both hands' grip) and the frames each holds it ``(T, 3)``
    from ``held (T, 2)``. Where both hands hold it and their grip frame is defined, the grip
    alone carries it: the frame of ``grip_hand_points`` (``grip_frames``: level about the
    line between the wrists, so the wrists' rotations, which one camera barely sees, do not
    turn it; and on the palms, which ride on the forearms, so an object held between them at
    the chest is in front of the wrists and overhead above them). Else each holding wrist's
    transform."""
    wrists = rigid(frames.rotations[:, list(WRIST_JOINTS)], frames.joints[:, list(WRIST_JOINTS)])
    each = wrists.transpose(0, 1) @ problem.offsets[:, None]  # (2, T, 4, 4)
    if problem.grip_offset is None:
        return torch.cat([each, each[:1]]), torch.cat([held, torch.zeros_like(held[:, :1])], 1)
    grips, ok = grip_frames(grip_hand_points(problem.held_in_air, frames.vertices,
                                             frames.joints, problem.hand_side),
                            frames.joints[:, list(WRIST_JOINTS)])
    both = held.all(1) & ok
    return torch.cat([each, (grips @ problem.grip_offset)[None]]), \
        torch.cat([held & ~both[:, None], both[:, None]], 1)


def grip_sideways(points: torch.Tensor, joints: torch.Tensor) -> torch.Tensor:
    """How far (m, ``(T,)``) the midpoint of the grip ``points (T, 2, 3)`` lies to the left of
    the body's midplane in ``joints (T, 55, 3)``: through the hips' centre, its left along the
    mean of the directions from the right hip to the left one and from the right shoulder to
    the left one, level. The hips turn with each stride of a carry while the shoulders keep
    the load; the shoulders' turn is the one seen worse from the side."""
    level = torch.tensor([1.0, 0.0, 1.0], dtype=points.dtype, device=points.device)
    axis = torch.zeros_like(points[:, 0])
    for left, right in ((1, 2), (16, 17)):
        line = (joints[:, left] - joints[:, right]) * level
        axis = axis + line / line.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    axis = axis / axis.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    centre = (joints[:, 1] + joints[:, 2]) / 2
    return ((points.mean(1) - centre) * axis).sum(-1)


def grip_side_loss(problem: Problem, frames: PosedFrames, both: torch.Tensor) -> torch.Tensor:
    """A load held between both hands in the air stays as far off the body's midplane as at the
    anchor (``Problem.grip_side``): over the frames ``both (T,)`` where both hold it, the
    squared change of ``grip_sideways`` of their grip points (``grip_points``; m², mean over
    those frames). Seen from the side, nothing else fixes where along the camera's ray the
    hands carry it: lift_overhead-0-05's hands swung 14 cm sideways together, the box
    between them (7.5 -> 6.0 cm with this term alone, against the hips' line). The distance
    between the hands is left free: held to its anchor value it pressed them into the box
    (penetration 0.4 -> 5.8 mm, lift_overhead-23-11) without placing it better."""
    if problem.grip_side is None or not bool(both.any()):
        return frames.joints.new_zeros(())
    points = grip_points(frames.vertices[both], problem.hand_side)
    return ((grip_sideways(points, frames.joints[both]) - problem.grip_side) ** 2).mean()


def balance_loss(problem: Problem, state: State, config: MotionConfig, frames,
                 obj_rot: torch.Tensor) -> torch.Tensor:
    """Centre of mass over the feet where they alone carry the body (``lambda_balance``): the
    frames' weights are both feet's contact, zero where the object carries a body vertex
    (``carried_by``: sitting on it, leaning on it) and where a hand holds an object that
    rests or slides on the floor (pressing on a table, pushing a box). An object the hands
    carry (contact mode ``"held"``) carries none of the body, in the frames it is held too:
    with the term off there, a lift or a carry could put its weight off its feet wherever the
    hands held the load (pick_up_carry-24-19: MPJPE 84 → 74 mm with it on)."""
    verts = frames.vertices
    feet = frames.joints[:, list(FOOT_JOINTS)]  # L ankle, R ankle, L ball, R ball
    fw = decided(state.foot_weights, "foot_weights")
    planted = torch.minimum(fw[:, 0], fw[:, 2]) * torch.minimum(fw[:, 1], fw[:, 3])
    with torch.no_grad():
        body_part = problem.hand_side < 0
        resting = carried_by(problem.sdf, verts[:, body_part], obj_rot, state.obj_trans,
                             config.contact.hand_distance_m)
        held = decided(state.held, "held").any(1)
        # a carried object supports nothing while held; on the floor, it may
        free = held | ~resting if state.mode == "held" else ~(resting | held)
    return L.balance_loss(verts[:, :config.sampling.num_body_vertices].mean(1),
                          0.5 * (feet[:, 0] + feet[:, 2]), 0.5 * (feet[:, 1] + feet[:, 3]),
                          planted * free.to(planted.dtype), config.contact.balance_radius_m)


def carried_by(sdf: SdfGrid, vertices: torch.Tensor, obj_rot: torch.Tensor,
               obj_trans: torch.Tensor, distance_m: float, step_m: float = 0.02,
               min_up: float = 0.5) -> torch.Tensor:
    """``(T,)`` bool: frames where the object (``obj_rot (T, 3, 3)``, ``obj_trans (T, 3)``)
    carries some of ``vertices (T, V, 3)``: one lies within ``distance_m`` of it, above a face
    that looks up (the distance grows by at least ``min_up`` × ``step_m`` from ``step_m``
    below it: the surface's normal leans up by more than 60°). Shins brushing a seat's front
    carry nothing: counted as support, they turned the balance off in every frame of a
    stand-up, and the estimate rose with its weight behind the feet, still leaning back over
    the seat (sit_stand-0-24: the head 40 cm off).

    Leaning on a side face (a hip against a table's edge) is not counted either; the feet
    then carry the body as far as the balance can tell."""
    local = (vertices - obj_trans[:, None]) @ obj_rot
    down = step_m * obj_rot[:, 1][:, None]  # the world's −y·step in the object's frame: R[1]
    here = sdf.sample_sdf(local.reshape(-1, 3)).reshape(vertices.shape[:2])
    below = sdf.sample_sdf((local - down).reshape(-1, 3)).reshape(vertices.shape[:2])
    return ((here < distance_m) & (here - below > min_up * step_m)).any(1)


def untouched_penetration(problem: Problem, vertices: torch.Tensor,
                          config: MotionConfig) -> torch.Tensor:
    """The penetration term of phase 3 against an object no hand touches at the anchor frame,
    for phase 2: such an object never moves (contact mode ``"none"``), so it stands at its
    anchor placement in every frame from the start. Without it, limbs the object hides (legs
    crouched behind a box, the hands hanging there) drift into it during phase 2 (nothing
    there but the pose prior holds them: one camera does not see their depth), and phase 3
    then pushes them out through its far side."""
    t_count = vertices.shape[0]
    rot = problem.obj_anchor[:3, :3].expand(t_count, 3, 3)
    trans = problem.obj_anchor[:3, 3].expand(t_count, 3)
    return L.penetration_loss(vertices, rot, trans, problem.sdf,
                              margin=config.contact.penetration_margin_m)


def untouched_occlusion(problem: Problem, joints: torch.Tensor,
                        config: MotionConfig) -> torch.Tensor:
    """What an object no hand touches hides, for the body (``losses.occlusion_loss``, the
    object at its anchor placement in every frame): the body joints ``joints (T, 22, 3)`` it
    likely hides (``Problem.hidden``) stay behind it along their camera rays, and the seen
    ones out of its shadow. A hidden hand by the knees of a crouch behind a box otherwise
    rises over the box's top where the penetration term pushes it out (crouch-5-02: wrists
    40 cm up); one camera sees no depth there, but it sees that the box hides them."""
    t_count, rest = joints.shape[0], config.resting
    seen, hidden = L.occlusion_loss(
        joints, problem.camera.centers[0], problem.obj_anchor[:3, :3].expand(t_count, 3, 3),
        problem.obj_anchor[:3, 3].expand(t_count, 3), problem.sdf, problem.obj_centre,
        problem.obj_radius, problem.keypoints[:, :BODY_JOINTS, 2], problem.hidden,
        tail=rest.occlusion_tail_m, margin=rest.occlusion_margin_m,
        scale=rest.occlusion_scale_m)
    return seen + hidden


def penetration_weights(problem: Problem, state: State, config: MotionConfig) -> torch.Tensor:
    """(T, Vs) weight of each subset vertex in the penetration term: a hand holding the object
    touches it, so its vertices count only ``contact.holding_hand_penetration_share`` there."""
    w = torch.ones(state.trans.shape[0], len(problem.hand_side), dtype=state.trans.dtype,
                   device=state.trans.device)
    state_held = decided(state.held, "held")
    for side in (0, 1):
        held = state_held[:, side:side + 1] & (problem.hand_side == side)[None]
        share = torch.full_like(w, config.contact.holding_hand_penetration_share)
        w = torch.where(held, share, w)
    return w
