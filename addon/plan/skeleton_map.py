"""Bone names for game engines and retargeters, read from ``skeleton_names.csv`` (bpy-free).

The table (shipped beside this module and shown in ``docs/game-export.md``) has one row per
bone of the exported rig: the SMPL-X joint name, its UE5 Mannequin name, its Mixamo name and
the Unity Humanoid slot it fills. Rows ``root`` and ``prop`` are the game skeleton's extra
bones (the floor bone and the object's bone of ``prop='BONE'``).
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..portable.skeleton import JOINT_NAMES

TABLE = Path(__file__).with_name("skeleton_names.csv")
SKELETONS: dict[str, str] = {"SMPLX": "smplx", "UE5": "ue5", "MIXAMO": "mixamo"}
"""The ``skeleton`` option's values → the table's column."""
EXTRA_BONES = ("root", "prop")


class SkeletonTableError(ValueError):
    """The shipped table is incomplete or names a bone twice."""


def read_table(path: Path = TABLE) -> list[dict[str, str]]:
    """The table's rows as dictionaries keyed by the header (``smplx``, ``ue5``, …)."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def bone_names(skeleton: str, path: Path = TABLE) -> dict[str, str]:
    """SMPL-X joint name (and ``root``, ``prop``) → the bone name of ``skeleton``."""
    if skeleton not in SKELETONS:
        raise ValueError(f"unknown skeleton {skeleton!r}; choose one of {tuple(SKELETONS)}")
    column = SKELETONS[skeleton]
    rows = read_table(path)
    names = {row["smplx"]: row[column] for row in rows}
    missing = [n for n in (*JOINT_NAMES, *EXTRA_BONES) if not names.get(n)]
    if missing:
        raise SkeletonTableError(f"{path.name} gives no {column} name for {missing}")
    if len(set(names.values())) != len(names) or len(names) != len(rows):
        raise SkeletonTableError(f"{path.name} names a bone twice in column {column!r}")
    return names


def humanoid_slots(skeleton: str, path: Path = TABLE) -> dict[str, str]:
    """Bone name of ``skeleton`` → the Unity Humanoid slot it fills (bones without one left
    out)."""
    names = bone_names(skeleton, path)
    return {names[row["smplx"]]: row["unity_humanoid"] for row in read_table(path)
            if row["unity_humanoid"]}
