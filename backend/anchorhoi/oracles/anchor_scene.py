"""Known scenes for checking stages A and B: a posed body and a placed object with known
answers, and oracle image priors whose data are renders of that scene.

A case folder holds ``object.obj`` and ``case.npz`` (``root_orient (3,)``, ``pose_body (63,)``,
``trans (3,)``, ``betas (10,)``, ``obj_trans (3,)``, ``obj_rot (4,)`` w, x, y, z — the
object's file coordinates → world, in the body model's Y-up frame, metres). The ground truth
only makes the oracle's images and scores the result; the optimisation never reads it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..body import BodyModel, BodyOutput, axis_angle_to_matrix
from ..nerf.cameras import Cameras, SceneBox
from ..nerf.renderer import render_image
from ..nerf.samplers import DenseSamplerConfig, DenseStratifiedSampler
from ..objects.field import ObjectField, ObjectFieldConfig
from ..objects.mesh_io import ObjectMesh, load_object_mesh
from ..portable.arrays import float_array, load_npz
from ..priors.base import ViewBatch
from ..priors.oracle import OracleImagePrior, OracleImagePriorConfig
from .quaternions import quaternion_to_matrix

SKIN = (0.85, 0.62, 0.5)
"""Albedo of the known body in the oracle's renders."""
OBJECT_COLOUR = (0.25, 0.45, 0.8)
"""Albedo of the known object (and the vertex colour of the mesh the stages get)."""


@dataclass(frozen=True, kw_only=True, eq=False)
class AnchorCase:
    """One known scene (see the module docstring for the files)."""

    name: str
    """The case folder's name."""
    root_orient: np.ndarray
    """(3,) axis-angle of the body's root."""
    pose_body: np.ndarray
    """(63,) axis-angle of the 21 body joints."""
    trans: np.ndarray
    """(3,) the body's translation."""
    betas: np.ndarray
    """(10,) shape coefficients."""
    obj_mesh: ObjectMesh
    """The object in its scene frame (centred, standing at y = 0)."""
    obj_rotation: np.ndarray
    """(3, 3) scene object frame → world (with the file's scale)."""
    obj_translation: np.ndarray
    """(3,) scene object frame → world."""
    obj_trans: np.ndarray
    """(3,) the case file's ``obj_trans``: the user object's origin in the world."""


def load_anchor_case(folder: str | Path) -> AnchorCase:
    """The case in ``folder`` (``case.npz`` + ``object.obj``)."""
    folder = Path(folder)
    path = folder / "case.npz"
    arrays = load_npz(path)
    r_gt = quaternion_to_matrix(float_array(path, arrays, "obj_rot", (4,)))
    mesh = load_object_mesh(folder / "object.obj")
    # world = R_gt · (to_user(v_scene)) + t_gt,  to_user(v) = s·R_u·v + t_u
    u = mesh.to_user
    rotation = r_gt @ (u.scale * np.asarray(u.rotation))
    obj_trans = float_array(path, arrays, "obj_trans", (3,))
    translation = r_gt @ np.asarray(u.translation) + obj_trans
    return AnchorCase(
        name=folder.name, root_orient=float_array(path, arrays, "root_orient", (3,)),
        pose_body=float_array(path, arrays, "pose_body", (63,)),
        trans=float_array(path, arrays, "trans", (3,)),
        betas=float_array(path, arrays, "betas", (10,)), obj_mesh=mesh, obj_rotation=rotation,
        obj_translation=translation, obj_trans=obj_trans)


def posed_joints(body: BodyModel, case: AnchorCase) -> np.ndarray:
    """(55, 3) ground-truth joints."""
    return _forward(body, case).joints[0].detach().cpu().double().numpy()


def _forward(body: BodyModel, case: AnchorCase) -> BodyOutput:
    like = dict(dtype=body.layer.v_template.dtype, device=body.layer.v_template.device)
    rot = axis_angle_to_matrix(torch.as_tensor(
        np.concatenate([case.root_orient, case.pose_body]).reshape(22, 3), **like))
    with torch.no_grad():
        return body(global_orient=rot[None, 0], body_pose=rot[None, 1:],
                    transl=torch.as_tensor(case.trans, **like)[None],
                    betas=torch.as_tensor(case.betas[: body.config.num_betas], **like)[None])


def ground_truth_fields(body: BodyModel, case: AnchorCase, *, device: torch.device | str = "cpu",
                        dtype: torch.dtype = torch.float32, grid_resolution: int = 96,
                        object_cell: float = 0.01) -> tuple[ObjectField, ObjectField]:
    """Frozen fields of the posed body (skin colour, ``grid_resolution`` points along its
    longest side) and of the placed object (blue, cells of at most ``object_cell`` metres).

    The object's cells are set by size, not by count: its field is a trilinear signed-distance
    grid, and a board thinner than about two cells renders blurred and too thick or too thin
    (a shelf's 2.8 cm boards on the 3 cm cells of a 64-point grid: the field's solid has IoU
    0.82 with the mesh; 0.99 at 1 cm). The oracle pictures the mesh it scores against."""
    verts = _forward(body, case).vertices[0].detach().cpu().double().numpy()
    body_mesh = ObjectMesh(vertices=verts, faces=np.asarray(body.faces, dtype=np.int64),
                           vertex_colors=np.tile(SKIN, (len(verts), 1)))
    body_field = ObjectField(body_mesh, ObjectFieldConfig(grid_resolution=grid_resolution,
                                                          max_faces=6000),
                             device=device, dtype=dtype)
    colours = np.tile(OBJECT_COLOUR, (len(case.obj_mesh.vertices), 1))
    mesh = ObjectMesh(vertices=case.obj_mesh.vertices, faces=case.obj_mesh.faces,
                      vertex_colors=colours, to_user=case.obj_mesh.to_user)
    obj_field = ObjectField(mesh, ObjectFieldConfig(
        grid_resolution=_grid_points(case.obj_mesh.vertices, object_cell, ObjectFieldConfig())),
        device=device, dtype=dtype)
    obj_field.set_placement(case.obj_rotation, case.obj_translation)
    for f in (body_field, obj_field):
        f.requires_grad_(False)
    return body_field, obj_field


def _grid_points(vertices: np.ndarray, cell: float, config: ObjectFieldConfig, *,
                 fewest: int = 64, most: int = 256) -> int:
    """Points along the longest side of an ``ObjectField`` grid (``config``'s margin) for cells
    of at most ``cell`` metres, within [``fewest``, ``most``]."""
    if not cell > 0:
        raise ValueError(f"the oracle object's cell must be > 0 metres, got {cell}")
    longest = float(np.ptp(np.asarray(vertices, dtype=np.float64), 0).max())
    points = math.ceil(longest * (1 + 2 * config.grid_margin) / cell) + 1
    return min(max(points, fewest), most)


def oracle_priors(body_field: ObjectField, obj_field: ObjectField, *, box: SceneBox,
                  background: tuple[float, float, float], num_samples: int = 96,
                  config: OracleImagePriorConfig = OracleImagePriorConfig(),
                  device: torch.device | str = "cpu"
                  ) -> tuple[OracleImagePrior, OracleImagePrior]:
    """(composite prior, human-only prior): view-conditioned oracles rendering the known scene
    (and the body alone) from each SDS view's camera, over the views' background (or
    ``background`` when they carry none)."""
    sampler = DenseStratifiedSampler(DenseSamplerConfig(num_samples=num_samples), box=box)
    scene = _render_target([body_field, obj_field], sampler, background)
    alone = _render_target([body_field], sampler, background)
    return (OracleImagePrior(config, target_fn=scene, device=device),
            OracleImagePrior(config, target_fn=alone, device=device))


def oracle_object_prior(obj_field: ObjectField, *, box: SceneBox,
                        background: tuple[float, float, float], num_samples: int = 96,
                        config: OracleImagePriorConfig = OracleImagePriorConfig(),
                        device: torch.device | str = "cpu") -> OracleImagePrior:
    """A view-conditioned oracle rendering the known object alone (the prior of a generated
    object's object-only renders)."""
    sampler = DenseStratifiedSampler(DenseSamplerConfig(num_samples=num_samples), box=box)
    return OracleImagePrior(config, target_fn=_render_target([obj_field], sampler, background),
                            device=device)


def _render_target(fields: list, sampler: DenseStratifiedSampler,
                   background: tuple[float, float, float]):
    """``views → (B, 3, H, W)``: ``fields`` rendered from each view's camera over the views'
    background (or ``background`` when they carry none)."""
    def fn(views: ViewBatch) -> torch.Tensor:
        cameras = views.cameras
        if not isinstance(cameras, Cameras):
            raise ValueError("the oracle renders the known scene from each view's camera: "
                             "the views carry none")
        device, dtype = cameras.K.device, cameras.K.dtype
        bg = (torch.tensor(background, device=device, dtype=dtype)
              if views.background is None else views.background.to(device, dtype))
        with torch.no_grad():
            img = render_image(fields, cameras, sampler, background=bg)
        return img.rgb.permute(0, 3, 1, 2)
    return fn
