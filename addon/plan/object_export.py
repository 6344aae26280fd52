"""The picked scene object as the backend's input mesh: ``<job>/input/object.obj`` (bpy-free).

The Blender side (``scene/object_mesh.py``) hands over the evaluated mesh in Blender world
coordinates (Blender units, Z up, polygons as loop counts + loop vertex indices). Here it is
checked, converted to the backend's frame — metres (Blender units × the scene's unit scale),
Y up through ``axes.points_from_blender`` — and written as a plain Wavefront OBJ with numpy
(no dependency on Blender's OBJ exporter).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..portable.arrays import write_text_atomic
from . import axes

OBJECT_OBJ = "object.obj"
MIN_SIZE_M = 1e-3  # bounding-box diagonal; below 1 mm it is a mistake, not an object
MAX_SIZE_M = 10.0  # above 10 m the backend's unit guess would read the numbers as centimetres


class ObjectExportError(ValueError):
    """The picked object cannot be used; the message says what to pick instead."""


@dataclass(frozen=True, kw_only=True)
class ExportMesh:
    name: str
    vertices: np.ndarray  # (V, 3) Y-up metres
    loop_totals: np.ndarray  # (P,) corners per polygon
    loop_vertices: np.ndarray  # (sum(loop_totals),) vertex index per corner

    @property
    def size_m(self) -> float:
        """The bounding box's diagonal in metres."""
        return float(np.linalg.norm(self.vertices.max(0) - self.vertices.min(0)))


def plan_export(name: str, world_vertices: np.ndarray, loop_totals: np.ndarray,
                loop_vertices: np.ndarray, *, unit_scale: float = 1.0) -> ExportMesh:
    """Check the mesh and convert it from Blender world units (Z up) to Y-up metres."""
    v = np.asarray(world_vertices, dtype=np.float64).reshape(-1, 3)
    totals = np.asarray(loop_totals, dtype=np.int64).reshape(-1)
    loops = np.asarray(loop_vertices, dtype=np.int64).reshape(-1)
    if len(totals) == 0 or len(v) < 3:
        raise ObjectExportError(f"'{name}' has no faces: pick a mesh object with faces (a "
                                "closed surface works best), or leave the object empty")
    if int(totals.sum()) != len(loops) or loops.min() < 0 or loops.max() >= len(v):
        raise ObjectExportError(f"'{name}' has inconsistent polygons; apply its modifiers or "
                                "clean it up (Mesh › Clean Up) and try again")
    if not np.all(np.isfinite(v)):
        raise ObjectExportError(f"'{name}' has vertices at infinite or undefined positions")
    if not (unit_scale > 0 and np.isfinite(unit_scale)):
        raise ObjectExportError(f"the scene's unit scale {unit_scale!r} must be positive")
    metres = axes.points_from_blender(v) * float(unit_scale)
    mesh = ExportMesh(name=name, vertices=metres, loop_totals=totals, loop_vertices=loops)
    size = mesh.size_m
    if size < MIN_SIZE_M:
        raise ObjectExportError(f"'{name}' is {size * 1000:.3g} mm across: scale it to its "
                                "real size (the human is about 1.7 m tall)")
    if size > MAX_SIZE_M:
        raise ObjectExportError(f"'{name}' is {size:.3g} m across: an interaction object must "
                                f"be smaller than {MAX_SIZE_M:g} m (check the scene's unit scale)")
    return mesh


def obj_text(mesh: ExportMesh) -> str:
    """The mesh as OBJ text: ``v`` lines, then ``f`` lines (1-based indices)."""
    out = io.StringIO()
    out.write(f"# AnchorHOI object '{mesh.name}': metres, Y up\no {_obj_name(mesh.name)}\n")
    np.savetxt(out, mesh.vertices, fmt="v %.6f %.6f %.6f")
    totals, loops = mesh.loop_totals, mesh.loop_vertices + 1
    if np.all(totals == totals[0]):
        k = int(totals[0])
        np.savetxt(out, loops.reshape(-1, k), fmt="f" + " %d" * k)
    else:
        starts = np.concatenate([[0], np.cumsum(totals)[:-1]])
        out.write("".join("f " + " ".join(map(str, loops[s:s + n])) + "\n"
                          for s, n in zip(starts.tolist(), totals.tolist())))
    return out.getvalue()


def write_obj(mesh: ExportMesh, folder: str | os.PathLike) -> Path:
    """Write ``<folder>/object.obj`` atomically; returns its path."""
    path = Path(folder) / OBJECT_OBJ
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, obj_text(mesh))
    return path


def _obj_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "object"
