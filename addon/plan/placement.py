"""Where an imported result goes in the scene: around the object the user picked (bpy-free).

The backend works in its own object frame (the exported mesh centred and standing on y = 0).
``result.json``'s ``object`` block carries ``to_user`` (4×4: that object frame → the
coordinates of the exported ``object.obj``, i.e. Y-up world metres) and ``reference_frame``.
The picked scene object is the reference: the result's object at ``reference_frame`` must
coincide with it, so everything the result holds is moved by

    O = to_user · T_ref⁻¹          (Y up, metres; T_ref = the object's [R | t] at that frame)

and shown in Blender as ``S⁻¹ · C·O·C⁻¹`` (``axes.matrix_to_blender``; ``S`` = the scene's unit
scale at export, metres per Blender unit). Without these keys O is the identity.

``place_plan`` folds that matrix into the import plan — the armature object's world matrix and
the object's per-frame keys — so the rig's bones, actions and NLA strips are the same numbers
as without placement, and the picked object itself is never touched.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ..portable.motion import MotionClip
from ..portable.quaternions import make_continuous
from . import axes, quaternions
from .import_plan import ImportPlan


class PlacementError(ValueError):
    """``result.json``'s placement keys are unusable; the message names the key."""


def object_offset(doc: dict[str, Any], clip: MotionClip) -> np.ndarray:
    """``O = to_user · T_ref⁻¹`` (4, 4) in the Y-up frame; identity without the keys."""
    block = doc.get("object") or {}
    if not isinstance(block, dict) or "to_user" not in block or clip.obj is None:
        return np.eye(4)
    try:
        to_user = np.asarray(block["to_user"], dtype=np.float64)
    except (TypeError, ValueError, OverflowError):  # strings, ragged rows, nested objects
        to_user = np.full((0,), np.nan)
    if to_user.shape != (4, 4) or not np.all(np.isfinite(to_user)):
        raise PlacementError("result.json: object.to_user must be a 4×4 matrix of numbers")
    ref = block.get("reference_frame", 0)
    n = len(clip.obj.trans)
    if isinstance(ref, bool) or not isinstance(ref, int) or not 0 <= ref < n:
        raise PlacementError(f"result.json: object.reference_frame must be a frame index in "
                             f"0..{n - 1}, got {ref!r}")
    t_ref = np.eye(4)
    t_ref[:3, :3] = quaternions.to_matrix(clip.obj.rot[ref])
    t_ref[:3, 3] = clip.obj.trans[ref]
    return to_user @ np.linalg.inv(t_ref)


def blender_placement(offset: np.ndarray, unit_scale: float = 1.0) -> np.ndarray:
    """The (4, 4) Blender-world matrix applied to everything imported."""
    m = axes.matrix_to_blender(offset)
    s = np.diag([1.0 / unit_scale] * 3 + [1.0])
    return s @ m


def split_similarity(m: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """``m = [s·Q | t]`` → (s, Q, t); ``PlacementError`` unless it is a similarity."""
    a = np.asarray(m, dtype=np.float64)[:3, :3]
    det = np.linalg.det(a)
    if det <= 0:
        raise PlacementError("result.json: object.to_user must not mirror the object")
    s = det ** (1.0 / 3.0)
    q = a / s
    if not np.allclose(q @ q.T, np.eye(3), atol=1e-4):
        raise PlacementError("result.json: object.to_user must be a rotation, a translation "
                             "and one uniform scale")
    return float(s), q, np.asarray(m, dtype=np.float64)[:3, 3].copy()


def place_plan(plan: ImportPlan, placement: np.ndarray) -> ImportPlan:
    """``plan`` moved by the Blender-world ``placement`` (4, 4)."""
    placement = np.asarray(placement, dtype=np.float64)
    if np.allclose(placement, np.eye(4), atol=1e-12):
        return plan
    s, q, t = split_similarity(placement)
    obj = plan.obj
    if obj is not None:
        q_m = quaternions.from_matrix(q)
        obj = dataclasses.replace(
            obj, location=s * (obj.location @ q.T) + t,
            rotation=make_continuous(quaternions.multiply(q_m, obj.rotation)),
            scale=obj.scale * s)
    return dataclasses.replace(plan, root_matrix=placement @ plan.root_matrix, obj=obj)


def placement_for(result_json: dict[str, Any], clip: MotionClip, *, unit_scale: object
                  ) -> np.ndarray:
    """The Blender placement of a result whose job exported its object at ``unit_scale`` (the
    scene's unit scale then, from ``input/job.json``: a positive, finite number)."""
    return blender_placement(object_offset(result_json, clip), checked_unit_scale(unit_scale))


def checked_unit_scale(value: object) -> float:
    """``value`` as a unit scale; ``PlacementError`` unless it is a positive, finite number."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value) and value > 0
    if not ok:
        raise PlacementError(f"input/job.json: unit_scale must be a positive number, got "
                             f"{value!r}; import without Place at Object, or set the scene's "
                             "Unit Scale and generate again")
    return float(value)  # type: ignore[arg-type]
