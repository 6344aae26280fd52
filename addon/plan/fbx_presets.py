"""FBX export settings per game engine (bpy-free: keyword arguments for Blender's exporter).

Shared by all targets: the whole (temporary) export scene, one take per NLA strip (the
export scene holds one strip per clip, named after it, see ``scene/export_rig.py``), deforming
bones only (the prop object's driver bone stays out), custom properties, no leaf bones, every
frame baked, no lossy key simplification by the exporter (our own reduction is error-bounded), and
mesh modifiers not applied (the armature deforms the body in the engine). All targets write a
Y-up file (−Z forward): the imported armature's world matrix is the Y-up → Z-up rotation
(``axes.root_matrix``), which this conversion cancels, so the rig's root node carries no
rotation — Unity's "−90° on X" never appears.

- UNITY: "FBX All" scaling: the file's unit is the metre (UnitScaleFactor 100) and no node
  carries a 100× scale, so Unity imports at scale 1 with an identity root.
- UNREAL: the file's unit is the centimetre (UnitScaleFactor 1); the ×100 sits on the root
  node, which is named "Armature" during export (see ``operators/export_fbx.py``): Unreal
  recognises that name, drops the node instead of making it an extra root bone, and keeps its
  scale, so the skeleton's root is the pelvis and the body is 170-odd centimetres tall.
- GENERIC: Blender's defaults (FBX_SCALE_NONE), for DCC tools.
"""

from __future__ import annotations

from typing import Any

TARGETS: tuple[str, ...] = ("UNITY", "UNREAL", "GENERIC")

COMMON: dict[str, Any] = dict(
    use_selection=False,
    object_types={"ARMATURE", "MESH"},
    use_custom_props=True,
    add_leaf_bones=False,
    use_armature_deform_only=True,
    bake_anim=True,
    bake_anim_use_all_bones=True,
    bake_anim_use_nla_strips=True,
    bake_anim_use_all_actions=False,
    bake_anim_force_startend_keying=True,
    bake_anim_step=1.0,
    bake_anim_simplify_factor=0.0,
    use_mesh_modifiers=False,
    mesh_smooth_type="FACE",
    primary_bone_axis="Y",
    secondary_bone_axis="X",
    path_mode="AUTO",
)

PRESETS: dict[str, dict[str, Any]] = {
    "UNITY": dict(apply_unit_scale=True, apply_scale_options="FBX_SCALE_ALL", global_scale=1.0,
                  axis_forward="-Z", axis_up="Y", bake_space_transform=False),
    "UNREAL": dict(apply_unit_scale=True, apply_scale_options="FBX_SCALE_NONE", global_scale=1.0,
                   axis_forward="-Z", axis_up="Y", bake_space_transform=False),
    "GENERIC": dict(apply_unit_scale=True, apply_scale_options="FBX_SCALE_NONE",
                    global_scale=1.0, axis_forward="-Z", axis_up="Y", bake_space_transform=False),
}


def export_settings(target: str) -> dict[str, Any]:
    if target not in PRESETS:
        raise ValueError(f"unknown FBX target {target!r}; choose one of {TARGETS}")
    return {**COMMON, **PRESETS[target]}
