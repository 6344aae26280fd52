"""Linear blend skinning of a subset of the body's vertices, for the fitting loop.

``BodyModel.forward`` poses all ~10k vertices through smplx (a per-vertex 4×4 ``bmm``), which
dominates a fitting step on a CPU. The fit only needs a few thousand sampled surface points per
step, so ``SubsetSkinning`` repeats smplx's ``lbs`` on those vertices alone, with the model's
own arrays (read once from ``body.layer``):

1. shape: ``v = v_template[ids] + shapedirs[ids]·β``; joints ``J = J₀ + J_dirs·β`` (the joint
   regressor is linear, so ``J_dirs = J_regressor @ shapedirs`` is precomputed);
2. pose correctives ``posedirs·(R[1:] − I)`` when the model has them (the procedural body has
   none);
3. the kinematic chain (``smplx.lbs.batch_rigid_transform``) → per-joint transforms ``A``;
4. blend: ``T_v = Σ_j w_vj A_j``, ``x_v = T_v · v + transl``. Rest normals go through the
   blended rotation (re-normalised) — what the occupancy terms offset along.

With all vertex ids it equals ``BodyModel.forward`` (tested).
"""

from __future__ import annotations

import numpy as np
import torch
from smplx.lbs import batch_rigid_transform

from ..body import BodyModel


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """``vertices (..., V, 3)``, ``faces (F, 3)`` → unit area-weighted normals ``(..., V, 3)``."""
    tri = vertices[..., faces, :]  # (..., F, 3, 3)
    n = torch.linalg.cross(tri[..., 1, :] - tri[..., 0, :], tri[..., 2, :] - tri[..., 0, :], dim=-1)
    out = torch.zeros_like(vertices)
    for k in range(3):
        out.index_add_(-2, faces[:, k], n)
    return torch.nn.functional.normalize(out, dim=-1)


def vertex_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``(V,)`` a third of the area of the faces around each vertex (rest mesh, numpy)."""
    tri = vertices[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    out = np.zeros(len(vertices))
    for k in range(3):
        np.add.at(out, faces[:, k], area / 3)
    return out


class SubsetSkinning:
    """Poses the vertices ``vertex_ids`` of a body; see the module docstring.

    ``SubsetSkinning.of_body(body)`` reads the model's arrays once (all vertices);
    ``subset(ids)`` is a cheap view posing only those vertices.
    """

    def __init__(self, *, parents: torch.Tensor, j_template: torch.Tensor,
                 j_dirs: torch.Tensor, v_template: torch.Tensor, v_dirs: torch.Tensor,
                 weights: torch.Tensor, rest_normals: torch.Tensor,
                 posedirs: torch.Tensor | None, vertex_ids: torch.Tensor):
        self.parents = parents  # (55,)
        self.j_template, self.j_dirs = j_template, j_dirs  # (55, 3), (55, 3, num_betas)
        self.v_template, self.v_dirs = v_template, v_dirs  # (n, 3), (n, 3, num_betas)
        self.weights, self.rest_normals = weights, rest_normals  # (n, 55), (n, 3)
        self.posedirs = posedirs  # (486, n, 3) or None (a model without pose correctives)
        self.vertex_ids = vertex_ids  # (n,) into the body's vertices

    @staticmethod
    def of_body(body: BodyModel) -> SubsetSkinning:
        layer = body.layer
        device = layer.v_template.device
        num_vertices = layer.v_template.shape[0]
        faces = torch.as_tensor(np.asarray(body.faces, dtype=np.int64), device=device)
        posedirs = layer.posedirs.reshape(layer.posedirs.shape[0], num_vertices, 3)
        return SubsetSkinning(
            parents=layer.parents, j_template=layer.J_regressor @ layer.v_template,
            j_dirs=torch.einsum("jv,vcb->jcb", layer.J_regressor, layer.shapedirs),
            v_template=layer.v_template, v_dirs=layer.shapedirs, weights=layer.lbs_weights,
            rest_normals=vertex_normals(layer.v_template, faces),
            posedirs=posedirs if bool(posedirs.abs().max() > 0) else None,
            vertex_ids=torch.arange(num_vertices, device=device))

    def subset(self, ids: torch.Tensor) -> SubsetSkinning:
        """The vertices ``ids`` (indices into this skinning's vertices)."""
        ids = ids.to(self.v_template.device)
        return SubsetSkinning(
            parents=self.parents, j_template=self.j_template, j_dirs=self.j_dirs,
            v_template=self.v_template[ids], v_dirs=self.v_dirs[ids], weights=self.weights[ids],
            rest_normals=self.rest_normals[ids],
            posedirs=None if self.posedirs is None else self.posedirs[:, ids],
            vertex_ids=self.vertex_ids[ids])

    def __call__(self, rotations: torch.Tensor, transl: torch.Tensor,
                 betas: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``rotations (B, 55, 3, 3)`` (root, body, jaw, eyes, hands as in SMPL-X), ``transl
        (B, 3)``, ``betas (B, num_betas)`` → vertices ``(B, n, 3)``, joints ``(B, 55, 3)``,
        unit normals ``(B, n, 3)``."""
        b = rotations.shape[0]
        v = self.v_template.expand(b, -1, -1)
        joints = self.j_template.expand(b, -1, -1)
        if betas is not None:
            v = v + torch.einsum("ncl,bl->bnc", self.v_dirs, betas)
            joints = joints + torch.einsum("jcl,bl->bjc", self.j_dirs, betas)
        if self.posedirs is not None:
            eye = torch.eye(3, device=rotations.device, dtype=rotations.dtype)
            feature = (rotations[:, 1:] - eye).reshape(b, -1)
            offsets = feature @ self.posedirs.reshape(self.posedirs.shape[0], -1)
            v = v + offsets.reshape(b, -1, 3)
        posed_joints, rel = batch_rigid_transform(rotations, joints, self.parents,
                                                  dtype=rotations.dtype)
        blend = (self.weights @ rel.reshape(b, -1, 16)).reshape(b, -1, 4, 4)  # (B, n, 4, 4)
        rot, shift = blend[..., :3, :3], blend[..., :3, 3]
        # elementwise products, not a bmm of n tiny matrices (which dominated smplx's forward)
        vertices = (rot * v[..., None, :]).sum(-1) + shift + transl[:, None]
        normals = torch.nn.functional.normalize((rot * self.rest_normals[:, None, :]).sum(-1),
                                                dim=-1)
        return vertices, posed_joints + transl[:, None], normals
