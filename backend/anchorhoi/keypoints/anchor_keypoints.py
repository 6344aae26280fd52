"""Stage D: anchor keypoints — per-frame 2D detections cleaned into tracks stage E can trust.

Input: a detector's :class:`~.base.Detections` on the video frames, the video's camera (the
camera of stage C's conditioning render), the anchor frame and the key pose's 3D joints.
Steps (``anchor_keypoints``):

1. **Confidence.** Detections below ``min_confidence`` (and frames without a person) are
   rejected.
1b. **Sides.** Left/right swaps of the detector (faceless bodies, people seen from behind)
   are undone per side group, at the anchor frame against the key pose and elsewhere against
   the corrected track (:mod:`.sides`; ``fix_sides``).
2. **Alignment through the anchor frame.** The key pose's joints are projected with the camera;
   a 2D map ``detection ≈ s · projection + o`` (scale ``s``, offset ``o``: the video may be a
   resized or shifted version of the camera image) is estimated robustly from the anchor
   frame's confident joints (least median of squares over joint pairs, then a confidence-
   weighted least-squares refit on the inliers) and its inverse is applied to every frame, so
   keypoints live in the camera's pixel frame of the 3D scene.
3. **Agreement with the anchor pose.** At the anchor frame, joints farther than
   ``anchor_tolerance`` × body size from their projection are rejected.
4. **Jumps.** A joint deviating from its median-filtered track (``median_window`` frames)
   by more than ``max_speed`` × body size / fps — it would have to move faster than
   ``max_speed`` body sizes per second for a single frame — is rejected. The median makes
   the test robust to single-frame outliers, and smooth fast motion passes it (on a
   monotonic stretch the median is the centre sample). In the first and last half-window,
   the reference is a linear extrapolation from the two next accepted frames instead.
5. **Gaps.** A run of ≤ ``max_gap`` rejected frames between two accepted ones is bridged
   (linear or cubic Hermite) with reduced confidence; longer runs, and runs at either end of
   the video, stay at confidence 0.

The body size is the larger side of the 2D box around the key pose's projected body joints
(its image height for an upright person), in camera pixels. The result is an
:class:`~.output.AnchorKeypoints` (its file: ``keypoints.npz``; previews: :mod:`.overlay`).
"""

from __future__ import annotations

import itertools
import logging
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from ..config_checks import check_choices
from ..nerf.cameras import Cameras, project, world_to_camera
from ..portable.skeleton import NUM_JOINTS
from .base import Detections, NoPersonFoundError
from .output import BODY_JOINTS, AnchorKeypoints, AnchorKeypointsStats
from .sides import SIDE_GROUPS, fix_side_swaps, swap_group

log = logging.getLogger(__name__)

@dataclass(frozen=True, kw_only=True)
class AnchorKeypointsConfig:
    """Rejection thresholds and gap bridging of stage D."""

    min_confidence: float = 0.3
    """Detections below this confidence are rejected."""
    align: Literal["scale-offset", "none"] = "scale-offset"
    """Estimate the video → camera map at the anchor frame (``none``: the video is the
    camera image, pixel for pixel)."""
    min_anchor_joints: int = 4
    """Confident anchor-frame joints needed to estimate the alignment; with fewer, the video
    is taken as the camera image and step 3 is skipped (a warning is logged)."""
    anchor_tolerance: float = 0.1
    """At the anchor frame, the largest distance between a detection and the key pose's
    projection, as a fraction of the body size (also the alignment's inlier threshold)."""
    max_speed: float = 2.0
    """Largest plausible joint speed in body sizes per second (see step 4)."""
    median_window: int = 5
    """Frames of the median filter the jump test compares to (odd, ≥ 3)."""
    max_gap: int = 5
    """Longest run of rejected frames that is bridged by interpolation."""
    interpolation: Literal["linear", "cubic"] = "linear"
    """How gaps are bridged (cubic: Hermite with tangents from the neighbouring frames)."""
    gap_confidence: float = 0.5
    """Bridged keypoints get this factor times the smaller confidence of the gap's ends."""
    fix_sides: bool = True
    """Undo the detector's left/right swaps (step 1b); False keeps its labels."""

    def __post_init__(self) -> None:
        check_choices(self)
        for name in ("min_confidence", "gap_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"AnchorKeypointsConfig.{name} must be in [0, 1], "
                                 f"got {getattr(self, name)}")
        if self.anchor_tolerance <= 0 or self.max_speed <= 0:
            raise ValueError("anchor_tolerance and max_speed must be positive")
        if self.median_window < 3 or self.median_window % 2 == 0:
            raise ValueError(f"median_window must be odd and ≥ 3, got {self.median_window}")
        if self.max_gap < 0 or self.min_anchor_joints < 2:
            raise ValueError("max_gap must be ≥ 0 and min_anchor_joints ≥ 2")


def _as_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=float)


def project_anchor(camera: Cameras, joints_3d) -> np.ndarray:
    """The key pose's ``joints_3d (55, 3)`` world → ``(55, 2)`` camera pixels."""
    if len(camera) != 1:
        raise ValueError(f"stage D wants the video's single camera, got {len(camera)} cameras")
    joints = torch.as_tensor(_as_numpy(joints_3d), dtype=torch.float64)
    if joints.shape != (NUM_JOINTS, 3):
        raise ValueError(f"anchor_joints_3d must be (55, 3), got {tuple(joints.shape)}")
    cam = camera.to("cpu", torch.float64)
    if bool((world_to_camera(cam, joints[None])[0, :, 2] <= 1e-6).any()):
        raise ValueError("some of the key pose's joints lie behind the video camera; check the "
                         "camera and the anchor pose")
    return project(cam, joints[None])[0].numpy()


def fit_scale_offset(det: np.ndarray, proj: np.ndarray, weight: np.ndarray, tolerance: float
                     ) -> tuple[float, np.ndarray, np.ndarray] | None:
    """Robust ``det ≈ s · proj + o`` from N ≥ 2 correspondences ``(N, 2)`` with ``weight (N,)``.

    Least median of squares over all joint pairs, then two weighted least-squares refits on
    the inliers (residual in camera pixels ≤ ``tolerance``). Returns ``(s, o, inliers)`` or
    None if no pair is usable.
    """
    n = det.shape[0]
    best, best_med = None, np.inf
    i, j = np.triu_indices(n, k=1)
    dp, dd = proj[i] - proj[j], det[i] - det[j]
    norm2 = (dp ** 2).sum(-1)
    ok = norm2 > (0.5 * tolerance) ** 2
    for k in np.nonzero(ok)[0]:
        s = float((dd[k] * dp[k]).sum() / norm2[k])
        if s <= 0:
            continue
        o = 0.5 * (det[i[k]] + det[j[k]] - s * (proj[i[k]] + proj[j[k]]))
        med = np.median(np.linalg.norm((det - o) / s - proj, axis=-1))
        if med < best_med:
            best, best_med = (s, o), med
    if best is None:
        return None
    s, o = best
    for _ in range(2):
        inl = np.linalg.norm((det - o) / s - proj, axis=-1) <= tolerance
        if inl.sum() < 2:
            break
        w = weight[inl] / weight[inl].sum()
        pm, dm = (w[:, None] * proj[inl]).sum(0), (w[:, None] * det[inl]).sum(0)
        pc, dc = proj[inl] - pm, det[inl] - dm
        denom = (w * (pc ** 2).sum(-1)).sum()
        if denom <= 0:
            break
        s_new = float((w * (dc * pc).sum(-1)).sum() / denom)
        if s_new <= 0:
            break
        s, o = s_new, dm - s_new * pm
    inl = np.linalg.norm((det - o) / s - proj, axis=-1) <= tolerance
    return s, o, inl


def median_track(xy: np.ndarray, valid: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Per joint, the component-wise median of the valid points within ``window`` frames
    centred on each frame: ``(T, J, 2)``, and the number of points it used ``(T, J)``."""
    t = xy.shape[0]
    half = window // 2
    pts = np.where(valid[..., None], xy, np.nan)
    med = np.full_like(xy, np.nan)
    count = np.zeros(valid.shape, dtype=int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows
        for k in range(t):
            lo, hi = max(0, k - half), min(t, k + half + 1)
            med[k] = np.nanmedian(pts[lo:hi], axis=0)
            count[k] = valid[lo:hi].sum(axis=0)
    return med, count


def jump_outliers(xy: np.ndarray, valid: np.ndarray, window: int, limit: float) -> np.ndarray:
    """``(T, J)`` mask of valid points farther than ``limit`` pixels from where their track
    puts them: inside the clip, the median of a centred ``window`` (needs ≥ 3 valid points);
    in the first and last ``window // 2`` frames, where no centred window fits, a linear
    extrapolation from the two next accepted frames inwards (checked from the inside out)."""
    t = xy.shape[0]
    half = window // 2
    med, count = median_track(xy, valid, window)
    interior = np.zeros(t, dtype=bool)
    interior[half:t - half] = True
    jump = valid & interior[:, None] & (count >= 3) & (np.linalg.norm(xy - med, axis=-1) > limit)
    ok = valid & ~jump
    ends = [(k, 1) for k in range(min(half, t) - 1, -1, -1)]
    ends += [(k, -1) for k in range(max(t - half, 0), t)]
    for k, step in ends:
        a, b = k + step, k + 2 * step
        if not 0 <= b < t:
            continue
        check = ok[k] & ok[a] & ok[b]
        far = np.linalg.norm(xy[k] - (2 * xy[a] - xy[b]), axis=-1) > limit
        jump[k] |= check & far
        ok[k] &= ~(check & far)
    return jump


def bridge_gaps(xy: np.ndarray, conf: np.ndarray, valid: np.ndarray, config: AnchorKeypointsConfig
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fill runs of ≤ ``max_gap`` invalid frames between valid ones; returns new ``xy``,
    ``conf`` and the ``(T, J)`` mask of bridged points."""
    xy, conf = xy.copy(), conf.copy()
    bridged = np.zeros_like(valid)
    t = xy.shape[0]
    for j in range(xy.shape[1]):
        frames = np.nonzero(valid[:, j])[0]
        for a, b in itertools.pairwise(frames):
            gap = b - a - 1
            if gap == 0 or gap > config.max_gap:
                continue
            u = (np.arange(a + 1, b) - a) / (b - a)  # (gap,)
            pa, pb = xy[a, j], xy[b, j]
            if config.interpolation == "linear":
                pts = pa + u[:, None] * (pb - pa)
            else:  # cubic Hermite, tangents (per frame) from the neighbours outside the gap
                chord = (pb - pa) / (b - a)
                ma = xy[a, j] - xy[a - 1, j] if a > 0 and valid[a - 1, j] else chord
                mb = xy[b + 1, j] - xy[b, j] if b + 1 < t and valid[b + 1, j] else chord
                ma, mb = ma * (b - a), mb * (b - a)
                u2, u3 = u ** 2, u ** 3
                pts = ((2 * u3 - 3 * u2 + 1)[:, None] * pa + (u3 - 2 * u2 + u)[:, None] * ma
                       + (-2 * u3 + 3 * u2)[:, None] * pb + (u3 - u2)[:, None] * mb)
            xy[a + 1:b, j] = pts
            conf[a + 1:b, j] = config.gap_confidence * min(conf[a, j], conf[b, j])
            bridged[a + 1:b, j] = True
    return xy, conf, bridged


def anchor_reference(xy: np.ndarray, conf: np.ndarray, valid: np.ndarray, proj: np.ndarray,
                     tolerance: float, config: AnchorKeypointsConfig) -> np.ndarray | None:
    """The key pose's projection ``proj (55, 2)`` mapped into video pixels at the anchor frame,
    for the side check: the scale-offset map is fitted to the anchor frame's detections
    ``xy (55, 2)`` both as labelled and with every side group swapped, and the labelling with
    the smaller median residual gives it (swapping sides moves no centroid, so both fits see
    the same body). None when the anchor frame has too few joints (or ``align="none"``:
    the projection itself)."""
    if config.align == "none":
        return proj.copy()
    at = np.nonzero(valid)[0]
    if at.size < config.min_anchor_joints:
        return None
    best, best_med = None, np.inf
    mirrored: tuple[np.ndarray, ...] = (xy, conf, valid)
    for name in SIDE_GROUPS:
        mirrored = tuple(swap_group(a, name) for a in mirrored)
    for cand_xy, cand_conf, cand_valid in ((xy, conf, valid), mirrored):
        idx = np.nonzero(cand_valid)[0]
        fit = fit_scale_offset(cand_xy[idx], proj[idx], cand_conf[idx], tolerance)
        if fit is None:
            continue
        s, o, _ = fit
        med = float(np.median(np.linalg.norm((cand_xy[idx] - o) / s - proj[idx], axis=-1)))
        if med < best_med:
            best, best_med = (s, o), med
    if best is None:
        return None
    return best[0] * proj + best[1]


def anchor_keypoints(detections: Detections, *, camera: Cameras, anchor_frame: int,
                     anchor_joints_3d, fps: float,
                     config: AnchorKeypointsConfig = AnchorKeypointsConfig()) -> AnchorKeypoints:
    """Clean ``detections`` into anchor keypoints (module docstring, steps 1–5)."""
    t = detections.num_frames
    if not 0 <= anchor_frame < t:
        raise ValueError(f"anchor_frame {anchor_frame} is outside the video's {t} frames")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not detections.person_found.any():
        raise NoPersonFoundError(f"the keypoint detector found no person in any of the {t} "
                                 "frames of the video")
    conf_in = detections.confidence
    observed = (conf_in > 0).any(axis=0)  # (55,)
    valid = (conf_in >= config.min_confidence) & detections.person_found[:, None]
    if not valid.any():
        raise NoPersonFoundError(f"a person was detected but no keypoint in any of the {t} "
                                 f"frames reaches confidence {config.min_confidence}")
    low_conf = observed[None] & ~valid

    proj = project_anchor(camera, anchor_joints_3d)
    box = proj[BODY_JOINTS]
    body = float(max(np.ptp(box[:, 0]), np.ptp(box[:, 1])))
    tol = config.anchor_tolerance * body
    det_xy, conf_in = detections.xy, conf_in.copy()

    # 1b. left/right swaps
    swapped = np.zeros((t, len(SIDE_GROUPS)), dtype=bool)
    if config.fix_sides:
        ref = anchor_reference(det_xy[anchor_frame], conf_in[anchor_frame],
                               valid[anchor_frame], proj, tol, config)
        det_xy, conf_in, valid, swapped = fix_side_swaps(det_xy, conf_in, valid, anchor_frame,
                                                          ref)
        if swapped.any():
            log.info("stage D: left/right labels exchanged in %d (frame, group) pairs",
                     int(swapped.sum()))

    # 2. alignment at the anchor frame
    scale, offset, aligned = 1.0, np.zeros(2), False
    at = np.nonzero(valid[anchor_frame])[0]
    if config.align == "scale-offset" and at.size >= config.min_anchor_joints:
        fit = fit_scale_offset(det_xy[anchor_frame, at], proj[at],
                               conf_in[anchor_frame, at], tol)
        if fit is not None and fit[2].sum() >= config.min_anchor_joints:
            scale, offset, aligned = fit[0], fit[1], True
    if config.align == "scale-offset" and not aligned:
        log.warning("stage D: the %d confident joints at anchor frame %d do not give %d that "
                    "agree with the key pose; the video is taken as the camera image, unaligned",
                    at.size, anchor_frame, config.min_anchor_joints)
    xy = (det_xy - offset) / scale

    # 3. agreement with the anchor pose
    rejected_anchor = np.zeros_like(valid)
    if aligned or config.align == "none":
        far = np.linalg.norm(xy[anchor_frame] - proj, axis=-1) > tol
        rejected_anchor[anchor_frame] = valid[anchor_frame] & far
        valid &= ~rejected_anchor

    # 4. jumps against the median-filtered track
    jump = jump_outliers(xy, valid, config.median_window, config.max_speed * body / fps)
    valid &= ~jump

    # 5. gaps
    conf = np.where(valid, conf_in, 0.0)
    xy, conf, bridged = bridge_gaps(np.where(valid[..., None], xy, 0.0), conf, valid, config)
    keep = valid | bridged
    keypoints = np.concatenate([np.where(keep[..., None], xy, 0.0), conf[..., None]], axis=-1)
    occluded = observed[None] & ~valid

    accepted = np.nonzero(valid[anchor_frame])[0]
    residual = (float(np.median(np.linalg.norm(xy[anchor_frame, accepted] - proj[accepted],
                                               axis=-1))) if accepted.size else float("nan"))
    stats = AnchorKeypointsStats(
        frames=t, frames_with_person=int(detections.person_found.sum()),
        observed_joints=int(observed.sum()), rejected_low_confidence=int(low_conf.sum()),
        rejected_anchor=int(rejected_anchor.sum()), rejected_jump=int(jump.sum()),
        bridged=int(bridged.sum()), side_swaps=int(swapped.sum()),
        unbridged=int((occluded & ~bridged).sum()),
        aligned=aligned, body_size_px=body, anchor_residual_px=residual)
    log.info("stage D: %s", stats)
    return AnchorKeypoints(keypoints=keypoints, occluded=occluded, fps=float(fps),
                           anchor_frame=int(anchor_frame), scale=float(scale),
                           offset=np.asarray(offset, float), anchor_projection=proj, stats=stats)
