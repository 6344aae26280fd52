"""Loading the user's object mesh into the scene, and writing it back as a minimal OBJ.

``load_object_mesh`` reads OBJ, PLY, GLB/glTF and STL with trimesh (``process=False``: nothing
is merged or reordered behind our back), concatenates the parts of a scene with their node
transforms applied, cleans the result itself and puts it into the **scene object frame**:

1. rotated to Y up (``up_axis="Z"``: the file is Z-up, e.g. Blender's own axes);
2. scaled to metres: ``target_size_m`` when given (the longest bounding-box side becomes that
   many metres), else a unit guess from the bounding-box diagonal ``d`` of the file's numbers:

   ============================  =====================================================
   ``d < 1 mm``                   error: too small to be an object in metres
   ``1 mm ≤ d ≤ 10``              metres, kept
   ``10 < d ≤ 500``               centimetres: ×0.01 (a 0.1–5 m object), reported
   ``500 < d ≤ 10 000``           millimetres: ×0.001 (a 0.5–10 m object), reported
   ``d > 10 000``                 error: too large (kilometres of object)
   ============================  =====================================================

   (the cm/mm boundary is ambiguous for 1.5–5 m objects in cm vs. 0.15–0.5 m objects in mm;
   the guess is reported in ``corrections`` and ``target_size_m`` overrides it);
3. centred: bounding-box centre at x = z = 0, bottom at y = 0 (objects stand on the ground).

``ObjectMesh.to_user`` maps the scene object frame back to the file's coordinates, so a placement
found in the scene can be reported for the user's own object.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import trimesh

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".obj", ".ply", ".glb", ".gltf", ".stl")
MIN_DIAGONAL_M = 1e-3
"""Below this bounding-box diagonal the file cannot be read as metres, nor as cm/mm."""
METRES_MAX_DIAGONAL = 10.0
"""Up to this diagonal the numbers are taken as metres."""
CENTIMETRES_MAX_DIAGONAL = 500.0
"""Up to this diagonal (above ``METRES_MAX_DIAGONAL``) the numbers are taken as centimetres."""
MILLIMETRES_MAX_DIAGONAL = 10_000.0
"""Up to this diagonal (above ``CENTIMETRES_MAX_DIAGONAL``) they are millimetres; above: error."""
MAX_FACES = 5_000_000
"""Most faces an object file may have (read, cleaned, then simplified for the stages)."""
UNIT_GUESS = "which looks like"
"""Marks a correction that guessed the file's unit: the job shows these to the user."""
_Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
"""(x, y, z) Z-up → (x, z, −y) Y-up: Blender's front (−Y) becomes +Z, the body's facing side."""


class MeshError(ValueError):
    """An object mesh that cannot be used; the message says what to do about it."""


@dataclass(frozen=True, eq=False)
class Similarity:
    """``p ↦ scale · rotation @ p + translation`` on points ``(..., 3)`` (float64)."""

    scale: float
    rotation: np.ndarray  # (3, 3), a proper rotation
    translation: np.ndarray  # (3,)

    @staticmethod
    def identity() -> Similarity:
        return Similarity(1.0, np.eye(3), np.zeros(3))

    def apply(self, points: np.ndarray) -> np.ndarray:
        """``(..., 3)`` → ``(..., 3)``."""
        return self.scale * (np.asarray(points, dtype=np.float64) @ self.rotation.T) \
            + self.translation

    def inverse(self) -> Similarity:
        rt = self.rotation.T
        return Similarity(1.0 / self.scale, rt, -(rt @ self.translation) / self.scale)

    def compose(self, first: Similarity) -> Similarity:
        """The similarity applying ``first``, then ``self``."""
        return Similarity(self.scale * first.scale, self.rotation @ first.rotation,
                          self.scale * (self.rotation @ first.translation) + self.translation)

    def as_matrix(self) -> np.ndarray:
        """``(4, 4)`` homogeneous matrix acting on column vectors."""
        m = np.eye(4)
        m[:3, :3] = self.scale * self.rotation
        m[:3, 3] = self.translation
        return m


@dataclass(frozen=True, kw_only=True, eq=False)
class ObjectMesh:
    """A cleaned triangle mesh in the scene object frame (metres, Y up, standing at y = 0)."""

    vertices: np.ndarray
    """(V, 3) float64."""
    faces: np.ndarray
    """(F, 3) int64, counter-clockwise seen from outside where the file had it so."""
    vertex_colors: np.ndarray | None = None
    """(V, 3) float64 in [0, 1], or None when the file has no colour."""
    to_user: Similarity = field(default_factory=Similarity.identity)
    """Scene object frame → the coordinates of the user's file."""
    corrections: list[str] = field(default_factory=list)
    """What was changed to make the file usable (units, cleaning), one sentence each."""

    def __post_init__(self):
        v, f = self.vertices, self.faces
        if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3:
            raise ValueError(f"ObjectMesh wants (V,3) vertices and (F,3) faces, got {v.shape}, "
                             f"{f.shape}")
        if self.vertex_colors is not None and self.vertex_colors.shape != v.shape:
            raise ValueError(f"vertex_colors {self.vertex_colors.shape} do not match {v.shape}")

    @property
    def bounds(self) -> np.ndarray:
        """(2, 3): lowest and highest corner of the bounding box."""
        return np.stack([self.vertices.min(0), self.vertices.max(0)])

    def face_areas(self) -> np.ndarray:
        """(F,) triangle areas."""
        return _face_areas(self.vertices, self.faces)


def load_object_mesh(path: str | os.PathLike, *, target_size_m: float | None = None,
                     up_axis: Literal["Y", "Z"] = "Y") -> ObjectMesh:
    """Read, clean, scale and centre the object in ``path`` (see the module docstring)."""
    path = Path(path)
    if up_axis not in ("Y", "Z"):
        raise MeshError(f"up_axis must be 'Y' or 'Z', got {up_axis!r}")
    if target_size_m is not None and not (np.isfinite(target_size_m) and target_size_m > 0):
        raise MeshError(f"target_size_m must be a positive number of metres, got {target_size_m}")
    if not path.is_file():
        raise MeshError(f"Object mesh not found: {path}. Check the path (or pick the object in "
                        "the scene again so the add-on re-exports it).")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise MeshError(f"Unsupported object mesh format {suffix or '(no extension)'!r} for "
                        f"{path.name}; supported formats: {', '.join(SUPPORTED_SUFFIXES)} (OBJ, "
                        "PLY, glTF binary/text, STL). Export the object as .glb or .obj.")
    vertices, faces, colours = _read_triangles(path)
    if len(faces) > MAX_FACES:
        raise MeshError(f"{path.name} has {len(faces):,} faces, over the limit of {MAX_FACES:,}. "
                        "Decimate it in Blender (Decimate modifier) first; the job simplifies "
                        "it to a few thousand faces anyway.")
    corrections: list[str] = []
    vertices, faces, colours = clean_triangles(vertices, faces, colours, name=path.name,
                                               report=corrections)

    rotation = _Z_UP_TO_Y_UP if up_axis == "Z" else np.eye(3)
    rotated = vertices @ rotation.T
    lo, hi = rotated.min(0), rotated.max(0)
    scale = _choose_scale(hi - lo, target_size_m, name=path.name, report=corrections)
    lo, hi = scale * lo, scale * hi
    translation = -np.array([(lo[0] + hi[0]) / 2, lo[1], (lo[2] + hi[2]) / 2])
    to_scene = Similarity(scale, rotation, translation)
    for message in corrections:
        log.info("%s: %s", path.name, message)
    return ObjectMesh(vertices=to_scene.apply(vertices), faces=faces, vertex_colors=colours,
                      to_user=to_scene.inverse(), corrections=corrections)


def save_obj(path: str | os.PathLike, mesh: ObjectMesh) -> Path:
    """Write ``mesh`` as a minimal OBJ (``v x y z [r g b]``, ``f i j k``), atomically."""
    path = Path(path)
    lines = ["# AnchorHOI object mesh: scene object frame, metres, Y up"]
    if mesh.vertex_colors is None:
        lines += [f"v {x:.17g} {y:.17g} {z:.17g}" for x, y, z in mesh.vertices.tolist()]
    else:
        lines += [f"v {x:.17g} {y:.17g} {z:.17g} {r:.6g} {g:.6g} {b:.6g}" for (x, y, z), (r, g, b)
                  in zip(mesh.vertices.tolist(), mesh.vertex_colors.tolist())]
    lines += [f"f {a} {b} {c}" for a, b, c in (mesh.faces + 1).tolist()]
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii", newline="\n") as fh:
            fh.write("\n".join(lines) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def clean_triangles(vertices: np.ndarray, faces: np.ndarray, colours: np.ndarray | None, *,
                    name: str, report: list[str]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Merge identical vertices, drop degenerate and repeated faces and unused vertices.

    Each removal is appended to ``report``; order of what remains is kept (first occurrence).
    Raises ``MeshError`` when nothing with an area is left.
    """
    num_faces = len(faces)
    # 1. identical positions → one vertex (STL and split UV seams repeat them); colours averaged
    uniq, first, inverse, counts = np.unique(vertices, axis=0, return_index=True,
                                             return_inverse=True, return_counts=True)
    order = np.argsort(first, kind="stable")  # unique rows in the order they first appear
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    inverse = rank[inverse.reshape(-1)]
    merged = len(vertices) - len(uniq)
    if merged:
        report.append(f"merged {merged} duplicate vertices")
        if colours is not None:
            summed = np.zeros((len(uniq), 3))
            np.add.at(summed, inverse, colours)
            colours = summed / counts[order][:, None]
        vertices = uniq[order]
        faces = inverse[faces]
    # 2. degenerate faces: a repeated corner or (numerically) no area
    diag = float(np.linalg.norm(vertices.max(0) - vertices.min(0)))
    area = _face_areas(vertices, faces)
    repeated = (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) \
        | (faces[:, 2] == faces[:, 0])
    degenerate = repeated | (area <= 1e-12 * diag * diag)
    if degenerate.all():
        raise MeshError(f"{name}: all {num_faces} faces have zero area (every triangle is a line "
                        "or a point), so the object has no surface. Re-export it with its real "
                        "geometry (apply modifiers/transforms, check the scale isn't zero).")
    if degenerate.any():
        report.append(f"removed {int(degenerate.sum())} degenerate (zero-area) faces")
        faces = faces[~degenerate]
    # 3. the same triangle twice with the same orientation (one copy kept)
    canonical = _rotate_to_smallest_first(faces)
    _, keep = np.unique(canonical, axis=0, return_index=True)
    if len(keep) < len(faces):
        report.append(f"removed {len(faces) - len(keep)} duplicate faces")
        faces = faces[np.sort(keep)]
    # 4. vertices no face uses (point-cloud leftovers, helpers)
    used = np.zeros(len(vertices), dtype=bool)
    used[faces.reshape(-1)] = True
    if not used.all():
        report.append(f"removed {int((~used).sum())} unreferenced vertices")
        remap = np.cumsum(used) - 1
        vertices, faces = vertices[used], remap[faces]
        colours = None if colours is None else colours[used]
    return vertices, faces.astype(np.int64), colours


def _read_triangles(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """All triangle geometry of the file in its own coordinates, node transforms applied."""
    try:
        scene = trimesh.load_scene(str(path), process=False)
        parts = scene.dump(concatenate=False)
    except Exception as exc:  # trimesh raises many kinds on malformed files
        raise MeshError(f"Could not read {path.name}: {exc}. Check that the file is a valid "
                        f"{path.suffix.lower()[1:].upper()} file (re-export it).") from exc
    meshes = [p for p in parts if isinstance(p, trimesh.Trimesh) and len(p.faces) > 0]
    if not meshes:
        raise MeshError(f"{path.name} has no triangle faces (is it a point cloud, lines or an "
                        "empty file?). The object needs a surface mesh: export it with faces.")
    vertex_parts: list[np.ndarray] = []
    face_parts: list[np.ndarray] = []
    colour_parts: list[np.ndarray | None] = []
    offset = 0
    for mesh in meshes:
        v = np.asarray(mesh.vertices, dtype=np.float64)
        f = np.asarray(mesh.faces, dtype=np.int64)
        if f.min() < 0 or f.max() >= len(v):
            raise MeshError(f"{path.name}: a face refers to a vertex that does not exist "
                            "(corrupt file); re-export it.")
        vertex_parts.append(v)
        face_parts.append(f + offset)
        colour_parts.append(_vertex_colours(mesh))
        offset += len(v)
    vertices = np.concatenate(vertex_parts)
    faces = np.concatenate(face_parts)
    bad = ~np.isfinite(vertices).all(1)
    if bad.any():
        raise MeshError(f"{path.name} has NaN or infinite coordinates in {int(bad.sum())} of its "
                        f"{len(vertices)} vertices; fix the export (apply transforms, delete "
                        "broken geometry).")
    if all(c is None for c in colour_parts):
        return vertices, faces, None
    grey = np.full(3, 0.5)
    colours = [np.broadcast_to(grey, (len(m.vertices), 3)) if c is None else c
               for m, c in zip(meshes, colour_parts)]
    return vertices, faces, np.concatenate(colours).astype(np.float64)


def _vertex_colours(mesh: trimesh.Trimesh) -> np.ndarray | None:
    """(V, 3) in [0, 1] from vertex colours, face colours or the texture; None without colour."""
    visual = mesh.visual
    try:
        if visual is None or visual.kind is None:
            return None
        if isinstance(visual, trimesh.visual.TextureVisuals):
            visual = visual.to_color()  # texture sampled at the UVs, or the material colour
            if visual.kind is None:
                return None
        rgba = np.asarray(visual.vertex_colors)  # face colours are averaged onto vertices
    except Exception as exc:  # a texture trimesh cannot sample is not fatal: no colour
        log.warning("%s: could not read the colours (%s); using the default colour",
                    getattr(mesh, "metadata", {}).get("name", "mesh"), exc)
        return None
    if rgba.shape != (len(mesh.vertices), 4):
        return None
    return rgba[:, :3].astype(np.float64) / 255.0


def _choose_scale(extent: np.ndarray, target_size_m: float | None, *, name: str,
                  report: list[str]) -> float:
    diag = float(np.linalg.norm(extent))
    if target_size_m is not None:
        scale = target_size_m / float(extent.max())
        report.append(f"scaled ×{scale:.6g} so the longest side is {target_size_m:g} m "
                      "(target_size_m)")
        return scale
    if diag < MIN_DIAGONAL_M:
        raise MeshError(f"{name} is {diag:.3g} units across, too small to be an object in metres "
                        f"(minimum {MIN_DIAGONAL_M * 1000:g} mm). Re-export it in metres "
                        "(in Blender: apply the object's scale, scene Unit Scale 1.0).")
    if diag <= METRES_MAX_DIAGONAL:
        return 1.0
    if diag <= CENTIMETRES_MAX_DIAGONAL:
        report.append(f"the object is {diag:.4g} units across, which looks like centimetres: "
                      "scaled ×0.01 to metres (if it is not, re-export the object in metres)")
        return 0.01
    if diag <= MILLIMETRES_MAX_DIAGONAL:
        report.append(f"the object is {diag:.4g} units across, which looks like millimetres: "
                      "scaled ×0.001 to metres (if it is not, re-export the object in metres)")
        return 0.001
    raise MeshError(f"{name} is {diag:.4g} units across, too large for an object even in "
                    "millimetres. Re-export it in metres (in Blender: apply the object's scale, "
                    "scene Unit Scale 1.0).")


def _rotate_to_smallest_first(faces: np.ndarray) -> np.ndarray:
    """Each face's cyclic rotation starting at its smallest index (orientation kept)."""
    shift = faces.argmin(1)
    idx = (shift[:, None] + np.arange(3)[None]) % 3
    return np.take_along_axis(faces, idx, axis=1)


def _face_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    a, b, c = (vertices[faces[:, i]] for i in range(3))
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
