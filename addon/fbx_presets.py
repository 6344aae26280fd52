"""FBX export settings per game engine (bpy-free: plain keyword arguments for Blender's exporter).

Shared by all targets: one take (no per-action takes, no NLA takes), no leaf bones, the
armature's deform bones only, baked animation sampled on every frame, no key simplification
(our own reduction is error-bounded), and mesh modifiers not applied (the armature deforms
the body in the engine).

- UNITY: Blender metres → Unity metres with no 100× scale and no −90° X rotation on the
  root: "Apply Scalings: FBX All" and "Apply Transform" (bake the axis change into the data),
  −Z forward, Y up.
- UNREAL: centimetres (scale 1 with unit scale applied gives 100 cm per Blender metre), X
  forward... as Unreal expects; the armature object is not named "Armature" so Unreal adds no
  extra root bone (handled by the exporter's caller, which names it after the clip).
- GENERIC: Blender's defaults for axes and scale.
"""

from __future__ import annotations

from typing import Any, Literal

Target = Literal["UNITY", "UNREAL", "GENERIC"]
TARGETS: tuple[str, ...] = ("UNITY", "UNREAL", "GENERIC")

COMMON: dict[str, Any] = dict(
    use_selection=True,
    object_types={"ARMATURE", "MESH"},
    add_leaf_bones=False,
    use_armature_deform_only=False,
    bake_anim=True,
    bake_anim_use_all_bones=True,
    bake_anim_use_nla_strips=False,
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
                  axis_forward="-Z", axis_up="Y", bake_space_transform=True),
    "UNREAL": dict(apply_unit_scale=True, apply_scale_options="FBX_SCALE_NONE", global_scale=1.0,
                   axis_forward="-Y", axis_up="Z", bake_space_transform=False),
    "GENERIC": dict(apply_unit_scale=True, apply_scale_options="FBX_SCALE_NONE",
                    global_scale=1.0, axis_forward="-Z", axis_up="Y", bake_space_transform=False),
}


def export_settings(target: str) -> dict[str, Any]:
    if target not in PRESETS:
        raise ValueError(f"unknown FBX target {target!r}; choose one of {TARGETS}")
    return {**COMMON, **PRESETS[target]}
