"""The key pose: SMPL-X parameters of one frame, stored as AMASS axis-angle, optimised in 6D.

``KeyPose`` is what stage B hands on to stages C–E (numpy, AMASS names and shapes);
``PoseParams`` is the same pose as a batch of torch tensors with every rotation in the 6D
representation (the first two columns of the matrix), which is what the optimisers move.
``key_pose_mesh`` poses a body model in it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..portable.skeleton import JOINT_NAMES
from .model import BodyModel
from .rotations import axis_angle_to_matrix, matrix_to_axis_angle, matrix_to_rot6d, rot6d_to_matrix

DEFAULT_ARM_DROP_DEG = 60.0
"""How far below the horizontal the arms hang in ``default_initial_pose`` (a relaxed A-pose)."""


@dataclass(frozen=True, eq=False)
class KeyPose:
    """One SMPL-X pose, AMASS convention (axis-angle, metres). Jaw and eyes stay at rest."""

    root_orient: np.ndarray  # (3,)
    pose_body: np.ndarray  # (63,) 21 body joints
    pose_hand: np.ndarray  # (90,) left hand's 15 joints, then the right hand's
    trans: np.ndarray  # (3,)
    betas: np.ndarray  # (num_betas,)

    def __post_init__(self) -> None:
        for name, size in (("root_orient", 3), ("pose_body", 63), ("pose_hand", 90),
                           ("trans", 3), ("betas", None)):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if value.ndim != 1 or (size is not None and value.size != size) \
                    or not np.isfinite(value).all():
                want = f"({size},)" if size else "(num_betas,)"
                raise ValueError(f"KeyPose.{name} must be finite with shape {want}, got "
                                 f"{value.shape}")
            object.__setattr__(self, name, value)

    def to_params(self, *, device: torch.device | str = "cpu",
                  dtype: torch.dtype = torch.float32) -> PoseParams:
        """The pose as a batch of one ``PoseParams`` (6D rotations)."""
        def six(aa: np.ndarray, n: int) -> torch.Tensor:
            return matrix_to_rot6d(axis_angle_to_matrix(
                torch.as_tensor(aa.reshape(1, n, 3), dtype=torch.float64))).to(device, dtype)

        return PoseParams(root=six(self.root_orient, 1)[:, 0], body=six(self.pose_body, 21),
                          hand=six(self.pose_hand, 30),
                          trans=torch.as_tensor(self.trans[None], device=device, dtype=dtype),
                          betas=torch.as_tensor(self.betas[None], device=device, dtype=dtype))

    def body_inputs(self, *, device: torch.device | str = "cpu",
                    dtype: torch.dtype = torch.float32,
                    num_betas: int | None = None) -> dict[str, torch.Tensor]:
        """Keyword arguments of ``BodyModel.forward`` for this pose (batch of one)."""
        return self.to_params(device=device, dtype=dtype).body_inputs(num_betas)


@dataclass(frozen=True, eq=False)
class PoseParams:
    """A batch of B poses; every rotation in 6D. Leaves of the optimisation."""

    root: torch.Tensor  # (B, 6)
    body: torch.Tensor  # (B, 21, 6)
    hand: torch.Tensor  # (B, 30, 6)
    trans: torch.Tensor  # (B, 3)
    betas: torch.Tensor  # (B, num_betas)

    def rotations(self) -> torch.Tensor:
        """``(B, 55, 3, 3)`` in SMPL-X joint order (jaw and eyes identity)."""
        b = self.root.shape[0]
        eye = torch.eye(3, device=self.root.device, dtype=self.root.dtype).expand(b, 3, 3, 3)
        hands = rot6d_to_matrix(self.hand)
        return torch.cat([rot6d_to_matrix(self.root)[:, None], rot6d_to_matrix(self.body), eye,
                          hands], dim=1)

    def body_inputs(self, num_betas: int | None = None) -> dict[str, torch.Tensor]:
        """Keyword arguments of ``BodyModel.forward``."""
        rot = self.rotations()
        betas = self.betas if num_betas is None else _fit_betas(self.betas, num_betas)
        return dict(global_orient=rot[:, 0], body_pose=rot[:, 1:22], left_hand_pose=rot[:, 25:40],
                    right_hand_pose=rot[:, 40:55], transl=self.trans, betas=betas)

    def select(self, index: int) -> PoseParams:
        """Batch element ``index`` as a batch of one (detached copies)."""
        return PoseParams(*(x[index:index + 1].detach().clone() for x in
                            (self.root, self.body, self.hand, self.trans, self.betas)))

    def expand(self, batch: int) -> PoseParams:
        """A batch of ``batch`` copies of this batch of one (detached)."""
        return PoseParams(*(x.detach().expand(batch, *x.shape[1:]).clone() for x in
                            (self.root, self.body, self.hand, self.trans, self.betas)))

    def to_key_pose(self, index: int = 0) -> KeyPose:
        """Batch element ``index`` as axis-angle (numpy float64)."""
        with torch.no_grad():
            aa = matrix_to_axis_angle(self.rotations()[index].double()).cpu().numpy()  # (55, 3)
        return KeyPose(root_orient=aa[0], pose_body=aa[1:22].reshape(-1),
                       pose_hand=aa[25:55].reshape(-1),
                       trans=self.trans[index].detach().double().cpu().numpy(),
                       betas=self.betas[index].detach().double().cpu().numpy())


def _fit_betas(betas: torch.Tensor, num_betas: int) -> torch.Tensor:
    """``(B, n)`` → ``(B, num_betas)``: cut or zero-padded."""
    if betas.shape[1] >= num_betas:
        return betas[:, :num_betas]
    return torch.cat([betas, betas.new_zeros(betas.shape[0], num_betas - betas.shape[1])], 1)


def default_initial_pose(num_betas: int = 10,
                         trans: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> KeyPose:
    """Standing, facing +Z, arms hanging ``DEFAULT_ARM_DROP_DEG`` below the horizontal (relaxed
    A-pose), legs straight, hands flat. ``trans = 0`` puts the pelvis where the rest pose has it,
    at the default scene box centre (the fit re-centres on the anchor before anything else)."""
    body = np.zeros((21, 3))
    drop = math.radians(DEFAULT_ARM_DROP_DEG)
    body[JOINT_NAMES.index("left_shoulder") - 1, 2] = -drop
    body[JOINT_NAMES.index("right_shoulder") - 1, 2] = drop
    return KeyPose(root_orient=np.zeros(3), pose_body=body.reshape(-1), pose_hand=np.zeros(90),
                   trans=np.asarray(trans, dtype=np.float64), betas=np.zeros(num_betas))


def key_pose_mesh(body: BodyModel, key_pose: KeyPose) -> tuple[np.ndarray, np.ndarray]:
    """The ``BodyModel`` posed in ``key_pose``: vertices ``(V, 3)`` and joints ``(55, 3)``
    (world, float64)."""
    like = dict(device=body.layer.v_template.device, dtype=body.layer.v_template.dtype)
    with torch.no_grad():
        out = body(**key_pose.body_inputs(**like, num_betas=body.config.num_betas))
    return out.vertices[0].double().cpu().numpy(), out.joints[0].double().cpu().numpy()
