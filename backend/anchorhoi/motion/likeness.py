"""Frames that look like the key pose (issue 11): where one camera cannot tell how deep the
body is, the one 3D pose the clip knows decides.

A body standing on planted feet can lean several centimetres towards the camera or away from
it, and an arm can reach deeper or shallower, without moving its keypoints by more than their
noise: the keypoints fix the body across the image, not along the rays. Stage B's key pose is
right at the anchor frame; the frames around it that look like it most likely hold it. Without
this pull the body of an overhead lift (lift_overhead-4-21), standing still with the load
after the anchor frame, leant 5–8 cm towards the camera within three frames of it.

**Likeness** of frame ``t`` (``frame_likeness``): ``exp(−m(t) / (σ·h)²)`` where ``m(t)`` is the
mean squared pixel offset between the frame's seen body keypoints and the key pose's
projection, each set moved to its own mean over those joints (where the body is in the image
is the root's business, not the pose's); ``h`` the key pose's height in the image and ``σ``
``LikenessConfig.sigma`` (3 % of it: keypoint noise of 1 % of the height leaves a still frame
at about 0.8, an arm raised 20° elsewhere near 0). Frames with fewer than
``min_joints`` seen body keypoints get 0.

**Which rotations are pulled** (``weights.lambda_likeness``, squared 6D distance to the key
pose's, times the likeness): the spine, neck, head and arms wherever a frame looks like the key
pose; the root's and the legs' only over the frames joined to the anchor frame by likeness
(smoothed over ±``smooth_frames``, at least ``level``). A walking or turning body comes back to
the key pose's image once per stride with its legs placed and turned otherwise: pulled there
too, the legs fought the foot plants: 10 of 72 unseen family cases skated more than 5 mm per
contact frame, against 7 with the legs pulled only near the key frame.

**Each arm on its own evidence** (``LikenessConfig.each_arm``): an arm's rotations take the
smaller of the frame's likeness and the arm's own (``arm_likeness``: its shoulder, elbow and
wrist keypoints about their mean, on the same scale), where at least two of the three are
seen. Three keypoints of 22 barely move the frame's likeness: in an overhead lift
(lift_overhead-8-08) the frames a few before the key frame, the arms still bent on their way
up, were pulled towards the straight overhead arms at a likeness of 0.3–0.5; straight arms that
keep their wrists on the keypoints lean towards the camera, and the box went with them (up to
21 cm off along the ray mid-lift).
"""

from __future__ import annotations

import torch

from .config import LikenessConfig
from .contact import true_runs

UPPER_BODY = (3, 6, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21)
"""spine1–3, neck, collars, head, shoulders, elbows, wrists: pulled wherever a frame looks
like the key pose (indices of the root + 21 body rotations, i.e. SMPL-X joints)."""

ARMS = ((16, 18, 20), (17, 19, 21))
"""Each arm's shoulder, elbow and wrist (SMPL-X joints): the keypoints whose shape in the image
decides whether that arm looks like the key pose's."""
ARM_ROTATIONS = ((13, 16, 18, 20), (14, 17, 19, 21))
"""The rotations that place each arm: collar, shoulder, elbow, wrist."""


def frame_likeness(keypoints: torch.Tensor, key_uv: torch.Tensor, config: LikenessConfig
                   ) -> torch.Tensor:
    """``(T,)`` in [0, 1]: how much each frame's body keypoints ``(T, J, 3)`` (u, v,
    confidence; 0 unseen) look like the key pose's projection ``key_uv (J, 2)`` (module
    docstring)."""
    like, count = _alike(keypoints, key_uv, config.sigma * _height(key_uv))
    return torch.where(count >= config.min_joints, like, torch.zeros_like(like))


def arm_likeness(keypoints: torch.Tensor, key_uv: torch.Tensor, config: LikenessConfig
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(T, 2)`` each arm's likeness (left, right): its shoulder, elbow and wrist keypoints
    about their own mean against the key pose's, on the scale of ``frame_likeness``; and
    ``(T, 2)`` bool where at least two of the three are seen (else nothing is known)."""
    scale = config.sigma * _height(key_uv)
    pairs = [_alike(keypoints[:, list(arm)], key_uv[list(arm)], scale) for arm in ARMS]
    return (torch.stack([like for like, _ in pairs], 1),
            torch.stack([count >= 2 for _, count in pairs], 1))


def _alike(keypoints: torch.Tensor, key_uv: torch.Tensor, scale: torch.Tensor
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(T,)`` exp(−m / scale²), m the mean squared offset of the seen keypoints from the
    key pose's, each set about its own mean; and ``(T,)`` how many were seen."""
    seen = (keypoints[..., 2] > 0).to(keypoints.dtype)
    count = seen.sum(1)
    n = count.clamp_min(1)[:, None]
    uv = keypoints[..., :2]
    centre = (seen[..., None] * uv).sum(1) / n
    key_centre = (seen[..., None] * key_uv[None]).sum(1) / n
    offset = (uv - centre[:, None]) - (key_uv[None] - key_centre[:, None])
    mean_sq = (seen * (offset ** 2).sum(-1)).sum(1) / n[:, 0]
    return torch.exp(-mean_sq / scale ** 2), count


def _height(key_uv: torch.Tensor) -> torch.Tensor:
    """The key pose's height in the image (px)."""
    return (key_uv[:, 1].max() - key_uv[:, 1].min()).clamp_min(1e-6)


def joined_to_anchor(like: torch.Tensor, anchor: int, config: LikenessConfig) -> torch.Tensor:
    """``(T,)`` bool: the anchor frame and the frames joined to it by a run whose likeness,
    averaged over ±``smooth_frames``, stays at ``level`` or above."""
    half = config.smooth_frames
    padded = torch.nn.functional.pad(like[None, None], (half, half), mode="replicate")[0, 0]
    alike = padded.unfold(0, 2 * half + 1, 1).mean(-1) >= config.level
    alike[anchor] = True
    joined = torch.zeros_like(alike)
    start, end = next(run for run in true_runs(alike, 1, 1) if run[0] <= anchor <= run[1])
    joined[start:end + 1] = True
    return joined


def key_likeness(keypoints: torch.Tensor, key_uv: torch.Tensor, anchor: int,
                 config: LikenessConfig) -> torch.Tensor:
    """``(T, 22)``: the likeness weight of each frame's root and body rotations (module
    docstring): ``frame_likeness`` for the upper body everywhere (each arm's rotations no
    more than ``arm_likeness`` with ``each_arm``), for the root and the legs only where
    ``joined_to_anchor``."""
    like = frame_likeness(keypoints, key_uv, config)
    near = torch.where(joined_to_anchor(like, anchor, config), like, torch.zeros_like(like))
    out = near[:, None].repeat(1, 22)
    out[:, list(UPPER_BODY)] = like[:, None]
    if config.each_arm:
        arm, known = arm_likeness(keypoints, key_uv, config)
        for side, rotations in enumerate(ARM_ROTATIONS):
            out[:, list(rotations)] = torch.where(
                known[:, side], torch.minimum(like, arm[:, side]), like)[:, None]
    return out
