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
(its image height for an upright person), in camera pixels. Outputs: ``keypoints.npz`` and an
overlay preview (``save_keypoints``, ``save_overlay``).
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from ..config_checks import check_choices
from ..nerf.cameras import Cameras, project, world_to_camera
from ..portable.arrays import atomic_write, save_npz_atomic
from ..portable.skeleton import JOINT_NAMES, NUM_JOINTS
from .base import JOINT_INDEX, Detections, NoPersonFoundError
from .sides import SIDE_GROUPS, fix_side_swaps, swap_group

log = logging.getLogger(__name__)

BODY_JOINTS = slice(0, 25)  # pelvis … eyes: what the body size is measured on

# Bones drawn in previews (the SMPL-X tree skips unobserved spine/collar joints, so the drawn
# skeleton joins observed joints directly).
DRAW_BONES: tuple[tuple[str, str], ...] = tuple(
    (a.replace("*", s), b.replace("*", s)) for s in ("left", "right") for a, b in (
        ("pelvis", "*_hip"), ("*_hip", "*_knee"), ("*_knee", "*_ankle"), ("*_ankle", "*_foot"),
        ("neck", "*_shoulder"), ("*_shoulder", "*_elbow"), ("*_elbow", "*_wrist"),
        ("*_wrist", "*_index1"), ("*_wrist", "*_pinky1"), ("*_wrist", "*_thumb2"),
        ("head", "*_eye_smplhf"))) + (("pelvis", "neck"), ("neck", "head"))


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


@dataclass(frozen=True, kw_only=True)
class AnchorKeypointsStats:
    """What stage D did (for result.json and the log)."""

    frames: int
    """Frames of the video."""
    frames_with_person: int
    """Frames in which the detector found a person."""
    observed_joints: int
    """Joints the detector reported in at least one frame."""
    rejected_low_confidence: int
    """Keypoints of observed joints below ``min_confidence`` (frames without a person
    included)."""
    rejected_anchor: int
    """Anchor-frame keypoints that disagreed with the key pose's projection."""
    rejected_jump: int
    """Keypoints that jumped away from their track."""
    bridged: int
    """Keypoints filled in by interpolation."""
    side_swaps: int
    """(frame, side group) pairs whose left and right labels were exchanged (step 1b)."""
    unbridged: int
    """Occluded keypoints left at confidence 0."""
    aligned: bool
    """The alignment was estimated (False: too few anchor-frame joints, or ``align="none"``)."""
    body_size_px: float
    anchor_residual_px: float
    """Median distance between aligned detections and projections at the anchor frame
    (accepted joints, camera pixels; NaN when none)."""


@dataclass(frozen=True, eq=False)
class AnchorKeypoints:
    """Stage D's output, in the camera's pixel frame."""

    keypoints: np.ndarray
    """(T, 55, 3) ``(u, v, confidence)``; ``(0, 0, 0)`` where rejected and not bridged."""
    occluded: np.ndarray
    """(T, 55) bool: an observed joint whose detection was missing or rejected in that frame
    (bridged or not). Joints the detector never reports are not flagged (just unobserved)."""
    fps: float
    anchor_frame: int
    scale: float
    """Alignment: video pixel = ``scale`` · camera pixel + ``offset``."""
    offset: np.ndarray
    """(2,) alignment offset in video pixels."""
    anchor_projection: np.ndarray
    """(55, 2) the key pose's joints projected with the camera."""
    stats: AnchorKeypointsStats

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])


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
        for a, b in zip(frames[:-1], frames[1:]):
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
    mirrored = xy, conf, valid
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
        bridged=int(bridged.sum()), side_swaps=int(swapped.sum()), unbridged=int((occluded & ~bridged).sum()),
        aligned=aligned, body_size_px=body, anchor_residual_px=residual)
    log.info("stage D: %s", stats)
    return AnchorKeypoints(keypoints=keypoints, occluded=occluded, fps=float(fps),
                           anchor_frame=int(anchor_frame), scale=float(scale),
                           offset=np.asarray(offset, float), anchor_projection=proj, stats=stats)


def save_keypoints(path: str | Path, result: AnchorKeypoints) -> None:
    """``keypoints.npz``: ``keypoints (T,55,3)``, ``occluded (T,55)``, ``fps``, ``anchor_frame``,
    ``scale``, ``offset (2,)``, ``joint_names (55,)`` — written atomically, no pickled objects."""
    save_npz_atomic(path, {
        "keypoints": result.keypoints.astype(np.float32), "occluded": result.occluded,
        "fps": np.float64(result.fps), "anchor_frame": np.int64(result.anchor_frame),
        "scale": np.float64(result.scale), "offset": result.offset.astype(np.float64),
        "joint_names": np.array(JOINT_NAMES)})


def draw_overlay(frame: np.ndarray, result: AnchorKeypoints, index: int,
                 detections: Detections | None = None) -> np.ndarray:
    """One frame ``(H, W, 3)`` uint8 with the keypoints and bones drawn in video pixels:
    accepted joints green, bridged (occluded) ones orange, rejected raw detections (when
    ``detections`` is given) red, and at the anchor frame the key pose's projection blue."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(frame)
    draw = ImageDraw.Draw(img)
    r = max(2, round(min(frame.shape[:2]) / 128))
    to_video = lambda p: result.scale * np.asarray(p) + result.offset  # noqa: E731
    kp = result.keypoints[index]
    if index == result.anchor_frame:
        for u, v in to_video(result.anchor_projection[BODY_JOINTS]):
            draw.ellipse([u - r, v - r, u + r, v + r], outline=(60, 110, 255))
    for a, b in DRAW_BONES:
        ia, ib = JOINT_INDEX[a], JOINT_INDEX[b]
        if kp[ia, 2] > 0 and kp[ib, 2] > 0:
            occ = result.occluded[index, ia] or result.occluded[index, ib]
            draw.line([tuple(to_video(kp[ia, :2])), tuple(to_video(kp[ib, :2]))],
                      fill=(255, 160, 0) if occ else (40, 220, 60), width=max(1, r // 2))
    if detections is not None:
        raw = (detections.confidence[index] > 0) & result.occluded[index]
        for u, v in detections.xy[index, raw]:
            draw.line([u - r, v - r, u + r, v + r], fill=(230, 30, 30), width=1)
            draw.line([u - r, v + r, u + r, v - r], fill=(230, 30, 30), width=1)
    for j in np.nonzero(kp[:, 2] > 0)[0]:
        u, v = to_video(kp[j, :2])
        fill = (255, 160, 0) if result.occluded[index, j] else (40, 220, 60)
        draw.ellipse([u - r, v - r, u + r, v + r], fill=fill)
    return np.asarray(img)


def save_overlay(path: str | Path, frames: np.ndarray, result: AnchorKeypoints, *,
                 detections: Detections | None = None, num_frames: int = 6,
                 gif_path: str | Path | None = None, max_side: int = 256) -> list[int]:
    """A PNG strip of ``num_frames`` evenly spaced frames (the anchor frame among them) with
    :func:`draw_overlay`, and optionally an animated GIF of every frame, each downscaled to
    ``max_side`` and written atomically. Returns the frame indices of the strip."""
    from PIL import Image

    t = result.num_frames
    if frames.shape[0] != t:
        raise ValueError(f"{frames.shape[0]} frames but keypoints for {t}")
    picks = sorted(set(np.linspace(0, t - 1, min(num_frames, t)).round().astype(int).tolist())
                   | {result.anchor_frame})
    h, w = frames.shape[1:3]
    f = min(1.0, max_side / max(h, w))
    size = (max(1, round(w * f)), max(1, round(h * f)))

    def tile(k: int) -> Image.Image:
        return Image.fromarray(draw_overlay(frames[k], result, k, detections)).resize(
            size, Image.Resampling.BILINEAR)

    strip = Image.new("RGB", (size[0] * len(picks), size[1]))
    for n, k in enumerate(picks):
        strip.paste(tile(k), (n * size[0], 0))
    buf = io.BytesIO()
    strip.save(buf, format="PNG")
    atomic_write(path, lambda fh: fh.write(buf.getvalue()))
    if gif_path is not None:
        # 256 colours by the fast octree (Pillow's default median cut: 0.2–0.9 s per frame)
        tiles = [tile(k).quantize(256, method=Image.Quantize.FASTOCTREE) for k in range(t)]
        buf = io.BytesIO()
        tiles[0].save(buf, format="GIF", save_all=True, append_images=tiles[1:], loop=0,
                      duration=max(20, round(1000 / result.fps)))
        atomic_write(gif_path, lambda fh: fh.write(buf.getvalue()))
    return picks
