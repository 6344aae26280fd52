"""Stage B: fit SMPL-X (and optionally the object placement) to the anchor's human density.

Inputs are the anchor's ``human_density`` (points ``(N, 3)`` → σ ``(N,)``), optionally K
silhouette masks with their ``Cameras``, and the object (anything with ``sdf_world`` and
``parameters()``, e.g. ``objects.field.ObjectField``). Steps:

1. The anchor's dense region is found once on a lattice over the fitting box; its boundary
   (level-set crossings) is the target surface (``anchor_points``).
2. **Rigid phase**: root orientation and translation, from one start per yaw hypothesis (the
   body re-centred on the anchor first), optimised as a batch; the best hypothesis by loss wins.
3. **Pose phase**: + the 21 body joints.
4. **Detail phase**: + both hands (+ betas with ``fit_betas``; + the object placement with
   ``fit_object``) and a contact term pulling the vertices near the object onto its surface.

Every step poses a fresh area-weighted sample of body vertices (``SubsetSkinning``); the loss
is ``Σ lambda_<name> · loss_<name>``: two-sided chamfer to the anchor surface, occupancy
agreement just inside/outside the body, silhouettes, pose prior and joint limits, penetration
into the object, contact. Rotations are optimised in 6D (Adam, cosine-decayed learning rate
per phase). The object's own parameters are left untouched (no gradient) unless
``fit_object=True``, in which case they are moved in place.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from ..body import BodyModel, matrix_to_rot6d, rot6d_to_matrix
from ..nerf.cameras import Cameras
from .anchor_points import AnchorTargets, DensityFn, anchor_targets
from .key_pose import KeyPose, PoseParams, default_initial_pose
from .limb_search import LimbSearchConfig, search_limbs
from .objective import Objective, SilhouetteTargets
from .skinning import SubsetSkinning, vertex_areas, vertex_normals

log = logging.getLogger(__name__)


class FitObject(Protocol):
    """The object as the fit sees it: a signed distance in the world (negative inside) whose
    placement lives in ``parameters()``."""

    def sdf_world(self, x: torch.Tensor) -> torch.Tensor: ...  # (N, 3) → (N,)

    def parameters(self): ...


@dataclass(frozen=True, kw_only=True)
class FitConfig:
    rigid_iterations: int = 40
    """Adam steps of the rigid phase (root orientation + translation), all hypotheses at once."""
    keep_hypotheses: int = 2
    """How many of the yaw hypotheses, the best after the rigid phase, go on to the search."""
    search_rounds: int = 2
    """Rounds of (limb search, ``search_iterations`` pose steps) on every yaw hypothesis before
    the best one is kept (the second limb search sees a better-aligned torso)."""
    search_iterations: int = 30
    """Adam steps of body pose per search round."""
    pose_iterations: int = 150
    """Adam steps of the pose phase (+ the 21 body joints) on the kept hypothesis."""
    detail_iterations: int = 60
    """Adam steps of the detail phase (+ hands, betas and object if enabled, contact term)."""
    yaw_hypotheses_deg: tuple[float, ...] = (0.0, 90.0, 180.0, 270.0)
    """Initial headings (about +Y, relative to the initial pose) tried in the rigid phase."""
    limb_search: LimbSearchConfig | None = LimbSearchConfig()
    """The search placing each arm and leg at the start of every search round (None: off)."""
    fit_betas: bool = False
    """Also fit the shape coefficients in the detail phase."""
    fit_object: bool = False
    """Also move the object's placement (its ``parameters()``) in the pose and detail phases."""
    lr_rotation: float = 0.03
    """Adam learning rate of the 6D rotations."""
    lr_trans: float = 0.02
    """Adam learning rate of the translation (metres)."""
    lr_betas: float = 0.05
    """Adam learning rate of the betas."""
    lr_object: float = 0.005
    """Adam learning rate of the object's parameters."""
    lr_final_factor: float = 0.1
    """Each phase's learning rates decay (cosine) to this fraction of their start value."""
    box_center: tuple[float, float, float] = (0.0, -0.3, 0.0)
    """Centre of the cube the anchor density is evaluated on (world, metres)."""
    box_half_size: float = 1.2
    """Half the side of that cube (metres)."""
    lattice_resolution: int = 96
    """Lattice points per side of the cube (96: 2.5 cm spacing for the default box)."""
    density_threshold: float | None = None
    """σ (per metre) above which the anchor counts as dense; its level set is the target
    surface, and contact vertices must be dense just inside. None: half the anchor's typical
    inside density (the 95th percentile of the lattice densities above 1/m) — a NeRF's density
    scale is arbitrary, its surface is where the density rises."""
    object_margin: float = 0.05
    """Body vertices closer than this to the object (or inside it) at the start of the pose and
    detail phases are all posed for the penetration term (metres)."""
    num_body_samples: int = 2000
    """Body vertices posed per step (sampled by area, without replacement)."""
    num_anchor_samples: int = 4000
    """Anchor surface points used per phase (subsampled when there are more)."""
    correspondence_interval: int = 4
    """Chamfer nearest neighbours are recomputed every this many steps (reused in between)."""
    chamfer_eta: float = 0.01
    """Charbonnier scale of the 3D chamfer (metres): quadratic below, linear above."""
    occupancy_offset: float = 0.015
    """How far inside/outside the body surface (along the normal) occupancy is checked (m)."""
    occupancy_step: float = 0.05
    """Segment length δ turning density into opacity ``1 − exp(−σδ)`` (metres)."""
    num_mask_samples: int = 1500
    """Mask pixels per view in the mask → body chamfer."""
    silhouette_eta: float = 0.005
    """Charbonnier scale of the silhouette chamfer (fraction of the image height)."""
    contact_distance: float = 0.02
    """A body vertex within this distance of the object surface (|sdf|) where the anchor is
    dense is a contact vertex (metres)."""
    lambda_chamfer_body: float = 1.0
    """Weight of ``loss_chamfer_body``: mean robust distance (metres) from the body points to the
    anchor surface (every body point lies on the anchor)."""
    lambda_chamfer_anchor: float = 1.0
    """Weight of ``loss_chamfer_anchor``: from the anchor surface points to the body (every part
    of the anchor is explained by the body)."""
    lambda_occupancy: float = 0.002
    """Weight of ``loss_occupancy`` (cross-entropy of the anchor's opacity near the surface)."""
    lambda_silhouette: float = 0.5
    """Weight of ``loss_silhouette`` (2D chamfer, fractions of the image height)."""
    lambda_pose_prior: float = 2e-4
    """Weight of ``loss_pose_prior`` (mean squared body joint angle, rad²)."""
    lambda_hand_prior: float = 1e-3
    """Weight of ``loss_hand_prior`` (mean squared hand joint angle, rad²)."""
    lambda_joint_limits: float = 0.1
    """Weight of ``loss_joint_limits`` (Σ squared excess over ``JOINT_LIMITS``, rad²)."""
    lambda_penetration: float = 10.0
    """Weight of ``loss_penetration`` (mean depth of body points inside the object, metres)."""
    lambda_contact: float = 0.3
    """Weight of ``loss_contact`` (mean |sdf| of the contact candidates, detail phase)."""
    lambda_betas: float = 1e-3
    """Weight of ``loss_betas`` (mean squared beta) when ``fit_betas``."""


@dataclass(frozen=True, eq=False)
class FitResult:
    key_pose: KeyPose
    contact_vertices: np.ndarray  # (C,) int64 body vertex ids touching the object
    losses: dict[str, float]  # final unweighted loss_<name> values and "total"
    max_penetration: float  # deepest body vertex inside the object (metres, 0 without object)
    history: list[dict[str, float | str]] = field(default_factory=list)  # logged steps


def fit_body(body: BodyModel, *, human_density: DensityFn, masks: torch.Tensor | None = None,
             cameras: Cameras | None = None, obj: FitObject | None = None,
             init: KeyPose | None = None, config: FitConfig = FitConfig(),
             generator: torch.Generator) -> FitResult:
    """Fit ``body`` to the anchor; see the module docstring. ``masks (K, H, W)`` are human
    opacities in [0, 1] seen by ``cameras`` (K cameras); ``init`` defaults to
    ``default_initial_pose()``; ``generator`` seeds all sampling."""
    like = dict(device=body.layer.v_template.device, dtype=body.layer.v_template.dtype)
    if (masks is None) != (cameras is None):
        raise ValueError("fit_body needs masks and cameras together (or neither)")
    silhouettes = None if masks is None else SilhouetteTargets.build(
        masks.to(**like), cameras.to(**like), config.num_mask_samples, generator)
    init = init or default_initial_pose(body.config.num_betas)
    anchor = anchor_targets(
        human_density, center=config.box_center, half_size=config.box_half_size,
        resolution=config.lattice_resolution, threshold=config.density_threshold, **like)
    if len(anchor.surface) < 100:
        raise ValueError(
            f"the anchor has almost no dense region (σ > {anchor.threshold:.3g}) in the "
            f"fitting box (centre {config.box_center}, half-size {config.box_half_size} m); "
            "lower density_threshold, move the box, or train the anchor NeRF longer")
    rest = body.layer.v_template.detach().cpu().numpy().astype(np.float64)
    weights = torch.as_tensor(vertex_areas(rest, np.asarray(body.faces, dtype=np.int64)),
                              dtype=torch.float64)
    object_params = [] if obj is None else [p for p in obj.parameters() if p.requires_grad]
    for p in object_params:  # the caller's object gets no gradient unless it is being fitted
        p.requires_grad_(config.fit_object)
    try:
        objective = Objective(config=config, surface=anchor.surface, threshold=anchor.threshold,
                              density=human_density,
                              silhouettes=silhouettes, obj=obj, generator=generator, **like)
        params = _search(body, init.to_params(**like), objective, anchor, weights, config,
                         generator)
        fitted = object_params if config.fit_object else []
        params, _ = _optimise(body, params, objective, weights, config, phase="pose",
                              iterations=config.pose_iterations, object_params=fitted)
        params, _ = _optimise(body, params, objective, weights, config, phase="detail",
                              iterations=config.detail_iterations, object_params=fitted)
        return _finish(body, params, objective, human_density, obj, config)
    finally:
        for p in object_params:
            p.requires_grad_(True)


def _search(body, params: PoseParams, objective: Objective, anchor: AnchorTargets, weights,
            config: FitConfig, generator: torch.Generator) -> PoseParams:
    """Rigid, then a short pose optimisation from each yaw hypothesis (one batch); returns the
    hypothesis with the lowest total loss (a batch of one)."""
    yaws = torch.tensor(config.yaw_hypotheses_deg or (0.0,), dtype=torch.float64)
    batch = params.expand(len(yaws))
    c, s = torch.cos(torch.deg2rad(yaws)), torch.sin(torch.deg2rad(yaws))
    zero, one = torch.zeros_like(c), torch.ones_like(c)
    ry = torch.stack([c, zero, s, zero, one, zero, -s, zero, c], -1).reshape(-1, 3, 3)
    root = ry.to(batch.root) @ rot6d_to_matrix(batch.root)
    batch = PoseParams(matrix_to_rot6d(root), batch.body, batch.hand, batch.trans, batch.betas)
    # re-centre each hypothesis: the body's area-weighted centroid onto the anchor surface's
    with torch.no_grad():
        v, _, _ = SubsetSkinning(body)(batch.rotations(), batch.trans)
        w = weights.to(v)
        centroid = (w[:, None] * v).sum(1) / w.sum()
        batch = PoseParams(batch.root, batch.body, batch.hand,
                           batch.trans + objective.surface.mean(0) - centroid, batch.betas)
    batch, rigid = _optimise(body, batch, objective, weights, config, phase="rigid",
                             iterations=config.rigid_iterations, object_params=[])
    keep = rigid.argsort()[:max(1, config.keep_hypotheses)]
    log.info("rigid phase: yaw hypotheses %s° → totals %s; keeping %s",
             [f"{y:.0f}" for y in yaws.tolist()], [f"{x:.4f}" for x in rigid.tolist()],
             [f"{float(yaws[i]):.0f}°" for i in keep])
    yaws = yaws[keep]
    batch = PoseParams(*(x[keep] for x in (batch.root, batch.body, batch.hand, batch.trans,
                                           batch.betas)))
    totals = torch.zeros(len(yaws))
    for round_ in range(max(config.search_rounds, 1)):
        if config.limb_search is not None:
            batch = search_limbs(body, batch, anchor, vertex_weights=weights.to(batch.root),
                                 limits=objective.limits,
                                 lambda_joint_limits=config.lambda_joint_limits,
                                 eta=config.chamfer_eta, offset=config.occupancy_offset,
                                 config=config.limb_search, generator=generator)
        batch, totals = _optimise(body, batch, objective, weights, config, phase="search",
                                  iterations=config.search_iterations, object_params=[])
    best = int(torch.argmin(totals))
    log.info("search: yaw hypotheses %s° → totals %s; keeping %.0f°",
             [f"{y:.0f}" for y in yaws.tolist()], [f"{x:.4f}" for x in totals.tolist()],
             float(yaws[best]))
    return batch.select(best)


def _optimise(body, params: PoseParams, objective: Objective, weights, config: FitConfig, *,
              phase: str, iterations: int, object_params: list
              ) -> tuple[PoseParams, torch.Tensor]:
    """``iterations`` Adam steps on the leaves ``phase`` frees; returns the new params and the
    per-hypothesis totals ``(B,)`` of a last, loss-only evaluation."""
    leaves = PoseParams(*(x.detach().clone() for x in
                          (params.root, params.body, params.hand, params.trans, params.betas)))
    groups = [dict(params=[leaves.root], lr=config.lr_rotation),
              dict(params=[leaves.trans], lr=config.lr_trans)]
    if phase != "rigid":
        groups.append(dict(params=[leaves.body], lr=config.lr_rotation))
    if phase == "detail":
        groups.append(dict(params=[leaves.hand], lr=config.lr_rotation))
        if config.fit_betas:
            groups.append(dict(params=[leaves.betas], lr=config.lr_betas))
    if object_params:
        groups.append(dict(params=object_params, lr=config.lr_object))
    for g in groups:
        for p in g["params"]:
            p.requires_grad_(True)
    optimiser = torch.optim.Adam(groups)
    base_lrs = [g["lr"] for g in groups]
    sample = objective.start_phase(body, weights, phase=phase, params=leaves)
    for step in range(max(iterations, 0)):
        frac = 0.5 * (1 + math.cos(math.pi * step / max(iterations, 1)))
        for g, lr in zip(optimiser.param_groups, base_lrs):
            g["lr"] = lr * (config.lr_final_factor + (1 - config.lr_final_factor) * frac)
        optimiser.zero_grad(set_to_none=True)
        losses = objective.losses(sample, leaves, phase=phase, step=step)
        objective.total(losses).sum().backward()
        optimiser.step()
        if step % 20 == 0:
            objective.record(phase, step, losses)
    for x in (leaves.root, leaves.body, leaves.hand, leaves.trans, leaves.betas):
        x.requires_grad_(False)
    with torch.no_grad():
        losses = objective.losses(sample, leaves, phase=phase, step=0)
    objective.record(phase, max(iterations, 0), losses)
    log.info("%s phase (%d steps): %s", phase, iterations, objective.describe())
    return leaves, objective.total(losses)


def _finish(body, params: PoseParams, objective: Objective, human_density, obj,
            config: FitConfig) -> FitResult:
    """Exact evaluation with ``BodyModel.forward``: final losses, contact set, penetration."""
    with torch.no_grad():
        out = body(**params.body_inputs(body.config.num_betas))
        vertices = out.vertices[0]
        faces = torch.as_tensor(np.asarray(body.faces, dtype=np.int64), device=vertices.device)
        normals = vertex_normals(vertices, faces)
        contact = np.zeros(0, dtype=np.int64)
        max_pen = 0.0
        if obj is not None:
            sdf = obj.sdf_world(vertices)
            inner = human_density(vertices - config.occupancy_offset * normals)
            near = (sdf.abs() < config.contact_distance) & (inner > objective.threshold)
            contact = torch.nonzero(near).reshape(-1).cpu().numpy().astype(np.int64)
            max_pen = float((-sdf).clamp_min(0).max())
    losses = {k: float(v[-1]) for k, v in objective.last.items()}
    log.info("fit done: %d contact vertices, max penetration %.1f mm", len(contact),
             1000 * max_pen)
    return FitResult(key_pose=params.to_key_pose(), contact_vertices=contact, losses=losses,
                     max_penetration=max_pen, history=objective.history)
