"""Build Blender data from an :class:`ImportPlan`: armature, skinned body, object, actions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import bpy
import numpy as np
from mathutils import Matrix

from ..plan.import_plan import ImportPlan, ObjectPlan
from .action_write import Channel, new_action, push_to_nla, write_channels


@dataclass
class BuiltClip:
    armature: bpy.types.Object
    body: bpy.types.Object
    obj: bpy.types.Object | None


def build_clip(context, plan: ImportPlan) -> BuiltClip:
    collection = context.collection or context.scene.collection
    if context.object is not None and context.object.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")
    arm_obj = build_armature(context, collection, plan)
    body = build_body(collection, plan, arm_obj)
    obj = build_object(collection, plan.obj) if plan.obj is not None else None
    write_armature_action(plan, arm_obj)
    if obj is not None and plan.obj is not None:
        write_object_action(plan, plan.obj, obj)
    set_scene_timing(context.scene, plan)
    for o in context.view_layer.objects:
        o.select_set(False)
    arm_obj.select_set(True)
    context.view_layer.objects.active = arm_obj
    return BuiltClip(armature=arm_obj, body=body, obj=obj)


def build_armature(context, collection, plan: ImportPlan):
    """The game skeleton (``plan/game_skeleton.py``): ``root`` on the floor along +Y (identity
    rest orientation), then bones named after the SMPL-X joints, heads at the rest joints, each
    pointing up (+Z) with zero roll (rest orientation ``C``), so pose rotations are SMPL-X's
    local ones."""
    arm = bpy.data.armatures.new(f"{plan.name}_rig")
    arm.display_type = "STICK"
    arm_obj = bpy.data.objects.new(plan.name, arm)
    collection.objects.link(arm_obj)
    arm_obj.matrix_world = Matrix(plan.root_matrix.tolist())
    with context.temp_override(active_object=arm_obj, object=arm_obj,
                               selected_objects=[arm_obj], selected_editable_objects=[arm_obj]):
        context.view_layer.objects.active = arm_obj
        bpy.ops.object.mode_set(mode="EDIT")
        try:
            bones: list[bpy.types.EditBone] = []
            for j, name in enumerate(plan.joint_names):
                eb = arm.edit_bones.new(name)
                eb.head = plan.heads[j]
                axis = (0.0, 1.0, 0.0) if plan.parents[j] < 0 else (0.0, 0.0, 1.0)
                eb.tail = plan.heads[j] + plan.bone_lengths[j] * np.array(axis)
                eb.roll = 0.0
                eb.use_deform = True
                if plan.parents[j] >= 0:
                    eb.parent = bones[plan.parents[j]]
                    eb.use_connect = False
                bones.append(eb)
        finally:
            bpy.ops.object.mode_set(mode="OBJECT")
    if arm_obj.pose is None:
        raise RuntimeError(f"Blender gave the armature object {arm_obj.name!r} no pose")
    for pb in arm_obj.pose.bones:
        pb.rotation_mode = "QUATERNION"
    return arm_obj


def build_body(collection, plan: ImportPlan, arm_obj):
    mesh = bpy.data.meshes.new(f"{plan.name}_body")
    mesh.from_pydata(plan.vertices.tolist(), [], plan.faces.tolist())
    mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), dtype=bool))
    mesh.update()
    body = bpy.data.objects.new(f"{plan.name}_body", mesh)
    collection.objects.link(body)
    body.parent = arm_obj
    weights = plan.weights  # one column per SMPL-X bone: the root deforms nothing
    for j, name in enumerate(plan.joint_names[1:]):
        group = body.vertex_groups.new(name=name)
        idx = np.flatnonzero(weights[:, j] > 0.0)
        # vertex_groups.add takes one weight per call: group vertices sharing a weight value
        values, inverse = np.unique(weights[idx, j], return_inverse=True)
        if len(values) * 4 > len(idx):
            for i in idx:
                group.add([int(i)], float(weights[i, j]), "REPLACE")
        else:
            for k, w in enumerate(values):
                group.add(idx[inverse == k].tolist(), float(w), "REPLACE")
    mod = cast(bpy.types.ArmatureModifier, body.modifiers.new("Armature", "ARMATURE"))
    mod.object = arm_obj
    mod.use_vertex_groups = True
    return body


COLOR_ATTRIBUTE = "Col"
"""The object's vertex colours (a float colour attribute on the points, its active and render
colour), shown by its material."""


def build_object(collection, o: ObjectPlan):
    mesh = bpy.data.meshes.new(o.name)
    mesh.from_pydata(o.vertices.tolist(), [], o.faces.tolist())
    mesh.update()
    if o.colors is not None:
        add_vertex_colors(mesh, o.colors, o.name)
    obj = bpy.data.objects.new(o.name, mesh)
    collection.objects.link(obj)
    obj.rotation_mode = "QUATERNION"
    obj.location = o.location[0]
    obj.rotation_quaternion = o.rotation[0]
    obj.scale = (o.scale,) * 3
    return obj


def add_vertex_colors(mesh, colors: np.ndarray, name: str) -> None:
    """``colors`` (V, 4) linear RGBA as the mesh's colour attribute, and a material whose base
    colour reads it (Principled BSDF ← Color Attribute)."""
    attribute = mesh.color_attributes.new(COLOR_ATTRIBUTE, "FLOAT_COLOR", "POINT")
    attribute.data.foreach_set("color", np.ascontiguousarray(colors, dtype=np.float32).ravel())
    mesh.color_attributes.active_color = attribute
    mesh.color_attributes.render_color_index = mesh.color_attributes.active_color_index
    material = bpy.data.materials.new(f"{name}_colors")
    if material.node_tree is None:  # Blender < 5.0 makes the node tree on request
        material.use_nodes = True
    tree = material.node_tree
    if tree is None:
        raise RuntimeError(f"Blender gave the material {material.name!r} no node tree")
    bsdf = next(n for n in tree.nodes if n.bl_idname == "ShaderNodeBsdfPrincipled")
    node = tree.nodes.new("ShaderNodeVertexColor")
    cast(bpy.types.ShaderNodeVertexColor, node).layer_name = COLOR_ATTRIBUTE
    node.location = (bsdf.location[0] - 300.0, bsdf.location[1])
    tree.links.new(node.outputs["Color"], bsdf.inputs["Base Color"])
    mesh.materials.append(material)


def write_armature_action(plan: ImportPlan, arm_obj) -> None:
    """Keys for the pelvis's location and every SMPL-X bone's rotation (``root`` stays at rest:
    the clip's travel is on the pelvis until an export moves it to the root)."""
    channels = []
    pelvis = plan.joint_names[1]
    for i in range(3):
        channels.append(Channel(f'pose.bones["{pelvis}"].location', i, pelvis,
                                plan.pelvis_location[:, i]))
    for j, name in enumerate(plan.joint_names[1:]):
        for i in range(4):
            channels.append(Channel(f'pose.bones["{name}"].rotation_quaternion', i, name,
                                    plan.bone_rotations[:, j, i]))
    action, slot = new_action(f"{plan.name}_motion", arm_obj)
    write_channels(action, slot, plan.frames, channels)
    write_contacts(plan, arm_obj, action, slot)
    push_to_nla(arm_obj, action, slot, plan.frame_start, plan.name)


def write_contacts(plan: ImportPlan, arm_obj, action, slot) -> None:
    """Each contact as an animated 0/1 custom property of the armature object (constant
    interpolation), in the clip's action so it retimes with the clip."""
    for key in plan.contacts:
        arm_obj[key] = 0
        arm_obj.id_properties_ui(key).update(
            min=0, max=1, description=CONTACT_TOOLTIPS.get(key, "contact, 0 or 1"))
    channels = [Channel(f'["{key}"]', 0, "Contacts", np.asarray(values, dtype=np.float64))
                for key, values in plan.contacts.items()]
    if channels:
        write_channels(action, slot, plan.frames, channels, interpolation="CONSTANT")


CONTACT_TOOLTIPS = {
    "contact_foot_l": "1 where the left foot is planted on the floor",
    "contact_foot_r": "1 where the right foot is planted on the floor",
    "contact_hand_l": "1 where the left hand holds the object",
    "contact_hand_r": "1 where the right hand holds the object",
}


def write_object_action(plan: ImportPlan, o: ObjectPlan, obj) -> None:
    channels = [Channel("location", i, "Object Transforms", o.location[:, i]) for i in range(3)]
    channels += [Channel("rotation_quaternion", i, "Object Transforms", o.rotation[:, i])
                 for i in range(4)]
    action, slot = new_action(f"{plan.name}_{o.name}_motion", obj)
    write_channels(action, slot, plan.frames, channels)
    push_to_nla(obj, action, slot, plan.frame_start, plan.name)


def set_scene_timing(scene, plan: ImportPlan) -> None:
    scene.render.fps = plan.fps
    scene.render.fps_base = plan.fps_base
    scene.frame_start = plan.frame_start
    scene.frame_end = plan.frame_start + plan.num_frames - 1
    scene.frame_set(plan.frame_start)
