"""Pinhole cameras in the OpenCV convention, the scene box, and camera.json.

World frame: the body model's (Y up, the body faces +Z, metres). Camera frame (OpenCV): x right,
y down, z forward. A camera maps a world point ``p`` to ``p_cam = R p + t`` and to pixel
coordinates ``(u, v) = (K p_cam)[:2] / (K p_cam)[2]``; pixel centres sit on integer coordinates
(pixel ``(0, 0)`` covers ``[-0.5, 0.5]²``), so ``rays`` shoots through ``u = 0 … W-1``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True, kw_only=True)
class SceneBox:
    """The axis-aligned box that bounds the scene (world frame, metres)."""

    center: tuple[float, float, float] = (0.0, -0.3, 0.0)
    """Centre of the box; the default suits a standing SMPL-X body (pelvis near the origin)."""
    half_size: tuple[float, float, float] = (1.2, 1.2, 1.2)
    """Half the box's extent along x, y and z."""

    def aabb(self, *, device: torch.device | str = "cpu",
             dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """(6,) ``[xmin, ymin, zmin, xmax, ymax, zmax]``."""
        c = torch.tensor(self.center, device=device, dtype=dtype)
        h = torch.tensor(self.half_size, device=device, dtype=dtype)
        return torch.cat([c - h, c + h])


@dataclass(frozen=True)
class Cameras:
    """A batch of B pinhole cameras sharing one image size."""

    K: torch.Tensor  # (B, 3, 3) intrinsics
    R: torch.Tensor  # (B, 3, 3) world → camera rotation
    t: torch.Tensor  # (B, 3) world → camera translation
    width: int
    height: int

    def __post_init__(self) -> None:
        b = self.K.shape[0]
        if self.K.shape != (b, 3, 3) or self.R.shape != (b, 3, 3) or self.t.shape != (b, 3):
            raise ValueError(f"Cameras want K (B,3,3), R (B,3,3), t (B,3); got "
                             f"{tuple(self.K.shape)}, {tuple(self.R.shape)}, "
                             f"{tuple(self.t.shape)}")
        if self.width < 1 or self.height < 1:
            raise ValueError(f"image size must be positive, got {self.width}×{self.height}")

    def __len__(self) -> int:
        return self.K.shape[0]

    @property
    def centers(self) -> torch.Tensor:
        """(B, 3) camera centres in the world, ``-Rᵀ t``."""
        return -(self.R.transpose(1, 2) @ self.t[..., None])[..., 0]

    @property
    def c2w(self) -> torch.Tensor:
        """(B, 4, 4) camera → world (OpenCV camera axes), the inverse of ``[R | t]``."""
        out = torch.zeros(len(self), 4, 4, device=self.R.device, dtype=self.R.dtype)
        out[:, :3, :3] = self.R.transpose(1, 2)
        out[:, :3, 3] = self.centers
        out[:, 3, 3] = 1
        return out

    def to(self, device: torch.device | str | None = None,
           dtype: torch.dtype | None = None) -> Cameras:
        return Cameras(K=self.K.to(device=device, dtype=dtype),
                       R=self.R.to(device=device, dtype=dtype),
                       t=self.t.to(device=device, dtype=dtype),
                       width=self.width, height=self.height)

    def __getitem__(self, index: int | slice) -> Cameras:
        index = slice(index, index + 1) if isinstance(index, int) else index
        return Cameras(K=self.K[index], R=self.R[index], t=self.t[index],
                       width=self.width, height=self.height)


def look_at(eye: torch.Tensor, target: torch.Tensor,
            up: tuple[float, float, float] = (0.0, 1.0, 0.0)) -> tuple[torch.Tensor, torch.Tensor]:
    """World → camera ``R (B,3,3), t (B,3)`` of cameras at ``eye (B,3)`` looking at ``target``
    ``(B,3)`` with the world ``up`` pointing up in the image (OpenCV axes)."""
    forward = torch.nn.functional.normalize(target - eye, dim=-1)
    up_t = torch.tensor(up, device=eye.device, dtype=eye.dtype).expand_as(forward)
    right = torch.linalg.cross(forward, up_t, dim=-1)
    if bool((right.norm(dim=-1) < 1e-6).any()):
        raise ValueError("a camera looks straight along the up axis; its roll is undefined")
    right = torch.nn.functional.normalize(right, dim=-1)
    down = torch.linalg.cross(forward, right, dim=-1)
    R = torch.stack([right, down, forward], dim=1)
    t = -(R @ eye[..., None])[..., 0]
    return R, t


def intrinsics(fov_deg: float, width: int, height: int, *, device: torch.device | str = "cpu",
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(3, 3) K with vertical field of view ``fov_deg``, square pixels, centred principal point."""
    f = 0.5 * height / math.tan(math.radians(fov_deg) / 2)
    return torch.tensor([[f, 0.0, (width - 1) / 2], [0.0, f, (height - 1) / 2], [0.0, 0.0, 1.0]],
                        device=device, dtype=dtype)


def orbit_cameras(azimuth_deg: float | Sequence[float] | torch.Tensor,
                  elevation_deg: float | Sequence[float] | torch.Tensor,
                  radius: float | Sequence[float] | torch.Tensor,
                  fov_deg: float, size: int | tuple[int, int],
                  target: tuple[float, float, float] = (0.0, -0.3, 0.0), *,
                  device: torch.device | str = "cpu",
                  dtype: torch.dtype = torch.float32) -> Cameras:
    """Cameras on a sphere around ``target`` looking at it, broadcast to a batch B.

    Azimuth 0 puts the camera on the +Z side (facing the body's front); positive azimuth turns
    it towards +X (counter-clockwise seen from above). Positive elevation is above the target.
    ``size`` is the square image side or ``(width, height)``; ``fov_deg`` is vertical.
    """
    az, el, rad = torch.broadcast_tensors(
        *(torch.as_tensor(v, dtype=torch.float64).reshape(-1)
          for v in (azimuth_deg, elevation_deg, radius)))
    if bool((el.abs() >= 90).any()):
        raise ValueError("orbit elevation must lie strictly between -90 and 90 degrees")
    az, el = torch.deg2rad(az), torch.deg2rad(el)
    tgt = torch.tensor(target, dtype=torch.float64).expand(az.shape[0], 3)
    eye = tgt + rad[:, None] * torch.stack(
        [torch.cos(el) * torch.sin(az), torch.sin(el), torch.cos(el) * torch.cos(az)], -1)
    R, t = look_at(eye, tgt)
    width, height = (size, size) if isinstance(size, int) else size
    K = intrinsics(fov_deg, width, height, dtype=torch.float64).expand(az.shape[0], 3, 3)
    return Cameras(K=K.contiguous(), R=R, t=t, width=width, height=height).to(device, dtype)


def world_to_camera(cameras: Cameras, points: torch.Tensor) -> torch.Tensor:
    """``points (B, N, 3)`` world → ``(B, N, 3)`` camera frame."""
    return points @ cameras.R.transpose(1, 2) + cameras.t[:, None, :]


def project(cameras: Cameras, points: torch.Tensor) -> torch.Tensor:
    """``points (B, N, 3)`` world → ``(B, N, 2)`` pixel coordinates ``(u, v)``.

    Points behind a camera get meaningless coordinates: check ``world_to_camera(...)[..., 2]``.
    """
    uvw = world_to_camera(cameras, points) @ cameras.K.transpose(1, 2)
    return uvw[..., :2] / uvw[..., 2:]


def pixel_rays(cameras: Cameras, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rays through ``pixels (B, N, 2)`` (continuous ``(u, v)``) → origins, unit directions,
    both ``(B, N, 3)`` in the world."""
    homog = torch.cat([pixels, torch.ones_like(pixels[..., :1])], dim=-1)
    dirs_cam = homog @ torch.linalg.inv(cameras.K).transpose(1, 2)
    dirs = torch.nn.functional.normalize(dirs_cam @ cameras.R, dim=-1)  # Rᵀ d per row
    return cameras.centers[:, None, :].expand_as(dirs), dirs


def rays(cameras: Cameras) -> tuple[torch.Tensor, torch.Tensor]:
    """One ray per pixel centre → origins, unit directions, both ``(B, H, W, 3)``."""
    v, u = torch.meshgrid(torch.arange(cameras.height, device=cameras.K.device,
                                       dtype=cameras.K.dtype),
                          torch.arange(cameras.width, device=cameras.K.device,
                                       dtype=cameras.K.dtype), indexing="ij")
    pixels = torch.stack([u, v], dim=-1).reshape(1, -1, 2).expand(len(cameras), -1, 2)
    origins, dirs = pixel_rays(cameras, pixels)
    shape = (len(cameras), cameras.height, cameras.width, 3)
    return origins.reshape(shape), dirs.reshape(shape)


def to_json(cameras: Cameras, index: int = 0) -> dict[str, Any]:
    """Camera ``index`` as the project's camera.json object (``K``, ``R``, ``t``, size)."""
    cam = cameras[index].to("cpu", torch.float64)
    return {"K": cam.K[0].tolist(), "R": cam.R[0].tolist(), "t": cam.t[0].tolist(),
            "width": cam.width, "height": cam.height}


def from_json(data: dict[str, Any] | Sequence[dict[str, Any]], *,
              device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> Cameras:
    """A camera.json object (or a list of them, all of one image size) → ``Cameras``."""
    items = [data] if isinstance(data, dict) else list(data)
    if not items:
        raise ValueError("camera.json holds no camera")
    mats: dict[str, list[torch.Tensor]] = {"K": [], "R": [], "t": []}
    sizes = set()
    for i, item in enumerate(items):
        missing = [k for k in ("K", "R", "t", "width", "height") if k not in item]
        if missing:
            raise ValueError(f"camera.json entry {i} lacks {', '.join(missing)}")
        for key, shape in (("K", (3, 3)), ("R", (3, 3)), ("t", (3,))):
            value = torch.tensor(item[key], dtype=torch.float64)
            if value.shape != shape or not bool(torch.isfinite(value).all()):
                raise ValueError(f"camera.json entry {i}: '{key}' must be finite with shape "
                                 f"{shape}, got {tuple(value.shape)}")
            mats[key].append(value)
        sizes.add((int(item["width"]), int(item["height"])))
    if len(sizes) != 1:
        raise ValueError(f"camera.json cameras differ in image size: {sorted(sizes)}")
    (width, height), = sizes
    return Cameras(K=torch.stack(mats["K"]), R=torch.stack(mats["R"]), t=torch.stack(mats["t"]),
                   width=width, height=height).to(device, dtype)
