"""The plausibility report of a motion: figures that need no ground truth, each with a pass /
warn verdict, written into ``result.json`` as ``quality.plausibility`` (see
``docs/result-format.md``). The definitions follow the ones peers use (CHOIS, GMD), so the
figures compare:

* **penetration** — the deepest body vertex inside the object or under the floor (mm), and the
  share of frames with a body vertex more than 1 cm inside either;
* **foot skating** — the share of frame pairs in which a foot within 5 cm of the floor moves
  faster than 0.5 m/s, and the mean horizontal slide of a planted foot (its sole within 2 cm
  of the floor in both frames), mm per planted frame;
* **floating** — over the frames that should be supported (a foot planted, as the motion's own
  foot contacts say), the largest height of the lowest foot above its nearest support (the
  floor or the object) (mm);
* **hand contact** — the share of held frames with a hand within 5 cm of the object's surface;
* **object support** — over the frames in which the object rests (not held), the largest gap
  between it and its nearest support (the floor or the body) (mm);
* **keypoints** (given the video's keypoints and camera) — the share of frames the motion
  leaves: the median distance of the frame's seen body keypoints to the body's projected
  joints beyond ``off_keypoints`` of the body's size in the image (the diagonal of the seen
  keypoints' box). Not a physical figure: where the others pass by pushing the body away from
  what the video shows (out of an object, say), this one warns.

A foot is the body vertices its ankle and ball joints move most; a hand, those of its wrist
and fingers. Distances to the object are exact (``objects.inside.TriangleLeaves``), metres in,
numpy float64.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..nerf.cameras import project
from ..objects.inside import TriangleLeaves
from .contact import LEFT_HAND, RIGHT_HAND

if TYPE_CHECKING:  # annotations only: optimize imports metrics, which imports this module
    from ..body import BodyModel
    from ..nerf.cameras import Cameras
    from ..objects.mesh_io import ObjectMesh
    from .optimize import MotionResult

LEFT_FOOT, RIGHT_FOOT = (7, 10), (8, 11)
"""Ankle and ball joints of each foot (SMPL-X)."""


@dataclass(frozen=True, kw_only=True)
class PlausibilityConfig:
    """Definitions and pass limits of the report (metres, seconds)."""

    inside_m: float = 0.01
    """A frame counts as penetrating when a body vertex is this far inside the object or the
    floor."""
    near_floor_m: float = 0.05
    """A foot this close to the floor counts for the skating share."""
    skate_speed_mps: float = 0.5
    """A foot near the floor faster than this skates."""
    planted_m: float = 0.02
    """A foot whose sole is this close to the floor in two frames is planted between them."""
    hand_reach_m: float = 0.05
    """A hand this close to the object's surface touches it."""
    max_penetration_mm: float = 10.0
    """Pass limit of the deepest penetration."""
    max_penetration_share: float = 0.05
    """Pass limit of the share of penetrating frames."""
    max_skating_share: float = 0.1
    """Pass limit of the skating share."""
    max_skate_mm: float = 5.0
    """Pass limit of the slide per planted frame."""
    max_floating_mm: float = 20.0
    """Pass limit of the floating height."""
    min_hand_contact_share: float = 0.9
    """Pass limit (at least) of the share of held frames with a hand at the object."""
    max_support_gap_mm: float = 20.0
    """Pass limit of the resting object's gap to its support."""
    off_keypoints: float = 0.1
    """A frame leaves its keypoints when their median distance to the projected joints is
    beyond this fraction of the body's size in the image (the keypoints' noise is a few
    per cent of it)."""
    min_keypoints: int = 5
    """Frames with fewer seen body keypoints are not judged."""
    max_off_keypoints_share: float = 0.05
    """Pass limit of the share of frames that leave their keypoints."""


@dataclass(frozen=True)
class Figure:
    """One figure of the report."""

    value: float | None
    """The figure (None: nothing to measure, e.g. no held frame)."""
    unit: str
    """``mm``, ``share`` (0–1)."""
    limit: float
    """The pass limit."""
    higher_is_better: bool = False
    """True: passes at or above the limit; else at or below."""

    @property
    def status(self) -> str:
        """``pass``, ``warn`` or ``n/a``."""
        if self.value is None:
            return "n/a"
        ok = self.value >= self.limit if self.higher_is_better else self.value <= self.limit
        return "pass" if ok else "warn"

    def as_json(self) -> dict[str, Any]:
        """The figure as written into ``result.json``."""
        return {"value": None if self.value is None else round(float(self.value), 4),
                "unit": self.unit, "limit": self.limit, "status": self.status,
                "better": "higher" if self.higher_is_better else "lower"}


@dataclass(frozen=True)
class PlausibilityReport:
    """The figures by name (see the module docstring)."""

    figures: dict[str, Figure] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """``quality.plausibility`` of ``result.json``."""
        return {name: f.as_json() for name, f in self.figures.items()}

    def warnings(self) -> list[str]:
        """Names of the figures that warn."""
        return [n for n, f in self.figures.items() if f.status == "warn"]


def part_vertex_ids(lbs_weights: np.ndarray, joints: tuple[int, ...]) -> np.ndarray:
    """Ids of the vertices whose strongest skinning weight is one of ``joints``."""
    return np.flatnonzero(np.isin(np.asarray(lbs_weights).argmax(1), joints))


def foot_skating(feet: list[np.ndarray], floor_y: float, fps: float,
                 config: PlausibilityConfig = PlausibilityConfig()) -> tuple[float, float]:
    """(share of frame pairs in which a foot near the floor skates, mean slide per planted
    frame pair in metres) for ``feet``: per foot ``(T, Vf, 3)`` world vertices."""
    skating = np.zeros(max(len(feet[0]) - 1, 0), bool)
    slides = []
    for v in feet:
        sole = v[..., 1].min(1) - floor_y  # (T,)
        centre = v[..., [0, 2]].mean(1)
        step = np.linalg.norm(centre[1:] - centre[:-1], axis=-1)
        near = (sole[1:] < config.near_floor_m) & (sole[:-1] < config.near_floor_m)
        skating |= near & (step * fps > config.skate_speed_mps)
        planted = (sole[1:] < config.planted_m) & (sole[:-1] < config.planted_m)
        slides.append(step[planted])
    slide = np.concatenate(slides)
    return (float(skating.mean()) if len(skating) else 0.0,
            float(slide.mean()) if len(slide) else 0.0)


def object_distances(vertices: np.ndarray, obj_vertices: np.ndarray, obj_faces: np.ndarray,
                     obj_rot: np.ndarray, obj_trans: np.ndarray, *,
                     groups: dict[str, np.ndarray] | None = None, reach: float = 0.0
                     ) -> dict[str, np.ndarray]:
    """Per frame ``(T,)``: ``inside`` the deepest body vertex inside the object (0 if none),
    ``body`` the nearest body vertex outside it to its surface, and per named vertex group of
    ``groups`` the group's nearest vertex to the surface (unsigned); ``inf`` where no vertex
    comes within ``reach`` of the object's bounding box. ``vertices (T, V, 3)`` world; the
    mesh in its own frame placed per frame by ``obj_rot (T, 3, 3)``, ``obj_trans (T, 3)``;
    exact signed distances of the vertices near the box."""
    verts = np.asarray(vertices, np.float64)
    t = len(verts)
    leaves = TriangleLeaves(np.asarray(obj_vertices, np.float64), np.asarray(obj_faces),
                            dtype=torch.float64)
    lo, hi = np.min(obj_vertices, 0), np.max(obj_vertices, 0)
    out = {"inside": np.zeros(t), "body": np.full(t, np.inf)}
    for name in groups or {}:
        out[name] = np.full(t, np.inf)
    for f in range(t):
        local = (verts[f] - obj_trans[f]) @ obj_rot[f]
        near = np.flatnonzero(np.all((local > lo - reach) & (local < hi + reach), axis=1))
        if not len(near):
            continue
        sd = leaves.signed_distance(torch.as_tensor(local[near])).numpy()
        out["inside"][f] = max(0.0, float(-sd.min()))
        if (sd >= 0).any():
            out["body"][f] = float(sd[sd >= 0].min())
        dist = np.full(len(verts[f]), np.inf)
        dist[near] = np.abs(sd)
        for name, ids in (groups or {}).items():
            out[name][f] = float(dist[ids].min()) if len(ids) else np.inf
    return out


def keypoint_misfit(joints: np.ndarray, keypoints: np.ndarray, camera: Cameras,
                    body_joints: int = 22, min_seen: int = 5) -> np.ndarray:
    """``(T,)`` per frame the median pixel distance of the seen body keypoints ``keypoints
    (T, 55, 3)`` (u, v, confidence; the first ``body_joints``) to the projected ``joints
    (T, 55, 3)`` (world), over the diagonal of the seen keypoints' box (the body's size in the
    image); NaN where fewer than ``min_seen`` are seen."""
    points = torch.as_tensor(np.asarray(joints, np.float64)[:, :body_joints])
    uv = project(camera.to(dtype=torch.float64, device="cpu"),
                 points.reshape(1, -1, 3))[0].reshape(*points.shape[:2], 2).numpy()
    kp = np.asarray(keypoints, np.float64)[:, :body_joints]
    out = np.full(len(kp), np.nan)
    for f in range(len(kp)):
        seen = kp[f, :, 2] > 0
        if seen.sum() < min_seen:
            continue
        size = float(np.linalg.norm(kp[f, seen, :2].max(0) - kp[f, seen, :2].min(0)))
        err = np.linalg.norm(uv[f, seen] - kp[f, seen, :2], axis=-1)
        out[f] = float(np.median(err)) / max(size, 1.0)
    return out


def plausibility_report(*, vertices: np.ndarray, lbs_weights: np.ndarray,
                        obj_vertices: np.ndarray, obj_faces: np.ndarray, obj_rot: np.ndarray,
                        obj_trans: np.ndarray, floor_y: float, fps: float, held: np.ndarray,
                        supported: np.ndarray | None = None,
                        misfit: np.ndarray | None = None,
                        config: PlausibilityConfig = PlausibilityConfig()) -> PlausibilityReport:
    """The report of one motion: body ``vertices (T, V, 3)`` (world) skinned by
    ``lbs_weights (V, 55)``; the object mesh in its frame placed per frame by ``obj_rot
    (T, 3, 3)`` and ``obj_trans (T, 3)``; the floor height; ``held (T,)`` frames in which a
    hand holds the object; ``supported (T,)`` frames that should stand on something (None:
    every frame); ``misfit (T,)`` the frames' ``keypoint_misfit`` (None: no keypoints figure;
    NaN frames are not judged)."""
    verts = np.asarray(vertices, np.float64)
    t = len(verts)
    held = np.asarray(held, bool).reshape(t, -1).any(1)
    supported = np.ones(t, bool) if supported is None else np.asarray(supported, bool)
    feet = [part_vertex_ids(lbs_weights, LEFT_FOOT), part_vertex_ids(lbs_weights, RIGHT_FOOT)]
    hands = np.concatenate([part_vertex_ids(lbs_weights, LEFT_HAND),
                            part_vertex_ids(lbs_weights, RIGHT_HAND)])
    foot_ids = np.concatenate(feet)
    gaps = object_distances(verts, obj_vertices, obj_faces, obj_rot, obj_trans,
                            groups={"hands": hands, "feet": foot_ids},
                            reach=max(config.hand_reach_m, 0.03))
    deepest, body_gap = gaps["inside"], gaps["body"]
    hand_gap, foot_gap = gaps["hands"], gaps["feet"]
    below = np.maximum(0.0, floor_y - verts[..., 1].min(1))
    depth = np.maximum(deepest, below)
    skate_share, skate = foot_skating([verts[:, ids] for ids in feet], floor_y, fps, config)
    foot_height = verts[:, foot_ids, 1].min(1) - floor_y
    floating = np.minimum(np.maximum(foot_height, 0.0), foot_gap)
    obj_world = np.einsum("tij,vj->tvi", obj_rot, np.asarray(obj_vertices, np.float64)) \
        + obj_trans[:, None]
    obj_gap = np.minimum(np.maximum(obj_world[..., 1].min(1) - floor_y, 0.0), body_gap)
    resting = ~held
    c = config
    judged = None if misfit is None else np.asarray(misfit, np.float64)
    judged = None if judged is None else judged[np.isfinite(judged)]
    figures = {
        "penetration_max_mm": Figure(1000 * float(depth.max()) if t else 0.0, "mm",
                                     c.max_penetration_mm),
        "penetration_frames_share": Figure(float((depth > c.inside_m).mean()) if t else 0.0,
                                           "share", c.max_penetration_share),
        "skating_frames_share": Figure(skate_share, "share", c.max_skating_share),
        "skate_mm_per_planted_frame": Figure(1000 * skate, "mm", c.max_skate_mm),
        "floating_mm": Figure(1000 * float(floating[supported].max()) if supported.any()
                              else None, "mm", c.max_floating_mm),
        "hand_contact_share": Figure(float((hand_gap[held] <= c.hand_reach_m).mean())
                                     if held.any() else None, "share",
                                     c.min_hand_contact_share, higher_is_better=True),
        "object_support_gap_mm": Figure(1000 * float(obj_gap[resting].max()) if resting.any()
                                        else None, "mm", c.max_support_gap_mm),
    }
    if judged is not None:
        figures["off_keypoints_share"] = Figure(
            float((judged > c.off_keypoints).mean()) if len(judged) else None, "share",
            c.max_off_keypoints_share)
    return PlausibilityReport(figures)


def report_of_result(body: BodyModel, result: MotionResult, obj_mesh: ObjectMesh, *,
                     keypoints: np.ndarray | None = None, camera: Cameras | None = None,
                     config: PlausibilityConfig = PlausibilityConfig()) -> PlausibilityReport:
    """The report of stage E's ``result``: the full body mesh per frame, the object placed by
    the result, its floor, its held frames (``hand_contact``) and, as the frames that should
    stand on something, those with a foot contact above one half (``foot_contact``); with the
    video's ``keypoints (T, 55, 3)`` and ``camera``, the frames that leave them."""
    with torch.no_grad():
        posed = body.forward_motion(result.motion)
        verts = posed.vertices.detach().cpu().double().numpy()
        joints = posed.joints.detach().cpu().double().numpy()
    misfit = None if keypoints is None or camera is None else keypoint_misfit(
        joints, keypoints, camera, min_seen=config.min_keypoints)
    return plausibility_report(
        vertices=verts, lbs_weights=body.layer.lbs_weights.detach().cpu().numpy(),
        obj_vertices=obj_mesh.vertices, obj_faces=obj_mesh.faces,
        obj_rot=result.obj_rotation, obj_trans=result.obj_trans, floor_y=result.ground_y,
        fps=result.motion.fps, held=result.hand_contact,
        supported=np.asarray(result.foot_contact).max(1) > 0.5, misfit=misfit, config=config)
