"""Read an FBX file's node tree with Blender's own parser (``io_scene_fbx.parse_fbx``), to check
what a game engine will see: global unit/axis settings and each model's local transform."""

from __future__ import annotations

from dataclasses import dataclass


def _s(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v


def _props70(elem) -> dict[str, tuple]:
    out = {}
    for child in elem.elems:
        if child.id == b"Properties70":
            for p in child.elems:
                out[_s(p.props[0])] = tuple(_s(x) for x in p.props[4:])
    return out


@dataclass
class FbxModel:
    name: str
    kind: str  # "Null", "LimbNode", "Mesh", ...
    props: dict[str, tuple]


@dataclass
class FbxSummary:
    global_settings: dict[str, tuple]
    models: list[FbxModel]
    takes: list[str]
    vertices: dict[str, list[float]]  # geometry name → flat vertex coordinates

    def model(self, name: str) -> FbxModel:
        return next(m for m in self.models if m.name == name)


def read_fbx(path) -> FbxSummary:
    from io_scene_fbx import parse_fbx

    root, _ = parse_fbx.parse(str(path))
    settings, models, takes, verts = {}, [], [], {}
    for elem in root.elems:
        if elem.id == b"GlobalSettings":
            settings = _props70(elem)
        elif elem.id == b"Objects":
            for obj in elem.elems:
                name = _s(obj.props[1]).split("\x00")[0]
                if obj.id == b"Model":
                    models.append(FbxModel(name, _s(obj.props[2]), _props70(obj)))
                elif obj.id == b"Geometry":
                    for sub in obj.elems:
                        if sub.id == b"Vertices":
                            verts[name] = list(sub.props[0])
        elif elem.id == b"Takes":
            takes = [_s(t.props[0]) for t in elem.elems if t.id == b"Take"]
    return FbxSummary(settings, models, takes, verts)
