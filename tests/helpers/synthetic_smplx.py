"""A synthetic model in the official SMPL-X ``.npz`` format, for tests (no licensed data).

It has the real vertex count (10,475, so smplx's hard-coded landmark ids are valid), the 55
joints at the procedural body's rest joints, and is otherwise a cloud of vertices around each
joint: vertex clusters bound rigidly to their joint, the joint regressed as the cluster mean.
Non-zero pose correctives check that nothing mixes them into the joints. The root's parent is
stored as 2**32 − 1 and an object array is included, as in the official files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from anchorhoi.portable.skeleton import NUM_JOINTS, kintree_table

NUM_VERTICES = 10475


def synthetic_smplx_model(rest_joints: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    owner = np.arange(NUM_VERTICES) % NUM_JOINTS
    offsets = rng.normal(scale=0.02, size=(NUM_VERTICES, 3))
    for j in range(NUM_JOINTS):  # cluster means exactly at the joint
        offsets[owner == j] -= offsets[owner == j].mean(0)
    v = rest_joints[owner] + offsets
    jreg = np.zeros((NUM_JOINTS, NUM_VERTICES))
    jreg[owner, np.arange(NUM_VERTICES)] = 1.0
    jreg /= jreg.sum(1, keepdims=True)
    weights = np.zeros((NUM_VERTICES, NUM_JOINTS))
    weights[np.arange(NUM_VERTICES), owner] = 1.0
    faces = []
    for j in range(NUM_JOINTS):
        idx = np.flatnonzero(owner == j)
        faces += [(idx[k], idx[k + 1], idx[k + 2]) for k in range(len(idx) - 2)]
    shapedirs = np.zeros((NUM_VERTICES, 3, 400))
    shapedirs[:, 1, 0] = 0.03 * v[:, 1]  # beta 0 stretches the body vertically
    shapedirs[:, 0, 1] = 0.02 * np.sign(v[:, 0])  # beta 1 widens it
    shapedirs[:, :, 2:16] = rng.normal(scale=1e-3, size=(NUM_VERTICES, 3, 14))
    kt = kintree_table().astype(np.uint32)  # root parent becomes 4294967295
    return {
        "v_template": v, "f": np.array(faces, dtype=np.uint32), "J_regressor": jreg,
        "weights": weights, "kintree_table": kt, "shapedirs": shapedirs,
        "posedirs": rng.normal(scale=1e-3, size=(NUM_VERTICES, 3, 486)),
        "hands_componentsl": np.eye(45), "hands_componentsr": np.eye(45),
        "hands_meanl": rng.normal(scale=0.1, size=45),
        "hands_meanr": rng.normal(scale=0.1, size=45),
        "lmk_faces_idx": np.arange(51, dtype=np.int64), "lmk_bary_coords": np.full((51, 3), 1 / 3),
        "part2num": np.array([{"global": 0}], dtype=object),
    }


def write_synthetic_smplx(folder: Path, rest_joints: np.ndarray, gender: str = "NEUTRAL") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"SMPLX_{gender}.npz"
    np.savez(path, **synthetic_smplx_model(rest_joints))
    return path
