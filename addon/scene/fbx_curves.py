"""Animated custom properties as FBX curves, added to a file Blender's exporter wrote.

Blender's FBX exporter writes custom properties as values only (flagged animatable, ``A+U``),
never their animation. Engines read animated user properties of a node as curves (Unreal:
animation curves of the AnimSequence). This module reads the exporter's file with Blender's
own FBX parser, adds per take one ``AnimationCurveNode`` (channel ``d|<name>``) and one
``AnimationCurve`` per property of the named node, connects them to the take's layer and to
the node's property, and writes the file again with Blender's FBX encoder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FBX_KTIME = 46186158000
"""FBX time units per second."""
KEY_VERSION = 4008
KEY_FLAGS = 1 << 2 | 1 << 8 | 1 << 13 | 1 << 14  # linear, as Blender's exporter writes keys
_SCALARS = {"Z": "add_int8", "Y": "add_int16", "C": "add_char", "I": "add_int32",
            "F": "add_float32", "D": "add_float64", "L": "add_int64", "S": "add_string",
            "R": "add_bytes"}
_ARRAYS = {"f": "add_float32_array", "d": "add_float64_array", "l": "add_int64_array",
           "i": "add_int32_array", "b": "add_bool_array", "c": "add_byte_array"}


def encoder_tree(elem, encode_bin):
    """A parsed element (``parse_fbx.FBXElem``) as an encoder element, recursively."""
    out = encode_bin.FBXElem(elem.id)
    for kind, value in zip(bytes(elem.props_type).decode("ascii"), elem.props):
        getattr(out, _SCALARS.get(kind) or _ARRAYS[kind])(value)
    out.elems = [encoder_tree(e, encode_bin) for e in elem.elems]
    return out


def _child(elem, name: bytes, encode_bin):
    found = next((e for e in elem.elems if e.id == name), None)
    if found is None:
        found = encode_bin.FBXElem(name)
        elem.elems.append(found)
    return found


def _named(objects, kind: bytes, cls: bytes) -> dict[str, int]:
    """Objects of element type ``kind``: name (before FBX's ``\\x00\\x01Class``) → id."""
    return {bytes(e.props[1]).split(b"\x00\x01" + cls)[0].decode("utf-8", "replace"):
            int(e.props[0]) for e in objects.elems if e.id == kind}


def _single(parent, name: bytes, kind: str, value, encode_bin) -> None:
    elem = encode_bin.FBXElem(name)
    getattr(elem, kind)(value)
    parent.elems.append(elem)


def add_property_curves(path: Path, *, node: str, fps: float,
                        takes: dict[str, dict[str, np.ndarray]]) -> None:
    """Rewrite ``path`` with per-frame curves of custom properties of model ``node``.

    ``takes``: take name → property name → (T,) values for the take's frames 0…T−1. Each
    property must already be on the node (Blender writes it when the object or pose bone has
    it). Raises ``ValueError`` when the node, a take or a property is missing.
    """
    from io_scene_fbx import encode_bin, parse_fbx

    parsed, version = parse_fbx.parse(str(path))
    _count_definitions(parsed, sum(len(c) for c in takes.values()))
    p_objects = next(e for e in parsed.elems if e.id == b"Objects")
    p_links = next(e for e in parsed.elems if e.id == b"Connections")
    models = _named(p_objects, b"Model", b"Model")
    stacks = _named(p_objects, b"AnimationStack", b"AnimStack")
    if node not in models:
        raise ValueError(f"the FBX has no node '{node}' for the curves")
    at = next(i for i, e in enumerate(p_objects.elems)
              if e.id == b"Model" and int(e.props[0]) == models[node])
    on_node = {bytes(p.props[0]).decode() for e in p_objects.elems[at].elems
               if e.id == b"Properties70" for p in e.elems}
    layer_of = {int(c.props[2]): int(c.props[1]) for c in p_links.elems
                if c.props[0] == b"OO" and int(c.props[2]) in stacks.values()}
    next_id = max(int(e.props[0]) for e in p_objects.elems if e.props) + 1
    root = encoder_tree(parsed, encode_bin)
    objects = next(e for e in root.elems if e.id == b"Objects")
    connections = next(e for e in root.elems if e.id == b"Connections")
    for take, curves in takes.items():
        if take not in stacks:
            raise ValueError(f"the FBX has no take '{take}'")
        layer = layer_of[stacks[take]]
        for name, values in curves.items():
            if name not in on_node:
                raise ValueError(f"node '{node}' has no property '{name}' in the FBX")
            values = np.asarray(values, dtype=np.float64)
            times = np.round(np.arange(len(values)) / fps * FBX_KTIME).astype(np.int64)
            node_id, curve_id, next_id = next_id, next_id + 1, next_id + 2
            cnode = encode_bin.FBXElem(b"AnimationCurveNode")
            cnode.add_int64(node_id)
            cnode.add_string(name.encode() + b"\x00\x01AnimCurveNode")
            cnode.add_string(b"")
            p = encode_bin.FBXElem(b"P")
            for s in (b"d|" + name.encode(), b"Number", b"", b"A"):
                p.add_string(s)
            p.add_float64(float(values[0]))
            _child(cnode, b"Properties70", encode_bin).elems.append(p)
            curve = encode_bin.FBXElem(b"AnimationCurve")
            curve.add_int64(curve_id)
            curve.add_string(b"\x00\x01AnimCurve")
            curve.add_string(b"")
            _single(curve, b"Default", "add_float64", float(values[0]), encode_bin)
            _single(curve, b"KeyVer", "add_int32", KEY_VERSION, encode_bin)
            _single(curve, b"KeyTime", "add_int64_array", times, encode_bin)
            _single(curve, b"KeyValueFloat", "add_float32_array", values.astype(np.float32),
                    encode_bin)
            _single(curve, b"KeyAttrFlags", "add_int32_array", np.array([KEY_FLAGS], np.int32),
                    encode_bin)
            _single(curve, b"KeyAttrDataFloat", "add_float32_array",
                    np.array([0.0, 0.0, 9.419963346924634e-30, 0.0], np.float32), encode_bin)
            _single(curve, b"KeyAttrRefCount", "add_int32_array",
                    np.array([len(values)], np.int32), encode_bin)
            objects.elems += [cnode, curve]
            channel = b"d|" + name.encode()
            for link in ((b"OO", node_id, layer, None), (b"OP", curve_id, node_id, channel),
                         (b"OP", node_id, models[node], name.encode())):
                c = encode_bin.FBXElem(b"C")
                c.add_string(link[0])
                c.add_int64(link[1])
                c.add_int64(link[2])
                if link[3] is not None:
                    c.add_string(link[3])
                connections.elems.append(c)
    encode_bin.write(str(path), root, version)


def _count_definitions(root, added: int) -> None:
    """Raise the object counts of the parsed file's ``Definitions`` by ``added`` curve nodes
    and as many curves."""
    definitions = next((e for e in root.elems if e.id == b"Definitions"), None)
    if definitions is None:
        return
    for elem in definitions.elems:
        if elem.id == b"Count":
            elem.props[0] += 2 * added
        elif elem.id == b"ObjectType" and elem.props[0] in (b"AnimationCurveNode",
                                                           b"AnimationCurve"):
            count = next(e for e in elem.elems if e.id == b"Count")
            count.props[0] += added
