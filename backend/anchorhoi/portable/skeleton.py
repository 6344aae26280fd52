"""The SMPL-X kinematic tree: 55 joints, their names (as in ``smplx.joint_names``) and parents."""

from __future__ import annotations

import numpy as np

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "jaw",
    "left_eye_smplhf", "right_eye_smplhf",
    "left_index1", "left_index2", "left_index3", "left_middle1", "left_middle2",
    "left_middle3", "left_pinky1", "left_pinky2", "left_pinky3", "left_ring1",
    "left_ring2", "left_ring3", "left_thumb1", "left_thumb2", "left_thumb3",
    "right_index1", "right_index2", "right_index3", "right_middle1", "right_middle2",
    "right_middle3", "right_pinky1", "right_pinky2", "right_pinky3", "right_ring1",
    "right_ring2", "right_ring3", "right_thumb1", "right_thumb2", "right_thumb3",
)

PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
    20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
    21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53,
)

NUM_JOINTS = 55
NUM_BODY_JOINTS = 21  # joints 1..21: `pose_body` (63,)
NUM_HAND_JOINTS = 15  # per hand: `pose_hand` (90,) = left 15 then right 15

# Slices of the 55 joints by the AMASS parameter that drives them.
ROOT = slice(0, 1)
BODY = slice(1, 22)
JAW = slice(22, 23)
EYES = slice(23, 25)
LEFT_HAND = slice(25, 40)
RIGHT_HAND = slice(40, 55)


def kintree_table() -> np.ndarray:
    """(2, 55) int64 as stored in the SMPL-X ``.npz`` files (root's parent stored as -1)."""
    parents = np.array(PARENTS, dtype=np.int64)
    return np.stack([parents, np.arange(NUM_JOINTS, dtype=np.int64)])
