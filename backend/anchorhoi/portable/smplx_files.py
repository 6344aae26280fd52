"""The official SMPL-X model files (``SMPLX_{NEUTRAL,MALE,FEMALE}.npz``), read without pickle.

The files are licence-gated: the user downloads them and names their folder; they are never
shipped or fetched by code. Only the ``.npz`` release is read; ``.pkl`` files are refused
because reading them means unpickling.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .arrays import MotionFileError, check_shape, float_array, int_array, load_npz
from .motion import Rig
from .skeleton import NUM_JOINTS, PARENTS

# Keys smplx's SMPLX layer reads (and their shapes, V = vertices, F = faces).
MODEL_KEYS: dict[str, tuple[int | None, ...]] = {
    "v_template": (None, 3), "f": (None, 3), "J_regressor": (NUM_JOINTS, None),
    "weights": (None, NUM_JOINTS), "kintree_table": (2, NUM_JOINTS),
    "shapedirs": (None, 3, None), "posedirs": (None, 3, None),
    "hands_componentsl": (45, 45), "hands_componentsr": (45, 45),
    "hands_meanl": (45,), "hands_meanr": (45,),
    "lmk_faces_idx": (None,), "lmk_bary_coords": (None, 3),
}
INT_KEYS = ("f", "kintree_table", "lmk_faces_idx")


def model_file(folder: str | os.PathLike, gender: str) -> Path:
    """The ``.npz`` of ``gender`` in the user's SMPL-X folder; an actionable error if absent."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MotionFileError(folder, "SMPL-X folder not found; set it in the preferences to the "
                              "folder holding SMPLX_NEUTRAL.npz (or leave it empty for the "
                              "procedural body)")
    name = f"SMPLX_{gender.upper()}"
    path = folder / f"{name}.npz"
    if path.is_file():
        return path
    if (folder / f"{name}.pkl").is_file():
        raise MotionFileError(folder / f"{name}.pkl", "pickle model files are not read (loading "
                              "them would run arbitrary code). Download the '.npz' release of "
                              "SMPL-X from the SMPL-X website (models_smplx_v1_1.zip holds "
                              f"{name}.npz) and put it in this folder")
    raise MotionFileError(path, f"not found in {folder}; the folder must hold {name}.npz from the "
                          "official SMPL-X release")


def load_model_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays smplx needs from an SMPL-X ``.npz``, checked; other keys are not read."""
    raw = load_npz(path, tuple(MODEL_KEYS))
    out = {}
    for key, shape in MODEL_KEYS.items():
        if key in INT_KEYS:
            a = int_array(path, raw, key, shape)
        else:
            a = float_array(path, raw, key, shape)
        out[key] = a
    v = out["v_template"].shape[0]
    for key in ("weights", "shapedirs", "posedirs"):
        if out[key].shape[0] != v:
            raise MotionFileError(path, f"has {out[key].shape[0]} rows but the template has {v} "
                                  "vertices", key=key)
    check_shape(path, "J_regressor", out["J_regressor"], (NUM_JOINTS, v))
    if out["f"].min() < 0 or out["f"].max() >= v:
        raise MotionFileError(path, "face indices out of range", key="f")
    parents = out["kintree_table"][0].copy()
    parents[0] = -1  # the files store the root's parent as 2**32 - 1
    if tuple(int(p) for p in parents) != PARENTS:
        raise MotionFileError(path, "kinematic tree differs from SMPL-X's 55 joints",
                              key="kintree_table")
    out["kintree_table"] = np.stack([parents, out["kintree_table"][1]])
    return out


def shaped_rest(model: dict[str, np.ndarray], betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rest vertices ``(V, 3)`` and joints ``(55, 3)`` of the body shaped by ``betas``.

    The same as smplx: ``v = v_template + shapedirs[..., :B] · betas`` (expression zero),
    ``J = J_regressor · v``.
    """
    betas = np.asarray(betas, dtype=np.float64).reshape(-1)
    n = min(betas.size, model["shapedirs"].shape[2], 300)
    verts = model["v_template"] + model["shapedirs"][:, :, :n] @ betas[:n]
    return verts, model["J_regressor"] @ verts


def rig_from_model(model: dict[str, np.ndarray], betas: np.ndarray) -> Rig:
    verts, joints = shaped_rest(model, betas)
    return Rig(rest_joints=joints, rest_vertices=verts, faces=model["f"].astype(np.int64),
               weights=model["weights"], parents=model["kintree_table"][0])
