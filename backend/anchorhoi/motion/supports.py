"""What the feet can stand on: the ground plane, and the top of an object resting on it.

Stage E's depth cue from one camera is ground contact: the lowest body point is on the floor
(``losses.support_loss``) and a planted foot's footprint is where the ray of its pixel meets
the floor (``foot_plants.py``). A body that steps up onto a box or a stool breaks both: its
soles are a box height above the floor, so the support term sinks it through the box or slides
it back along the camera ray, and the footprint, found on the floor plane, lies far behind the
box (a 20 cm step seen from a camera 1.5 m up puts it 15 % too far away). The scene knows
better: stage B places the object, and where it rests on the floor and no hand moves it, its
top is a floor too.

``Supports`` holds that second floor as a **height field** over the ground plane: per cell of
an ``x, z`` grid, the highest near-horizontal face of the placed object there (faces of either
orientation: the top of a closed mesh's column is always its upward face), kept only up to
``supports.max_height_m`` above the ground (a table top is not stepped onto). Then

* ``under``: the support height under a point — the height field's top where there is one
  below it (or a little above: an estimate sunk into a box), else the ground (a foot under a
  chair's seat);
* ``levels``: the support a joint seen at a pixel stands on, a height ``rest`` above it — the
  first crossing, from the camera, of the pixel's ray with the height field raised by
  ``rest``, its horizontal parts only (a ray passing a box's side below its raised top does
  not stand on it), else the ground.

The body stands on a top with its **soles** only (``sole_floor``): a hand resting on a table
or a seat under the pelvis does not lift the floor for the rest of the body.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..nerf.cameras import Cameras
from ..objects.inside import SdfGrid
from ..objects.mesh_io import ObjectMesh
from .config import SupportConfig


@dataclass(frozen=True, eq=False)
class Supports:
    """The ground plane and an optional height field of object tops (module docstring)."""

    ground_y: float
    """World height of the ground plane."""
    tops: torch.Tensor | None = None
    """(Nx, Nz) world height of the object's top over each cell; -inf where there is none.
    None: the ground alone."""
    origin: tuple[float, float] = (0.0, 0.0)
    """World ``(x, z)`` of the centre of cell (0, 0)."""
    cell: float = 0.01
    """Cell size (m)."""
    sdf: SdfGrid | None = None
    """The object's signed distance (its own frame), where it is a support."""
    obj_pose: torch.Tensor | None = None
    """(4, 4) object → world, where it is a support."""
    sink_m: float = 0.1
    """A point up to this far below a top stands on it (``under``)."""

    @property
    def has_tops(self) -> bool:
        return self.tops is not None

    def top_at(self, xz: torch.Tensor) -> torch.Tensor:
        """``(...)`` the height field at points ``xz (..., 2)`` (nearest cell; -inf outside the
        tops or without any)."""
        if self.tops is None:
            return torch.full(xz.shape[:-1], -math.inf, dtype=xz.dtype, device=xz.device)
        origin = torch.tensor(self.origin, dtype=xz.dtype, device=xz.device)
        idx = torch.round((xz.detach() - origin) / self.cell).long()
        nx, nz = self.tops.shape
        inside = (idx[..., 0] >= 0) & (idx[..., 0] < nx) & (idx[..., 1] >= 0) \
            & (idx[..., 1] < nz)
        ix, iz = idx[..., 0].clamp(0, nx - 1), idx[..., 1].clamp(0, nz - 1)
        tops = self.tops.to(xz.dtype)[ix, iz]
        return torch.where(inside, tops, torch.full_like(tops, -math.inf))

    def inside(self, points: torch.Tensor) -> torch.Tensor:
        """``(...)`` bool: ``points (..., 3)`` (world) lie inside the supporting object (no
        foot stands there); all False without one."""
        if self.sdf is None or self.obj_pose is None:
            return torch.zeros(points.shape[:-1], dtype=torch.bool, device=points.device)
        pose = self.obj_pose.to(points.dtype)
        local = (points.detach() - pose[:3, 3]) @ pose[:3, :3]
        return (self.sdf.sample_sdf(local.reshape(-1, 3)) < 0).reshape(points.shape[:-1])

    def hidden(self, centre: torch.Tensor, point: torch.Tensor, samples: int = 256) -> bool:
        """Whether the segment from ``centre (3,)`` (a camera) to ``point (3,)`` passes inside
        the supporting object (the object hides the point: a joint seen at its pixel is not
        there) deeper than one cell of its SDF grid (the grid's own error: a ray that clears a
        top by millimetres is not hidden by it), sampled every ``1 / samples`` of its
        length."""
        if self.sdf is None or self.obj_pose is None:
            return False
        s = torch.linspace(0.0, 1.0, samples, dtype=point.dtype, device=point.device)[:, None]
        c = centre.to(point.dtype)
        pose = self.obj_pose.to(point.dtype)
        local = (c + s * (point - c) - pose[:3, 3]) @ pose[:3, :3]
        return bool((self.sdf.sample_sdf(local) < -float(self.sdf.cell)).any())

    def under(self, points: torch.Tensor) -> torch.Tensor:
        """``(...)`` the support height under ``points (..., 3)`` (world): the object's top
        where there is one below the point — or above it by at most ``sink_m``, an estimate
        sunk into a box — else the ground (a foot under a chair's seat stands on the ground;
        detached: the floor does not move with the body)."""
        ground = torch.full(points.shape[:-1], self.ground_y, dtype=points.dtype,
                            device=points.device)
        if self.tops is None:
            return ground
        top = self.top_at(points[..., [0, 2]])
        below = top <= points[..., 1].detach() + self.sink_m
        return torch.maximum(ground, torch.where(below, top, ground))

    def sole_floor(self, vertices: torch.Tensor, soles: torch.Tensor) -> torch.Tensor:
        """``(..., Vs)`` the floor of each of ``vertices (..., Vs, 3)``: the support under it
        for the sole vertices (``soles (Vs,)`` bool), the ground for the rest."""
        ground = torch.full(vertices.shape[:-1], self.ground_y, dtype=vertices.dtype,
                            device=vertices.device)
        if self.tops is None:
            return ground
        return torch.where(soles, self.under(vertices), ground)

    def levels(self, camera: Cameras, pixels: torch.Tensor, rest: torch.Tensor,
               samples: int = 256) -> torch.Tensor:
        """``(...)`` the support height a joint seen at ``pixels (..., 2)`` stands on, ``rest
        (...)`` above it: the first horizontal crossing of the pixel's ray with the height
        field raised by ``rest``, else the ground (also where the ray does not descend)."""
        ground = torch.full(pixels.shape[:-1], self.ground_y, dtype=pixels.dtype,
                            device=pixels.device)
        if self.tops is None:
            return ground
        rest = rest.expand(pixels.shape[:-1]).to(pixels.dtype)
        centre = camera.centers[0].to(pixels.dtype)
        m = camera.R[0].T @ torch.linalg.inv(camera.K[0])
        d = torch.cat([pixels, torch.ones_like(pixels[..., :1])], -1) @ m.T.to(pixels.dtype)
        dy = d[..., 1]
        down = dy < -1e-9
        safe = torch.where(down, dy, torch.full_like(dy, -1.0))
        s_ground = (self.ground_y + rest - centre[1]) / safe  # along d, camera z = 1 units
        # sample the ray over the grid's box, from the camera to where it meets the ground
        nx, nz = self.tops.shape
        lo = torch.tensor(self.origin, dtype=pixels.dtype, device=pixels.device) - self.cell
        hi = lo + self.cell * torch.tensor([nx + 1, nz + 1], dtype=pixels.dtype,
                                           device=pixels.device)
        c_xz, d_xz = centre[[0, 2]], d[..., [0, 2]]
        safe_xz = torch.where(d_xz.abs() > 1e-12, d_xz, torch.full_like(d_xz, 1e-12))
        t0, t1 = (lo - c_xz) / safe_xz, (hi - c_xz) / safe_xz
        enter = torch.minimum(t0, t1).amax(-1).clamp_min(0.0)
        leave = torch.minimum(torch.maximum(t0, t1).amin(-1), s_ground.clamp_min(0.0))
        u = torch.linspace(0.0, 1.0, samples, dtype=pixels.dtype, device=pixels.device)
        s = enter[..., None] + (leave - enter).clamp_min(0.0)[..., None] * u  # (..., S)
        xz = c_xz + s[..., None] * d_xz[..., None, :]
        top = self.top_at(xz)  # (..., S)
        # where the ray over a top's cell meets that top raised by rest, if it is over the
        # same top there (a horizontal crossing, not the box's side)
        cross = (top + rest[..., None] - centre[1]) / safe[..., None]
        at = self.top_at(c_xz + cross[..., None] * d_xz[..., None, :])
        ok = torch.isfinite(top) & (cross > 0) & (leave > enter)[..., None] \
            & ((at - top).abs() <= 2 * self.cell) & down[..., None]
        first = torch.where(ok, cross, torch.full_like(cross, math.inf)).argmin(-1)
        found = torch.gather(ok, -1, first[..., None])[..., 0]
        level = torch.gather(top, -1, first[..., None])[..., 0]
        return torch.where(found & (level > self.ground_y), level, ground)


def build_supports(mesh: ObjectMesh, obj_anchor: torch.Tensor, ground_y: float,
                   config: SupportConfig, *, moved_by_hands: bool, sdf: SdfGrid | None = None
                   ) -> Supports:
    """The supports of a scene: the ground, and the top of the object placed by ``obj_anchor
    (4, 4)`` where it rests on the ground (its lowest point within ``config.rest_tolerance_m``)
    and no hand touches it at the anchor frame (``moved_by_hands``: it may be carried or
    pushed, and then it is nowhere for long). ``sdf``: the object's signed distance (its own
    frame; ``Supports.inside``)."""
    if not config.object_tops or moved_by_hands:
        return Supports(ground_y=ground_y)
    r = obj_anchor[:3, :3].detach().double().cpu().numpy()
    t = obj_anchor[:3, 3].detach().double().cpu().numpy()
    v = np.asarray(mesh.vertices, np.float64) @ r.T + t
    if v[:, 1].min() > ground_y + config.rest_tolerance_m:
        return Supports(ground_y=ground_y)
    tops, origin, cell = top_height_field(v, np.asarray(mesh.faces), config)
    tops = np.where(tops <= ground_y + config.max_height_m, tops, -np.inf)
    if not np.isfinite(tops).any():
        return Supports(ground_y=ground_y)
    return Supports(ground_y=ground_y, tops=torch.as_tensor(tops, dtype=obj_anchor.dtype,
                                                             device=obj_anchor.device),
                    origin=origin, cell=cell, sdf=sdf, obj_pose=obj_anchor,
                    sink_m=config.sink_m)


def top_height_field(vertices: np.ndarray, faces: np.ndarray, config: SupportConfig
                     ) -> tuple[np.ndarray, tuple[float, float], float]:
    """``(Nx, Nz)`` the highest near-horizontal face (normal within ``config.max_slope_deg``
    of vertical, either orientation) over each cell centre of an ``x, z`` grid of
    ``vertices (V, 3)`` (world), -inf where none; the grid's cell (0, 0) centre and cell size
    (``config.cell_m``, coarser for an object wider than ``config.max_cells`` cells).
    Vectorised over every (triangle, cell of its bounding box) pair."""
    tri = vertices[faces]  # (F, 3, 3)
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    length = np.linalg.norm(normal, axis=1)
    flat = (length > 1e-12) & (np.abs(normal[:, 1]) >= np.cos(np.radians(config.max_slope_deg))
                               * np.maximum(length, 1e-12))
    tri = tri[flat]
    lo, hi = vertices[:, [0, 2]].min(0), vertices[:, [0, 2]].max(0)
    cell = max(config.cell_m, float((hi - lo).max()) / config.max_cells)
    shape = np.floor((hi - lo) / cell).astype(int) + 1
    tops = np.full(tuple(shape), -np.inf)
    if len(tri) == 0:
        return tops, (float(lo[0]), float(lo[1])), cell
    xz = (tri[..., [0, 2]] - lo) / cell  # (F, 3, 2) in cells
    first = np.clip(np.ceil(xz.min(1)).astype(int), 0, shape - 1)
    last = np.clip(np.floor(xz.max(1)).astype(int), 0, shape - 1)
    span = np.maximum(last - first + 1, 0)  # (F, 2)
    count = span[:, 0] * span[:, 1]
    f = np.repeat(np.arange(len(tri)), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    ix = first[f, 0] + k // np.maximum(span[f, 1], 1)
    iz = first[f, 1] + k % np.maximum(span[f, 1], 1)
    p = np.stack([ix, iz], 1).astype(np.float64)
    a, b, c = xz[f, 0], xz[f, 1], xz[f, 2]
    den = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])
    ok_den = np.abs(den) > 1e-12
    den = np.where(ok_den, den, 1.0)
    wb = ((p[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (p[:, 1] - a[:, 1])) \
        / den
    wc = ((b[:, 0] - a[:, 0]) * (p[:, 1] - a[:, 1]) - (p[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])) \
        / den
    wa = 1 - wb - wc
    eps = 1e-9
    inside = ok_den & (wa >= -eps) & (wb >= -eps) & (wc >= -eps)
    y = wa * tri[f, 0, 1] + wb * tri[f, 1, 1] + wc * tri[f, 2, 1]
    np.maximum.at(tops, (ix[inside], iz[inside]), y[inside])
    return tops, (float(lo[0]), float(lo[1])), cell
