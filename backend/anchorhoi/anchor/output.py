"""Stage A+B's output: the key pose, the object's placement, the contact set — and its files.

Files in the stage folder (atomic writes):

- ``key_pose.npz``: the key pose (AMASS keys ``root_orient``, ``pose_body``, ``pose_hand``,
  ``trans``, ``betas``), ``object_placement`` (4, 4), ``contact_vertices`` (C,) and
  ``max_penetration_m``, ``placement_note`` (empty when the object search's scores support the
  placement, or no search ran) — written by :meth:`AnchorOutput.save`, read by
  :meth:`AnchorOutput.load` (no pickle);
- ``anchor_nerf.safetensors`` (the human field and the placement), ``anchor_turntable.png`` and
  ``fit_preview.png`` (previews), written by the stage runner with the trained fields;
- when the object was generated (no mesh given): ``object.glb`` and ``object.obj`` (the mesh in
  its object frame — metres, Y up, bounding box centred in x and z, bottom at y = 0 — with
  vertex colours; ``object_placement`` puts it into the world), written by :meth:`save` and
  read back by :meth:`load`, and ``object_turntable.png`` (the object alone), written by the
  stage runner; ``key_pose.npz`` then also says ``object_generated`` (True) and
  ``object_prompt``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..body.pose import KeyPose
from ..nerf.field import NeRFField
from ..objects.field import ObjectField
from ..objects.mesh_export import save_mesh
from ..objects.mesh_io import ObjectMesh, load_object_mesh
from ..portable.arrays import float_array, int_array, load_npz, save_npz_atomic, string_value
from .fit import FitResult
from .object_search import ObjectSearchResult

KEY_POSE_FILE = "key_pose.npz"
NERF_FILE = "anchor_nerf.safetensors"
TURNTABLE_FILE = "anchor_turntable.png"
FIT_PREVIEW_FILE = "fit_preview.png"
OBJECT_GLB_FILE = "object.glb"
OBJECT_OBJ_FILE = "object.obj"
OBJECT_TURNTABLE_FILE = "object_turntable.png"


@dataclass(frozen=True, eq=False)
class AnchorOutput:
    """What stages A and B hand on. The last four fields exist in memory after a run only
    (``load`` leaves them None); ``object_mesh`` is saved and loaded with the rest."""

    key_pose: KeyPose
    """The fitted body (world frame, Y up)."""
    object_placement: np.ndarray
    """(4, 4) the object's scene frame → world at the key pose (rigid)."""
    contact_vertices: np.ndarray
    """(C,) int64 body vertex ids touching the object."""
    max_penetration: float
    """Deepest body vertex inside the object (metres)."""
    placement_note: str = ""
    """The object search's report of a placement the prior's scores do not support (see
    ``placement_support``); empty when they do or no search ran."""
    object_mesh: ObjectMesh | None = None
    """The generated object's mesh in its object frame (None: the user gave the mesh)."""
    object_prompt: str = ""
    """The words the object was generated from (empty when the user gave the mesh)."""
    fit: FitResult | None = None
    """The last round's fit (losses, history)."""
    human: NeRFField | None = None
    """The anchor NeRF's human field (last round)."""
    object_field: ObjectField | None = None
    """The placed object's field (at ``object_placement``)."""
    object_search: ObjectSearchResult | None = None
    """The first round's search of the object's placement, if it ran."""

    def hand_off(self) -> AnchorOutput:
        """The output as the later stages get it — and as :meth:`load` reads it: the fit's
        record and the trained fields dropped, so their (GPU) memory can go before stage C."""
        return dataclasses.replace(self, fit=None, human=None, object_field=None,
                                   object_search=None)

    def save(self, folder: str | Path) -> Path:
        """Write ``key_pose.npz`` (and a generated object's ``object.glb`` and ``object.obj``)
        into ``folder``; returns the path of ``key_pose.npz``, written last."""
        path = Path(folder) / KEY_POSE_FILE
        if self.object_mesh is not None:
            for name in (OBJECT_GLB_FILE, OBJECT_OBJ_FILE):
                save_mesh(Path(folder) / name, self.object_mesh)
        k = self.key_pose
        save_npz_atomic(path, {
            "root_orient": k.root_orient, "pose_body": k.pose_body, "pose_hand": k.pose_hand,
            "trans": k.trans, "betas": k.betas,
            "object_placement": np.asarray(self.object_placement, dtype=np.float64),
            "contact_vertices": np.asarray(self.contact_vertices, dtype=np.int64),
            "max_penetration_m": np.array(float(self.max_penetration)),
            "placement_note": np.array(self.placement_note),
            "object_generated": np.array(self.object_mesh is not None),
            "object_prompt": np.array(self.object_prompt)})
        return path

    @classmethod
    def load(cls, folder: str | Path) -> AnchorOutput:
        """What :meth:`save` wrote into ``folder`` (``MotionFileError`` naming a bad key)."""
        path = Path(folder) / KEY_POSE_FILE
        a = load_npz(path)
        pose = KeyPose(**{k: float_array(path, a, k, (None,)) for k in (
            "root_orient", "pose_body", "pose_hand", "trans", "betas")})
        placement = float_array(path, a, "object_placement", (4, 4))
        mesh, object_prompt = None, ""
        if "object_generated" in a and bool(a["object_generated"]):
            mesh = load_object_mesh(Path(folder) / OBJECT_GLB_FILE)
            object_prompt = string_value(path, a, "object_prompt")
        return cls(key_pose=pose, object_placement=placement,
                   contact_vertices=int_array(path, a, "contact_vertices", (None,)),
                   max_penetration=float(float_array(path, a, "max_penetration_m", ())),
                   placement_note=string_value(path, a, "placement_note")
                   if "placement_note" in a else "",
                   object_mesh=mesh, object_prompt=object_prompt)

    @staticmethod
    def previews(folder: str | Path) -> list[Path]:
        """The preview images in ``folder``: the anchor's turntable, the fitted body's, then
        the generated object's."""
        return [p for p in (Path(folder) / TURNTABLE_FILE, Path(folder) / FIT_PREVIEW_FILE,
                            Path(folder) / OBJECT_TURNTABLE_FILE) if p.is_file()]
