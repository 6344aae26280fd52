"""Left/right swaps of a 2D pose detector, found and undone (stage D).

On a faceless body (our procedural body, or a person seen from behind) a detector cannot tell
the person's front from their back, so it may report the left arm as the right one and the
other way round — MediaPipe does this on the procedural body in most views. The positions are
right, the labels swapped. Stage D fixes the labels per **side group** (the arms with the
hands, the legs with the feet, the eyes), each of which a detector tends to swap as a whole:

1. **At the anchor frame** the key pose says where each joint is: the 2D map detection ≈
   ``s · projection + o`` is estimated both for the detections as they are and with every
   group swapped (:func:`~.anchor_keypoints.fit_scale_offset`); the labelling whose fit leaves
   the smaller median residual gives the map, and with it each group takes the labelling that
   lies closer to the key pose's projection.
2. **Elsewhere**, going outward from the anchor frame frame by frame, each group takes the
   labelling closer to where its joints were last seen (the corrected track), measured in
   pixels. A group with nothing to compare to keeps the previous frame's decision (a
   detector that swaps tends to stay swapped).
"""

from __future__ import annotations

import numpy as np

from ..portable.skeleton import JOINT_NAMES

SIDE_GROUPS: dict[str, tuple[str, ...]] = {
    "arms": ("collar", "shoulder", "elbow", "wrist", "index", "middle", "pinky", "ring",
             "thumb"),
    "legs": ("hip", "knee", "ankle", "foot"),
    "eyes": ("eye_smplhf",),
}
"""Name stems of the left/right joints in each group."""


def _pairs(stems: tuple[str, ...]) -> np.ndarray:
    """(P, 2) indices of (left_X, right_X) joints whose name after the side starts with a stem."""
    out = []
    for i, name in enumerate(JOINT_NAMES):
        if name.startswith("left_"):
            rest = name[len("left_"):]
            if any(rest.startswith(s) for s in stems):
                out.append((i, JOINT_NAMES.index("right_" + rest)))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


GROUP_PAIRS: dict[str, np.ndarray] = {g: _pairs(s) for g, s in SIDE_GROUPS.items()}


def swap_group(values: np.ndarray, group: str) -> np.ndarray:
    """A copy of ``values`` (joints on the first axis: ``(55,)`` or ``(55, C)``) with the
    group's left and right joints exchanged."""
    p = GROUP_PAIRS[group]
    idx = np.arange(values.shape[0])
    idx[p[:, 0]], idx[p[:, 1]] = p[:, 1], p[:, 0]
    return values[idx]


def _group_cost(xy: np.ndarray, valid: np.ndarray, ref: np.ndarray, ref_ok: np.ndarray,
                group: str) -> tuple[float, float, int]:
    """Mean distance of the group's joints to ``ref`` as labelled and swapped; and how many
    joints were compared (both labellings compare the same number)."""
    p = GROUP_PAIRS[group]
    both = valid[p[:, 0]] & valid[p[:, 1]] & ref_ok[p[:, 0]] & ref_ok[p[:, 1]]
    if not both.any():
        return 0.0, 0.0, 0
    lft, rgt = p[both, 0], p[both, 1]
    keep = np.linalg.norm(xy[lft] - ref[lft], axis=-1) + np.linalg.norm(xy[rgt] - ref[rgt], axis=-1)
    swap = np.linalg.norm(xy[rgt] - ref[lft], axis=-1) + np.linalg.norm(xy[lft] - ref[rgt], axis=-1)
    return float(keep.mean()), float(swap.mean()), int(both.sum())


def fix_side_swaps(xy: np.ndarray, conf: np.ndarray, valid: np.ndarray, anchor_frame: int,
                   anchor_ref: np.ndarray | None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Undo left/right swaps; see the module docstring.

    ``xy (T, 55, 2)``, ``conf (T, 55)``, ``valid (T, 55)`` the detections; ``anchor_ref
    (55, 2)`` the key pose's projection already mapped into video pixels (None: the anchor
    frame is taken as labelled). Returns corrected ``xy``, ``conf``, ``valid`` and
    ``swapped (T, G)`` bool (G groups in ``SIDE_GROUPS`` order)."""
    xy, conf, valid = xy.copy(), conf.copy(), valid.copy()
    t_count = xy.shape[0]
    groups = list(SIDE_GROUPS)
    swapped = np.zeros((t_count, len(groups)), dtype=bool)

    def apply(t: int, g: int) -> None:
        name = groups[g]
        xy[t] = swap_group(xy[t], name)
        conf[t] = swap_group(conf[t], name)
        valid[t] = swap_group(valid[t], name)
        swapped[t, g] = True

    if anchor_ref is not None:
        ok = np.isfinite(anchor_ref).all(-1)
        for g, name in enumerate(groups):
            keep, swap, n = _group_cost(xy[anchor_frame], valid[anchor_frame], anchor_ref, ok,
                                        name)
            if n and swap < keep:
                apply(anchor_frame, g)
    # outward from the anchor: each frame against the corrected track so far
    for step in (1, -1):
        last = np.where(valid[anchor_frame][:, None], xy[anchor_frame], np.nan)
        state = swapped[anchor_frame].copy()
        t = anchor_frame + step
        while 0 <= t < t_count:
            ref_ok = np.isfinite(last).all(-1)
            for g, name in enumerate(groups):
                keep, swap, n = _group_cost(xy[t], valid[t], last, ref_ok, name)
                if (n and swap < keep) or (not n and state[g]):
                    apply(t, g)
                if n:
                    state[g] = swapped[t, g]
            last = np.where(valid[t][:, None], xy[t], last)
            t += step
    return xy, conf, valid, swapped
