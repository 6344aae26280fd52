"""Sparse keys in an FBX Blender's exporter wrote: every node's per-frame keys thinned to the
ones that keep every joint (and the prop's extent) within a bound of the per-frame bake.

Blender's exporter bakes a key on every frame (its own ``bake_anim_simplify_factor`` drops
keys by a relative change per channel, with no bound on where the joints end up). This pass
reads the file with Blender's FBX parser, evaluates each take's node hierarchy per frame from
the keys (``Lcl Translation``, ``Lcl Rotation`` as XYZ Euler degrees, ``Lcl Scaling``; the
nodes Blender writes carry no pre/post rotation or pivots, and a file that has them is left
as it is), keeps per node the keys ``plan/linear_keys.py`` selects, evaluates the whole
hierarchy again from the kept keys as each reader interpolates them (a take that would leave
the bound keeps every key), and writes the file again with Blender's FBX encoder. All curves
of a node keep the same key times, so readers that merge a node's key times (Blender's
importer, Assimp) see the same keys.
"""

from __future__ import annotations

import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..plan import linear_keys
from .fbx_curves import encoder_tree

_LCL = {b"Lcl Translation": 0, b"Lcl Rotation": 3, b"Lcl Scaling": 6}
_AXES = {b"d|X": 0, b"d|Y": 1, b"d|Z": 2}
_UNSUPPORTED = (b"PreRotation", b"PostRotation", b"RotationPivot", b"ScalingPivot",
                b"RotationOffset", b"ScalingOffset")


@dataclass(frozen=True, kw_only=True)
class KeyCount:
    """Keys of the nodes' transform curves in the file, before and after the reduction."""

    before: int
    """Keys written by Blender's exporter (one per frame and channel)."""
    after: int
    """Keys kept."""


def _name(elem) -> str:
    return bytes(elem.props[1]).split(b"\x00\x01")[0].decode("utf-8", "replace")


def _props70(elem) -> dict[bytes, tuple]:
    block = next((e for e in elem.elems if e.id == b"Properties70"), None)
    return {} if block is None else {bytes(p.props[0]): tuple(p.props[4:]) for p in block.elems}


def _child(elem, name: bytes):
    return next(e for e in elem.elems if e.id == name)


def sparse_keys(path: Path, *, max_error: float, reach: dict[str, float]) -> KeyCount:
    """Rewrite ``path`` keeping, per node and take, only the keys needed for every joint to
    stay within ``max_error`` metres of its per-frame position at every frame.

    ``reach``: node name → half-size in metres of a cube around the node's origin whose
    corners must also stay within the bound (the prop's extent). Leaves the file as written
    when its nodes use FBX features this evaluation does not model.
    """
    from io_scene_fbx import encode_bin, parse_fbx

    parsed, version = parse_fbx.parse(str(path))
    objects = _child(parsed, b"Objects")
    links = _child(parsed, b"Connections").elems
    settings = _props70(_child(parsed, b"GlobalSettings"))
    metres = float(settings.get(b"UnitScaleFactor", (1.0,))[0]) / 100.0  # per file unit
    models = {int(e.props[0]): e for e in objects.elems if e.id == b"Model"}
    statics = {i: _props70(e) for i, e in models.items()}
    before = after = 0
    if any(any(np.any(np.asarray(p.get(k, (0.0,)), float)) for k in _UNSUPPORTED)
           or int(p.get(b"RotationOrder", (0,))[0]) != 0 for p in statics.values()):
        return KeyCount(before=0, after=0)
    parent = {int(c.props[1]): int(c.props[2]) for c in links
              if c.props[0] == b"OO" and int(c.props[1]) in models
              and int(c.props[2]) in models}
    order = _parents_first(list(models), parent)
    parents = [order.index(parent[i]) if i in parent else -1 for i in order]
    kinds = {int(e.props[0]): e.id for e in objects.elems if e.props}
    by_id = {int(e.props[0]): e for e in objects.elems if e.props}
    layer_of = {int(c.props[1]): int(c.props[2]) for c in links if c.props[0] == b"OO"
                and kinds.get(int(c.props[1])) == b"AnimationLayer"}
    node_layer = {int(c.props[1]): int(c.props[2]) for c in links if c.props[0] == b"OO"
                  and kinds.get(int(c.props[1])) == b"AnimationCurveNode"}
    target = {int(c.props[1]): (int(c.props[2]), bytes(c.props[3])) for c in links
              if c.props[0] == b"OP" and kinds.get(int(c.props[1])) == b"AnimationCurveNode"
              and bytes(c.props[3]) in _LCL and int(c.props[2]) in models}
    curves: dict[int, dict[int, list[tuple[int, object]]]] = {}  # stack → model → (col, curve)
    for c in links:
        if c.props[0] != b"OP" or kinds.get(int(c.props[1])) != b"AnimationCurve":
            continue
        cnode = int(c.props[2])
        if cnode not in target or bytes(c.props[3]) not in _AXES:
            continue
        model, prop = target[cnode]
        stack = layer_of.get(node_layer.get(cnode, -1), -1)
        column = _LCL[prop] + _AXES[bytes(c.props[3])]
        curves.setdefault(stack, {}).setdefault(model, []).append((column,
                                                                   by_id[int(c.props[1])]))
    for per_model in curves.values():
        counts = _reduce_take(per_model, order, parents, statics, models,
                              max_error / metres, reach, metres)
        before, after = before + counts[0], after + counts[1]
    if after < before:
        encode_bin.write(str(path), encoder_tree(parsed, encode_bin), version)
    return KeyCount(before=before, after=after)


def _parents_first(ids: list[int], parent: dict[int, int]) -> list[int]:
    depth = {}
    for i in ids:
        d, j = 0, i
        while j in parent:
            d, j = d + 1, parent[j]
        depth[i] = d
    return sorted(ids, key=lambda i: depth[i])


def _reduce_take(per_model, order, parents, statics, models, bound, reach, metres):
    """Thin the keys of one take's curves in place; (keys before, keys after)."""
    grids = [np.asarray(_Curve(c).elems_time, np.int64) for cs in per_model.values()
             for _, c in cs]
    if not grids or any(len(g) != len(grids[0]) or np.any(g != grids[0]) for g in grids):
        return 0, 0  # not one key per frame on a shared grid: leave the take as written
    n = len(grids[0])
    channels = np.empty((len(order), n, 9))
    for j, m in enumerate(order):
        p = statics[m]
        static = [*p.get(b"Lcl Translation", (0.0,) * 3), *p.get(b"Lcl Rotation", (0.0,) * 3),
                  *p.get(b"Lcl Scaling", (1.0,) * 3)]
        channels[j] = np.asarray(static, np.float64)
        for col, curve in per_model.get(m, []):
            channels[j, :, col] = np.asarray(_Curve(curve).values, np.float64)
    local = np.stack([linear_keys.local_matrices(c) for c in channels], axis=1)  # (N, J, 4, 4)
    world = np.empty_like(local)
    for j, p in enumerate(parents):
        world[:, j] = local[:, j] if p < 0 else world[:, p] @ local[:, j]
    animated = [order[j] in per_model for j in range(len(order))]
    tolerance = linear_keys.tolerances(parents, animated, bound)
    below: list[list[int]] = [[j] for j in range(len(order))]
    for j in reversed(range(len(order))):
        if parents[j] >= 0:
            below[parents[j]] += below[j]
    corners = [_corners(reach, [j], order, models, world, np.linalg.inv(world[:, j]), metres)
               for j in range(len(order))]
    nodes = {}
    for j in (j for j in range(len(order)) if animated[j]):
        inv = np.linalg.inv(world[:, j])
        points = (inv[:, None] @ world[:, below[j]])[:, :, :3, 3]  # (N, P, 3) in j's space
        scale = (np.ones(n) if parents[j] < 0 else
                 np.linalg.norm(world[:, parents[j], :3, 0], axis=-1))
        extra = [(inv @ world[:, k])[:, None, :3, :3] @ corners[k][..., None]
                 for k in below[j] if corners[k].shape[1]]
        extra = [(e[..., 0] + (inv @ world[:, k])[:, None, :3, 3]) for e, k in
                 zip(extra, [k for k in below[j] if corners[k].shape[1]])]
        nodes[j] = (channels[j], np.concatenate([points, *extra], axis=1), scale)
    # the chains' shares add up to the bound, which guarantees it; the whole hierarchy is
    # still evaluated from the kept keys as each reader interpolates them, and a take that
    # would leave the bound anywhere keeps every key
    keys = {j: linear_keys.key_indices(c, p, s, float(tolerance[j]))
            for j, (c, p, s) in nodes.items()}
    if _worst(keys, channels, parents, world, corners) > bound:
        return 0, 0
    before = after = 0
    for j, idx in keys.items():
        for _, curve in per_model[order[j]]:
            before, after = before + n, after + len(idx)
            _Curve(curve).keep(idx)
    return before, after


def _worst(keys, channels, parents, world, corners) -> float:
    """Largest distance, in file units, of any node's origin or corner from its per-frame
    position when the hierarchy is evaluated from ``keys`` by each reader."""
    n = len(world)
    rows = np.arange(n)
    per_node = [linear_keys.readings(channels[j], linear_keys.quaternions(channels[j]),
                                     keys[j], rows) if j in keys else None
                for j in range(len(parents))]
    worst = 0.0
    for r in range(3):
        got = np.empty_like(world)
        for j, p in enumerate(parents):
            blended = per_node[j]
            local = blended[r] if blended is not None else (
                world[:, j] if p < 0 else np.linalg.inv(world[:, p]) @ world[:, j])
            got[:, j] = local if p < 0 else got[:, p] @ local
        worst = max(worst, float(np.linalg.norm(got[:, :, :3, 3] - world[:, :, :3, 3],
                                                axis=-1).max()))
        for j, c in enumerate(corners):
            if c.shape[1]:
                d = (got[:, j, :3, :3] - world[:, j, :3, :3]) @ np.swapaxes(c, 1, 2)
                d += (got[:, j, :3, 3] - world[:, j, :3, 3])[:, :, None]
                worst = max(worst, float(np.linalg.norm(d, axis=1).max()))
    return worst


def _corners(reach, below, order, models, world, inv, metres) -> np.ndarray:
    """(N, 8·k) corners of the ``reach`` cubes of the nodes in ``below``, in the space ``inv``
    maps the world to."""
    out = [np.zeros((len(world), 0, 3))]
    for k in below:
        half = reach.get(_name(models[order[k]]))
        if not half:
            continue
        size = np.linalg.norm(world[:, k, :3, 0], axis=-1)[:, None, None]
        cube = np.array([[x, y, z, 1.0] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)])
        cube[:, :3] = cube[:, :3] * half / metres
        local = cube[None, :, :3] / size  # the cube in node k's (scaled) space
        pts = np.concatenate([local, np.ones(local.shape[:-1] + (1,))], axis=-1)
        rel = inv @ world[:, k]  # node k's space → this node's space
        out.append(np.einsum("nij,npj->npi", rel, pts)[..., :3])
    return np.concatenate(out, axis=1)


class _Curve:
    """Key times and values of a parsed ``AnimationCurve`` element, edited in place."""

    def __init__(self, elem):
        self.elem = elem

    def _field(self, name: bytes):
        return _child(self.elem, name)

    @property
    def elems_time(self):
        return self._field(b"KeyTime").props[0]

    @property
    def values(self):
        return self._field(b"KeyValueFloat").props[0]

    def keep(self, idx: np.ndarray) -> None:
        for name in (b"KeyTime", b"KeyValueFloat"):  # the parser's own array types
            field = self._field(name)
            old = field.props[0]
            field.props[0] = array.array(old.typecode, np.asarray(old)[idx].tobytes())
        count = self._field(b"KeyAttrRefCount")
        count.props[0] = array.array(count.props[0].typecode, [len(idx)])
