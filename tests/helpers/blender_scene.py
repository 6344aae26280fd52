"""Reading back what Blender evaluates, and a snapshot of the scene to prove it unchanged."""

from __future__ import annotations

import numpy as np

from anchorhoi.portable.skeleton import JOINT_NAMES


def bone_heads(arm, scene, frames, names=JOINT_NAMES) -> np.ndarray:
    """(len(frames), len(names), 3) world positions of the pose bones' heads, as Blender
    evaluates them, in SMPL-X joint order."""
    out = []
    bones = [arm.pose.bones[n] for n in names]
    for f in frames:
        scene.frame_set(int(f))
        m = np.array(arm.matrix_world)
        heads = np.array([pb.head for pb in bones])
        out.append(heads @ m[:3, :3].T + m[:3, 3])
    return np.array(out)


def world_matrices(obj, scene, frames) -> np.ndarray:
    out = []
    for f in frames:
        scene.frame_set(int(f))
        out.append(np.array(obj.matrix_world))
    return np.array(out)


def evaluated_vertices(obj, depsgraph) -> np.ndarray:
    ev = obj.evaluated_get(depsgraph)
    mesh = ev.to_mesh()
    try:
        co = np.empty(len(mesh.vertices) * 3)
        mesh.vertices.foreach_get("co", co)
    finally:
        ev.to_mesh_clear()
    m = np.array(obj.matrix_world)
    return co.reshape(-1, 3) @ m[:3, :3].T + m[:3, 3]


def snapshot(bpy) -> dict:
    """Everything an import could change, in comparable form."""
    s = bpy.context.scene
    return {
        "objects": sorted(o.name for o in bpy.data.objects),
        "meshes": sorted(m.name for m in bpy.data.meshes),
        "armatures": sorted(a.name for a in bpy.data.armatures),
        "actions": sorted(a.name for a in bpy.data.actions),
        "timing": (s.render.fps, s.render.fps_base, s.frame_start, s.frame_end, s.frame_current),
        "selected": sorted(o.name for o in bpy.context.view_layer.objects if o.select_get()),
        "active": getattr(bpy.context.view_layer.objects.active, "name", None),
    }
