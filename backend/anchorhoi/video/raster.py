"""A small z-buffer rasteriser for stage C's conditioning render (numpy + torch, no Blender).

Stage C conditions the video model on a picture of the anchored composition — the fitted body
and the placed object — seen from the video's camera. The backend never imports ``bpy``, so
the picture is drawn here: triangles are rasterised at pixel centres (the
:mod:`anchorhoi.nerf.cameras` convention), the nearest surface wins per pixel, and each pixel is
shaded with its interpolated vertex normal (smooth shading): a Lambert key light from above the
camera, a weaker fill, an ambient term, over a plain background. That is enough for a 2D pose
detector to find the body (``tests/video/test_conditioning.py`` runs MediaPipe on it).

Steps of :func:`rasterize`:

1. project every vertex; drop triangles behind the camera (any vertex at ``z ≤ near``) or
   entirely outside the image;
2. per triangle, test the pixel centres of its bounding box in one batched pass (triangles are
   grouped by box size, so a few large object faces do not blow up the batch of the many small
   body faces): barycentrics from the 2D edge functions, depth interpolated perspective-
   correctly (``1/z`` is linear in screen space);
3. a scatter-min of the depths gives the z-buffer; the fragments that reach it record their
   triangle and barycentrics (ties: the largest triangle index, deterministic).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..nerf.cameras import Cameras


@dataclass(frozen=True, eq=False)
class Fragments:
    """What each pixel sees (image of ``height × width``)."""

    face: np.ndarray  # (H, W) int64 index into the concatenated faces, −1 for background
    bary: np.ndarray  # (H, W, 3) float64 barycentric coordinates of the pixel in that face
    depth: np.ndarray  # (H, W) float64 camera depth, inf for background


def rasterize(vertices: np.ndarray, faces: np.ndarray, camera: Cameras, *,
              near: float = 1e-3) -> Fragments:
    """Rasterise the mesh ``vertices (V, 3)`` (world) / ``faces (F, 3)`` with the first camera
    of ``camera``; see the module docstring."""
    cam = camera.to("cpu", torch.float64)
    w, h = cam.width, cam.height
    v = torch.as_tensor(np.asarray(vertices, dtype=np.float64))
    f = torch.as_tensor(np.asarray(faces, dtype=np.int64))
    p_cam = v @ cam.R[0].T + cam.t[0]
    z = p_cam[:, 2]
    uv = (p_cam[:, :2] / z.clamp_min(near)[:, None]) @ cam.K[0, :2, :2].T + cam.K[0, :2, 2]
    tri_uv, tri_z = uv[f], z[f]  # (F, 3, 2), (F, 3)
    lo = tri_uv.amin(1).floor()
    hi = tri_uv.amax(1).ceil()
    keep = (tri_z > near).all(1) & (hi[:, 0] >= 0) & (hi[:, 1] >= 0) & (lo[:, 0] <= w - 1) \
        & (lo[:, 1] <= h - 1)
    ids = torch.nonzero(keep).flatten()
    lo = lo[ids].clamp(min=0)
    hi = torch.stack([hi[ids, 0].clamp(max=w - 1), hi[ids, 1].clamp(max=h - 1)], -1)
    side = (hi - lo).amax(1).long() + 1  # (F',) box side in pixels

    zbuf = torch.full((h * w,), float("inf"), dtype=torch.float64)
    found: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]] = []
    bins = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
    for k, size in enumerate(bins):
        low = bins[k - 1] if k else 0
        sel = torch.nonzero((side > low) & (side <= size)).flatten()
        if k == len(bins) - 1:
            sel = torch.nonzero(side > low).flatten()
            size = int(side.max()) if len(sel) else size
        if len(sel) == 0:
            continue
        chunk = max(1, 2_000_000 // (size * size))
        for start in range(0, len(sel), chunk):
            s = sel[start:start + chunk]
            found.append(_fragments(tri_uv[ids[s]], tri_z[ids[s]], lo[s], hi[s], ids[s], size,
                                    w, zbuf))
    face = torch.full((h * w,), -1, dtype=torch.long)
    bary = torch.zeros(h * w, 3, dtype=torch.float64)
    for pix, depth, fid, b in found:
        win = depth <= zbuf[pix]
        # deterministic ties: order by face id so the largest index is written last
        order = torch.argsort(fid[win], stable=True)
        face[pix[win][order]] = fid[win][order]
        bary[pix[win][order]] = b[win][order]
    return Fragments(face=face.reshape(h, w).numpy(), bary=bary.reshape(h, w, 3).numpy(),
                     depth=zbuf.reshape(h, w).numpy())


def _fragments(tri_uv, tri_z, lo, hi, fid, size, width, zbuf):
    """Pixel centres inside each triangle's box ``lo..hi`` (≤ ``size`` per side): their flat
    pixel index, perspective-correct depth, triangle id and barycentrics; the depths are
    scatter-min'ed into ``zbuf``."""
    n = tri_uv.shape[0]
    r = torch.arange(size, dtype=torch.float64)
    gu = lo[:, None, None, 0] + r[None, None, :]  # (n, 1, S)
    gv = lo[:, None, None, 1] + r[None, :, None]  # (n, S, 1)
    gu, gv = torch.broadcast_tensors(gu, gv)  # (n, S, S)
    inside_box = (gu <= hi[:, None, None, 0]) & (gv <= hi[:, None, None, 1])
    a, b, c = tri_uv[:, 0], tri_uv[:, 1], tri_uv[:, 2]

    def edge(p, q):  # (n, S, S): signed area of (p, q, pixel)
        return (q[:, None, None, 0] - p[:, None, None, 0]) * (gv - p[:, None, None, 1]) \
            - (q[:, None, None, 1] - p[:, None, None, 1]) * (gu - p[:, None, None, 0])

    area = ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))
    ok_area = area.abs() > 1e-12
    safe = torch.where(ok_area, area, torch.ones_like(area))[:, None, None]
    w0, w1, w2 = edge(b, c) / safe, edge(c, a) / safe, edge(a, b) / safe
    inside = inside_box & ok_area[:, None, None] & (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
    inv_z = w0 / tri_z[:, 0, None, None] + w1 / tri_z[:, 1, None, None] \
        + w2 / tri_z[:, 2, None, None]
    depth = 1.0 / inv_z
    # perspective-correct barycentrics (for normals): weights / z, renormalised
    pc = torch.stack([w0 / tri_z[:, 0, None, None], w1 / tri_z[:, 1, None, None],
                      w2 / tri_z[:, 2, None, None]], -1) * depth[..., None]
    pix = (gv * width + gu).long()
    sel = inside.reshape(-1)
    pix, depth = pix.reshape(-1)[sel], depth.reshape(-1)[sel]
    fids = fid[:, None, None].expand(n, size, size).reshape(-1)[sel]
    pc = pc.reshape(-1, 3)[sel]
    zbuf.scatter_reduce_(0, pix, depth, reduce="amin")
    return pix, depth, fids, pc


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit area-weighted vertex normals of a mesh (outward for counter-clockwise
    faces)."""
    v = np.asarray(vertices, dtype=np.float64)
    tri = v[faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    out = np.zeros_like(v)
    for k in range(3):
        np.add.at(out, faces[:, k], n)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def shade(fragments: Fragments, normals: np.ndarray, faces: np.ndarray, colors: np.ndarray,
          camera: Cameras, *, background: tuple[float, float, float] = (0.55, 0.6, 0.65),
          ambient: float = 0.3) -> np.ndarray:
    """(H, W, 3) uint8: each covered pixel's face colour ``colors (F, 3)`` in [0, 1] lit by a key
    light from above and to the left of the camera (0.75), a fill from the right (0.25) and
    ``ambient``, with the interpolated vertex ``normals (V, 3)`` (two-sided); background
    elsewhere."""
    cam = camera.to("cpu", torch.float64)
    rot = cam.R[0].numpy()
    covered = fragments.face >= 0
    fid = fragments.face[covered]
    n = (fragments.bary[covered][..., None] * normals[faces[fid]]).sum(1)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    n_cam = n @ rot.T  # camera frame: x right, y down, z forward
    n_cam = np.where(n_cam[:, 2:] > 0, -n_cam, n_cam)  # two-sided: face the camera
    key = np.array([-0.4, -0.6, -0.7])
    fill = np.array([0.6, -0.1, -0.8])
    key, fill = key / np.linalg.norm(key), fill / np.linalg.norm(fill)
    light = ambient + 0.75 * np.clip(n_cam @ key, 0, None) + 0.25 * np.clip(n_cam @ fill, 0, None)
    image = np.empty((*fragments.face.shape, 3))
    image[:] = background
    image[covered] = np.clip(colors[fid] * light[:, None], 0, 1)
    return np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)
