"""Writing an ``ObjectMesh`` for other programs: ``.glb`` (glTF binary) and ``.obj``.

Both keep the mesh's own coordinates — the scene object frame is already what glTF and our OBJ
convention want: metres, Y up — and its vertex colours: the ``.glb`` as the ``COLOR_0``
attribute (8-bit RGBA, alpha 1; Blender's glTF importer makes it a colour attribute), the
``.obj`` as ``v x y z r g b`` lines (``mesh_io.save_obj``). Every file is written atomically:
a reader finds the whole file or none.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import trimesh

from ..portable.arrays import atomic_write
from .mesh_io import ObjectMesh, save_obj

MESH_SUFFIXES = (".glb", ".obj")
"""The formats ``save_mesh`` writes."""


def save_glb(path: str | os.PathLike, mesh: ObjectMesh) -> Path:
    """Write ``mesh`` as one glTF binary mesh (vertex colours as ``COLOR_0``), atomically."""
    path = Path(path)
    colours = None
    if mesh.vertex_colors is not None:
        rgb = np.clip(np.rint(mesh.vertex_colors * 255.0), 0, 255).astype(np.uint8)
        colours = np.concatenate([rgb, np.full((len(rgb), 1), 255, np.uint8)], axis=1)
    tri = trimesh.Trimesh(vertices=np.asarray(mesh.vertices, dtype=np.float64),
                          faces=np.asarray(mesh.faces, dtype=np.int64), vertex_colors=colours,
                          process=False)
    data = tri.export(file_type="glb")
    atomic_write(path, lambda fh: fh.write(data))
    return path


def save_mesh(path: str | os.PathLike, mesh: ObjectMesh) -> Path:
    """Write ``mesh`` in the format its suffix names (``.glb`` or ``.obj``)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".glb":
        return save_glb(path, mesh)
    if suffix == ".obj":
        return save_obj(path, mesh)
    raise ValueError(f"save_mesh writes {', '.join(MESH_SUFFIXES)}, not {suffix or path.name!r}")
