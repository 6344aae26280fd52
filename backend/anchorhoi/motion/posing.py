"""``PosedSubset``: SMPL-X forward kinematics plus skinning of a chosen subset of vertices.

Stage E poses every frame of a clip at every iteration, but only needs the 55 joints, their
global rotations and a few hundred vertices (penetration, contact). This runs the same steps as
``smplx.lbs.lbs`` on the model's own buffers with the shape fixed once (betas and the zero
expression are folded into the rest shape at construction):

1. rest shape ``v_shaped = v_template + shapedirs · betas``, rest joints
   ``J = J_regressor · v_shaped``
2. pose blend shapes on the subset: ``(R[1:] − I) · posedirs``
3. forward kinematics, one batched step per depth of the kinematic tree (instead of
   ``smplx.lbs.batch_rigid_transform``'s step per joint: 11 steps instead of 54, which matters
   for the backward pass on a busy CPU): global rotations ``G`` and posed joints ``p``
4. skinning of the subset with its rows of ``lbs_weights`` and the transforms
   ``[G | p − G·J]``; then ``+ transl``.

Its joints and subset vertices equal ``BodyModel.forward``'s for the same inputs (tested).
``skin`` poses any other vertices the same way from a forward's frames: the whole mesh, to
find where it meets the object (``watch.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from smplx.lbs import blend_shapes, vertices2joints

from ..body import BodyModel


@dataclass(frozen=True)
class PosedFrames:
    joints: torch.Tensor  # (T, 55, 3) world
    rotations: torch.Tensor  # (T, 55, 3, 3) global (world) rotation of each joint's frame
    vertices: torch.Tensor  # (T, Vs, 3) the subset's vertices, world


class PosedSubset(torch.nn.Module):
    """Poses a fixed-shape body at the vertices ``vertex_ids (Vs,)`` only."""

    # the buffers registered in __init__ (typed here: Module.__getattr__ gives Tensor | Module)
    rest_joints: torch.Tensor
    rest_vertices: torch.Tensor
    all_rest_vertices: torch.Tensor
    all_weights: torch.Tensor
    all_posedirs: torch.Tensor
    dominant: torch.Tensor
    reach: torch.Tensor
    posedirs: torch.Tensor
    weights: torch.Tensor
    bones: torch.Tensor
    unsort: torch.Tensor

    def __init__(self, body: BodyModel, betas: torch.Tensor, vertex_ids: np.ndarray):
        super().__init__()
        layer = body.layer
        like = dict(dtype=layer.v_template.dtype, device=layer.v_template.device)
        ids = torch.as_tensor(np.asarray(vertex_ids, dtype=np.int64), device=like["device"])
        n_shape = layer.shapedirs.shape[-1]
        shape = torch.zeros(1, n_shape, **like)
        b = torch.as_tensor(betas, **like).reshape(-1)[:n_shape]
        shape[0, :b.numel()] = b
        with torch.no_grad():
            v_shaped = layer.v_template[None] + blend_shapes(shape, layer.shapedirs)  # (1, V, 3)
            rest_joints = vertices2joints(layer.J_regressor, v_shaped)[0]  # (55, 3)
        num_verts = layer.v_template.shape[0]
        posedirs = layer.posedirs.reshape(-1, num_verts, 3)[:, ids].reshape(
            layer.posedirs.shape[0], -1)
        self.register_buffer("rest_joints", rest_joints)
        self.register_buffer("rest_vertices", v_shaped[0, ids].clone())  # (Vs, 3)
        self.register_buffer("all_rest_vertices", v_shaped[0].clone())  # (V, 3)
        self.register_buffer("all_weights", layer.lbs_weights.detach(), persistent=False)
        self.register_buffer("all_posedirs", layer.posedirs.detach().reshape(  # (486, V, 3)
            layer.posedirs.shape[0], num_verts, 3), persistent=False)  # the layer's, not copies
        # each vertex's strongest joint, and how far from it (at rest) its vertices reach
        dominant = layer.lbs_weights.detach().argmax(1)
        gap = (v_shaped[0] - rest_joints[dominant]).norm(dim=-1)
        self.register_buffer("dominant", dominant, persistent=False)  # (V,)
        self.register_buffer("reach", torch.zeros(len(rest_joints), **like).scatter_reduce(
            0, dominant, gap, "amax"), persistent=False)  # (55,)
        self.register_buffer("posedirs", posedirs)  # (486, Vs·3)
        self.register_buffer("weights", layer.lbs_weights[ids].clone())  # (Vs, 55)
        self.vertex_ids = ids
        parents = layer.parents.tolist()
        parents[0] = -1
        bones = rest_joints.clone()
        bones[1:] -= rest_joints[parents[1:]]
        self.register_buffer("bones", bones)  # (55, 3)
        # joints grouped by depth; each group's parents index the concatenation so far
        depth = [0] * len(parents)
        for j in range(1, len(parents)):
            depth[j] = depth[parents[j]] + 1
        order = [0]
        self.levels: list[tuple[torch.Tensor, torch.Tensor]] = []
        for d in range(1, max(depth) + 1):
            idx = [j for j in range(len(parents)) if depth[j] == d]
            pos = {j: k for k, j in enumerate(order)}
            self.levels.append((torch.tensor(idx, device=like["device"]),
                                torch.tensor([pos[parents[j]] for j in idx],
                                             device=like["device"])))
            order += idx
        self.register_buffer("unsort", torch.tensor(np.argsort(order), device=like["device"]))
        self.use_pose_blend = bool(posedirs.abs().max() > 0) if posedirs.numel() else False

    def forward(self, rotations: torch.Tensor, transl: torch.Tensor) -> PosedFrames:
        """``rotations (T, 55, 3, 3)`` local joint rotations (SMPL-X order), ``transl (T, 3)``."""
        t = rotations.shape[0]
        v = self.rest_vertices.expand(t, -1, -1)
        if self.use_pose_blend:
            feature = pose_feature(rotations)
            v = v + (feature @ self.posedirs).reshape(t, -1, 3)
        glob, joints = self._kinematics(rotations)
        offset = joints - (glob @ self.rest_joints[..., None])[..., 0]  # (T, 55, 3)
        # skinning: per vertex, the weighted sum of its joints' affine maps
        maps = torch.cat([glob.reshape(t, -1, 9), offset], -1)  # (T, 55, 12)
        per_vertex = (self.weights @ maps).reshape(t, -1, 4, 3)  # (T, Vs, 4, 3): rows of G, o
        verts = (per_vertex[..., :3, :] * v[..., None, :]).sum(-1) + per_vertex[..., 3, :]
        shift = transl[:, None, :]
        return PosedFrames(joints=joints + shift, rotations=glob, vertices=verts + shift)

    def skin(self, rotations: torch.Tensor, frames: PosedFrames,
             ids: torch.Tensor) -> torch.Tensor:
        """The mesh vertices ``ids (N,)`` (any, not only the subset's) posed like ``frames``,
        this module's forward of ``rotations (T, 55, 3, 3)``: ``(T, N, 3)`` world."""
        t = rotations.shape[0]
        v = self.all_rest_vertices[ids].expand(t, -1, -1)
        if self.use_pose_blend:
            feature = pose_feature(rotations)
            dirs = self.all_posedirs[:, ids].reshape(self.all_posedirs.shape[0], -1)
            v = v + (feature @ dirs).reshape(t, -1, 3)
        # frames.joints carry transl: [G | p + transl − G·J] skins straight to the world
        offset = frames.joints - (frames.rotations @ self.rest_joints[..., None])[..., 0]
        maps = torch.cat([frames.rotations.reshape(t, -1, 9), offset], -1)  # (T, 55, 12)
        per_vertex = (self.all_weights[ids] @ maps).reshape(t, -1, 4, 3)
        return (per_vertex[..., :3, :] * v[..., None, :]).sum(-1) + per_vertex[..., 3, :]

    def _kinematics(self, rotations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Local rotations (T, 55, 3, 3) → global rotations (T, 55, 3, 3), joints (T, 55, 3)."""
        bone = self.bones.expand(rotations.shape[0], -1, -1)  # (T, 55, 3) joint − parent (rest)
        glob = rotations[:, :1]
        joints = bone[:, :1]
        for idx, par in self.levels:
            g_par, p_par = glob[:, par], joints[:, par]
            glob = torch.cat([glob, g_par @ rotations[:, idx]], 1)
            joints = torch.cat([joints, (g_par @ bone[:, idx, :, None])[..., 0] + p_par], 1)
        return glob[:, self.unsort], joints[:, self.unsort]


def pose_feature(rotations: torch.Tensor) -> torch.Tensor:
    """``(N, 486)`` the pose blend shapes' input for local rotations ``(N, 55, 3, 3)``: every
    joint's but the root's rotation minus the identity, flattened."""
    eye = torch.eye(3, dtype=rotations.dtype, device=rotations.device)
    return (rotations[:, 1:] - eye).reshape(rotations.shape[0], -1)


def farthest_point_ids(points: np.ndarray, count: int, start: int = 0) -> np.ndarray:
    """``count`` indices of ``points (N, 3)`` spread by farthest-point sampling (deterministic)."""
    count = min(count, len(points))
    ids = np.empty(count, dtype=np.int64)
    ids[0] = start
    dist = np.linalg.norm(points - points[start], axis=1)
    for i in range(1, count):
        ids[i] = int(np.argmax(dist))
        dist = np.minimum(dist, np.linalg.norm(points - points[ids[i]], axis=1))
    return ids
