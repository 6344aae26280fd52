"""Steps 2 and 3 of the procedural body: the solid (round cones and ellipsoids per bone,
smoothly united) and the template mesh meshed from it (surface nets on a grid that is fine
around the hands, projected and relaxed; ``procedural_mesh``).
"""

from __future__ import annotations

import numpy as np

from . import procedural_mesh as pm
from .procedural_skeleton import FINGER_DESIGN, LEFT, SOLE_Y, J, left_hand, rest_joints


def build_primitives() -> pm.PrimitiveArrays:
    """Round cones / ellipsoids, each bound to the joint that moves it; order = union order."""
    jt = rest_joints()
    P = pm.Primitives()
    # Torso: a tube of round cones up the spine, elliptic (1.6 times wider than deep).
    torso = ((-0.40, 0.100, -0.012), (-0.235, 0.090, 0.0), (-0.105, 0.092, 0.005),
             (-0.045, 0.098, 0.010), (0.045, 0.090, 0.0))  # (y, half depth, z) at each level
    for bone, (y0, r0, z0), (y1, r1, z1) in zip(("pelvis", "spine1", "spine2", "spine3"),
                                                torso[:-1], torso[1:]):
        P.add((0.0, y0, z0), (0.0, y1, z1), r0, r1, J[bone], 0.02, scale=(1.6, 1.0, 1.0))
    for sx, side in ((1, "left"), (-1, "right")):
        P.add((sx * 0.02, 0.075, -0.015), (sx * 0.15, 0.085, -0.025), 0.065, 0.055,
              J[f"{side}_collar"], 0.04, scale=(1.0, 1.0, 1.1))
    # Neck and head.
    P.add((0.0, 0.10, -0.015), (0.0, 0.245, 0.0), 0.056, 0.050, J["neck"], 0.03)
    P.add((0.0, 0.315, -0.005), (0.0, 0.315, -0.005), 1.0, 1.0, J["head"], 0.03,
          scale=(0.077, 0.092, 0.097))
    P.add((0.0, 0.26, 0.028), (0.0, 0.26, 0.028), 1.0, 1.0, J["head"], 0.03,
          scale=(0.063, 0.078, 0.075))
    P.add((0.0, 0.195, 0.062), (0.0, 0.195, 0.062), 1.0, 1.0, J["jaw"], 0.02,
          scale=(0.03, 0.024, 0.028))
    P.add((0.0, 0.295, 0.08), (0.0, 0.258, 0.106), 0.012, 0.012, J["head"], 0.02)  # nose
    # Legs (left, then mirrored).
    for sx, side in ((1, "left"), (-1, "right")):
        m = np.array([sx, 1.0, 1.0])
        knee, ankle = jt[J[f"{side}_knee"]], jt[J[f"{side}_ankle"]]
        P.add(m * (0.078, -0.40, 0.0), knee, 0.085, 0.052, J[f"{side}_hip"], 0.04)
        P.add(knee, ankle, 0.052, 0.031, J[f"{side}_knee"], 0.025)
        P.add(m * (0.095, -0.95, -0.022), m * (0.095, -0.95, -0.022), 1.0, 1.0, J[f"{side}_knee"],
              0.03, scale=(0.048, 0.10, 0.05))  # calf
        P.add(m * (0.085, -1.262, -0.055), m * (0.105, -1.27, 0.08), 0.038, 0.030,
              J[f"{side}_ankle"], 0.02, scale=(1.25, 1.0, 1.0))
        P.add(m * (0.105, -1.272, 0.085), m * (0.112, -1.284, 0.148), 0.028, 0.016,
              J[f"{side}_foot"], 0.015, scale=(1.35, 1.0, 1.0))
    # Arms and hands.
    hand, tips, digits = left_hand()
    for sx, side in ((1, "left"), (-1, "right")):
        m = np.array([sx, 1.0, 1.0])
        elbow, wrist = jt[J[f"{side}_elbow"]], jt[J[f"{side}_wrist"]]
        P.add(m * (0.16, 0.085, -0.02), elbow, 0.052, 0.040, J[f"{side}_shoulder"], 0.035)
        P.add(elbow, wrist, 0.040, 0.028, J[f"{side}_elbow"], 0.02, scale=(1.0, 0.85, 1.15))
        c = wrist + m * (0.045, 0.0, 0.0)
        P.add(c, c, 1.0, 1.0, J[f"{side}_wrist"], 0.015, scale=(0.052, 0.015, 0.042))
        for digit in ("thumb",) + tuple(FINGER_DESIGN):
            _, radii = digits[digit]
            pts = [hand[f"left_{digit}{n}"] for n in (1, 2, 3)] + [tips[digit]]
            for n in range(3):
                k = {"thumb": (0.012, 0.008, 0.003)}.get(digit, (0.005, 0.003, 0.003))[n]
                P.add(m * pts[n], m * pts[n + 1], radii[n], radii[n + 1],
                      J[f"{side}_{digit}{n + 1}"], k)
    return P.finish()


BODY_STEP = 0.019  # grid spacing over the body
HAND_STEP = 0.005  # grid spacing around the hands
HAND_X = (0.635, 0.895)  # |x| range of the fine hand slab
BLEND_X = (0.52, 0.62)  # |x| range where the Y/Z node layout turns from body to hand


def build_grid() -> pm.WarpedGrid:
    """Body spacing everywhere, the hand spacing in the hand slabs |x| in HAND_X."""
    def hx(x):
        ax = abs(x)
        if ax <= 0.55:
            return BODY_STEP
        if ax < HAND_X[0]:
            t = (ax - 0.55) / (HAND_X[0] - 0.55)
            return BODY_STEP + t * (HAND_STEP - BODY_STEP)
        return HAND_STEP + 0.3 * max(ax - HAND_X[1], 0.0)

    n = max(pm.nodes_to_reach(0.0, hx, -0.935, 0.935))
    X = pm.graded_axis(0.0, hx, n + 1, n + 1)
    wrist = np.array(LEFT["wrist"])

    def profile(anchor, body_band, hand_band, body_reach, hand_reach):
        body = pm.band_spacing(BODY_STEP, *body_band, 0.5)
        hand = pm.band_spacing(HAND_STEP, *hand_band, 0.25)
        lo_b, hi_b = pm.nodes_to_reach(anchor, body, *body_reach)
        lo_h, hi_h = pm.nodes_to_reach(anchor, hand, *hand_reach)
        lo, hi = max(lo_b, lo_h) + 1, max(hi_b, hi_h) + 1
        return pm.graded_axis(anchor, body, lo, hi), pm.graded_axis(anchor, hand, lo, hi)

    yb, yh = profile(wrist[1], (SOLE_Y - 0.02, 0.43), (0.025, 0.12), (SOLE_Y - 0.03, 0.44),
                     (0.015, 0.125))
    zb, zh = profile(wrist[2], (-0.2, 0.22), (-0.095, 0.09), (-0.21, 0.23), (-0.10, 0.095))
    t = np.clip((np.abs(X) - BLEND_X[0]) / (BLEND_X[1] - BLEND_X[0]), 0.0, 1.0)
    alpha = (t * t * (3 - 2 * t))[:, None]
    return pm.WarpedGrid(X, (1 - alpha) * yb + alpha * yh, (1 - alpha) * zb + alpha * zh)


def build_mesh(prims: pm.PrimitiveArrays | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The template mesh: vertices (V, 3) float64, faces (F, 3) int64."""
    prims = build_primitives() if prims is None else prims
    return pm.mesh_solid(prims, build_grid())
