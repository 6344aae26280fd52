"""Hidden limbs in stage E (issue 11, item 3): what a body joint's rotation is pulled towards
where the joints it moves are not seen.

A rotation is **seen** in a frame to the degree its children's keypoints are (their mean
confidence, ``rotation_visibility``). Where it is seen the keypoints decide it and only a weak
pull towards the key pose remains (``weights.lambda_pose_prior``). Where it is hidden
(``weights.lambda_pose_prior_hidden``) the pull goes towards the best guess the clip offers
for that frame (``hidden_targets``):

* **time**: between two frames where the rotation is seen (or the anchor frame, where the key
  pose gives it), the current estimates at those two frames interpolated linearly — a limb
  hidden behind the object for a while moves from where it was last seen to where it is seen
  next, instead of snapping to the key pose of a distant frame;
* **the evidence of the whole body**: where the rotation is hidden up to one end of the clip
  (no seen frame on that side), the start pose phase 1 chose for that frame
  (``initialize.py``: the key pose, or generic standing / crouching / sitting / squatting legs
  under the key pose's arms, picked by how the seen torso and the ground fit them) — legs
  hidden behind a box while the person still stands are pulled straight, not into the key
  pose's crouch.

The two pulls share one quadratic term: a weighted sum of squared 6D distances to two targets
is, up to a constant, the summed weight times the squared distance to their weighted mean
(``prior_target``).
"""

from __future__ import annotations

import numpy as np
import torch

from ..body import matrix_to_rot6d, rot6d_to_matrix
from ..portable.skeleton import PARENTS


def rotation_visibility(conf: torch.Tensor) -> torch.Tensor:
    """(T, 55) keypoint confidence → (T, 21): for each body joint, the mean confidence of the
    joints its rotation moves directly (its children), i.e. how well that rotation is seen
    (0 for the feet's end joints, which move nothing)."""
    out = []
    for j in range(1, 22):
        children = [c for c, p in enumerate(PARENTS) if p == j]
        out.append(conf[:, children].mean(1) if children else torch.zeros_like(conf[:, 0]))
    return torch.stack(out, 1).clamp(0, 1)


def _unit6d(x: torch.Tensor) -> torch.Tensor:
    """6D rotations projected onto proper rotations (Gram–Schmidt), in 6D again."""
    return matrix_to_rot6d(rot6d_to_matrix(x))


def hidden_targets(estimate: torch.Tensor, visibility: torch.Tensor, anchor: int,
                   key: torch.Tensor, fallback: torch.Tensor, *,
                   seen_threshold: float = 0.5) -> torch.Tensor:
    """Per frame and body joint, the 6D rotation a hidden joint is pulled towards (module
    docstring): ``estimate (T, J, 6)`` the current rotations (detached), ``visibility (T, J)``
    in [0, 1] (seen from ``seen_threshold`` on), ``key (J, 6)`` the key pose (taken as seen at
    ``anchor``), ``fallback (T, J, 6)`` phase 1's start poses. Frames between two seen ones
    interpolate the estimates there; frames with no seen frame on one side take the fallback.
    Seen frames keep their estimate (their pull is the key pose's, see ``prior_target``)."""
    est = _unit6d(estimate.detach())
    est[anchor] = key
    seen = (visibility >= seen_threshold).cpu().numpy()
    seen[anchor] = True
    out = _unit6d(fallback.detach()).clone()
    frames = np.arange(est.shape[0])
    for j in range(est.shape[1]):
        known = frames[seen[:, j]]
        out[known, j] = est[known, j]
        nxt = np.searchsorted(known, frames)  # first seen frame at or after t
        inside = (nxt > 0) & (nxt < len(known)) & ~seen[:, j]
        if not inside.any():
            continue
        t = frames[inside]
        lo, hi = known[nxt[inside] - 1], known[nxt[inside]]
        a = torch.as_tensor((t - lo) / (hi - lo), dtype=est.dtype, device=est.device)[:, None]
        out[t, j] = (1 - a) * est[lo, j] + a * est[hi, j]
    return _unit6d(out)


def prior_target(visibility: torch.Tensor, key: torch.Tensor, hidden: torch.Tensor, *,
                 seen_weight: float, hidden_weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The single pose-prior term equal (up to a constant) to ``seen_weight · v`` times the
    squared distance to the key pose ``key (J, 6)`` plus ``hidden_weight · (1 − v)`` times the
    squared distance to ``hidden (T, J, 6)`` (``v = visibility (T, J)``): its weights
    ``(T, J)`` and target ``(T, J, 6)`` (their weighted mean)."""
    ws = seen_weight * visibility
    wh = hidden_weight * (1 - visibility)
    total = ws + wh
    mix = (ws / total.clamp_min(1e-12))[..., None]
    return total, mix * key + (1 - mix) * hidden
