"""Our FBX exports read back: a test clip written as a result, and the file's node matrices
per frame as Assimp reads them (in Blender's world: metres, Z up)."""

from __future__ import annotations

import numpy as np
from helpers.blender_scene import bone_heads
from helpers.fbx_tree import read_fbx
from helpers.gltf_anim import Y_UP_TO_Z_UP, Gltf, assimp_gltf
from helpers.motions import make_motion, make_object

from anchorhoi.portable import result_v1
from anchorhoi.portable.motion import MotionClip

BOX = 0.2 * np.array([[x, y, z, 1.0] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)])
"""Corners of the test box (``make_object``) in its own space, homogeneous."""


def write_lift(folder, frames: int, *, seed: int, fps: float = 30.0):
    """A result folder with a clip named "Lift" (procedural body) and its box."""
    from anchorhoi.body import BodyModel

    motion = make_motion(frames, fps=fps, seed=seed)
    clip = MotionClip(motion=motion, rig=BodyModel().rig(motion.betas), obj=make_object(frames),
                      name="Lift")
    result_v1.write_result(folder, clip)
    return folder


def assimp_worlds(path, take: str, names, fps: float) -> np.ndarray:
    """(T, len(names), 4, 4) world matrices of the named nodes at every frame of ``take``."""
    g = Gltf(assimp_gltf(path))
    unit = read_fbx(path).global_settings["UnitScaleFactor"][0] / 100.0  # file unit → metre
    n = round(g.duration(take) * fps) + 1
    out = np.empty((n, len(names), 4, 4))
    for f in range(n):
        for j, name in enumerate(names):
            m = Y_UP_TO_Z_UP @ g.world(name, take, f / fps)
            m[:3, :] *= unit
            out[f, j] = m
    return out


def blender_reimport(path, names) -> tuple[np.ndarray, dict]:
    """Joint heads per frame and prop bone matrices from Blender's FBX importer."""
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=str(path), anim_offset=0, ignore_leaf_bones=False)
    arm = next(o for o in bpy.data.objects if o.type == "ARMATURE")
    scene = bpy.context.scene
    frames = range(int(arm.animation_data.action.frame_range[0]),
                   int(arm.animation_data.action.frame_range[1]) + 1)
    heads = bone_heads(arm, scene, frames, names)
    props = {}
    if "prop" in arm.pose.bones:
        for f in frames:
            scene.frame_set(f)
            props[f - frames[0]] = np.array(arm.matrix_world) @ np.array(
                arm.pose.bones["prop"].matrix)
    return heads, props
