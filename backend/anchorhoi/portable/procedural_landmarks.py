"""Step 7 of the procedural body: the face landmarks smplx reads (51 static points and the
jaw contour, as faces with barycentric coordinates) and the rays whose exits from the solid
are the extra joints smplx selects by vertex id (nose, eyes, ears, fingertips, toes, heels)."""

from __future__ import annotations

import numpy as np

from .procedural_skeleton import J


def face_landmark_layout() -> np.ndarray:
    """(51, 2) (x, y) of the 51 iBUG landmarks without the contour (subject's right first)."""
    pts = []
    for sx in (-1, 1):  # brows: right brow outer -> inner, left brow inner -> outer
        xs = np.linspace(0.058, 0.014, 5) if sx < 0 else np.linspace(0.014, 0.058, 5)
        pts += [(sx * xx, 0.312 + 0.006 * np.sin(np.pi * (xx - 0.01) / 0.05)) for xx in xs]
    pts += [(0.0, y) for y in np.linspace(0.288, 0.262, 4)]  # nose bridge
    pts += [(xx, 0.25 + 0.004 * abs(xx) / 0.014) for xx in np.linspace(-0.014, 0.014, 5)]
    for sx in (-1, 1):  # eyes: corner, two upper, corner, two lower (clockwise in the image)
        cx = sx * 0.032
        ring = [(-0.014, 0.0), (-0.006, 0.004), (0.006, 0.004), (0.014, 0.0), (0.006, -0.004),
                (-0.006, -0.004)]
        pts += [(cx + dx, 0.29 + dy) for dx, dy in ring]
    outer_top = [(-0.025, 0.222), (-0.017, 0.228), (-0.006, 0.231), (0.0, 0.229), (0.006, 0.231),
                 (0.017, 0.228), (0.025, 0.222)]
    outer_bottom = [(0.017, 0.214), (0.008, 0.210), (0.0, 0.209), (-0.008, 0.210), (-0.017, 0.214)]
    inner = [(-0.018, 0.222), (-0.007, 0.224), (0.0, 0.224), (0.007, 0.224), (0.018, 0.222),
             (0.007, 0.219), (0.0, 0.219), (-0.007, 0.219)]
    pts += outer_top + outer_bottom + inner
    return np.array(pts)


CONTOUR_STEP = 1.0  # degrees between the sampled points of the jaw curve


def _contour_curve() -> np.ndarray:
    """(n, 2) azimuth (radians, 0 = +Z, towards +X positive) and height of points on a jaw
    curve from one ear to the other, every CONTOUR_STEP degrees."""
    az = np.radians(np.arange(-100, 100 + CONTOUR_STEP, CONTOUR_STEP))
    height = 0.185 + 0.09 * np.minimum(np.abs(az) / np.radians(80), 1.0) ** 1.5
    return np.stack([az, height], axis=1)


def contour_index(num_points: int = 17) -> np.ndarray:
    """(79, points) index into ``_contour_curve``: for each head yaw bin of smplx 17 points
    from the right ear to the left, turned against the yaw (smplx's lookup: bin b holds yaw
    -b degrees for b <= 39, b - 39 degrees above)."""
    base = np.linspace(-80, 80, num_points)
    b = np.arange(79)
    yaw = np.where(b <= 39, -b, b - 39)
    az = base[None, :] - 0.5 * yaw[:, None]
    return np.rint((az + 100) / CONTOUR_STEP).astype(np.int64)


def landmark_rays() -> tuple[np.ndarray, np.ndarray, float]:
    """Origins ``(n, 3)``, unit directions ``(n, 3)`` and the reach of the rays whose exits are
    the face landmarks: the 51 static ones, then the jaw curve (``_contour_curve``)."""
    face = face_landmark_layout()
    n = len(face)
    face_o = np.stack([face[:, 0], face[:, 1], np.zeros(n)], axis=1)
    face_d = np.tile([0.0, 0.0, 1.0], (n, 1))
    cont = _contour_curve()
    cont_o = np.stack([np.zeros(len(cont)), cont[:, 1], np.zeros(len(cont))], axis=1)
    cont_d = np.stack([np.sin(cont[:, 0]), np.zeros(len(cont)), np.cos(cont[:, 0])], axis=1)
    return np.concatenate([face_o, cont_o]), np.concatenate([face_d, cont_d]), 0.2


def barycentric(verts: np.ndarray, faces: np.ndarray, points: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """For each point on the surface: the nearest face and barycentric coordinates on it."""
    lo, hi = points.min(0) - 0.03, points.max(0) + 0.03
    cent = verts[faces].mean(axis=1)
    near = np.flatnonzero(np.all((cent >= lo) & (cent <= hi), axis=1))
    a, b, c = (verts[faces[near, k]] for k in range(3))  # (m, 3) each
    e0, e1 = b - a, c - a
    d00, d01, d11 = (e0 * e0).sum(1), (e0 * e1).sum(1), (e1 * e1).sum(1)
    den = d00 * d11 - d01 * d01
    idx = np.empty(len(points), np.int64)
    bary = np.empty((len(points), 3))
    for s in range(0, len(points), 64):
        ep = points[s:s + 64, None, :] - a[None]  # (n, m, 3)
        d20, d21 = (ep * e0).sum(-1), (ep * e1).sum(-1)
        v = (d11 * d20 - d01 * d21) / den
        w = (d00 * d21 - d01 * d20) / den
        lam = np.clip(np.stack([1 - v - w, v, w], axis=-1), 0, None)
        lam /= lam.sum(-1, keepdims=True)
        q = lam[..., :1] * a + lam[..., 1:2] * b + lam[..., 2:] * c
        best = np.argmin(((q - points[s:s + 64, None, :]) ** 2).sum(-1), axis=1)
        idx[s:s + 64] = near[best]
        bary[s:s + 64] = lam[np.arange(len(best)), best]
    return idx, bary


VERTEX_ID_KEYS = ("nose", "reye", "leye", "rear", "lear", "rthumb", "rindex", "rmiddle", "rring",
                  "rpinky", "lthumb", "lindex", "lmiddle", "lring", "lpinky", "LBigToe",
                  "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel")
"""smplx's extra joints selected by vertex id (its ``vertex_ids['smplx']`` keys)."""


def vertex_id_rays(joints: np.ndarray, ends: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, float]:
    """Rays whose exits are the extra-joint points, in the order of ``VERTEX_ID_KEYS``:
    origins ``(21, 3)``, unit directions ``(21, 3)`` and their reach."""
    rays: dict[str, tuple] = {
        "nose": ((0.0, 0.262, 0.06), (0, 0, 1)),
        "reye": (joints[J["right_eye_smplhf"]], (0, 0, 1)),
        "leye": (joints[J["left_eye_smplhf"]], (0, 0, 1)),
        "rear": ((0.0, 0.285, -0.01), (-1, 0, 0)), "lear": ((0.0, 0.285, -0.01), (1, 0, 0))}
    for side, s in (("right", "r"), ("left", "l")):
        for digit in ("thumb", "index", "middle", "ring", "pinky"):
            j = J[f"{side}_{digit}3"]
            rays[s + digit] = (joints[j], ends[j] - joints[j])
    for side, S, sx in (("left", "L", 1), ("right", "R", -1)):
        ball = joints[J[f"{side}_foot"]]
        rays[S + "BigToe"] = (ball + (-sx * 0.012, -0.008, 0.0), (0, 0, 1))
        rays[S + "SmallToe"] = (ball + (sx * 0.022, -0.012, -0.01), (sx * 0.3, 0, 1))
        rays[S + "Heel"] = (joints[J[f"{side}_ankle"]] + (0, -0.02, 0), (0, -0.6, -0.8))
    origins = np.array([rays[k][0] for k in VERTEX_ID_KEYS], dtype=float)
    dirs = np.array([rays[k][1] for k in VERTEX_ID_KEYS], dtype=float)
    return origins, dirs / np.linalg.norm(dirs, axis=1, keepdims=True), 0.15
