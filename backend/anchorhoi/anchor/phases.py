"""The fit's phases: the search over hypotheses, and the Adam loop every phase runs.

``search``: each hypothesis (every posture of ``schedule.posture_hypotheses`` — standing,
crouched, leaning, bent over — at every heading of ``schedule.yaw_hypotheses_deg``) is
re-centred on the anchor, the torso aligned rigidly (all hypotheses as one batch); the
posture whose hypothesis scores the lowest whole-body total (the search phase's terms, no
step) is kept, and its headings with the best rigid totals, ``schedule.keep_hypotheses`` of
them, and the best one's half turn (``schedule.keep_half_turn``), go on to
``schedule.search_rounds`` rounds of (limb search, a short pose optimisation), once per limb
order of ``limb_search.orders``; the hypothesis and order with the lowest total loss are
kept.
``polish``: from the fitted body, the limb search once more in each order, then the pose and
detail phases; the lowest total is kept, and again from it while a round lowers it.
``optimise``: Adam on the leaves a phase frees — ``rigid``: root orientation and translation;
``search`` and ``pose``: + the body joints; ``detail``: + hands (+ betas, + the object) — with
the learning rates decaying (cosine) to ``schedule.final_lr_factor`` of their start, after a
linear warm-up over ``schedule.warmup_steps`` in the phases that start from a fitted body
(``lr_factor``).
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING, Any

import torch

from ..body import matrix_to_rot6d, rot6d_to_matrix
from ..body.pose import PoseParams
from ..portable.skeleton import JOINT_NAMES
from ..progress import PhaseSteps, StepCallback
from .anchor_points import AnchorTargets
from .limb_search import search_limbs
from .objective import Objective

if TYPE_CHECKING:
    from .fit import FitConfig, FitSchedule

log = logging.getLogger(__name__)


def search(params: PoseParams, objective: Objective, anchor: AnchorTargets,
           weights: torch.Tensor, config: FitConfig, generator: torch.Generator,
           steps: PhaseSteps) -> PoseParams:
    """The search from the initial pose ``params`` (a batch of one; ``weights (V,)`` the
    vertices' areas); returns the kept hypothesis (a batch of one). Each Adam phase reports
    through ``steps`` (the fit's one continuous count)."""
    schedule = config.schedule
    batch, labels = _hypotheses(params, schedule.yaw_hypotheses_deg or (0.0,),
                                schedule.posture_hypotheses)
    # re-centre each hypothesis: the body's area-weighted centroid onto the anchor surface's
    with torch.no_grad():
        v, _, _ = objective.skin(batch.rotations(), batch.trans)
        w = weights.to(v)
        centroid = (w[:, None] * v).sum(1) / w.sum()
        batch = PoseParams(batch.root, batch.body, batch.hand,
                           batch.trans + objective.surface.mean(0) - centroid, batch.betas)
    batch, rigid = optimise(batch, objective, weights, config, phase="rigid",
                            iterations=schedule.rigid_iterations, object_params=[],
                            on_step=steps.phase(schedule.rigid_iterations))
    order = rigid.argsort()
    postures = len(schedule.posture_hypotheses)
    if postures > 1:  # the rigid total sees the torso alone: the whole body picks the posture
        _, whole = optimise(batch, objective, weights, config, phase="search", iterations=0,
                            object_params=[])
        posture = int(torch.argmin(whole)) // (len(labels) // postures)
        order = order[order // (len(labels) // postures) == posture]
        log.info("posture: whole-body totals %s", [f"{x:.4f}" for x in whole.tolist()])
    keep = order[:max(1, schedule.keep_hypotheses)].tolist()
    if schedule.keep_half_turn:
        keep += [i for i in _half_turn(keep[0], schedule.yaw_hypotheses_deg or (0.0,))
                 if i not in keep]
    log.info("rigid phase: hypotheses %s → totals %s; keeping %s", labels,
             [f"{x:.4f}" for x in rigid.tolist()], [labels[i] for i in keep])
    labels = [labels[i] for i in keep]
    batch = PoseParams(*(x[keep] for x in (batch.root, batch.body, batch.hand, batch.trans,
                                           batch.betas)))
    runs, run_totals = [], []
    for limb_order in limb_orders(config):
        searched, totals = _search_rounds(batch, objective, anchor, weights, config,
                                          limb_order, generator, steps)
        runs.append(searched)
        run_totals.append(totals)
        log.info("search (limbs %s): hypotheses %s → totals %s",
                 "-" if limb_order is None else ", ".join(limb_order), labels,
                 [f"{x:.4f}" for x in totals.tolist()])
    run, best = divmod(int(torch.argmin(torch.stack(run_totals))), len(labels))
    log.info("search: keeping %s of run %d (total %.4f)", labels[best], run + 1,
             float(run_totals[run][best]))
    return runs[run].select(best)


def polish(params: PoseParams, total: torch.Tensor, objective: Objective,
           anchor: AnchorTargets, weights: torch.Tensor, config: FitConfig,
           generator: torch.Generator, steps: PhaseSteps,
           object_params: list[torch.Tensor]) -> PoseParams:
    """Up to ``schedule.polish_rounds`` rounds of: from the best body so far (at first the
    fitted body ``params``, a batch of one, with its detail-phase total ``total (1,)``), the
    limb search in each of ``limb_search.orders`` followed by the pose and detail phases; the
    body with the lowest total is kept (with the object placement it was fitted with, when
    ``object_params`` are fitted). The rounds stop after one that lowers no total (its steps are
    counted done). The search's limb search sees the torso where the rigid phase left it; from
    the fitted body, with the pelvis and trunk where the anchor has them, it finds limbs the
    gradient cannot reach."""
    schedule = config.schedule
    best, best_total, best_last = params, float(total[0]), dict(objective.last)
    kept = [p.detach().clone() for p in object_params]
    rounds = schedule.polish_rounds if config.limb_search is not None else 0
    per_round = polish_steps(config) // max(rounds, 1)
    for round_ in range(rounds):
        start, improved = best, False
        for order in limb_orders(config):
            assert order is not None  # rounds > 0: there is a limb search
            with torch.no_grad():
                for p, k in zip(object_params, kept, strict=True):
                    p.copy_(k)
            cand = _limb_search(start, objective, anchor, weights, config, order, generator)
            for phase, n in (("pose", schedule.pose_iterations),
                             ("detail", schedule.detail_iterations)):
                cand, cand_total = optimise(cand, objective, weights, config, phase=phase,
                                            iterations=n, object_params=object_params,
                                            on_step=steps.phase(n))
            log.info("polish round %d (limbs %s): total %.4f (kept %.4f)", round_ + 1,
                     ", ".join(order), float(cand_total[0]), best_total)
            if float(cand_total[0]) < best_total:
                best, best_total, best_last = cand, float(cand_total[0]), dict(objective.last)
                kept = [p.detach().clone() for p in object_params]
                improved = True
        if not improved:
            steps.phase((rounds - round_ - 1) * per_round)  # the rounds not run
            break
    with torch.no_grad():
        for p, k in zip(object_params, kept, strict=True):
            p.copy_(k)
    objective.last = best_last  # the kept body's losses are the fit's
    return best


def polish_steps(config: FitConfig) -> int:
    """Adam steps ``polish`` takes when it runs all its rounds (it may stop sooner)."""
    s = config.schedule
    rounds = s.polish_rounds if config.limb_search is not None else 0
    return rounds * len(limb_orders(config)) * (s.pose_iterations + s.detail_iterations)


def limb_orders(config: FitConfig) -> tuple[tuple[str, ...] | None, ...]:
    """The limb orders the search rounds run once each in (one run, no order, without the
    limb search)."""
    return (None,) if config.limb_search is None else config.limb_search.orders


def _search_rounds(batch: PoseParams, objective: Objective, anchor: AnchorTargets,
                   weights: torch.Tensor, config: FitConfig, order: tuple[str, ...] | None,
                   generator: torch.Generator, steps: PhaseSteps
                   ) -> tuple[PoseParams, torch.Tensor]:
    """``schedule.search_rounds`` rounds of (limb search in ``order``, short pose
    optimisation) on every hypothesis of ``batch``; returns the searched batch and its totals
    ``(B,)``."""
    schedule = config.schedule
    totals = torch.zeros(batch.root.shape[0])
    for round_ in range(max(schedule.search_rounds, 1)):
        if config.limb_search is not None and order is not None:
            start = time.perf_counter()
            batch = _limb_search(batch, objective, anchor, weights, config, order, generator)
            log.info("limb search round %d: %.1f s", round_ + 1, time.perf_counter() - start)
        batch, totals = optimise(batch, objective, weights, config, phase="search",
                                 iterations=schedule.search_iterations, object_params=[],
                                 on_step=steps.phase(schedule.search_iterations))
    return batch, totals


def _limb_search(batch: PoseParams, objective: Objective, anchor: AnchorTargets,
                 weights: torch.Tensor, config: FitConfig, order: tuple[str, ...],
                 generator: torch.Generator) -> PoseParams:
    """``limb_search.search_limbs`` on every hypothesis of ``batch``, limbs in ``order``."""
    assert config.limb_search is not None
    return search_limbs(objective.skin, batch, anchor, vertex_weights=weights.to(batch.root),
                        limits=objective.limits,
                        lambda_joint_limits=config.weights.lambda_joint_limits,
                        eta=config.scales.chamfer_eta, offset=config.scales.occupancy_offset,
                        config=config.limb_search, order=order, generator=generator)


def _hypotheses(params: PoseParams, yaws_deg: tuple[float, ...],
                postures: tuple[tuple[float, float, float], ...]
                ) -> tuple[PoseParams, list[str]]:
    """Every (posture, heading) pair from the batch of one ``params``: the posture's flexions
    (radians about each joint's x axis: hips and knees both sides, the trunk pitch split over
    the three spine joints) applied on top of the body pose, then the heading about +Y applied
    to the root; with a label per hypothesis for the log."""
    dtype, device = params.root.dtype, params.root.device
    body = rot6d_to_matrix(params.body[0])  # (21, 3, 3)
    bodies, roots, labels = [], [], []
    for hip, knee, trunk in postures:
        angles = torch.zeros(len(body), dtype=dtype, device=device)
        angles[[_joint("left_hip"), _joint("right_hip")]] = hip
        angles[[_joint("left_knee"), _joint("right_knee")]] = knee
        angles[[_joint("spine1"), _joint("spine2"), _joint("spine3")]] = trunk / 3
        posed = body @ _about(angles, axis=0)
        for yaw in yaws_deg:
            bodies.append(matrix_to_rot6d(posed))
            heading = _about(torch.tensor([math.radians(yaw)], dtype=dtype, device=device),
                             axis=1)[0]
            roots.append(matrix_to_rot6d(heading @ rot6d_to_matrix(params.root)[0]))
            labels.append(f"{yaw:.0f}°/({hip:+.1f},{knee:+.1f},{trunk:+.1f})")
    n = len(labels)
    batch = params.expand(n)
    return PoseParams(torch.stack(roots), torch.stack(bodies), batch.hand, batch.trans,
                      batch.betas), labels


def _half_turn(index: int, yaws_deg: tuple[float, ...]) -> list[int]:
    """The hypothesis of the same posture as hypothesis ``index`` turned by a half turn, if
    ``yaws_deg`` holds its heading (hypotheses are posture-major, as ``_hypotheses`` makes
    them)."""
    posture, j = divmod(index, len(yaws_deg))
    turned = (yaws_deg[j] + 180.0) % 360.0
    return [posture * len(yaws_deg) + k for k, yaw in enumerate(yaws_deg)
            if abs((yaw % 360.0) - turned) < 1e-6][:1]


def _joint(name: str) -> int:
    """Index of body joint ``name`` in ``PoseParams.body`` (the root is not in it)."""
    return JOINT_NAMES.index(name) - 1


def _about(angles: torch.Tensor, *, axis: int) -> torch.Tensor:
    """Rotation matrices ``(N, 3, 3)`` of ``angles (N,)`` radians about axis 0 (x) or 1 (y)."""
    c, s = torch.cos(angles), torch.sin(angles)
    zero, one = torch.zeros_like(c), torch.ones_like(c)
    if axis == 0:
        m = [one, zero, zero, zero, c, -s, zero, s, c]
    else:
        m = [c, zero, s, zero, one, zero, -s, zero, c]
    return torch.stack(m, -1).reshape(-1, 3, 3)


def lr_factor(schedule: FitSchedule, *, phase: str, step: int, iterations: int) -> float:
    """The fraction of its start learning rate a phase steps with at ``step`` (from 0) of
    ``iterations``: a cosine decay to ``schedule.final_lr_factor``, ramped up linearly over the
    first ``schedule.warmup_steps`` (at most half the phase) in ``schedule.warmup_phases``.
    Each phase starts a fresh Adam, and Adam's first steps are the gradient's sign times the
    learning rate, however small the gradient: at full rate, every joint of a fitted body turns
    at once."""
    frac = 0.5 * (1 + math.cos(math.pi * step / max(iterations, 1)))
    warmup = min(schedule.warmup_steps, iterations // 2) \
        if phase in schedule.warmup_phases else 0
    ramp = min(1.0, (step + 1) / (warmup + 1))
    return ramp * (schedule.final_lr_factor + (1 - schedule.final_lr_factor) * frac)


def optimise(params: PoseParams, objective: Objective, weights: torch.Tensor,
             config: FitConfig, *, phase: str, iterations: int,
             object_params: list[torch.Tensor], on_step: StepCallback | None = None
             ) -> tuple[PoseParams, torch.Tensor]:
    """``iterations`` Adam steps on the leaves ``phase`` frees; returns the new params and the
    per-hypothesis totals ``(B,)`` of a last, loss-only evaluation. ``on_step(step, iterations,
    {})`` after every step (progress; it may raise to cancel)."""
    leaves = PoseParams(*(x.detach().clone() for x in
                          (params.root, params.body, params.hand, params.trans, params.betas)))
    schedule = config.schedule
    # Adam's parameter groups
    groups: list[dict[str, Any]] = [dict(params=[leaves.root], lr=schedule.rotation_lr),
                                    dict(params=[leaves.trans], lr=schedule.translation_lr)]
    if phase != "rigid":
        groups.append(dict(params=[leaves.body], lr=schedule.rotation_lr))
    if phase == "detail":
        groups.append(dict(params=[leaves.hand], lr=schedule.rotation_lr))
        if config.fit_betas:
            groups.append(dict(params=[leaves.betas], lr=schedule.betas_lr))
    if object_params:
        groups.append(dict(params=object_params, lr=schedule.object_lr))
    for g in groups:
        for p in g["params"]:
            p.requires_grad_(True)
    start = time.perf_counter()
    optimiser = torch.optim.Adam(groups)
    base_lrs: list[float] = [g["lr"] for g in groups]
    sample = objective.start_phase(weights, phase=phase, params=leaves)
    for step in range(max(iterations, 0)):
        factor = lr_factor(schedule, phase=phase, step=step, iterations=iterations)
        for g, lr in zip(optimiser.param_groups, base_lrs):
            g["lr"] = lr * factor
        optimiser.zero_grad(set_to_none=True)
        losses = objective.losses(sample, leaves, phase=phase, step=step)
        objective.total(losses).sum().backward()
        optimiser.step()
        if step % schedule.sync_every == 0:
            objective.record(phase, step, losses)
        if on_step is not None:
            on_step(step + 1, iterations, {})
    for x in (leaves.root, leaves.body, leaves.hand, leaves.trans, leaves.betas):
        x.requires_grad_(False)
    with torch.no_grad():
        losses = objective.losses(sample, leaves, phase=phase, step=0)
    objective.record(phase, max(iterations, 0), losses)
    log.info("%s phase (%d steps, %.1f s): %s", phase, iterations, time.perf_counter() - start,
             objective.describe())
    return leaves, objective.total(losses)
