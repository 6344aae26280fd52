"""The mesh vertices beyond the subset that the penetration term watches, frame by frame.

Stage E poses a subset of the body's vertices (``objective._vertex_subset``: about 6 cm apart
over the body) and keeps them ``contact.penetration_margin_m`` out of the object, so that the
mesh between them stays out too. An object's edge or corner can still reach between them: a
step's edge into a heel, a shelf's board into a head (15–17 mm; step_onto-22-07,
reach_high-24-15). ``refresh_watch`` poses the mesh near the object (``PosedSubset.skin``; the
vertices of joints within their reach of its bounding sphere) and keeps the (frame, vertex)
pairs within ``sampling.watch_distance_m`` of it; ``watch_penetration`` poses just those
pairs in every iteration — each from its (at most four) joints' transforms, its pose blend
shapes frozen at the check — and keeps them ``sampling.watch_margin_m`` out (a narrower
margin than the subset's: they are the mesh itself). A hand holding the object touches it by
design: its vertices are not watched in the frames it holds.

The check measures exact distances (``Problem.leaves``), not the grid's: the grid's trilinear
values round an edge or a corner off by up to about a cell (3 cm on a 1.6 m shelf), and read
a board thinner than a cell as shallow or not there at all (an elbow 13.6 mm into a shelf's
top board read 3 mm; reach_high-0-08). Pairs are met where the grid reads within a cell of
``watch_distance_m`` and kept where the exact distance does; each pair keeps the grid's error
at its place at the check (``Watch.correction``), which the iterations add to the grid's
value there (its gradient is the grid's).

Known limit: a limb hidden behind the object is pulled to the key pose's rotations
(``hidden_limbs``); where the key pose reaches into the object (an arm hidden behind a shelf
before it reaches onto it), the exact reading pushes back harder than the grid's did, and the
body can end up elsewhere: reach_high-0-08 at noise seed 3, 27 → 68 mm (its frames before the
reach, and 3 cm along the ray after it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import torch

from ..body import rot6d_to_matrix
from .config import MotionConfig
from .contact import LEFT_HAND, RIGHT_HAND
from .posing import PosedFrames, PosedSubset, pose_feature

if TYPE_CHECKING:
    from ..objects.inside import SdfGrid
    from .objective import Problem, State

log = logging.getLogger(__name__)

CHUNK_FRAMES = 32
"""Frames of the whole mesh posed at a time (a long clip's at once is hundreds of MB)."""
BLEND_SLACK_M = 0.05
"""How far the pose blend shapes and the other joints' weights may carry a vertex beyond its
rest distance from its dominant joint (the check's bound; generous)."""
JOINTS_PER_VERTEX = 4
"""SMPL-X skins every vertex to at most four joints."""


@dataclass(frozen=True)
class Watch:
    """``P`` watched (frame, vertex) pairs."""

    frames: torch.Tensor  # (P,) frame index
    vertices: torch.Tensor  # (P,) mesh vertex id
    rest: torch.Tensor  # (P, 3) rest position with the frame's pose blend shapes (at the check)
    joints: torch.Tensor  # (P, 4) the joints skinning it
    weights: torch.Tensor  # (P, 4) and their weights
    sides: torch.Tensor  # (P,) its hand: 0 / 1 left / right, else −1
    correction: torch.Tensor  # (P,) exact − grid signed distance at its place at the check

    def __len__(self) -> int:
        return int(self.frames.shape[0])


def hand_sides(kin: PosedSubset, ids: torch.Tensor) -> torch.Tensor:
    """``(N,)`` the hand each mesh vertex ``ids (N,)`` belongs to by its dominant joint: 0 / 1
    left / right, else −1."""
    dominant = kin.dominant[ids]
    left = torch.isin(dominant, torch.tensor(LEFT_HAND, device=ids.device))
    right = torch.isin(dominant, torch.tensor(RIGHT_HAND, device=ids.device))
    return torch.where(left, 0, torch.where(right, 1, -1))


def refresh_watch(problem: Problem, state: State, config: MotionConfig) -> None:
    """``state.watch``: the (frame, vertex) pairs of the whole mesh nearer the object than
    ``sampling.watch_distance_m`` (signed: inside is negative), the nearest first, up to
    ``sampling.max_watched_pairs``, with those already watched (they were pushed out to
    about the margin, and would come back in if let go); the subset's vertices are not."""
    sampling, kin, near_m = config.sampling, problem.kin, config.sampling.watch_distance_m
    if sampling.max_watched_pairs == 0 or state.held is None:
        return
    num_verts = kin.dominant.shape[0]
    ids = torch.arange(num_verts, device=kin.dominant.device)
    side = hand_sides(kin, ids)
    skippable = torch.zeros(num_verts, dtype=torch.bool, device=ids.device)
    skippable[kin.vertex_ids] = True  # the subset has its own term
    # a vertex stays within its rest distance of its dominant joint (plus the pose blend
    # shapes' few centimetres): a joint farther from the object's bounding sphere than that
    # reach has no vertex near the object
    reach = kin.reach + BLEND_SLACK_M
    found_t, found_v, found_d = [], [], []
    with torch.no_grad():
        rotations = state.rotations()
        obj_rot = rot6d_to_matrix(state.obj6d)
        centre = (obj_rot @ problem.obj_centre) + state.obj_trans  # (T, 3)
        for lo in range(0, rotations.shape[0], CHUNK_FRAMES):
            part = slice(lo, lo + CHUNK_FRAMES)
            frames = kin(rotations[part], state.trans[part])
            close = (frames.joints - centre[part, None]).norm(dim=-1) \
                < problem.obj_radius + reach + near_m  # (t, 55)
            cand = torch.nonzero(close.any(0)[kin.dominant] & ~skippable)[:, 0]
            if len(cand) == 0:
                continue
            verts = kin.skin(rotations[part], frames, cand)  # (t, N, 3)
            local = (verts - state.obj_trans[part, None]) @ obj_rot[part]
            grid = problem.sdf.sample_sdf(local.reshape(-1, 3)).reshape(verts.shape[:2])
            holding = state.held[part][:, side[cand].clamp_min(0)] & (side[cand] >= 0)
            # the grid errs by less than a cell: the distance is 1-Lipschitz and the grid's
            # value its cell corners' values under trilinear weights, whose weighted distance
            # from the point to the corners is at most √3/2 cell (at the cell's centre);
            # within that the exact distance decides
            t_idx, n_idx = torch.nonzero((grid < near_m + problem.sdf.cell) & ~holding,
                                         as_tuple=True)
            dist = problem.leaves.signed_distance(local[t_idx, n_idx])
            near = dist < near_m
            found_t.append(t_idx[near] + lo)
            found_v.append(cand[n_idx[near]])
            found_d.append(dist[near])
        if state.watch is not None:  # the pairs already watched stay (pushed out to about
            found_t.append(state.watch.frames)  # the margin, they would come back in)
            found_v.append(state.watch.vertices)
            found_d.append(torch.full_like(state.watch.rest[:, 0], -float("inf")))
        if not found_d or sum(len(x) for x in found_d) == 0:
            return
        t_idx, v_idx, d = torch.cat(found_t), torch.cat(found_v), torch.cat(found_d)
        deepest = float(d[torch.isfinite(d)].min()) if bool(torch.isfinite(d).any()) else 0.0
        # the nearest first, one entry per pair (a watched pair found again: its watched one)
        order = d.argsort(stable=True)
        t_idx, v_idx = t_idx[order], v_idx[order]
        pairs, which = torch.unique(t_idx * num_verts + v_idx, return_inverse=True)
        first = torch.full_like(pairs, len(which)).scatter_reduce(
            0, which, torch.arange(len(which), device=which.device), "amin")
        keep = first.sort().values[:sampling.max_watched_pairs]
        t_idx, v_idx = t_idx[keep], v_idx[keep]
        weights, joints = kin.all_weights[v_idx].topk(JOINTS_PER_VERTEX, dim=1)
        rest = kin.all_rest_vertices[v_idx]
        if kin.use_pose_blend:
            feature = pose_feature(rotations[t_idx])  # (P, 486)
            dirs = kin.all_posedirs[:, v_idx]  # (486, P, 3)
            rest = rest + torch.einsum("pk,pkc->pc", feature, dirs.transpose(0, 1))
        watch = Watch(frames=t_idx, vertices=v_idx, rest=rest, joints=joints, weights=weights,
                      sides=side[v_idx], correction=torch.zeros_like(rest[:, 0]))
        local = object_frame(watch, watched_points(watch, kin, kin(rotations, state.trans)),
                             obj_rot, state.obj_trans)
        correction = problem.leaves.signed_distance(local) - problem.sdf.sample_sdf(local)
    before = 0 if state.watch is None else len(state.watch)
    state.watch = replace(watch, correction=correction)
    if len(state.watch) != before:
        log.info("stage E: %d (frame, vertex) pairs of the mesh watched near the object (%d "
                 "vertices; the deepest %.1f mm inside)", len(state.watch),
                 len(torch.unique(v_idx)), max(0.0, -1000 * deepest))


def watched_points(watch: Watch, kin: PosedSubset, frames: PosedFrames) -> torch.Tensor:
    """``(P, 3)`` the watched pairs posed by ``frames`` (the subset's forward), world."""
    t = watch.frames
    glob = frames.rotations[t[:, None], watch.joints]  # (P, 4, 3, 3)
    rest_joints = kin.rest_joints[watch.joints]  # (P, 4, 3)
    placed = frames.joints[t[:, None], watch.joints] \
        + (glob @ (watch.rest[:, None] - rest_joints)[..., None])[..., 0]  # (P, 4, 3)
    return (watch.weights[..., None] * placed).sum(1)


def object_frame(watch: Watch, points: torch.Tensor, obj_rot: torch.Tensor,
                 obj_trans: torch.Tensor) -> torch.Tensor:
    """``(P, 3)`` the watched ``points (P, 3)`` in the object's frame, the object placed in
    each pair's frame by ``obj_rot (T, 3, 3)``, ``obj_trans (T, 3)``."""
    t = watch.frames
    return ((points - obj_trans[t])[:, None] @ obj_rot[t])[:, 0]


def watched_depths(watch: Watch, points: torch.Tensor, obj_rot: torch.Tensor,
                   obj_trans: torch.Tensor, sdf: SdfGrid) -> torch.Tensor:
    """``(P,)`` the signed distance of the watched ``points (P, 3)`` to the object placed in
    each pair's frame by ``obj_rot (T, 3, 3)``, ``obj_trans (T, 3)`` (inside negative): the
    grid's, corrected by its error at the pair's place at the check."""
    return sdf.sample_sdf(object_frame(watch, points, obj_rot, obj_trans)) + watch.correction


def watch_penetration(watch: Watch, kin: PosedSubset, frames: PosedFrames,
                      obj_rot: torch.Tensor, obj_trans: torch.Tensor, sdf: SdfGrid,
                      held: torch.Tensor, margin: float, holding_share: float) -> torch.Tensor:
    """The watched pairs posed by ``frames`` (the subset's forward), inside the object placed
    by ``obj_rot (T, 3, 3)``, ``obj_trans (T, 3)``: sum of squared depths beyond ``margin``
    over the pairs, divided by the frame count (as ``losses.penetration_loss``); a pair of a
    hand holding the object in its frame, ``held (T, 2)``, counts ``holding_share``."""
    points = watched_points(watch, kin, frames)
    depth = torch.relu(margin - watched_depths(watch, points, obj_rot, obj_trans, sdf))
    share = torch.where((watch.sides >= 0) & held[watch.frames, watch.sides.clamp_min(0)],
                        holding_share, 1.0)
    return (share * depth * depth).sum() / obj_trans.shape[0]
