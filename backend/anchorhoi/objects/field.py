"""``ObjectField``: the object as a frozen density/colour field with a learnable placement.

Built once from an ``ObjectMesh`` (scene object frame): the mesh is simplified to at most
``max_faces`` faces, its signed distance precomputed on a grid (``inside.build_sdf_grid``) and
its colour on the same grid (the nearest vertex's colour of the full mesh). At query time a world
point goes into the object frame through the inverse placement and reads the grids trilinearly:

    density = σ_max · sigmoid(−sdf / ε)        albedo = colour grid (or the default grey)

The placement ``world = s·R·p + t`` is the module's only parameters: ``translation (3,)``,
``rotation_6d (6,)`` (first two columns of R, identity at start) and ``log_scale (1,)`` (frozen
unless ``learn_scale``). The grids are non-persistent buffers: a ``state_dict`` holds only the
placement; rebuild the field from the job folder's mesh to load one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import cKDTree

from ..body.rotations import matrix_to_rot6d, rot6d_to_matrix
from ..nerf.field import FieldOutput
from ..randomness import multinomial
from .inside import SdfGrid, build_sdf_grid, simplify_for_field
from .mesh_io import ObjectMesh

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ObjectFieldConfig:
    density_max: float = 200.0
    """σ_max: density well inside the object (per metre)."""
    sharpness_m: float = 0.004
    """ε: the density goes from σ_max to 0 across the surface over a few ε (metres)."""
    default_albedo: tuple[float, float, float] = (0.6, 0.6, 0.6)
    """Colour when the mesh has none (linear RGB in [0, 1])."""
    grid_resolution: int = 64
    """Grid points along the longest side of the bounding box plus margin (same spacing on all
    axes). Parts thinner than a grid cell are blurred."""
    grid_margin: float = 0.1
    """Margin around the bounding box, as a fraction of its longest side (at least 2 cells)."""
    max_faces: int = 4000
    """Meshes with more faces are simplified (vertex clustering) before building the grids; the
    build costs O(grid points × faces near them)."""
    learn_scale: bool = False
    """Whether the placement's uniform scale is optimised too (else it stays at ``scale``)."""
    scale: float = 1.0
    """Initial uniform scale of the placement."""


class ObjectField(torch.nn.Module):
    """Frozen object density/albedo on ``device`` in ``dtype``, placed by ``placement_matrix()``."""

    sdf_values: torch.Tensor  # (1, nz, ny, nx) buffer, object frame
    grid_origin: torch.Tensor  # (3,) buffer
    albedo_values: torch.Tensor | None  # (3, nz, ny, nx) buffer; None: the mesh has no colours
    default_albedo: torch.Tensor  # (3,) buffer
    triangles: torch.Tensor  # (F, 3, 3) buffer, the field mesh's triangles
    face_areas: torch.Tensor  # (F,) buffer

    def __init__(self, mesh: ObjectMesh, config: ObjectFieldConfig = ObjectFieldConfig(), *,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        super().__init__()
        if not (config.density_max > 0 and config.sharpness_m > 0 and config.scale > 0):
            raise ValueError("ObjectFieldConfig: density_max, sharpness_m and scale must be > 0")
        self.config = config
        self.mesh = mesh
        started = time.perf_counter()
        self.field_mesh = simplify_for_field(mesh, config.max_faces)
        sdf = build_sdf_grid(self.field_mesh.vertices, self.field_mesh.faces,
                             resolution=config.grid_resolution, margin=config.grid_margin,
                             device=device, dtype=dtype)
        self.grid_cell = sdf.cell
        self.register_buffer("sdf_values", sdf.values, persistent=False)  # (1, nz, ny, nx)
        self.register_buffer("grid_origin", sdf.origin, persistent=False)  # (3,)
        albedo = None
        if mesh.vertex_colors is not None:
            points = sdf.points().cpu().double().numpy()
            _, nearest = cKDTree(mesh.vertices).query(points)
            colours = torch.as_tensor(mesh.vertex_colors[nearest].T.copy(), device=device,
                                      dtype=dtype)
            albedo = colours.reshape(3, *sdf.values.shape[1:])
        self.register_buffer("albedo_values", albedo, persistent=False)  # (3, nz, ny, nx)
        log.info("object field: %d faces, grid %s × %.1f mm, built in %.1f s",
                 len(self.field_mesh.faces), "×".join(map(str, sdf.shape_xyz)), sdf.cell * 1e3,
                 time.perf_counter() - started)
        default_albedo = torch.tensor(config.default_albedo, device=device, dtype=dtype)
        self.register_buffer("default_albedo", default_albedo, persistent=False)
        fm = self.field_mesh
        tri = torch.as_tensor(fm.vertices[fm.faces], device=device, dtype=dtype)  # (F, 3, 3)
        self.register_buffer("triangles", tri, persistent=False)
        areas = torch.as_tensor(fm.face_areas(), device=device, dtype=dtype)  # (F,)
        self.register_buffer("face_areas", areas, persistent=False)
        self.translation = torch.nn.Parameter(torch.zeros(3, device=device, dtype=dtype))
        identity = torch.eye(3, device=device, dtype=dtype)
        self.rotation_6d = torch.nn.Parameter(matrix_to_rot6d(identity))
        log_scale = torch.full((1,), float(np.log(config.scale)), device=device, dtype=dtype)
        self.log_scale = torch.nn.Parameter(log_scale,
                                            requires_grad=config.learn_scale)

    # -- placement --------------------------------------------------------------------------

    def rotation(self) -> torch.Tensor:
        """(3, 3) object → world rotation."""
        return rot6d_to_matrix(self.rotation_6d)

    def scale(self) -> torch.Tensor:
        """() uniform scale."""
        return self.log_scale.exp()[0]

    def placement_matrix(self) -> torch.Tensor:
        """(4, 4) object frame → world, ``[[s·R, t], [0, 1]]`` (differentiable)."""
        top = torch.cat([self.scale() * self.rotation(), self.translation[:, None]], 1)
        bottom = torch.tensor([[0.0, 0.0, 0.0, 1.0]], device=top.device, dtype=top.dtype)
        return torch.cat([top, bottom], 0)

    def user_object_matrix(self) -> torch.Tensor:
        """(4, 4) the user's original object coordinates → world (placement ∘ to_user⁻¹)."""
        from_user = torch.as_tensor(self.mesh.to_user.inverse().as_matrix(),
                                    device=self.translation.device, dtype=self.translation.dtype)
        return self.placement_matrix() @ from_user

    @torch.no_grad()
    def set_placement(self, rotation, translation, scale: float | None = None) -> None:
        """Set R ``(3, 3)`` (a proper rotation), t ``(3,)`` and optionally the scale."""
        device, dtype = self.translation.device, self.translation.dtype
        r = torch.as_tensor(rotation, device=device, dtype=dtype)
        t = torch.as_tensor(translation, device=device, dtype=dtype)
        if r.shape != (3, 3) or t.shape != (3,):
            raise ValueError(f"set_placement wants R (3, 3) and t (3,), got {tuple(r.shape)}, "
                             f"{tuple(t.shape)}")
        eye = torch.eye(3, device=device, dtype=dtype)
        if not (torch.allclose(r.T @ r, eye, atol=1e-4) and torch.linalg.det(r) > 0):
            raise ValueError("set_placement: R is not a rotation (orthonormal, det +1)")
        self.rotation_6d.copy_(matrix_to_rot6d(r))
        self.translation.copy_(t)
        if scale is not None:
            if not scale > 0:
                raise ValueError(f"set_placement: scale must be > 0, got {scale}")
            self.log_scale.fill_(float(np.log(scale)))

    def to_object(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3) world → (N, 3) object frame: R⁻¹ (x − t) / s."""
        return (x - self.translation) @ self.rotation() / self.scale()

    # -- field ------------------------------------------------------------------------------

    def sdf_world(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3) → (N,) signed distance in world metres (negative inside the placed object)."""
        return self.scale() * self.sdf_grid.sample_sdf(self.to_object(x))

    def density(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3) → (N,) σ_max · sigmoid(−sdf / ε)."""
        return self._density(self.sdf_world(x))

    def albedo(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3) → (N, 3) colour in [0, 1]."""
        return self._albedo(self.to_object(x))

    def forward(self, x: torch.Tensor) -> FieldOutput:
        """(N, 3) world points → density (N,), albedo (N, 3)."""
        p = self.to_object(x)
        return FieldOutput(density=self._density(self.scale() * self.sdf_grid.sample_sdf(p)),
                           albedo=self._albedo(p))

    def surface_points(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, 3) area-weighted samples of the placed (field) mesh in world coordinates;
        differentiable w.r.t. the placement."""
        idx = multinomial(self.face_areas, n, replacement=True, generator=generator)
        draw_on = self.face_areas.device if generator is None else generator.device
        u = torch.rand(n, 2, generator=generator, device=draw_on,
                       dtype=self.face_areas.dtype).to(self.face_areas.device)
        r = u[:, :1].sqrt()
        tri = self.triangles[idx]
        p = (1 - r) * tri[:, 0] + r * (1 - u[:, 1:]) * tri[:, 1] + r * u[:, 1:] * tri[:, 2]
        return self.scale() * p @ self.rotation().T + self.translation

    @property
    def sdf_grid(self) -> SdfGrid:
        """The precomputed signed-distance grid (object frame)."""
        return SdfGrid(values=self.sdf_values, origin=self.grid_origin, cell=self.grid_cell)

    def _density(self, sdf: torch.Tensor) -> torch.Tensor:
        c = self.config
        return c.density_max * torch.sigmoid(-sdf / c.sharpness_m)

    def _albedo(self, p: torch.Tensor) -> torch.Tensor:
        if self.albedo_values is None:
            return self.default_albedo.expand(p.shape[0], 3)
        return self.sdf_grid.with_values(self.albedo_values).sample(p).clamp(0, 1)
