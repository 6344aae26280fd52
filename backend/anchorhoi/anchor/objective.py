"""The fit's objective: targets fixed for the whole fit, and the weighted loss terms.

``Objective.losses`` returns every ``loss_<name>`` per hypothesis ``(B,)``; ``total`` weights
them with ``FitConfig.weights.lambda_<name>`` (threestudio style). The terms, on the phase's posed
body sample ``v`` (n area-weighted vertices, plus every vertex near the object):

- ``chamfer_body`` / ``chamfer_anchor``: mean Charbonnier distance from ``v`` to the anchor
  surface points and back (nearest neighbours refreshed every
  ``schedule.correspondence_interval`` steps); the rigid phase, which poses the torso alone,
  has only the first;
- ``occupancy``: the anchor's opacity just inside (should be 1) and just outside (0) the body;
- ``silhouette``: 2D chamfer between the projected ``v`` and the masks (``SilhouetteTargets``
  precomputes their distance transforms once);
- ``pose_prior``, ``hand_prior``: mean squared joint angle; ``joint_limits``: ``JOINT_LIMITS``;
- ``penetration``: depth of the posed vertices inside the object, summed, over n;
- ``contact`` (detail phase): |sdf| of the vertices found touching the object where the anchor
  is dense at the phase start, summed, over n; ``betas``: mean squared beta.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from ..body import matrix_to_axis_angle
from ..body.pose import PoseParams
from ..nerf.cameras import Cameras, project, world_to_camera
from ..randomness import multinomial, randperm
from .anchor_points import AnchorTargets, DensityFn
from .limb_geometry import limb_joints
from .losses import (
    chamfer,
    charbonnier,
    distance_transform,
    nearest,
    occupancy_agreement,
    penetration,
    silhouette_chamfer,
)
from .pose_prior import joint_limit_penalty, joint_limit_table, pose_prior
from .skinning import SubsetSkinning

if TYPE_CHECKING:
    from .fit import FitConfig, FitObject


@dataclass(frozen=True, eq=False)
class SilhouetteTargets:
    cameras: Cameras  # K cameras
    distance: torch.Tensor  # (K, H, W) pixels to the nearest mask pixel
    pixels: list[torch.Tensor]  # K × (P_k, 2) subsampled mask pixel coordinates (u, v)

    @staticmethod
    def build(masks: torch.Tensor, cameras: Cameras, num_samples: int,
              generator: torch.Generator) -> SilhouetteTargets:
        """From human opacities ``masks (K, H, W)`` (binarised at ½)."""
        if masks.ndim != 3 or masks.shape[0] != len(cameras) \
                or masks.shape[1:] != (cameras.height, cameras.width):
            raise ValueError(f"masks must be (K, H, W) = ({len(cameras)}, {cameras.height}, "
                             f"{cameras.width}) for the cameras, got {tuple(masks.shape)}")
        binary = masks > 0.5
        pixels = []
        for m in binary:
            vu = torch.nonzero(m).to(masks.dtype)
            if len(vu) > num_samples:
                vu = vu[randperm(len(vu), generator=generator, device=vu.device)[:num_samples]]
            pixels.append(vu.flip(-1))
        return SilhouetteTargets(cameras=cameras, distance=distance_transform(binary).to(masks),
                                 pixels=pixels)


@dataclass(eq=False)
class PhaseSample:
    skin: SubsetSkinning  # poses the area-weighted sample, then the vertices near the object
    num_samples: int  # the first ``num_samples`` posed vertices are the area-weighted sample
    contact: torch.Tensor  # (num_near,) bool: near vertices pulled onto the object (detail)
    anchor: torch.Tensor  # (P, 3) anchor surface points used in this phase
    matches: list[tuple[torch.Tensor, torch.Tensor | None]] | None = None  # cached, per hyp.
    contact_index: torch.Tensor = field(init=False)  # (C,) where ``contact`` holds, once

    def __post_init__(self) -> None:  # one host read per phase, none per step
        self.contact_index = torch.nonzero(self.contact).reshape(-1)


def _two_sided(match: tuple[torch.Tensor, torch.Tensor | None]
               ) -> tuple[torch.Tensor, torch.Tensor] | None:
    """A cached correspondence for ``chamfer``: both directions, or None (find them anew) if
    it holds one only (the rigid phase's; the phases do not share their samples)."""
    ab, ba = match
    return None if ba is None else (ab, ba)


class Objective:
    """Fixed targets of the fit and the loss terms; keeps a short history."""

    def __init__(self, *, config: FitConfig, skin: SubsetSkinning, anchor: AnchorTargets,
                 density: DensityFn, silhouettes: SilhouetteTargets | None,
                 obj: FitObject | None, generator: torch.Generator,
                 device: torch.device | str, dtype: torch.dtype):
        self.config, self.anchor, self.density, self.skin = config, anchor, density, skin
        self.surface, self.threshold = anchor.surface, anchor.threshold
        self.silhouettes, self.obj, self.generator = silhouettes, obj, generator
        self.limits = joint_limit_table(device=device, dtype=dtype)
        self.history: list[dict[str, float | str]] = []
        self.last: dict[str, float] = {}

    def start_phase(self, weights: torch.Tensor, *, phase: str,
                    params: PoseParams) -> PhaseSample:
        """Draw this phase's body vertex sample (by area) and anchor sample. In the pose and
        detail phases with an object, every vertex within ``contact.object_margin`` of the
        object (or inside it) is posed too, for the penetration term; in the detail phase those
        within ``contact.contact_distance`` where the anchor is dense just inside are contact
        candidates."""
        cfg = self.config
        if phase == "rigid":  # the torso alone: the limbs are not where the anchor has them yet
            weights = weights * ~torch.isin(self.skin.weights.argmax(1).to(weights.device),
                                            torch.tensor(limb_joints(), device=weights.device))
        n = min(cfg.sampling.num_body_samples // (2 if phase == "rigid" else 1),
                int((weights > 0).sum()))
        ids = multinomial(weights, n, replacement=False, generator=self.generator)
        contact = torch.zeros(0, dtype=torch.bool, device=self.skin.v_template.device)
        if phase in ("pose", "detail") and self.obj is not None:
            with torch.no_grad():
                v, _, normals = self.skin(params.rotations()[:1], params.trans[:1])
                sdf = self.obj.sdf_world(v[0])
                near = torch.nonzero(sdf < cfg.contact.object_margin).reshape(-1)
                if phase == "detail" and cfg.weights.lambda_contact > 0:
                    offset = cfg.scales.occupancy_offset
                    inner = self.density(v[0, near] - offset * normals[0, near])
                    contact = (sdf[near].abs() < cfg.contact.contact_distance) \
                        & (inner > self.threshold)
                else:
                    contact = torch.zeros(len(near), dtype=torch.bool, device=near.device)
            ids = torch.cat([ids, near.to(ids.device)])
        anchor = self.surface
        keep = cfg.sampling.num_anchor_samples
        if len(anchor) > keep:
            anchor = anchor[randperm(len(anchor), generator=self.generator,
                                     device=anchor.device)[:keep]]
        return PhaseSample(self.skin.subset(ids), n, contact, anchor)

    def losses(self, sample: PhaseSample, params: PoseParams, *, phase: str,
               step: int) -> dict[str, torch.Tensor]:
        """Every ``loss_<name>`` as ``(B,)`` for the batch of poses ``params`` at ``step`` of
        the phase (chamfer correspondences are refreshed every
        ``schedule.correspondence_interval``)."""
        cfg, scales = self.config, self.config.scales
        rot = params.rotations()
        betas = params.betas if cfg.fit_betas and phase == "detail" else None
        posed, _, normals = sample.skin(rot, params.trans, betas)
        v, nrm = posed[:, :sample.num_samples], normals[:, :sample.num_samples]
        b, n = v.shape[:2]
        out: dict[str, torch.Tensor] = {}
        matches = sample.matches
        refresh = step % max(cfg.schedule.correspondence_interval, 1) == 0
        if phase == "rigid":  # the torso alone cannot explain the anchor: one-sided
            if matches is None or refresh:
                matches = [(nearest(v[i], sample.anchor), None) for i in range(b)]
                sample.matches = matches
            out["chamfer_body"] = torch.stack([charbonnier(
                ((v[i] - sample.anchor[m]) ** 2).sum(-1), scales.chamfer_eta).mean()
                for i, (m, _) in enumerate(matches)])
        else:
            if matches is None or refresh:
                matches = [(nearest(v[i], sample.anchor), nearest(sample.anchor, v[i]))
                           for i in range(b)]
                sample.matches = matches
            pairs = [chamfer(v[i], sample.anchor, eta=scales.chamfer_eta,
                             matches=_two_sided(matches[i]))
                     for i in range(b)]
            out["chamfer_body"] = torch.stack([p[0] for p in pairs])
            out["chamfer_anchor"] = torch.stack([p[1] for p in pairs])
        if cfg.weights.lambda_occupancy > 0 and phase != "rigid":
            d = scales.occupancy_offset * nrm
            sigma = self.density(torch.cat([v - d, v + d], 1).reshape(-1, 3)).reshape(b, 2, n)
            out["occupancy"] = torch.stack([occupancy_agreement(
                sigma[i, 0], sigma[i, 1], step=scales.occupancy_step) for i in range(b)])
        sil = self.silhouettes
        if sil is not None and cfg.weights.lambda_silhouette > 0:
            out["silhouette"] = torch.stack([self._silhouette(sil, v[i]) for i in range(b)])
        body_aa = matrix_to_axis_angle(rot[:, 1:22])
        out["pose_prior"] = pose_prior(body_aa)
        out["joint_limits"] = joint_limit_penalty(body_aa, *self.limits)
        if phase == "detail":
            out["hand_prior"] = pose_prior(matrix_to_axis_angle(rot[:, 25:55]))
            if betas is not None:
                out["betas"] = (betas * betas).mean(-1)
        if self.obj is not None:
            sdf = self.obj.sdf_world(posed.reshape(-1, 3)).reshape(b, -1)
            out["penetration"] = penetration(sdf) * sdf.shape[1] / n
            if sample.contact_index.numel():
                out["contact"] = sdf[:, n + sample.contact_index].abs().sum(-1) / n
        return out

    def _silhouette(self, sil: SilhouetteTargets, v: torch.Tensor) -> torch.Tensor:
        k = len(sil.cameras)
        pts = v[None].expand(k, -1, -1)
        visible = world_to_camera(sil.cameras, pts)[..., 2] > 1e-3
        return silhouette_chamfer(project(sil.cameras, pts), visible, sil.distance, sil.pixels,
                                  eta=self.config.scales.silhouette_eta)

    def total(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(B,)`` Σ ``lambda_<name> · loss_<name>``."""
        return sum(getattr(self.config.weights, f"lambda_{k}") * v for k, v in losses.items())

    def record(self, phase: str, step: int, losses: dict[str, torch.Tensor]) -> None:
        """Keep the unweighted terms and the total of the best hypothesis."""
        total = self.total(losses).detach()
        best = int(total.argmin())
        self.last = {k: float(v.detach()[best]) for k, v in losses.items()}
        self.last["total"] = float(total[best])
        self.history.append({"phase": phase, "step": float(step), **self.last})

    def describe(self) -> str:
        return ", ".join(f"{k} {v:.4g}" for k, v in self.last.items())
