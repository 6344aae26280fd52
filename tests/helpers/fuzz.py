"""Mutations for the fuzz tests: JSON documents (type swaps, drops, deep nesting, huge numbers,
NaN, truncation) and object meshes (truncated OBJ/PLY/GLB, NaN or huge coordinates, bad indices,
no faces, huge counts in a header)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

ODD_VALUES = [None, True, -1, 0, 2**80, 1e308, float("nan"), float("inf"), "", "x" * 5000,
              "\x00\x1b[2J", [], {}, [[[[[]]]]], {"a": {"b": {"c": {}}}}, "../../etc", "/",
              1.5, "tiny", "cuda", 10**6]


def mutate(rng: random.Random, doc: dict) -> str:
    """``doc`` with one to three mutations, as JSON text (sometimes truncated, sometimes behind
    100 000 opening brackets)."""
    doc = json.loads(json.dumps(doc))
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["swap", "drop", "add", "deep"])
        key = rng.choice(sorted(doc) or ["x"])
        if kind == "swap":
            doc[key] = rng.choice(ODD_VALUES)
        elif kind == "drop":
            doc.pop(key, None)
        elif kind == "add":
            doc[f"k{rng.randint(0, 9)}"] = rng.choice(ODD_VALUES)
        else:
            doc[key] = json.loads("[" * 40 + "]" * 40)
    text = json.dumps(doc, allow_nan=True)
    if rng.random() < 0.2:
        text = text[:rng.randint(0, len(text))]
    if rng.random() < 0.05:
        text = "[" * 100_000 + text
    return text


def _box() -> tuple[np.ndarray, np.ndarray]:
    from anchorhoi.oracles.fine_mesh import fine_box

    return fine_box(48)


def _obj(v: np.ndarray, f: np.ndarray) -> bytes:
    lines = [f"v {x!r} {y!r} {z!r}" for x, y, z in v.tolist()]
    lines += [f"f {a} {b} {c}" for a, b, c in (f + 1).tolist()]
    return ("\n".join(lines) + "\n").encode()


def _ply(v: np.ndarray, f: np.ndarray, *, vertex_count: int | None = None,
         face_count: int | None = None) -> bytes:
    header = (f"ply\nformat binary_little_endian 1.0\nelement vertex {vertex_count or len(v)}\n"
              "property float x\nproperty float y\nproperty float z\n"
              f"element face {len(f) if face_count is None else face_count}\n"
              "property list uchar int vertex_indices\nend_header\n").encode()
    rows = np.empty(len(f), dtype=[("n", "u1"), ("i", "<i4", (3,))])
    rows["n"], rows["i"] = 3, f
    return header + v.astype("<f4").tobytes() + rows.tobytes()


def _glb(v: np.ndarray, f: np.ndarray) -> bytes:
    import trimesh

    return trimesh.Trimesh(v, f, process=False).export(file_type="glb")


def mutated_meshes(rng: random.Random, folder: Path, count: int) -> list[Path]:
    """``count`` object files in ``folder``: each kind of damage, then random truncations and
    byte flips of valid OBJ, PLY and GLB files."""
    v, f = _box()
    nan, huge = v.copy(), v.copy()
    nan[3] = np.nan
    huge[5] = 1e30
    bad = f.copy()
    bad[7, 1] = len(v) + 1000
    negative = f.copy()
    negative[2, 0] = -5 - len(v)
    cases: dict[str, bytes] = {
        "nan.obj": _obj(nan, f), "huge.obj": _obj(huge, f), "bad_index.obj": _obj(v, bad),
        "negative_index.obj": _obj(v, negative), "no_faces.obj": _obj(v, f[:0]),
        "nan.ply": _ply(nan, f), "bad_index.ply": _ply(v, bad),
        "huge_vertex_count.ply": _ply(v, f, vertex_count=4_000_000_000),
        "huge_face_count.ply": _ply(v, f, face_count=2**31 - 1), "no_faces.ply": _ply(v, f[:0]),
        "empty.glb": b"", "text.glb": b"glTF? no, plain text\n",
        "huge_coordinates.glb": _glb(huge, f), "one_point.obj": b"v 0 0 0\nf 1 1 1\n",
        "all_degenerate.obj": _obj(np.zeros_like(v), f),
        "binary_noise.ply": bytes(rng.randrange(256) for _ in range(4096)),
        "header_only.ply": _ply(v, f)[:200],
    }
    valid = {".obj": _obj(v, f), ".ply": _ply(v, f), ".glb": _glb(v, f)}
    i = 0
    while len(cases) < count:
        suffix = rng.choice(sorted(valid))
        data = bytearray(valid[suffix])
        if rng.random() < 0.6:
            data = data[:rng.randrange(len(data))]
        else:
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        cases[f"mutated{i}{suffix}"] = bytes(data)
        i += 1
    paths = []
    for name, data in cases.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (symlinks as their target)."""
    out: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            out[str(path)] = b"->" + str(path.readlink()).encode()
        elif path.is_file():
            out[str(path)] = path.read_bytes()
        else:
            out[str(path)] = b"<dir>"
    return out
