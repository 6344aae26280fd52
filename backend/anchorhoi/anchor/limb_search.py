"""Search over limb directions: gets arms and legs into the right basin before the gradient.

Gradient steps on a chamfer cannot swing an arm hanging at the side up over the head: on the
way the arm would leave the anchor's surface, so it settles against the torso instead. So, for
each hypothesis of the batch and each limb in turn (in one of ``orders``; the rest of the body
held still):

1. the straight limb is tried along ``num_directions`` directions spread over the sphere,
   ranked by the limb score (below); directions across the body's mid-plane (crossed arms or
   legs) are left out; the ``top_k`` best are kept;
2. for each, the lower bone (forearm + hand / shin + foot) is bent by each of ``bends_deg`` in
   ``azimuths`` planes about the upper bone (as the hinge bends: never backwards, see
   ``limb_geometry``), scored on the lower bone's vertices; the best plane per bend is kept;
3. these candidates and the current limb are refined by ``refine_steps`` Adam steps on the limb
   score, and the best refined one is kept (one flexed past ``max_bend_deg`` only if nothing
   else is) — the discrete directions are ~20° apart, too coarse to compare unrefined;
4. the end bone (hand / foot) is tried along every direction (the minimal rotation from its rest
   direction), scored on its own vertices, the current one included.

Bone fit of some vertices: the mean Charbonnier distance to the anchor surface (the anchor's
lattice signed distance, ``AnchorTargets.signed_distance``), plus how deep points ``offset``
outside the body along the normal are inside the anchor (a limb buried in the torso lies near a
surface too), plus the joint limits. The limb score is the fit of the limb's vertices weighted by
its share of the body's area, plus the anchor → body chamfer of the anchor points on the limb's
side of the body (``Coverage``): a limb lying on the thigh or folded onto itself leaves the
anchor's own forearm unexplained.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..body import matrix_to_axis_angle, matrix_to_rot6d, rot6d_to_matrix
from ..body.pose import PoseParams
from ..portable.skeleton import JOINT_NAMES, PARENTS
from ..randomness import multinomial, randperm
from .anchor_points import AnchorTargets
from .limb_geometry import (
    LIMBS,
    align,
    fibonacci_directions,
    global_rotations,
    subtree,
    two_bone_rotations,
)
from .losses import charbonnier
from .pose_prior import joint_limit_penalty
from .skinning import SubsetSkinning


@dataclass(frozen=True, kw_only=True)
class LimbSearchConfig:
    num_directions: int = 120
    """Directions (Fibonacci lattice, ~19° apart) each bone is tried along."""
    top_k: int = 4
    """Upper-bone directions kept for the lower-bone search."""
    bends_deg: tuple[float, ...] = (0.0, 35.0, 70.0, 105.0)
    """Hinge flexions tried for each kept upper direction."""
    azimuths: int = 8
    """Planes (about the upper bone) each non-zero flexion is tried in."""
    max_bend_deg: float = 135.0
    """A refined limb flexed further is only kept if nothing else is: folded further, the lower
    bone lies inside the upper one, where its vertices fit the anchor's upper bone about as well
    as the real limb fits (the gradient phases may still bend further)."""
    side_margin: float = 0.05
    """The coverage term counts anchor points on the limb's side of the body and up to this
    far (metres) past the mid-plane: a limb is not rewarded for explaining the other side's
    limb while that one is still misplaced."""
    max_crossing: float = 0.35
    """Largest component of an upper-bone direction towards the body's other side (root
    frame): straight ahead or down is allowed, across the body is not."""
    refine_steps: int = 8
    """Adam steps refining each candidate limb."""
    refine_lr: float = 0.05
    """Adam learning rate of that refinement (6D rotations)."""
    samples_per_bone: int = 80
    """Vertices posed per bone (by area)."""
    samples_rest: int = 800
    """Vertices of the rest of the body, for the coverage term."""
    coverage_points: int = 1000
    """Anchor surface points of the coverage term."""
    coverage_keep: int = 400
    """Of those, the ones worst explained by the rest of the body (only they can change)."""
    orders: tuple[tuple[str, ...], ...] = (
        ("left_leg", "right_leg", "left_arm", "right_arm"),
        ("left_arm", "right_arm", "left_leg", "right_leg"))
    """The orders the limbs are searched in (names of ``limb_geometry.LIMBS``); the fit runs
    its search rounds once per order and keeps the lowest total. A limb searched before the
    others may settle on another's anchor: legs first, a leg can fold up onto a forearm
    reaching forward at hip height; arms first, an arm can take a leg's place."""

    def __post_init__(self) -> None:
        if not self.orders or any(sorted(o) != sorted(LIMBS) for o in self.orders):
            raise ValueError("LimbSearchConfig.orders wants one or more orders of the limbs "
                             f"{sorted(LIMBS)}, each naming every limb once, got {self.orders!r}")


class Coverage:
    """The limb-dependent part of the anchor → body chamfer, for many limb candidates.

    ``points (P, 3)`` anchor surface, ``rest (B, R, 3)`` the body without the limb. Only the
    ``keep`` anchor points worst explained by the rest of the body can change with the limb;
    ``__call__(limb (B, C, L, 3))`` → ``(B, C)`` their summed Charbonnier distance to the
    nearest body point over P (the mean over all points up to a constant per hypothesis);
    differentiable in ``limb``.
    """

    def __init__(self, points: torch.Tensor, rest: torch.Tensor, eta: float, keep: int,
                 own: torch.Tensor | None = None):
        with torch.no_grad():
            d_rest = torch.cdist(points[None], rest).amin(-1)  # (B, P)
            if own is not None:  # (B, P) bool: the points the limb may explain
                d_rest = d_rest * own
            top = d_rest.topk(min(keep, d_rest.shape[1]), dim=1)
        self.points = points[top.indices]  # (B, K, 3)
        self.d_rest = top.values  # (B, K)
        self.eta, self.total = eta, points.shape[0]

    def __call__(self, limb: torch.Tensor) -> torch.Tensor:
        b, c, n, _ = limb.shape
        pts = self.points[:, None].expand(b, c, -1, 3).reshape(b * c, -1, 3)
        flat = limb.reshape(b * c, n, 3)
        with torch.no_grad():
            idx = torch.cdist(pts, flat).argmin(-1)  # (B·C, K)
        d2 = ((pts - torch.gather(flat, 1, idx[..., None].expand(-1, -1, 3))) ** 2).sum(-1)
        d2 = torch.minimum(self.d_rest.repeat_interleave(c, 0) ** 2, d2)
        return (charbonnier(d2, self.eta).sum(-1) / self.total).reshape(b, c)


FOLDED_PENALTY = 1.0
"""Added to the score of a candidate flexed past ``max_bend_deg`` (metres; any fit is less)."""


def bent_directions(u: torch.Tensor, bends_deg: tuple[float, ...], azimuths: int
                    ) -> torch.Tensor:
    """Unit ``u (..., 3)`` → ``(..., G, A, 3)`` directions at angle ``bends_deg[g]`` from ``u``
    in ``A`` planes about it (a zero bend repeats ``u``)."""
    helper = torch.where(u[..., :1].abs() < 0.9, torch.tensor([1.0, 0.0, 0.0]).to(u),
                         torch.tensor([0.0, 1.0, 0.0]).to(u))
    e1 = torch.nn.functional.normalize(torch.linalg.cross(u, helper, dim=-1), dim=-1)
    e2 = torch.linalg.cross(u, e1, dim=-1)
    phi = torch.arange(azimuths, dtype=u.dtype, device=u.device) * (2 * math.pi / azimuths)
    theta = torch.deg2rad(torch.tensor(bends_deg, dtype=u.dtype, device=u.device))
    ring = torch.cos(phi)[:, None] * e1[..., None, :] + torch.sin(phi)[:, None] * e2[..., None, :]
    return torch.cos(theta)[:, None, None] * u[..., None, None, :] + \
        torch.sin(theta)[:, None, None] * ring[..., None, :, :]


def search_limbs(skin: SubsetSkinning, params: PoseParams, anchor: AnchorTargets, *,
                 vertex_weights: torch.Tensor, limits: tuple[torch.Tensor, torch.Tensor],
                 lambda_joint_limits: float, eta: float, offset: float,
                 config: LimbSearchConfig, order: tuple[str, ...],
                 generator: torch.Generator) -> PoseParams:
    """Each limb of each hypothesis in ``params`` (batch B), in ``order`` (limb names), moved
    to its best candidate; ``skin`` poses all the body's vertices
    (``SubsetSkinning.of_body``)."""
    dtype = skin.v_template.dtype
    device = vertex_weights.device  # every index tensor of the search lives beside the weights
    owner = skin.weights.argmax(1).to(device)  # (V,) dominant joint of each vertex
    rest_joints = skin.j_template  # (55, 3)
    dirs = fibonacci_directions(config.num_directions, device=device, dtype=dtype)  # (D, 3)
    body6d = params.body.detach().clone()
    b, rows = body6d.shape[0], torch.arange(body6d.shape[0], device=device)
    trans = params.trans.detach()
    points = anchor.surface
    if len(points) > config.coverage_points:
        points = points[randperm(len(points), generator=generator,
                                 device=points.device)[:config.coverage_points]]

    def sample(joints: list[int], n: int, exclude: bool = False) -> SubsetSkinning:
        members = torch.isin(owner, torch.tensor(joints, device=device)) != exclude
        w = vertex_weights * members.to(vertex_weights.dtype)
        return skin.subset(multinomial(w, min(n, int(members.sum())), replacement=False,
                                       generator=generator))

    def fit(bone: SubsetSkinning, rot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``rot (B, C, 55, 3, 3)`` → the bone sample's vertices ``(B, C, n, 3)`` and their
        fit ``(B, C)``."""
        c = rot.shape[1]
        v, _, normals = bone(rot.reshape(-1, 55, 3, 3), trans.repeat_interleave(c, 0))
        near = charbonnier(anchor.signed_distance(v) ** 2, eta).mean(-1)
        buried = (-anchor.signed_distance(v + offset * normals)).clamp_min(0).mean(-1)
        limit = joint_limit_penalty(matrix_to_axis_angle(rot.reshape(-1, 55, 3, 3)[:, 1:22]),
                                    *limits)
        return v.reshape(b, c, -1, 3), (near + buried + lambda_joint_limits * limit).reshape(b, c)

    for upper_name, hinge_name, end_name, tip_name, a_rest, b_rest in (LIMBS[n] for n in order):
        uj, hj = JOINT_NAMES.index(upper_name), JOINT_NAMES.index(hinge_name)
        ej, tj = JOINT_NAMES.index(end_name), JOINT_NAMES.index(tip_name)
        a = torch.tensor(a_rest, device=device, dtype=dtype)
        bend_dir = torch.tensor(b_rest, device=device, dtype=dtype)
        rot = PoseParams(params.root, body6d, params.hand, params.trans,
                         params.betas).rotations().detach()  # (B, 55, 3, 3)
        glob = global_rotations(rot)
        limb = subtree(uj)
        lower_skin = sample(subtree(hj), config.samples_per_bone)
        limb_skin = sample(limb, config.samples_per_bone)
        share = float(vertex_weights[torch.isin(owner, torch.tensor(limb, device=device))].sum()
                      / vertex_weights.sum())
        with torch.no_grad():
            rest_v, joints, _ = sample(limb, config.samples_rest, exclude=True)(rot, trans)
            # the anchor points on the limb's own side of the body (root frame x)
            side = (points[None] - joints[:, None, 0]) @ glob[:, 0, :, 0][..., None]  # (B, P, 1)
            side = side[..., 0] if upper_name.startswith("left") else -side[..., 0]
        cover = Coverage(points, rest_v, eta, config.coverage_keep,
                         own=side > -config.side_margin)

        def limb_score(candidates: torch.Tensor) -> torch.Tensor:
            v, s = fit(limb_skin, candidates)
            return share * s + cover(v)

        def trial(u: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
            """World directions ``u, f (B, C, 3)`` → poses ``(B, C, 55, 3, 3)``."""
            c = u.shape[1]
            parent = glob[:, None, PARENTS[uj]].expand(b, c, 3, 3)
            twist = (glob[:, uj] @ bend_dir)[:, None].expand(b, c, 3)  # kept if f ∥ u
            up, hi = two_bone_rotations(u, f, parent, a, bend_dir, twist)
            out = rot[:, None].expand(b, c, 55, 3, 3).clone()
            out[:, :, uj], out[:, :, hj] = up, hi
            return out

        with torch.no_grad():
            # 1. the straight limb along every direction
            u_all = dirs[None].expand(b, -1, -1)
            across = (glob[:, 0, None].transpose(-1, -2) @ u_all[..., None])[..., 0, 0]
            across = -across if upper_name.startswith("left") else across
            straight = trial(u_all, u_all)
            ranked = limb_score(straight).masked_fill(across > config.max_crossing, math.inf)
            top = ranked.topk(min(config.top_k, len(dirs)), largest=False).indices  # (B, k)
            # 2. the lower bone bent by each of ``bends_deg`` about ``azimuths`` planes, for
            #    each kept upper direction; per upper direction and bend the best is kept
            k = top.shape[1]
            u_top = dirs[top]  # (B, k, 3)
            lower_dirs = bent_directions(u_top, config.bends_deg, config.azimuths)  # (B,k,G,A,3)
            g, az = lower_dirs.shape[2:4]
            u_pair = u_top[:, :, None, None].expand(b, k, g, az, 3).reshape(b, -1, 3)
            pairs = trial(u_pair, lower_dirs.reshape(b, -1, 3))
            s_pair = fit(lower_skin, pairs)[1].reshape(b, k, g, az)
            best_az = s_pair.argmin(-1)  # (B, k, G)
            index = (torch.arange(k, device=device)[:, None] * g
                     + torch.arange(g, device=device)[None]) * az + best_az
            cands = torch.cat([rot[:, None], pairs[rows[:, None], index.reshape(b, -1)]], 1)
        # 3. refine every candidate (the current limb first), keep the best unfolded one
        cands = refine(cands, (uj, hj), limb_score, config)
        with torch.no_grad():
            final = limb_score(cands)
            folded = matrix_to_axis_angle(cands[:, :, hj]).norm(dim=-1) > \
                math.radians(config.max_bend_deg)
            final = final + folded * FOLDED_PENALTY
        chosen = cands[rows, final.argmin(1)]  # (B, 55, 3, 3)
        # 4. the end bone along every direction, given the chosen limb
        with torch.no_grad():
            lower = global_rotations(chosen)[:, hj]  # (B, 3, 3) the end joint's parent frame
            r = torch.nn.functional.normalize(rest_joints[tj] - rest_joints[ej], dim=0)
            ends = align(r, (lower.transpose(-1, -2)[:, None] @ dirs[None, :, :, None])[..., 0])
            ends = torch.cat([chosen[:, None, ej], ends], 1)  # (B, 1 + D, 3, 3) current first
            trials = chosen[:, None].expand(b, ends.shape[1], 55, 3, 3).clone()
            trials[:, :, ej] = ends
            best_end = fit(sample(subtree(ej), config.samples_per_bone), trials)[1].argmin(1)
        for j, value in ((uj, chosen[:, uj]), (hj, chosen[:, hj]), (ej, ends[rows, best_end])):
            body6d[:, j - 1] = matrix_to_rot6d(value)
    return PoseParams(params.root.detach(), body6d, params.hand.detach(), trans,
                      params.betas.detach())


def refine(cands: torch.Tensor, joints: tuple[int, int], score, config: LimbSearchConfig
           ) -> torch.Tensor:
    """``cands (B, C, 55, 3, 3)`` with the rotations of ``joints`` moved by ``refine_steps``
    Adam steps on ``score`` (poses → ``(B, C)``, summed)."""
    if config.refine_steps <= 0:
        return cands
    leaves = matrix_to_rot6d(cands[:, :, list(joints)]).detach().requires_grad_(True)
    optimiser = torch.optim.Adam([leaves], lr=config.refine_lr)

    def assemble() -> torch.Tensor:
        out = cands.clone()
        out[:, :, list(joints)] = rot6d_to_matrix(leaves)
        return out

    for _ in range(config.refine_steps):
        optimiser.zero_grad(set_to_none=True)
        score(assemble()).sum().backward()
        optimiser.step()
    return assemble().detach()
