"""Read the picked object's evaluated mesh in world coordinates (the Blender half of the
object export; ``plan.object_export`` checks, converts and writes it).

Modifiers, shape keys and the world transform are applied; nothing is added to ``bpy.data``
(``to_mesh`` / ``to_mesh_clear``), and the object is not modified.
"""

from __future__ import annotations

import numpy as np

from ..plan.object_export import ObjectExportError, plan_export, write_obj


def evaluated_world_mesh(context, obj) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(world vertices (V, 3) in Blender units, loop totals (P,), loop vertices (L,))."""
    if obj is None or obj.type != "MESH":
        kind = "nothing" if obj is None else f"a {obj.type.lower()} object"
        name = "" if obj is None else f"'{obj.name}' is "
        raise ObjectExportError(f"{name}{kind}, not a mesh: pick a mesh object as the "
                                "interaction object (or clear the Object field)")
    if obj.mode == "EDIT":  # edits not yet written back to the mesh would be missed
        obj.update_from_editmode()
    depsgraph = context.evaluated_depsgraph_get()
    evaluated = obj.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    try:
        co = np.empty(len(mesh.vertices) * 3, dtype=np.float64)
        mesh.vertices.foreach_get("co", co)
        totals = np.empty(len(mesh.polygons), dtype=np.int64)
        starts = np.empty(len(mesh.polygons), dtype=np.int64)
        mesh.polygons.foreach_get("loop_total", totals)
        mesh.polygons.foreach_get("loop_start", starts)
        loops = np.empty(len(mesh.loops), dtype=np.int64)
        mesh.loops.foreach_get("vertex_index", loops)
        matrix = np.array(evaluated.matrix_world, dtype=np.float64)
    finally:
        evaluated.to_mesh_clear()
    if len(totals) and not np.array_equal(starts, np.cumsum(totals) - totals):
        order = np.argsort(starts, kind="stable")  # make each polygon's corners contiguous
        totals, starts = totals[order], starts[order]
        loops = np.concatenate([loops[s:s + n] for s, n in zip(starts, totals)])
    if np.linalg.det(matrix[:3, :3]) < 0:  # a mirrored object: keep faces pointing outwards
        offsets = np.concatenate([[0], np.cumsum(totals)[:-1]])
        loops = np.concatenate([loops[s:s + n][::-1] for s, n in zip(offsets, totals)])
    world = co.reshape(-1, 3) @ matrix[:3, :3].T + matrix[:3, 3]
    return world, totals, loops


def export_object(context, obj, folder) -> str:
    """Write the object as ``<folder>/object.obj``; returns the file's path."""
    world, totals, loops = evaluated_world_mesh(context, obj)
    mesh = plan_export(obj.name, world, totals, loops,
                       unit_scale=float(context.scene.unit_settings.scale_length))
    return str(write_obj(mesh, folder))
