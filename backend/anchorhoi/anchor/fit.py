"""Stage B: fit SMPL-X (and optionally the object placement) to the anchor's human density.

Inputs: the anchor's ``human_density`` (points ``(N, 3)`` → σ ``(N,)``), optionally K silhouette
masks with their ``Cameras``, and the object (anything with ``sdf_world`` and ``parameters()``,
e.g. ``objects.field.ObjectField``). Steps:

1. The anchor's dense region is found once on a lattice over the fitting box; its boundary (the
   level-set crossings) is the target surface, and its lattice signed distance serves the
   cheap terms (``anchor_points``).
2. **Search** (``phases.search``): from each yaw hypothesis, re-centred on the anchor, the torso
   is aligned rigidly (root orientation + translation; one batch); the best hypotheses go on to
   rounds of limb search (``limb_search``: every arm and leg tried along many directions) and a
   short pose optimisation; the hypothesis with the lowest loss is kept.
3. **Pose phase**: the 21 body joints, root and translation.
4. **Detail phase**: + both hands (+ betas with ``fit_betas``; + the object placement with
   ``fit_object``) and a contact term pulling the vertices touching the object onto it.
   **Polish** (``phases.polish``): the limb search again from the fitted body, then the pose
   and detail phases again; kept if its total is lower, and repeated while it is.
5. The key pose, the contact vertices (within ``contact.contact_distance`` of the object where
   the anchor is dense just inside) and the deepest penetration, from the exact ``BodyModel``.

Each phase poses an area-weighted sample of body vertices (``SubsetSkinning``) plus, with an
object, every vertex near it. The loss is ``Σ lambda_<name> · loss_<name>`` (``objective``;
the weights in ``FitConfig.weights``):
two-sided chamfer to the anchor surface, occupancy agreement just inside/outside the body,
silhouettes, pose prior and joint limits, penetration into the object, contact. Rotations are
optimised in 6D (Adam). The object's parameters get no gradient unless ``fit_object=True``, in
which case they are moved in place.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from ..body import BodyModel
from ..body.pose import KeyPose, PoseParams, default_initial_pose
from ..config_checks import check_at_least, check_positive
from ..nerf.cameras import Cameras
from ..progress import PhaseSteps, StepCallback
from .anchor_points import DensityFn, anchor_targets
from .limb_search import LimbSearchConfig
from .objective import Objective, SilhouetteTargets
from .phases import limb_orders, optimise, polish, polish_steps, search
from .skinning import SubsetSkinning, vertex_areas, vertex_normals

log = logging.getLogger(__name__)


class FitObject(Protocol):
    """The object as the fit sees it: a signed distance in the world (negative inside) whose
    placement lives in ``parameters()``."""

    def sdf_world(self, x: torch.Tensor) -> torch.Tensor: ...  # (N, 3) → (N,)

    def parameters(self): ...


@dataclass(frozen=True, kw_only=True)
class FitSchedule:
    """How many steps each phase takes, how many hypotheses go on, and the step sizes."""

    rigid_iterations: int = 30
    """Adam steps of the rigid phase (root orientation + translation), all hypotheses at once."""
    keep_hypotheses: int = 2
    """How many of the yaw hypotheses (of the picked posture), the best after the rigid phase,
    go on to the search."""
    keep_half_turn: bool = True
    """The best heading's half turn also goes on to the search: the torso alone fits about as
    well facing back (a walking body's heading was 160° off, MPJPE 260 mm, its half turn
    third); the limbs — knees, feet, face — tell the two apart."""
    search_rounds: int = 2
    """Rounds of (limb search, ``search_iterations`` pose steps) on every yaw hypothesis before
    the best one is kept (the second limb search sees a better-aligned torso)."""
    search_iterations: int = 25
    """Adam steps of body pose per search round."""
    pose_iterations: int = 100
    """Adam steps of the pose phase (+ the 21 body joints) on the kept hypothesis."""
    detail_iterations: int = 40
    """Adam steps of the detail phase (+ hands, betas and object if enabled, contact term)."""
    polish_rounds: int = 4
    """At most this many rounds of (limb search in each order, pose phase, detail phase) from
    the best body so far, the lowest total kept; they stop after a round that lowers no total
    (``phases.polish``; 0: none). The search's limb search places the limbs about a torso only
    rigidly aligned: on bodies bent far over to reach low, the fit kept the pelvis 3-6 cm off
    and knees, feet or a hand 10-60 cm off (MPJPE 28-155 mm on two reach_low cases of the
    family, the shipped -0-02 and the unseen -17-01, seeds 0-2). From the fitted body, with
    the torso where the anchor has it, each round found a lower total: 17-31 mm after two
    rounds but for one 84 mm, 18 mm after four."""
    yaw_hypotheses_deg: tuple[float, ...] = (0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0,
                                             315.0)
    """Initial headings (about +Y, relative to the initial pose) tried in the rigid phase
    (every 45°: a person bent far over a diagonal heading was 40° from the nearest of four
    and fitted head down, 110-340 mm off; the rigid phase is one batch, ~0.1 s more)."""
    posture_hypotheses: tuple[tuple[float, float, float], ...] = (
        (0.0, 0.0, 0.0), (-1.3, 1.6, 0.0), (0.0, 0.0, 0.6), (-1.0, 1.2, 0.9),
        (-0.3, 0.3, 1.2))
    """Initial postures tried with every heading in the rigid phase: (hip flexion, knee
    flexion, trunk pitch forward) in radians added to the initial pose, both legs alike, the
    pitch spread evenly over the three spine joints; ``(0, 0, 0)`` is the initial pose as given
    (standing), the others a crouch/kneel, a forward lean, a crouch leaning forward and a
    bend far over (reaching low). The rigid total sees the torso alone, so the posture is
    picked by the whole body's total (the search phase's terms)."""
    correspondence_interval: int = 4
    """Chamfer nearest neighbours are recomputed every this many steps (reused in between)."""
    rotation_lr: float = 0.03
    """Adam learning rate of the 6D rotations."""
    translation_lr: float = 0.02
    """Adam learning rate of the translation (metres)."""
    betas_lr: float = 0.05
    """Adam learning rate of the betas."""
    object_lr: float = 0.005
    """Adam learning rate of the object's parameters."""
    final_lr_factor: float = 0.1
    """Each phase's learning rates decay (cosine) to this fraction of their start value."""
    warmup_steps: int = 10
    """The search, pose and detail phases ramp their learning rates up linearly over this many
    first steps (at most half of a phase's steps). Each phase starts a fresh Adam, whose first
    step moves every parameter by the full learning rate whatever its gradient (the step is the
    gradient's sign until the moment estimates settle): every joint and the root turning
    0.03 rad at once threw a fitted lean's arms 5-10 cm off the anchor (chamfer 8 → 60 mm), and
    the detail phase's 40 steps settled them in another basin."""
    warmup_phases: tuple[str, ...] = ("search", "pose", "detail")
    """The phases that warm up (the rigid phase starts far from the anchor and takes few
    steps)."""
    sync_every: int = 20
    """Read the losses to the host (the fit's history) every this many steps of a phase and
    after its last; between reads the GPU is never waited for."""

    def __post_init__(self) -> None:
        check_at_least(self, 0, ("rigid_iterations", "search_iterations", "pose_iterations",
                                 "detail_iterations", "warmup_steps", "polish_rounds"))
        check_at_least(self, 1, ("keep_hypotheses", "search_rounds", "correspondence_interval",
                                 "sync_every"))
        if not self.posture_hypotheses or any(len(p) != 3 for p in self.posture_hypotheses):
            raise ValueError("FitSchedule.posture_hypotheses wants one or more (hip, knee, "
                             f"trunk) triples in radians, got {self.posture_hypotheses!r}")
        unknown = set(self.warmup_phases) - {"rigid", "search", "pose", "detail"}
        if unknown:
            raise ValueError("FitSchedule.warmup_phases names phases rigid, search, pose or "
                             f"detail, got {sorted(unknown)}")


@dataclass(frozen=True, kw_only=True)
class AnchorLattice:
    """The cube the anchor's density is evaluated on once, and where it counts as dense."""

    center: tuple[float, float, float] = (0.0, -0.3, 0.0)
    """Centre of the cube (world, metres)."""
    half_size: float = 1.2
    """Half the side of the cube (metres)."""
    resolution: int = 96
    """Lattice points per side of the cube (96: 2.5 cm spacing for the default box)."""
    density_threshold: float | None = None
    """σ (per metre) above which the anchor counts as dense; its level set is the target
    surface, and contact vertices must be dense just inside. None: half the anchor's typical
    inside density (the 95th percentile of the lattice densities above 1/m) — a NeRF's density
    scale is arbitrary, its surface is where the density rises."""

    def __post_init__(self) -> None:
        check_at_least(self, 8, ("resolution",))
        check_positive(self, ("half_size",))


@dataclass(frozen=True, kw_only=True)
class FitSampling:
    """How many points each step sees."""

    num_body_samples: int = 1000
    """Body vertices posed per step (sampled by area once per phase, without replacement)."""
    num_anchor_samples: int = 2000
    """Anchor surface points used per phase (subsampled when there are more)."""
    num_mask_samples: int = 1500
    """Mask pixels per view in the mask → body chamfer."""

    def __post_init__(self) -> None:
        check_at_least(self, 16, ("num_body_samples", "num_anchor_samples"))
        check_at_least(self, 1, ("num_mask_samples",))


@dataclass(frozen=True, kw_only=True)
class FitContactConfig:
    """The body near the object: which vertices the penetration term poses, which are contact."""

    object_margin: float = 0.05
    """Body vertices closer than this to the object (or inside it) at the start of the pose and
    detail phases are all posed for the penetration term (metres)."""
    contact_distance: float = 0.02
    """A body vertex within this distance of the object surface (|sdf|) where the anchor is
    dense is a contact vertex (metres)."""


@dataclass(frozen=True, kw_only=True)
class FitLossScales:
    """The lengths the loss terms measure with."""

    chamfer_eta: float = 0.01
    """Charbonnier scale of the 3D chamfer (metres): quadratic below, linear above."""
    silhouette_eta: float = 0.005
    """Charbonnier scale of the silhouette chamfer (fraction of the image height)."""
    occupancy_offset: float = 0.015
    """How far inside/outside the body surface (along the normal) occupancy is checked (m)."""
    occupancy_step: float = 0.05
    """Segment length δ turning density into opacity ``1 − exp(−σδ)`` (metres)."""

    def __post_init__(self) -> None:
        check_positive(self, ("chamfer_eta", "silhouette_eta"))


@dataclass(frozen=True, kw_only=True)
class FitWeights:
    """The weight ``lambda_<name>`` of every loss term ``loss_<name>`` (``objective.py``)."""

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
    """Weight of ``loss_penetration``: depth of the posed body points inside the object (the
    area-weighted sample and every vertex near the object), summed and divided by the sample
    size (metres)."""
    lambda_contact: float = 1.0
    """Weight of ``loss_contact``: |sdf| of the contact candidates (detail phase), summed and
    divided by the sample size like the penetration — per vertex as strong as the chamfer's
    pull, a tenth of the penetration's push."""
    lambda_betas: float = 1e-3
    """Weight of ``loss_betas`` (mean squared beta) when ``fit_betas``."""


@dataclass(frozen=True, kw_only=True)
class FitConfig:
    """Stage B's fit: what is fitted, and one group per concern."""

    fit_betas: bool = False
    """Also fit the shape coefficients in the detail phase."""
    fit_object: bool = False
    """Also move the object's placement (its ``parameters()``) in the pose and detail phases.
    The human density says nothing about the object, so only the penetration and contact terms
    move it: it gives way to the body and settles against the contact vertices."""
    schedule: FitSchedule = field(default_factory=FitSchedule)
    """Steps per phase, hypotheses, learning rates."""
    limb_search: LimbSearchConfig | None = field(default_factory=LimbSearchConfig)
    """The search placing each arm and leg at the start of every search round (None: off)."""
    lattice: AnchorLattice = field(default_factory=AnchorLattice)
    """Where the anchor's density is read and what counts as dense."""
    sampling: FitSampling = field(default_factory=FitSampling)
    """Body, anchor and mask points per step."""
    contact: FitContactConfig = field(default_factory=FitContactConfig)
    """The body near the object."""
    scales: FitLossScales = field(default_factory=FitLossScales)
    """The loss terms' length scales."""
    weights: FitWeights = field(default_factory=FitWeights)
    """The loss weights ``lambda_<name>``."""


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
             generator: torch.Generator,
             on_step: StepCallback | None = None) -> FitResult:
    """Fit ``body`` to the anchor; see the module docstring. ``masks (K, H, W)`` are human
    opacities in [0, 1] seen by ``cameras`` (K cameras); ``init`` defaults to
    ``default_initial_pose()``; ``generator`` seeds all sampling. ``on_step(step, total,
    losses)`` after every optimiser step, one count over the phases (rigid, search rounds,
    pose, detail) and a last step for the exact evaluation (with the final losses): progress,
    and a cancel may raise from it."""
    like = dict(device=body.layer.v_template.device, dtype=body.layer.v_template.dtype)
    if (masks is None) != (cameras is None):
        raise ValueError("fit_body needs masks and cameras together (or neither)")
    silhouettes = None if masks is None or cameras is None else SilhouetteTargets.build(
        masks.to(**like), cameras.to(**like), config.sampling.num_mask_samples, generator)
    init = init or default_initial_pose(body.config.num_betas)
    anchor = anchor_targets(
        human_density, center=config.lattice.center, half_size=config.lattice.half_size,
        resolution=config.lattice.resolution, threshold=config.lattice.density_threshold,
        **like)
    if len(anchor.surface) < 100:
        raise ValueError(
            f"the anchor has almost no dense region (σ > {anchor.threshold:.3g}) in the "
            f"fitting box (centre {config.lattice.center}, half-size {config.lattice.half_size} "
            "m); lower lattice.density_threshold, move the box, or train the anchor NeRF longer")
    rest = body.layer.v_template.detach().cpu().numpy().astype(np.float64)
    weights = torch.as_tensor(vertex_areas(rest, np.asarray(body.faces, dtype=np.int64)),
                              dtype=torch.float64)
    object_params = [] if obj is None else [p for p in obj.parameters() if p.requires_grad]
    for p in object_params:  # the caller's object gets no gradient unless it is being fitted
        p.requires_grad_(config.fit_object)
    try:
        objective = Objective(config=config, skin=SubsetSkinning.of_body(body), anchor=anchor,
                              density=human_density, silhouettes=silhouettes, obj=obj,
                              generator=generator, **like)
        steps = PhaseSteps(on_step, fit_steps(config))
        params = search(init.to_params(**like), objective, anchor, weights, config,
                        generator, steps=steps)
        fitted = object_params if config.fit_object else []
        params, _ = optimise(params, objective, weights, config, phase="pose",
                             iterations=config.schedule.pose_iterations, object_params=fitted,
                             on_step=steps.phase(config.schedule.pose_iterations))
        params, total = optimise(params, objective, weights, config, phase="detail",
                                 iterations=config.schedule.detail_iterations,
                                 object_params=fitted,
                                 on_step=steps.phase(config.schedule.detail_iterations))
        params = polish(params, total, objective, anchor, weights, config, generator, steps,
                        fitted)
        result = _finish(body, params, objective, human_density, obj, config)
        last = steps.phase(1)
        if last is not None:
            last(1, 1, result.losses)
        return result
    finally:
        for p in object_params:
            p.grad = None
            p.requires_grad_(True)


def fit_steps(config: FitConfig) -> int:
    """Steps ``fit_body`` reports: every Adam step of every phase, and the exact evaluation."""
    s = config.schedule
    return (s.rigid_iterations
            + len(limb_orders(config)) * max(s.search_rounds, 1) * s.search_iterations
            + s.pose_iterations + s.detail_iterations + polish_steps(config) + 1)


def _finish(body: BodyModel, params: PoseParams, objective: Objective,
            human_density: DensityFn, obj: FitObject | None, config: FitConfig) -> FitResult:
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
            inner = human_density(vertices - config.scales.occupancy_offset * normals)
            near = (sdf.abs() < config.contact.contact_distance) & (inner > objective.threshold)
            contact = torch.nonzero(near).reshape(-1).cpu().numpy().astype(np.int64)
            max_pen = float((-sdf).clamp_min(0).max())
    losses = dict(objective.last)
    log.info("fit done: %d contact vertices, max penetration %.1f mm", len(contact),
             1000 * max_pen)
    return FitResult(key_pose=params.to_key_pose(), contact_vertices=contact, losses=losses,
                     max_penetration=max_pen, history=objective.history)
