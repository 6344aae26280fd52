"""Stage A+B's output: the key pose, the object's placement, the contact set — and its files.

Files in the stage folder (atomic writes):

- ``key_pose.npz``: the key pose (AMASS keys ``root_orient``, ``pose_body``, ``pose_hand``,
  ``trans``, ``betas``), ``object_placement`` (4, 4), ``contact_vertices`` (C,) and
  ``max_penetration_m``, ``placement_note`` (empty when the object search's scores support the
  placement, or no search ran) — written by :meth:`AnchorOutput.save`, read by
  :meth:`AnchorOutput.load` (no pickle);
- ``anchor_nerf.safetensors`` (the human field and the placement), ``anchor_turntable.png`` and
  ``fit_preview.png`` (previews), written by the stage runner with the trained fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..body.pose import KeyPose
from ..nerf.field import NeRFField
from ..objects.field import ObjectField
from ..portable.arrays import float_array, int_array, load_npz, save_npz_atomic, string_value
from .fit import FitResult
from .object_search import ObjectSearchResult

KEY_POSE_FILE = "key_pose.npz"
NERF_FILE = "anchor_nerf.safetensors"
TURNTABLE_FILE = "anchor_turntable.png"
FIT_PREVIEW_FILE = "fit_preview.png"


@dataclass(frozen=True, eq=False)
class AnchorOutput:
    """What stages A and B hand on. The last four fields exist in memory after a run only
    (``load`` leaves them None)."""

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
        """Write ``key_pose.npz`` into ``folder``; returns its path."""
        path = Path(folder) / KEY_POSE_FILE
        k = self.key_pose
        save_npz_atomic(path, {
            "root_orient": k.root_orient, "pose_body": k.pose_body, "pose_hand": k.pose_hand,
            "trans": k.trans, "betas": k.betas,
            "object_placement": np.asarray(self.object_placement, dtype=np.float64),
            "contact_vertices": np.asarray(self.contact_vertices, dtype=np.int64),
            "max_penetration_m": np.array(float(self.max_penetration)),
            "placement_note": np.array(self.placement_note)})
        return path

    @classmethod
    def load(cls, folder: str | Path) -> AnchorOutput:
        """What :meth:`save` wrote into ``folder`` (``MotionFileError`` naming a bad key)."""
        path = Path(folder) / KEY_POSE_FILE
        a = load_npz(path)
        pose = KeyPose(**{k: float_array(path, a, k, (None,)) for k in (
            "root_orient", "pose_body", "pose_hand", "trans", "betas")})
        placement = float_array(path, a, "object_placement", (4, 4))
        return cls(key_pose=pose, object_placement=placement,
                   contact_vertices=int_array(path, a, "contact_vertices", (None,)),
                   max_penetration=float(float_array(path, a, "max_penetration_m", ())),
                   placement_note=string_value(path, a, "placement_note")
                   if "placement_note" in a else "")

    @staticmethod
    def previews(folder: str | Path) -> list[Path]:
        """The preview images in ``folder``: the anchor's turntable, then the fitted body's."""
        return [p for p in (Path(folder) / TURNTABLE_FILE, Path(folder) / FIT_PREVIEW_FILE)
                if p.is_file()]
