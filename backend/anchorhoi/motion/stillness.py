"""Where the body keeps still, from its keypoints' image speeds: the whole body where the median
of its keypoints' speeds is slow, each joint where its own speed is slow too. What counts as
slow rises with the keypoints' noise (a far body, a short focal length): a still body's speed
fits read that noise as motion. The still joints are held on their still runs
(``weights.lambda_still``, ``losses.run_loss``)."""

from __future__ import annotations

import torch

from ..portable.skeleton import JOINT_NAMES
from .config import ContactConfig
from .contact import fill_gaps, true_runs
from .foot_plants import FootPlants, feet_swing, swinging_joints


def still_weights(speed_mps: torch.Tensor, error_mps: torch.Tensor, seen: torch.Tensor,
                  contact: ContactConfig, travels: torch.Tensor | None = None) -> torch.Tensor:
    """``(T, J)`` in [0, 1]: how still each of the body's joints is, from the keypoints'
    speeds ``speed_mps (T, J)`` (metres per second at the estimate's depth), the standard
    error of each speed fit ``error_mps (T, J)`` and where the fits are ``seen (T, J)``.

    The whole body is still where the median speed over the seen joints (five at least; else
    filled in from the neighbouring frames) is under the median of their thresholds:
    ``contact.still_speed_mps``, raised to ``contact.still_noise_sigmas`` standard errors of
    each fit. A joint of a still body is still where its own speed is under its own threshold,
    raised to ``contact.still_joint_noise_sigmas`` standard errors: one fit's noise exceeds
    two standard errors in one frame of seven, a median's seldom. A lift's arms rise while the
    legs and the torso, most of the keypoints, keep still. An unseen joint (no fit: hidden
    over the fit's whole window, as a dropped keypoint is not) is as still as its mirror
    image where that is seen, else as the body: holding a lift's hidden hand as still as the
    body while the seen one rose pulled the box between them 19 cm off; hidden feet of a
    still body keep still. Both thresholds are soft, ``contact.softness`` wide.

    The image speeds see no motion along the camera's rays: a body walking towards or away
    from the camera looks still. Where ``travels (T,)`` holds — the body may travel unseen
    (``travel_frames``) — it is not still (push_pull-21-09: pushing a table away from the
    camera in strokes of 0.96 m/s, read as still and held at one depth per stroke, ended 15 cm
    short)."""
    nan = torch.full_like(speed_mps, float("nan"))
    mps = torch.where(seen, speed_mps, nan)
    error = torch.nan_to_num(error_mps, nan=0.0)
    floor = torch.full_like(mps, contact.still_speed_mps)
    enough = seen.sum(1) >= 5
    median = fill_gaps(torch.where(enough, mps.nanmedian(1).values, nan[:, 0])[:, None])[:, 0]
    tau_body = torch.where(seen, torch.maximum(floor, contact.still_noise_sigmas * error), nan)
    tau_body = fill_gaps(torch.where(enough, tau_body.nanmedian(1).values,
                                     nan[:, 0])[:, None])[:, 0]
    body = torch.nan_to_num(torch.sigmoid((tau_body - median) / (contact.softness * tau_body)),
                            nan=0.0)
    if travels is not None:
        body = torch.where(travels, torch.zeros_like(body), body)
    tau = torch.maximum(floor, contact.still_joint_noise_sigmas * error)
    own = torch.where(seen, torch.sigmoid((tau - mps) / (contact.softness * tau)), nan)
    mirror = own[:, list(_MIRROR[:own.shape[1]])]
    own = torch.where(seen, own, torch.nan_to_num(mirror, nan=1.0))
    return body[:, None] * own


def travel_frames(plants: FootPlants, moves_object: bool, contact: ContactConfig
                  ) -> torch.Tensor:
    """``(T,)`` bool: the frames where the body may travel along the camera's rays unseen —
    where a seen foot steps (a joint of one foot swings, plant weight under one half, for at
    least ``contact.walk_min_swing_frames`` frames in a row, single frames between closed,
    and lands again before the clip ends, having stood before it began: the keypoints' noise
    lifts a planted joint for a frame or three, now one joint, now another, and a fit at the
    clip's ends rests on fewer frames) and, where the hands move the object
    (``moves_object``: a push or a carry walks), where the feet are not seen
    (``foot_plants.feet_swing``)."""
    feet_seen, _ = feet_swing(plants)
    swinging = swinging_joints(plants)  # (T, 4)
    out = ~feet_seen & moves_object
    last = swinging.shape[0] - 1
    for foot in ([0, 2], [1, 3]):  # left ankle and ball, right ankle and ball
        for a, b in true_runs(swinging[:, foot].any(1), 2, contact.walk_min_swing_frames):
            if a > 0 and b < last:
                out[a:b + 1] = True
    return out


def _mirror() -> tuple[int, ...]:
    """Each joint's mirror image through the body's midplane (left for right; a joint on the
    midplane is its own)."""
    out = []
    for i, name in enumerate(JOINT_NAMES):
        for a, b in (("left_", "right_"), ("right_", "left_")):
            if name.startswith(a):
                out.append(JOINT_NAMES.index(b + name[len(a):]))
                break
        else:
            out.append(i)
    return tuple(out)


_MIRROR = _mirror()
