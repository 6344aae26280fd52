"""Step 1 of the procedural body: the designed skeleton — the 55 rest joints and the end point
of every bone (SMPL-X's rest pose: Y up, facing +Z, left side at +X, arms out along ±X, metres).

The left side is designed; the right side mirrors it (``MIRROR``). The hand is designed per
digit (``FINGER_DESIGN``, ``THUMB_DESIGN``) relative to the wrist.
"""

from __future__ import annotations

import numpy as np

from .skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS

J = {name: i for i, name in enumerate(JOINT_NAMES)}
# left/right joint pairs, for mirroring the left side's design
MIRROR = np.arange(NUM_JOINTS)
for _name, _i in J.items():
    if _name.startswith("left_"):
        MIRROR[_i], MIRROR[J["right_" + _name[5:]]] = J["right_" + _name[5:]], _i

SOLE_Y = -1.30
HEAD_TOP = np.array([0.0, 0.37, -0.005])  # end of the head bone (the skull's top is ~0.407)


_CENTRE = {
    "pelvis": (0.0, -0.35, 0.01), "spine1": (0.0, -0.235, -0.01), "spine2": (0.0, -0.105, -0.005),
    "spine3": (0.0, -0.045, 0.01), "neck": (0.0, 0.13, -0.02), "head": (0.0, 0.225, -0.005),
    "jaw": (0.0, 0.205, 0.035),
}
LEFT = {
    "hip": (0.075, -0.44, 0.0), "knee": (0.095, -0.83, 0.005), "ankle": (0.088, -1.22, -0.04),
    "foot": (0.108, -1.275, 0.085), "collar": (0.075, 0.055, -0.01),
    "shoulder": (0.175, 0.085, -0.02), "elbow": (0.435, 0.075, -0.03),
    "wrist": (0.685, 0.075, -0.025), "eye_smplhf": (0.032, 0.29, 0.072),
}
# Left hand, relative to the wrist: knuckle (joint 1), angle in the XZ plane towards +Z
# (thumb side), phalanx lengths, radii at joints 1, 2, 3 and at the tip.
FINGER_DESIGN = {
    "index": ((0.088, 0.002, 0.027), 11.0, (0.040, 0.024, 0.021), (0.0082, 0.0075, 0.0068, 0.006)),
    "middle": ((0.092, 0.003, 0.006), 2.0, (0.044, 0.028, 0.022), (0.0085, 0.0078, 0.007, 0.0062)),
    "ring": ((0.088, 0.002, -0.014), -7.0, (0.041, 0.027, 0.021), (0.008, 0.0073, 0.0066, 0.0058)),
    "pinky": ((0.080, 0.0, -0.032), -16.0, (0.032, 0.021, 0.019), (0.007, 0.0064, 0.0058, 0.0052)),
}
# The left thumb, relative to the wrist: base (joint 1), direction, phalanx lengths, radii.
THUMB_DESIGN = ((0.024, -0.010, 0.020), (0.62, -0.28, 0.73), (0.042, 0.032, 0.026),
                (0.0140, 0.0100, 0.0088, 0.0076))


def mirror(p) -> np.ndarray:
    """``p (..., 3)`` mirrored to the other side (x negated), as a new float64 array."""
    p = np.array(p, dtype=np.float64)
    p[..., 0] *= -1
    return p


def left_hand() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, tuple]]:
    """Left-hand joints (absolute), fingertip points, and per-digit (direction, radii)."""
    wrist = np.array(LEFT["wrist"])
    joints, tips, digits = {}, {}, {}
    for name, (base, angle, lengths, radii) in FINGER_DESIGN.items():
        a = np.radians(angle)
        d = np.array([np.cos(a), 0.0, np.sin(a)])
        p = wrist + np.array(base)
        for n, length in enumerate(lengths, start=1):
            joints[f"left_{name}{n}"] = p
            p = p + length * d
        tips[name] = p
        digits[name] = (d, radii)
    base, direction, lengths, radii = THUMB_DESIGN
    d = np.array(direction) / np.linalg.norm(direction)
    p = wrist + np.array(base)
    for n, length in enumerate(lengths, start=1):
        joints[f"left_thumb{n}"] = p
        p = p + length * d
    tips["thumb"] = p
    digits["thumb"] = (d, radii)
    return joints, tips, digits


def rest_joints() -> np.ndarray:
    """(55, 3) the designed rest joint positions (what ``J_regressor @ v_template`` gives)."""
    out = np.zeros((NUM_JOINTS, 3))
    for name, p in _CENTRE.items():
        out[J[name]] = p
    for name, p in LEFT.items():
        out[J["left_" + name]] = p
    for name, position in left_hand()[0].items():
        out[J[name]] = position
    left = [J[n] for n in JOINT_NAMES if n.startswith("left_")]
    out[MIRROR[left]] = mirror(out[left])
    return out


def bone_ends(joints: np.ndarray) -> np.ndarray:
    """(55, 3) the far end of the bone each joint rotates (its main child, or a tip point)."""
    ends = np.zeros_like(joints)
    main_child = {"pelvis": "spine1", "spine3": "neck", "left_wrist": "left_middle1",
                  "right_wrist": "right_middle1"}
    for i, p in enumerate(PARENTS):
        if p >= 0 and JOINT_NAMES[p] not in main_child:
            ends[p] = joints[i]
    for parent, child in main_child.items():
        ends[J[parent]] = joints[J[child]]
    tips = left_hand()[1]
    for name, tip in tips.items():
        ends[J[f"left_{name}3"]] = tip
        ends[J[f"right_{name}3"]] = mirror(tip)
    ends[J["head"]] = HEAD_TOP
    ends[J["jaw"]] = (0.0, 0.19, 0.075)
    for side, sx in (("left", 1), ("right", -1)):
        ends[J[f"{side}_foot"]] = (sx * 0.113, -1.284, 0.150)
        ends[J[f"{side}_eye_smplhf"]] = joints[J[f"{side}_eye_smplhf"]] + (0, 0, 0.012)
    return ends
