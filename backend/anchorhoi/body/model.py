"""``BodyModel``: SMPL-X through smplx's stateless ``SMPLXLayer``, from either body source.

Both sources take the same path: the model arrays are checked (official files are read
without pickle), written to a temporary ``.npz`` holding only those arrays, and loaded by
``smplx.SMPLXLayer``. For the procedural body the extra joints smplx selects by hard-coded
vertex ids of the real mesh are re-pointed at the procedural mesh's vertices.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import smplx
import torch
from smplx.vertex_joint_selector import VertexJointSelector

from ..config_checks import check_choices
from ..portable.motion import Rig, SmplxMotion
from ..portable.procedural_body import build_procedural_model, procedural_vertex_ids
from ..portable.skeleton import NUM_JOINTS
from ..portable.smplx_files import load_model_arrays, model_file, rig_from_model
from .rotations import axis_angle_to_matrix

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class BodyModelConfig:
    smplx_dir: Path | None = None
    """Folder holding the official ``SMPLX_{NEUTRAL,MALE,FEMALE}.npz``; None: procedural body."""
    gender: Literal["neutral", "male", "female"] = "neutral"
    """Which model file of the folder to use (the procedural body is gender-neutral)."""
    num_betas: int = 10
    """Number of shape coefficients."""

    def __post_init__(self) -> None:
        check_choices(self)


@dataclass(frozen=True)
class BodyOutput:
    vertices: torch.Tensor  # (B, V, 3)
    joints: torch.Tensor  # (B, 55, 3) the kinematic joints (smplx's extra landmarks dropped)


class BodyModel(torch.nn.Module):
    """SMPL-X on ``device`` in ``dtype``; rotations in, posed vertices and joints out."""

    def __init__(self, config: BodyModelConfig = BodyModelConfig(), *,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        super().__init__()
        self.config = config
        if config.smplx_dir is not None:
            self.kind = "smplx"
            self.model_arrays = load_model_arrays(model_file(config.smplx_dir, config.gender))
        else:
            self.kind = "procedural"
            self.model_arrays = build_procedural_model()
        with tempfile.TemporaryDirectory(prefix="anchorhoi-body-") as tmp:
            path = Path(tmp) / "model.npz"
            np.savez(path, **self.model_arrays)
            self.layer = smplx.SMPLXLayer(model_path=str(path), ext="npz", dtype=dtype,
                                          num_betas=config.num_betas, use_pca=False,
                                          num_expression_coeffs=10)
        if self.kind == "procedural":
            self.layer.vertex_joint_selector = VertexJointSelector(
                vertex_ids=procedural_vertex_ids(self.model_arrays), use_hands=True,
                use_feet_keypoints=True)
        self.to(device=device)
        self.eval()

    @property
    def faces(self) -> np.ndarray:
        return self.model_arrays["f"]

    def rig(self, betas: np.ndarray | None = None) -> Rig:
        """The skinned body at rest for ``betas`` (numpy, what the add-on builds its rig from)."""
        if betas is None:
            betas = np.zeros(self.config.num_betas)
        return rig_from_model(self.model_arrays, np.asarray(betas)[: self.config.num_betas])

    def forward(self, *, global_orient: torch.Tensor, body_pose: torch.Tensor,
                transl: torch.Tensor | None = None, betas: torch.Tensor | None = None,
                left_hand_pose: torch.Tensor | None = None,
                right_hand_pose: torch.Tensor | None = None,
                jaw_pose: torch.Tensor | None = None, leye_pose: torch.Tensor | None = None,
                reye_pose: torch.Tensor | None = None) -> BodyOutput:
        """Rotation matrices in: ``global_orient (B,3,3)``, ``body_pose (B,21,3,3)``, hands
        ``(B,15,3,3)``, jaw and eyes ``(B,3,3)``; ``transl (B,3)``, ``betas (B,num_betas)``.
        Missing ones are identity / zero. Hand rotations are relative to the flat hand."""
        b = global_orient.shape[0]
        dtype, device = global_orient.dtype, global_orient.device
        eye = torch.eye(3, dtype=dtype, device=device)

        def rot(x, n):
            return eye.expand(b, n, 3, 3) if x is None else x.reshape(b, n, 3, 3)

        out = self.layer(
            global_orient=global_orient.reshape(b, 1, 3, 3), body_pose=rot(body_pose, 21),
            left_hand_pose=rot(left_hand_pose, 15), right_hand_pose=rot(right_hand_pose, 15),
            jaw_pose=rot(jaw_pose, 1), leye_pose=rot(leye_pose, 1), reye_pose=rot(reye_pose, 1),
            betas=(torch.zeros(b, self.config.num_betas, dtype=dtype, device=device)
                   if betas is None else betas),
            expression=torch.zeros(b, self.layer.num_expression_coeffs, dtype=dtype,
                                   device=device),
            transl=torch.zeros(b, 3, dtype=dtype, device=device) if transl is None else transl,
        )
        return BodyOutput(vertices=out.vertices, joints=out.joints[:, :NUM_JOINTS])

    def forward_motion(self, motion: SmplxMotion) -> BodyOutput:
        """Pose every frame of an AMASS-style motion (axis-angle, numpy)."""
        dtype, device = self.layer.v_template.dtype, self.layer.v_template.device
        t = motion.num_frames
        pose = axis_angle_to_matrix(torch.as_tensor(motion.full_pose(), dtype=dtype,
                                                    device=device))  # (T, 55, 3, 3)
        betas = np.zeros(self.config.num_betas)
        n = min(self.config.num_betas, motion.betas.size)
        betas[:n] = motion.betas[:n]
        return self.forward(
            global_orient=pose[:, 0], body_pose=pose[:, 1:22], jaw_pose=pose[:, 22],
            leye_pose=pose[:, 23], reye_pose=pose[:, 24], left_hand_pose=pose[:, 25:40],
            right_hand_pose=pose[:, 40:55],
            transl=torch.as_tensor(motion.trans, dtype=dtype, device=device),
            betas=torch.as_tensor(betas, dtype=dtype, device=device).expand(t, -1))
