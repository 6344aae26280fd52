"""A second FBX reader that shares no code with Blender: Assimp converts the FBX to glTF on the
command line (``assimp export in.fbx out.gltf -fgltf2``), and this module evaluates the glTF's
node animation with numpy (node world matrices at any time)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_COMPONENTS = {5126: np.float32, 5125: np.uint32, 5123: np.uint16, 5121: np.uint8}
_WIDTH = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}
Y_UP_TO_Z_UP = np.array([[1.0, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]])


def assimp_gltf(fbx: Path) -> Path:
    """Convert ``fbx`` with the ``assimp`` command line tool; returns the .gltf path."""
    exe = shutil.which("assimp")
    if exe is None:
        raise RuntimeError("assimp is not installed (Debian: apt-get install assimp-utils)")
    out = fbx.with_suffix(".gltf")
    done = subprocess.run([exe, "export", str(fbx), str(out), "-fgltf2"], capture_output=True,
                          text=True, timeout=120)
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"assimp failed on {fbx}: {done.stdout[-400:]} {done.stderr[-400:]}")
    return out


def _quat_matrix(q: np.ndarray) -> np.ndarray:
    x, y, z, w = q / np.linalg.norm(q)  # glTF order
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


@dataclass
class Channel:
    times: np.ndarray
    values: np.ndarray


class Gltf:
    def __init__(self, path: Path):
        self.doc = json.loads(path.read_text())
        self.buffers = []
        for b in self.doc["buffers"]:
            uri = b["uri"]
            if uri.startswith("data:"):
                self.buffers.append(base64.b64decode(uri.split(",", 1)[1]))
            else:
                self.buffers.append((path.parent / uri).read_bytes())
        self.nodes = self.doc["nodes"]
        self.parent = {c: i for i, n in enumerate(self.nodes) for c in n.get("children", [])}
        self.index = {n.get("name", ""): i for i, n in enumerate(self.nodes)}

    def accessor(self, i: int) -> np.ndarray:
        a = self.doc["accessors"][i]
        view = self.doc["bufferViews"][a["bufferView"]]
        dtype = _COMPONENTS[a["componentType"]]
        width = _WIDTH[a["type"]]
        start = view.get("byteOffset", 0) + a.get("byteOffset", 0)
        raw = np.frombuffer(self.buffers[view["buffer"]], dtype=dtype, count=a["count"] * width,
                            offset=start)
        return raw.reshape(a["count"], width).astype(np.float64)

    @property
    def animation_names(self) -> list[str]:
        return [a.get("name", "") for a in self.doc.get("animations", [])]

    def channels(self, animation: str) -> dict[tuple[int, str], Channel]:
        anim = next(a for a in self.doc["animations"] if a.get("name", "") == animation)
        out = {}
        for ch in anim["channels"]:
            s = anim["samplers"][ch["sampler"]]
            out[(ch["target"]["node"], ch["target"]["path"])] = Channel(
                self.accessor(s["input"])[:, 0], self.accessor(s["output"]))
        return out

    def duration(self, animation: str) -> float:
        return max(c.times[-1] for c in self.channels(animation).values())

    def local(self, node: int, channels, t: float) -> np.ndarray:
        n = self.nodes[node]
        if "matrix" in n and (node, "translation") not in channels:
            return np.array(n["matrix"], dtype=np.float64).reshape(4, 4).T
        tr = np.array(n.get("translation", [0.0, 0.0, 0.0]))
        rot = np.array(n.get("rotation", [0.0, 0.0, 0.0, 1.0]))
        sc = np.array(n.get("scale", [1.0, 1.0, 1.0]))
        values = {"translation": tr, "rotation": rot, "scale": sc}
        for path in values:
            ch = channels.get((node, path))
            if ch is not None:
                values[path] = _sample(ch, t, path == "rotation")
        m = np.eye(4)
        m[:3, :3] = _quat_matrix(values["rotation"]) * values["scale"]
        m[:3, 3] = values["translation"]
        return m

    def world(self, name: str, animation: str, t: float) -> np.ndarray:
        """(4, 4) world matrix of node ``name`` at time ``t`` seconds (glTF's Y-up frame)."""
        channels = self.channels(animation)
        node, m = self.index[name], np.eye(4)
        while True:
            m = self.local(node, channels, t) @ m
            if node not in self.parent:
                return m
            node = self.parent[node]


def _sample(ch: Channel, t: float, rotation: bool) -> np.ndarray:
    i = int(np.searchsorted(ch.times, t))
    if i <= 0:
        return ch.values[0]
    if i >= len(ch.times):
        return ch.values[-1]
    t0, t1 = ch.times[i - 1], ch.times[i]
    w = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
    a, b = ch.values[i - 1], ch.values[i]
    if rotation and np.dot(a, b) < 0:
        b = -b
    v = (1 - w) * a + w * b
    return v / np.linalg.norm(v) if rotation else v
