"""Stage D's previews: the anchor keypoints drawn over the video's frames."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..images import gif_frame, save_png
from ..portable.arrays import atomic_write
from .base import JOINT_INDEX, Detections
from .output import BODY_JOINTS, AnchorKeypoints

# Bones drawn in previews (the SMPL-X tree skips unobserved spine/collar joints, so the drawn
# skeleton joins observed joints directly).
DRAW_BONES: tuple[tuple[str, str], ...] = tuple(
    (a.replace("*", s), b.replace("*", s)) for s in ("left", "right") for a, b in (
        ("pelvis", "*_hip"), ("*_hip", "*_knee"), ("*_knee", "*_ankle"), ("*_ankle", "*_foot"),
        ("neck", "*_shoulder"), ("*_shoulder", "*_elbow"), ("*_elbow", "*_wrist"),
        ("*_wrist", "*_index1"), ("*_wrist", "*_pinky1"), ("*_wrist", "*_thumb2"),
        ("head", "*_eye_smplhf"))) + (("pelvis", "neck"), ("neck", "head"))



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
    save_png(path, np.asarray(strip))
    if gif_path is not None:
        tiles = [gif_frame(tile(k)) for k in range(t)]
        buf = io.BytesIO()
        tiles[0].save(buf, format="GIF", save_all=True, append_images=tiles[1:], loop=0,
                      duration=max(20, round(1000 / result.fps)))
        atomic_write(gif_path, lambda fh: fh.write(buf.getvalue()))
    return picks
