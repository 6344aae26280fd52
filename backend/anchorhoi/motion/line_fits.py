"""Keypoint velocity in the image: per frame and joint, a confidence-weighted straight-line fit
of a 2D keypoint over a window of frames — the fitted pixel, its velocity, and the confidence
it rests on (robust to per-pixel noise; unseen frames weigh 0). Foot plants
(``foot_plants.detect_plants``) and the image-speed evidence of contact and stillness
(``objective``) read the same fits."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True, eq=False)
class LineFits:
    """Per frame and joint, a confidence-weighted line fit of a keypoint over a window."""

    pixel: torch.Tensor
    """(T, F, 2) the fitted pixel at the frame."""
    velocity: torch.Tensor
    """(T, F, 2) pixels per frame."""
    mass: torch.Tensor
    """(T, F) the confidence the fit rests on (0 where it spans less than two frames)."""
    spread: torch.Tensor
    """(T, F) the confidence-weighted sum of squared frame offsets (the slope's standard
    error is the pixel noise over its square root)."""
    residual_px: torch.Tensor
    """(T, F) root-mean-square distance of the window's keypoints from the line."""


def image_velocity(keypoints: torch.Tensor, before: int, after: int) -> LineFits:
    """Line fits of 2D keypoints ``(T, F, 3)`` (u, v, confidence) over the frames ``t −
    before … t + after`` of each frame ``t``."""
    t_count = keypoints.shape[0]
    frames = torch.arange(t_count, dtype=keypoints.dtype, device=keypoints.device)
    pixel = keypoints.new_zeros(*keypoints.shape[:2], 2)
    velocity = keypoints.new_zeros(*keypoints.shape[:2], 2)
    mass = keypoints.new_zeros(keypoints.shape[:2])
    spread = keypoints.new_zeros(keypoints.shape[:2])
    residual = keypoints.new_zeros(keypoints.shape[:2])
    for t in range(t_count):
        lo, hi = max(0, t - before), min(t_count, t + after + 1)
        w = keypoints[lo:hi, :, 2]  # (W, F)
        x = frames[lo:hi, None] - t
        sw = w.sum(0).clamp_min(1e-9)
        xm = (w * x).sum(0) / sw
        uvm = (w[..., None] * keypoints[lo:hi, :, :2]).sum(0) / sw[:, None]
        dx = x - xm
        sxx = (w * dx * dx).sum(0)
        sxy = (w[..., None] * dx[..., None] * (keypoints[lo:hi, :, :2] - uvm)).sum(0)
        slope = sxy / sxx.clamp_min(1e-9)[:, None]
        ok = (sxx > 1.0)[:, None]  # at least two frames apart with some confidence
        velocity[t] = torch.where(ok, slope, torch.zeros_like(slope))
        pixel[t] = torch.where(ok, uvm - slope * xm[:, None], uvm)
        mass[t] = torch.where(ok[:, 0], sw, torch.zeros_like(sw))
        spread[t] = sxx
        off = keypoints[lo:hi, :, :2] - uvm - dx[..., None] * slope  # (W, F, 2)
        residual[t] = ((w * (off * off).sum(-1)).sum(0) / sw).sqrt()
    return LineFits(pixel=pixel, velocity=velocity, mass=mass, spread=spread,
                    residual_px=residual)


def image_speed(keypoints: torch.Tensor, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Speed of 2D keypoints ``(T, F, 3)`` (u, v, confidence) in pixels per frame over
    ``±window`` frames (``image_velocity``), and the confidence mass ``(T, F)`` each fit rests
    on (0, and speed 0, where the fit spans less than two frames)."""
    fits = image_velocity(keypoints, window, window)
    return fits.velocity.norm(dim=-1), fits.mass


def keypoint_noise_px(fits: LineFits, seen: torch.Tensor) -> torch.Tensor:
    """The keypoints' own noise per image axis (pixels, a scalar): the median scatter of the
    ``seen (T, F)`` fits about their lines (a still joint's scatter), the 2D scatter over √2;
    0 where nothing is seen. A speed fit's standard error is it over the root of the fit's
    ``spread``."""
    if not bool(seen.any()):
        return fits.mass.new_zeros(())
    return fits.residual_px[seen].median() / 2 ** 0.5
