"""The temporary scene an FBX export writes: a game rig baked from one or more clips.

Nothing of the user's scene is edited: the clips are sampled as world matrices (Blender
evaluates their NLA strips as they are now), then a separate scene receives a copy of the
active clip's armature with the chosen skeleton's bone names, a ``root`` bone on the floor
(added when the rig has none), optionally a ``prop`` bone, copies of the body (vertex groups
renamed) and of the prop, and one action per clip with a key on every frame from frame 1,
each on its own NLA strip named after the clip (the FBX exporter writes one take per strip,
starting at 0). The rig's ``contact_*`` properties become properties of the ``root`` bone,
their per-frame values kept in ``curves`` for ``fbx_curves.add_property_curves``. The user's
objects whose names the copies need are renamed for the duration; on leaving, every datablock
created inside is removed and the names are put back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

import bpy
import numpy as np
from mathutils import Matrix

from ..plan import axes, pose_locals, root_motion
from ..plan.skeleton_map import bone_names
from .action_write import Channel, new_action, push_to_nla, write_channels
from .clip_sample import Clip, Sampled, sample

CARRIER = "anchorhoi_prop_carrier"
"""Non-deforming bone that drives the prop object with ``prop='OBJECT'`` (not written)."""
_DATA = ("objects", "meshes", "armatures", "actions", "scenes", "collections")
_LOCATED = {"root", "pelvis", "prop", CARRIER}
_OFFSET_EPS = 1e-5
"""A bone whose head is further than this (metres) from the written rig's rest offset in some
frame of a take gets location keys in that take (another clip's body)."""


@dataclass(frozen=True, kw_only=True)
class RigOptions:
    skeleton: str
    """Bone names: ``SMPLX``, ``UE5`` or ``MIXAMO`` (``skeleton_names.csv``)."""
    root_motion: str
    """``AS_IS``, ``ROOT_MOTION`` or ``IN_PLACE`` (``plan/root_motion.py``)."""
    root_yaw: bool
    """With ``ROOT_MOTION``: the root also turns with the pelvis's heading."""
    prop: str
    """``OBJECT``: the prop stays an object with its own animation; ``BONE``: a ``prop`` bone
    carries it and its mesh is skinned to that bone."""
    armature_name: str
    """Name of the rig in the file (Unreal: ``Armature``, which it drops as a scene node)."""


@dataclass(frozen=True)
class Take:
    clip: Clip
    frames: range


class ExportScene:
    """``with ExportScene(context, active, takes, options) as scene:`` export ``scene``."""

    def __init__(self, context, active: Clip, takes: list[Take], options: RigOptions):
        self.context, self.active, self.takes, self.options = context, active, takes, options
        self.renamed: list[tuple[bpy.types.Object, str]] = []

    def __enter__(self) -> bpy.types.Scene:
        self.before = {name: set(getattr(bpy.data, name)[:]) for name in _DATA}
        try:
            return self._build()
        except BaseException:
            self._clean()
            raise

    def __exit__(self, *exc) -> Literal[False]:
        self._clean()
        return False

    def _clean(self) -> None:
        for name in _DATA:
            data = getattr(bpy.data, name)
            for block in [b for b in data[:] if b not in self.before[name]]:
                data.remove(block)
        for obj, name in reversed(self.renamed):
            obj.name = name
        self.renamed.clear()

    def _build(self) -> bpy.types.Scene:
        user = self.context.scene
        scene = bpy.data.scenes.new("anchorhoi_export")
        scene.render.fps, scene.render.fps_base = user.render.fps, user.render.fps_base
        sampled = [self._sample(scene, t) for t in self.takes]
        for key in ("system", "scale_length", "length_unit"):
            setattr(scene.unit_settings, key, getattr(user.unit_settings, key))
        names = bone_names(self.options.skeleton)
        first = sampled[self.takes.index(next(t for t in self.takes if t.clip == self.active))] \
            if any(t.clip == self.active for t in self.takes) else sampled[0]
        rig = self._rig(scene, names, first)
        self._body(scene, rig, names)
        self._prop(scene, rig, names, first)
        root = cast(Any, rig.pose).bones[names["root"]]
        self.curves: dict[str, dict[str, np.ndarray]] = {}
        self.reshaped: dict[str, float] = {}
        """Clip name → the largest bone offset (m) its take keys beyond the rig's own (a
        clip with another body than the written rig's)."""
        for take, samples in zip(self.takes, sampled):
            self._take(rig, names, take, samples)
            self.curves[take.clip.name] = samples.curves
            for key in samples.curves:  # written by the exporter as the root's properties
                root[key] = 0.0
        scene.frame_start, scene.frame_end = 1, max(len(t.frames) for t in self.takes)
        scene.frame_set(0)  # before every strip (extrapolation Nothing): the rest pose
        return scene

    @staticmethod
    def _sample(scene, take: Take) -> Sampled:
        """Sample the clip in the export scene, which holds only its rig and prop meanwhile
        (not the user's scene, where every frame would also deform the body meshes)."""
        linked = [o for o in (take.clip.armature, take.clip.prop) if o is not None]
        for obj in linked:
            scene.collection.objects.link(obj)
        try:
            return sample(scene, take.clip, take.frames)
        finally:
            for obj in linked:
                scene.collection.objects.unlink(obj)

    def _claim(self, obj, name: str) -> None:
        """Give ``obj`` the name ``name``, renaming a user object that holds it meanwhile."""
        holder = bpy.data.objects.get(name)
        if holder is not None and holder != obj:
            self.renamed.append((holder, name))
            holder.name = f"anchorhoi_export_hidden_{len(self.renamed)}"
        obj.name = name

    def _rig(self, scene, names: dict[str, str], first: Sampled):
        src = self.active.armature
        data = cast(bpy.types.Armature, cast(Any, src.data).copy())
        rig = bpy.data.objects.new("anchorhoi_export_rig", data)
        scene.collection.objects.link(rig)
        self._claim(rig, self.options.armature_name)
        # the rig object is the Y-up → Z-up turn, which the Y-up FBX axes cancel: the engine
        # sees no rotation on the armature node; the bones keep their world rest
        frame = axes.c_matrix()
        rig.matrix_world = Matrix(frame.tolist())
        data.transform(Matrix((np.linalg.inv(frame) @ np.array(src.matrix_world)).tolist()))
        a_inv = np.linalg.inv(frame)
        layer = scene.view_layers[0]
        with self.context.temp_override(scene=scene, view_layer=layer, active_object=rig,
                                        object=rig, selected_objects=[rig],
                                        selected_editable_objects=[rig]):
            layer.objects.active = rig
            bpy.ops.object.mode_set(mode="EDIT")
            try:
                bones = data.edit_bones
                for eb in list(bones):
                    eb.name = f"anchorhoi_tmp_{eb.name}"
                for eb in list(bones):
                    old = eb.name.removeprefix("anchorhoi_tmp_")
                    eb.name = names.get(old, old)
                root = bones.get(names["root"])
                if root is None:  # a rig imported before the game skeleton: as an import
                    # makes it now, on the floor under the pelvis, lying along the world's +Y
                    # (upright, it would point at the pelvis, and Blender's FBX importer then
                    # connects the pelvis to it, dropping the pelvis's travel)
                    floor = np.eye(4)
                    floor[:2, 3] = first.rest["pelvis"][:2, 3]
                    root = bones.new(names["root"])
                    root.head, root.tail = (0.0, 0.0, 0.0), (0.0, 0.25, 0.0)
                    root.matrix = Matrix((a_inv @ floor).tolist())
                    pelvis = bones[names["pelvis"]]
                    pelvis.parent, pelvis.use_connect = root, False
                root.use_deform = True  # kept by deform-only export: it has deforming children
                if self.active.prop is not None and first.prop is not None:
                    bone = bones.new(names["prop"] if self.options.prop == "BONE" else CARRIER)
                    bone.head, bone.tail = (0.0, 0.0, 0.0), (0.0, 0.2, 0.0)
                    bone.matrix = Matrix((a_inv @ pose_locals.normalized(first.prop[0])).tolist())
                    bone.parent = root
                    bone.use_deform = self.options.prop == "BONE"
            finally:
                bpy.ops.object.mode_set(mode="OBJECT")
        for pb in cast(Any, rig.pose).bones:
            pb.rotation_mode = "QUATERNION"
        return rig

    def _body(self, scene, rig, names: dict[str, str]) -> None:
        for child in self.active.armature.children:
            if child.type != "MESH" or child == self.active.prop:
                continue
            body = child.copy()
            body.data = cast(Any, child.data).copy()
            body.animation_data_clear()
            cast(bpy.types.Mesh, body.data).transform(rig.matrix_world.inverted() @
                                                      child.matrix_world)
            body.parent = rig
            body.matrix_parent_inverse = Matrix.Identity(4)
            body.matrix_basis = Matrix.Identity(4)  # in the rig's space, like the prop mesh
            scene.collection.objects.link(body)
            self._claim(body, child.name)
            for group in body.vertex_groups:
                group.name = f"anchorhoi_tmp_{group.name}"
            for group in body.vertex_groups:
                old = group.name.removeprefix("anchorhoi_tmp_")
                group.name = names.get(old, old)
            for mod in body.modifiers:
                if mod.type == "ARMATURE":
                    cast(bpy.types.ArmatureModifier, mod).object = rig
                # the exporter takes the skin from the modifier and the undeformed mesh: not
                # deforming the copy at every baked frame makes the bake several times faster
                mod.show_viewport = mod.show_render = False

    def _prop(self, scene, rig, names: dict[str, str], first: Sampled) -> None:
        src = self.active.prop
        if src is None or first.prop is None:
            return
        if self.options.prop == "OBJECT":
            obj = src.copy()
            obj.animation_data_clear()
            obj.constraints.clear()
            obj.parent = None
            scene.collection.objects.link(obj)
            self._claim(obj, src.name)
            for kind in ("COPY_LOCATION", "COPY_ROTATION"):
                con = cast(Any, obj.constraints.new(kind))
                con.target, con.subtarget = rig, CARRIER
            return
        mesh = cast(bpy.types.Mesh, cast(Any, src.data).copy())
        a_inv = np.linalg.inv(np.array(rig.matrix_world))
        mesh.transform(Matrix((a_inv @ first.prop[0]).tolist()))
        obj = bpy.data.objects.new(src.name, mesh)
        scene.collection.objects.link(obj)
        self._claim(obj, src.name)
        obj.parent = rig
        obj.matrix_parent_inverse = Matrix.Identity(4)
        obj.vertex_groups.new(name=names["prop"]).add(range(len(mesh.vertices)), 1.0, "REPLACE")
        mod = cast(bpy.types.ArmatureModifier, obj.modifiers.new("Armature", "ARMATURE"))
        mod.object = rig
        mod.show_viewport = mod.show_render = False

    def _take(self, rig, names: dict[str, str], take: Take, s: Sampled) -> None:
        """One action keyed from frame 1 on its own NLA strip named after the clip."""
        bones = list(rig.data.bones)
        index = {b.name: j for j, b in enumerate(bones)}
        source = {v: k for k, v in names.items()}
        source[CARRIER] = "prop"
        n = len(take.frames)
        world = np.empty((n, len(bones), 4, 4))
        rest_root = np.array(rig.matrix_world) @ np.array(bones[index[names["root"]]].matrix_local)
        if "root" in s.bones:  # the source root's motion on the export root's orientation
            root = s.bones["root"] @ np.linalg.inv(s.rest["root"]) @ rest_root
        else:
            root = np.repeat(rest_root[None], n, axis=0)
        left, right = s.rest["left_hip"][:3, 3], s.rest["right_hip"][:3, 3]
        tracks = root_motion.root_tracks(
            mode=self.options.root_motion, pelvis=s.bones["pelvis"],
            pelvis_rest=s.rest["pelvis"], root=root, root_rest=rest_root,
            forward=np.cross(left - right, root_motion.UP), yaw=self.options.root_yaw)
        for b in bones:
            key = source.get(b.name, b.name)
            if key == "root":
                world[:, index[b.name]] = tracks.root
                continue
            track = s.bones[key] if key != "prop" else pose_locals.normalized(cast(np.ndarray,
                                                                                s.prop))
            world[:, index[b.name]] = track
            world[:, index[b.name], :3, 3] += tracks.shift
        pose = np.linalg.inv(np.array(rig.matrix_world)) @ world
        rest = np.array([np.array(b.matrix_local) for b in bones])
        parents = [index[b.parent.name] if b.parent else -1 for b in bones]
        loc, quat = pose_locals.pose_channels(pose_locals.basis_matrices(pose, rest, parents))
        # a clip with another body (a batch of jobs: other betas) plays on this rig with its
        # own bone offsets: every bone whose head leaves the rig's rest offset is located too
        shifted = np.abs(loc).max(axis=0).max(axis=-1) if n else np.zeros(len(bones))
        moved = {b.name for b in bones if shifted[index[b.name]] > _OFFSET_EPS}
        others = [shifted[index[b]] for b in moved if source.get(b, b) not in _LOCATED]
        if others:
            self.reshaped[take.clip.name] = float(max(others))
        channels = []
        for b in bones:
            j, path = index[b.name], f'pose.bones["{b.name}"]'
            if source.get(b.name, b.name) in _LOCATED or b.name in moved:
                channels += [Channel(f"{path}.location", i, b.name, loc[:, j, i])
                             for i in range(3)]
            channels += [Channel(f"{path}.rotation_quaternion", i, b.name, quat[:, j, i])
                         for i in range(4)]
        action, slot = new_action(take.clip.name, rig)
        write_channels(action, slot, np.arange(1, n + 1, dtype=np.float64), channels)
        strip = push_to_nla(rig, action, slot, 1, take.clip.name)
        strip.name = take.clip.name
        strip.extrapolation = "NOTHING"
