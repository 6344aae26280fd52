"""Step 6 of the procedural body: linear shape directions (the betas) and a few expression
directions, as deformations of the skeleton (bone lengths, positions) and of the girth
(cross-sections about their bones)."""

from __future__ import annotations

import numpy as np

from .procedural_skeleton import MIRROR, J
from .procedural_skinning import MAX_INFLUENCES
from .skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS

HEIGHT_SCALE = 0.021  # beta 0: the skeleton grows 2.1 % about the pelvis (about +3.4 cm)
GIRTH = 0.08  # beta 1: cross-sections grow 8 % (torso and limbs)

_ARM = ("shoulder", "elbow", "wrist", "index", "middle", "ring", "pinky", "thumb")
_HAND = ("wrist", "index", "middle", "ring", "pinky", "thumb")
_LEG = ("hip", "knee", "ankle", "foot")
SIDES = ("left", "right")


def _members(parts, side) -> np.ndarray:
    return np.array([n.startswith(f"{side}_") and n[len(side) + 1:].rstrip("123") in parts
                     for n in JOINT_NAMES])


class VertexBones:
    """Each vertex against the bones that move it: projections and positions along the bone."""

    def __init__(self, verts, weights, joints, ends):
        order = np.argsort(-weights, axis=1, kind="stable")[:, :MAX_INFLUENCES]
        self.verts, self.joints, self.ends = verts, joints, ends
        self.idx = order  # (V, 4) joints
        self.w = np.take_along_axis(weights, order, axis=1)  # (V, 4)
        a, b = joints[order], ends[order]  # (V, 4, 3)
        ab = b - a
        t = ((verts[:, None, :] - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12)
        self.t = np.clip(t, 0.0, 1.0)
        self.proj = a + self.t[..., None] * ab  # closest point on each bone

    def deform(self, start=None, end=None, girth=None) -> np.ndarray:
        """(V, 3) blend over the vertex's bones of: the bone's displacement (``start`` (55, 3) at
        the joint, ``end`` (55, 3) at the bone's end, interpolated along it) plus ``girth``
        (55,) or (55, 3) times the offset from the bone."""
        out = np.zeros((len(self.verts), MAX_INFLUENCES, 3))
        if start is not None:
            end = start if end is None else end
            out += (1 - self.t[..., None]) * start[self.idx] + self.t[..., None] * end[self.idx]
        if girth is not None:
            g = np.asarray(girth, float)
            g = g[:, None] if g.ndim == 1 else g
            out += g[self.idx] * (self.verts[:, None, :] - self.proj)
        return (self.w[..., None] * out).sum(axis=1)

    def scaled_chain(self, mask, origin, scale):
        """Bone displacements that scale the joints in ``mask`` (and their bones' ends)."""
        start = np.where(mask[:, None], scale * (self.joints - origin), 0.0)
        child_in = np.zeros(NUM_JOINTS, bool)
        for i, p in enumerate(PARENTS):
            if p >= 0 and mask[i]:
                child_in[p] = True
        end = np.where((mask | child_in)[:, None], scale * (self.ends - origin), 0.0)
        return start, end


def shape_directions(sk: VertexBones, num_betas: int) -> np.ndarray:
    """(V, 3, num_betas) linear shape directions, in the order of the list below."""
    jt, x = sk.joints, np.array([1.0, 0.0, 0.0])
    everyone = np.ones(NUM_JOINTS, bool)
    girth = np.full(NUM_JOINTS, GIRTH)
    for side in ("left", "right"):
        girth[_members(_HAND, side) & ~_members(("wrist",), side)] = 0.03
        girth[_members(("foot",), side)] = 0.03
    girth[[J["head"], J["jaw"], J["left_eye_smplhf"], J["right_eye_smplhf"]]] = 0.02
    dirs = []
    # 0: height - the whole skeleton scaled about the pelvis, cross-sections unchanged.
    dirs.append(sk.deform(*sk.scaled_chain(everyone, jt[J["pelvis"]], HEIGHT_SCALE)))
    # 1: girth - every cross-section scaled about its bone.
    dirs.append(sk.deform(girth=girth))
    # 2: shoulder width - each arm moved out by 2.5 cm, the collar bones stretch.
    start, end = np.zeros((NUM_JOINTS, 3)), np.zeros((NUM_JOINTS, 3))
    for side, sx in (("left", 1), ("right", -1)):
        arm = _members(_ARM, side)
        start[arm] = end[arm] = sx * 0.025 * x
        end[J[f"{side}_collar"]] = sx * 0.025 * x
    dirs.append(sk.deform(start, end))

    def both_sides(parts, root, scale) -> tuple[np.ndarray, np.ndarray]:
        """Each side's chain scaled about its own root joint: (start, end) displacements."""
        ends = [sk.scaled_chain(_members(parts, s), jt[J[f"{s}_{root}"]], scale) for s in SIDES]
        return ends[0][0] + ends[1][0], ends[0][1] + ends[1][1]

    # 3: leg length - each leg scaled by 3.5 % about its hip.
    dirs.append(sk.deform(*both_sides(_LEG, "hip", 0.035)))
    # 4: belly - the front of the abdomen pushed forward.
    front = np.maximum(sk.verts[:, None, 2] - sk.proj[:, :, 2], 0.0)  # (V, 4)
    belly = np.zeros(NUM_JOINTS)
    belly[[J["spine1"], J["spine2"]]], belly[J["pelvis"]] = 0.25, 0.1
    dirs.append(np.stack([np.zeros(len(sk.verts)), np.zeros(len(sk.verts)),
                          (sk.w * belly[sk.idx] * front).sum(1)], axis=1))
    # 5: arm length - each arm scaled by 4 % about its shoulder.
    dirs.append(sk.deform(*both_sides(_ARM, "shoulder", 0.04)))
    # 6: head size - the head scaled by 6 % about its centre.
    head = np.zeros(NUM_JOINTS)
    head[[J["head"], J["jaw"], J["left_eye_smplhf"], J["right_eye_smplhf"]]] = 1.0
    hw = (sk.w * head[sk.idx]).sum(1)
    dirs.append(0.06 * hw[:, None] * (sk.verts - np.array([0.0, 0.29, 0.0])))
    # 7: hip width - the legs moved out by 1.5 cm, the pelvis widened.
    start, end = np.zeros((NUM_JOINTS, 3)), np.zeros((NUM_JOINTS, 3))
    for side, sx in (("left", 1), ("right", -1)):
        leg = _members(_LEG, side)
        start[leg] = end[leg] = sx * 0.015 * x
    pelvis = np.zeros((NUM_JOINTS, 3))
    pelvis[J["pelvis"]] = (0.1, 0.0, 0.0)
    dirs.append(sk.deform(start, end) + sk.deform(girth=pelvis))
    # 8: chest - the rib cage deeper and a little wider.
    chest = np.zeros((NUM_JOINTS, 3))
    chest[[J["spine3"], J["left_collar"], J["right_collar"]]] = (0.03, 0.0, 0.08)
    dirs.append(sk.deform(girth=chest))
    # 9: hand size - each hand scaled by 6 % about its wrist, fingers thicker too.
    hand_girth = np.where(_members(_HAND, "left") | _members(_HAND, "right"), 0.06, 0.0)
    hand_girth[[J["left_wrist"], J["right_wrist"]]] = 0.03
    dirs.append(sk.deform(*both_sides(_HAND, "wrist", 0.06), hand_girth))
    # 10+: smooth, left-right symmetric girth variations per bone.
    sym = np.minimum(np.arange(NUM_JOINTS), MIRROR)
    for n in range(len(dirs), num_betas):
        dirs.append(sk.deform(girth=0.05 * np.sin(12.9898 * (n + 1) + 78.233 * sym)))
    return np.stack(dirs[:num_betas], axis=2) if num_betas else np.zeros((len(sk.verts), 3, 0))


def expression_directions(sk: VertexBones) -> np.ndarray:
    """(V, 3, 3): jaw drop, smile (mouth corners up and out), brows up."""
    v = sk.verts
    jaw = (sk.w * (sk.idx == J["jaw"])).sum(1)

    def bump(centre, sigma):  # a Gaussian bump on each side of the face
        c = np.array(centre)
        return sum(np.exp(-((v - c * m) ** 2).sum(1) / (2 * sigma**2)) for m in ((1, 1, 1),
                                                                               (-1, 1, 1)))

    smile = bump((0.028, 0.222, 0.085), 0.012)
    brows = bump((0.032, 0.312, 0.085), 0.015)
    out = np.zeros((len(v), 3, 3))
    out[:, :, 0] = jaw[:, None] * np.array([0.0, -0.01, -0.003])
    out[:, 0, 1] = 0.004 * smile * np.sign(v[:, 0])
    out[:, 1, 1] = 0.004 * smile
    out[:, 1, 2] = 0.004 * brows
    return out
