"""Object meshes for the case family, in the scene object frame (centred in x/z, standing at
y = 0, metres, outward triangles): boxes, cylinders, balls, tables, chairs, shelves, stools,
poles and platforms, each a few dozen triangles."""

from __future__ import annotations

import numpy as np

from .motion_authoring import boxes_mesh

Mesh = tuple[np.ndarray, np.ndarray]


def merge(*meshes: Mesh) -> Mesh:
    """One mesh of several (vertices stacked, faces re-indexed)."""
    verts, faces, base = [], [], 0
    for v, f in meshes:
        verts.append(v)
        faces.append(f + base)
        base += len(v)
    return np.concatenate(verts), np.concatenate(faces)


def box(width: float, height: float, depth: float, y0: float = 0.0) -> Mesh:
    """A box centred in x/z from ``y0`` up ``height``."""
    return boxes_mesh([(np.array([-width / 2, y0, -depth / 2]),
                        np.array([width / 2, y0 + height, depth / 2]))])


def cylinder(radius: float, height: float, y0: float = 0.0, segments: int = 12) -> Mesh:
    """An upright closed cylinder (a ``segments``-gon prism) centred in x/z from ``y0``."""
    a = 2 * np.pi * np.arange(segments) / segments
    ring = np.stack([radius * np.cos(a), np.zeros(segments), radius * np.sin(a)], 1)
    v = np.concatenate([ring + [0, y0, 0], ring + [0, y0 + height, 0],
                        [[0, y0, 0], [0, y0 + height, 0]]])
    n, bottom, top = segments, 2 * segments, 2 * segments + 1
    f = []
    for i in range(n):
        j = (i + 1) % n
        f += [(i, n + i, n + j), (i, n + j, j), (bottom, i, j), (top, n + j, n + i)]
    return v, np.array(f, np.int64)


def ball(radius: float, rings: int = 6, segments: int = 10) -> Mesh:
    """A UV sphere of ``radius`` resting on y = 0."""
    v = [(0.0, 0.0, 0.0)]
    for r in range(1, rings):
        th = np.pi * r / rings
        for s in range(segments):
            ph = 2 * np.pi * s / segments
            v.append((np.sin(th) * np.cos(ph), -np.cos(th), np.sin(th) * np.sin(ph)))
    v.append((0.0, 1.0, 0.0))
    verts = radius * (np.array(v) + [0, 1, 0])
    f = []
    ring = lambda r, s: 1 + (r - 1) * segments + s % segments  # noqa: E731
    last = len(v) - 1
    for s in range(segments):
        f.append((0, ring(1, s), ring(1, s + 1)))
        f.append((last, ring(rings - 1, s + 1), ring(rings - 1, s)))
        for r in range(1, rings - 1):
            a, b = ring(r, s), ring(r, s + 1)
            c, d = ring(r + 1, s), ring(r + 1, s + 1)
            f += [(a, c, d), (a, d, b)]
    faces = np.array(f, np.int64)
    # orient outward
    tri = verts[faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    flip = (n * (tri.mean(1) - [0, radius, 0])).sum(1) < 0
    faces[flip] = faces[flip][:, [0, 2, 1]]
    return verts, faces


def table(width: float, depth: float, height: float, *, top: float = 0.04,
          leg: float = 0.05) -> Mesh:
    """A table (or a shelf board on legs): a top ``top`` thick at ``height``, four legs."""
    parts = [box(width, top, depth, height - top)]
    for sx in (-1, 1):
        for sz in (-1, 1):
            x0, z0 = sx * (width / 2 - 0.03) - leg / 2, sz * (depth / 2 - 0.03) - leg / 2
            parts.append(boxes_mesh([(np.array([x0, 0, z0]),
                                      np.array([x0 + leg, height - top, z0 + leg]))]))
    return merge(*parts)


def chair(width: float, depth: float, seat: float, back: float, *, board: float = 0.04,
          leg: float = 0.04) -> Mesh:
    """A chair: a seat ``board`` thick with its top at ``seat`` on four legs (a table of the
    seat's size), and a backrest ``back`` high above the seat along its −z edge."""
    z0 = -depth / 2
    backrest = boxes_mesh([(np.array([-width / 2, seat, z0]),
                            np.array([width / 2, seat + back, z0 + board]))])
    return merge(table(width, depth, seat, top=board, leg=leg), backrest)


def shelf(width: float, depth: float, height: float, *, board: float = 0.03) -> Mesh:
    """A shelf unit: two side panels ``height`` high and boards at the top and halfway."""
    side = 0.03
    parts = [box(width, board, depth, height - board), box(width, board, depth, height / 2)]
    for sx in (-1, 1):
        x0 = sx * (width / 2) - (side if sx > 0 else 0)
        parts.append(boxes_mesh([(np.array([x0, 0, -depth / 2]),
                                  np.array([x0 + side, height - board, depth / 2]))]))
    return merge(*parts)


def stool(radius: float, height: float) -> Mesh:
    """A stool: a round seat 4 cm thick on a central post and a foot disc."""
    return merge(cylinder(radius, 0.04, height - 0.04), cylinder(0.03, height - 0.04, 0.02),
                 cylinder(radius * 0.8, 0.02))


def pole(radius: float, height: float) -> Mesh:
    """An upright pole on a small base."""
    return merge(cylinder(radius, height, 0.02, segments=8), cylinder(radius * 4, 0.02))


def extent(mesh: Mesh) -> np.ndarray:
    """(3,) size of the mesh's bounding box."""
    return np.ptp(mesh[0], 0)
