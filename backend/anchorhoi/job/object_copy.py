"""The user's object file copied into the job's ``input/`` folder, with the files it refers to.

A ``.gltf`` keeps its buffers and textures in separate files named by relative ``uri``s; they
are copied beside it (same relative paths) so the copy loads as the original does. A ``uri``
that leaves the object's folder (absolute, ``..``) or names a missing file is ``BAD_MESH``.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from urllib.parse import unquote

from ..portable.arrays import atomic_write
from ..portable.bounded_json import JSONLimitError, loads_bounded
from .errors import JobError

MAX_OBJECT_BYTES = 1 << 30
"""Largest object file (with a ``.gltf``'s buffers) a job takes (1 GiB)."""


def object_files(src: Path) -> list[str]:
    """Relative paths of the files the object ``src`` consists of: itself first, then a
    ``.gltf``'s external buffers and images."""
    if src.suffix.lower() != ".gltf":
        return [src.name]
    try:
        doc = loads_bounded(src.read_text(encoding="utf-8"), max_chars=64 << 20)
    except (OSError, UnicodeDecodeError, JSONLimitError) as exc:
        raise JobError("BAD_MESH", f"{src.name} is not a readable glTF file: {exc}.") from None
    refs: list[str] = []
    for key in ("buffers", "images"):
        items = doc.get(key) if isinstance(doc, dict) else None
        for item in items if isinstance(items, list) else []:
            uri = item.get("uri") if isinstance(item, dict) else None
            if isinstance(uri, str) and uri and not uri.startswith("data:"):
                refs.append(_relative(src, unquote(uri)))
    return [src.name, *dict.fromkeys(refs)]


def _relative(src: Path, uri: str) -> str:
    rel = posixpath.normpath(uri.replace("\\", "/"))
    if rel.startswith(("/", "../")) or rel == ".." or ":" in rel:
        raise JobError("BAD_MESH", f"{src.name} refers to {uri!r}, outside its folder.",
                       "Export the object as a single .glb file (buffers inside), or keep its "
                       ".bin and textures beside the .gltf.")
    if not (src.parent / rel).is_file():
        raise JobError("BAD_MESH", f"{src.name} refers to {uri!r}, which is not in "
                       f"{src.parent}.", "Keep the .gltf's .bin and textures beside it, or "
                       "export the object as a single .glb file.")
    return rel


def check_object_size(src: Path) -> None:
    """``BAD_MESH`` when the object's files add up to more than :data:`MAX_OBJECT_BYTES`."""
    total = sum((src.parent / rel).stat().st_size for rel in object_files(src))
    if total > MAX_OBJECT_BYTES:
        raise JobError("BAD_MESH", f"{src.name} is {total >> 20} MiB, over the limit of "
                       f"{MAX_OBJECT_BYTES >> 20} MiB for an object.",
                       "Decimate the object in Blender (Decimate modifier) or export a lighter "
                       "version; the job simplifies it further anyway.")


def copy_object(src: Path, input_dir: Path) -> Path:
    """Copy ``src`` and the files it refers to into ``input_dir``; returns the copy's path."""
    for rel in object_files(src):
        dst = input_dir / rel
        if (src.parent / rel).resolve() == dst.resolve():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        data = (src.parent / rel).read_bytes()
        atomic_write(dst, lambda fh, data=data: fh.write(data))
    return input_dir / src.name
