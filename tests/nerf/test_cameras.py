"""Cameras: OpenCV conventions, orbit placement, projection ↔ rays, camera.json round trip."""

from __future__ import annotations

import json
import math

import pytest
import torch

from anchorhoi.nerf import cameras as cam
from anchorhoi.nerf.cameras import Cameras, SceneBox

F64 = torch.float64


def test_orbit_azimuth_zero_sits_on_plus_z_facing_the_subject():
    c = cam.orbit_cameras(0.0, 0.0, 3.0, 60.0, 65, target=(0.0, -0.3, 0.0), dtype=F64)
    torch.testing.assert_close(c.centers, torch.tensor([[0.0, -0.3, 3.0]], dtype=F64))
    # optical axis (camera +z in the world) points at the subject, i.e. along world -Z
    torch.testing.assert_close(c.R[0, 2], torch.tensor([0.0, 0.0, -1.0], dtype=F64))
    # the target projects to the image centre; world +X is image-right, world +Y is image-up
    pts = torch.tensor([[[0.0, -0.3, 0.0], [0.5, -0.3, 0.0], [0.0, 0.2, 0.0]]], dtype=F64)
    uv = cam.project(c, pts)[0]
    torch.testing.assert_close(uv[0], torch.tensor([32.0, 32.0], dtype=F64))
    assert uv[1, 0] > 32 and abs(uv[1, 1] - 32) < 1e-9
    assert uv[2, 1] < 32 and abs(uv[2, 0] - 32) < 1e-9
    # f = (H / 2) / tan(fov / 2); the principal point is the centre of the pixel grid
    f = 32.5 / math.tan(math.radians(30))
    torch.testing.assert_close(c.K[0], torch.tensor([[f, 0, 32], [0, f, 32], [0, 0, 1]],
                                                    dtype=F64))


def test_orbit_azimuth_and_elevation_directions():
    c = cam.orbit_cameras([90.0, 180.0, 0.0], [0.0, 0.0, 30.0], 2.0, 45.0, (48, 32),
                          target=(0.0, 0.0, 0.0), dtype=F64)
    expected = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, -2.0],
                             [0.0, 1.0, math.sqrt(3.0)]], dtype=F64)
    torch.testing.assert_close(c.centers, expected)
    assert (c.width, c.height) == (48, 32) and len(c) == 3
    with pytest.raises(ValueError, match="elevation"):
        cam.orbit_cameras(0.0, 90.0, 2.0, 45.0, 32)


def test_c2w_inverts_world_to_camera():
    c = cam.orbit_cameras([10.0, 200.0], [-20.0, 45.0], [2.5, 4.0], 50.0, 16, dtype=F64)
    w2c = torch.eye(4, dtype=F64).repeat(2, 1, 1)
    w2c[:, :3, :3], w2c[:, :3, 3] = c.R, c.t
    torch.testing.assert_close(c.c2w @ w2c, torch.eye(4, dtype=F64).expand(2, 4, 4))
    torch.testing.assert_close(c.R @ c.R.transpose(1, 2), torch.eye(3, dtype=F64).expand(2, 3, 3))
    torch.testing.assert_close(torch.linalg.det(c.R), torch.ones(2, dtype=F64))


def test_ray_through_projected_pixel_passes_through_the_point():
    g = torch.Generator().manual_seed(3)
    c = cam.orbit_cameras([0.0, 77.0, 230.0], [10.0, -25.0, 60.0], [3.0, 2.2, 4.0], 40.0,
                          (40, 30), dtype=F64)
    points = torch.rand(3, 50, 3, generator=g, dtype=F64) * 1.6 - 0.8
    assert bool((cam.world_to_camera(c, points)[..., 2] > 0).all())
    origins, dirs = cam.pixel_rays(c, cam.project(c, points))
    to_point = points - origins
    along = (to_point * dirs).sum(-1, keepdim=True)
    assert float((to_point - along * dirs).norm(dim=-1).max()) < 1e-10
    torch.testing.assert_close(dirs.norm(dim=-1), torch.ones(3, 50, dtype=F64))


def test_rays_shoot_through_pixel_centres():
    c = cam.orbit_cameras([30.0, 300.0], 15.0, 3.0, 50.0, (6, 4), dtype=F64)
    origins, dirs = cam.rays(c)
    assert origins.shape == dirs.shape == (2, 4, 6, 3)
    uv = cam.project(c, (origins + 2.0 * dirs).reshape(2, -1, 3)).reshape(2, 4, 6, 2)
    v, u = torch.meshgrid(torch.arange(4, dtype=F64), torch.arange(6, dtype=F64), indexing="ij")
    torch.testing.assert_close(uv, torch.stack([u, v], -1).expand(2, 4, 6, 2))
    torch.testing.assert_close(origins, c.centers[:, None, None].expand(2, 4, 6, 3))


def test_identity_camera_projection_pinned():
    K = torch.tensor([[[100.0, 0.0, 20.0], [0.0, 110.0, 10.0], [0.0, 0.0, 1.0]]], dtype=F64)
    c = Cameras(K=K, R=torch.eye(3, dtype=F64)[None], t=torch.tensor([[0.0, 0.0, 2.0]], dtype=F64),
                width=40, height=20)
    uv = cam.project(c, torch.tensor([[[0.0, 0.0, 0.0], [0.3, -0.2, 1.0]]], dtype=F64))
    torch.testing.assert_close(uv, torch.tensor([[[20.0, 10.0], [30.0, 10 - 22 / 3]]],
                                                dtype=F64))


def test_json_round_trip(tmp_path):
    c = cam.orbit_cameras([25.0, 140.0], [5.0, 35.0], 3.3, 55.0, (64, 48), dtype=F64)
    path = tmp_path / "camera.json"
    path.write_text(json.dumps(cam.to_json(c, 1)))
    data = json.loads(path.read_text())
    assert set(data) == {"K", "R", "t", "width", "height"}
    back = cam.from_json(data, dtype=F64)
    assert (back.width, back.height) == (64, 48) and len(back) == 1
    for a, b in ((back.K, c.K[1:]), (back.R, c.R[1:]), (back.t, c.t[1:])):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    both = cam.from_json([cam.to_json(c, 0), cam.to_json(c, 1)])
    assert both.K.dtype == torch.float32 and len(both) == 2


@pytest.mark.parametrize("change, message", [
    ({"R": None}, "lacks R"),
    ({"t": [0.0, 1.0]}, "'t' must be finite with shape"),
    ({"K": [[1.0, 0.0, 0.0], [0.0, float("nan"), 0.0], [0.0, 0.0, 1.0]]}, "'K' must be finite"),
])
def test_json_rejects_bad_cameras(change, message):
    data = cam.to_json(cam.orbit_cameras(0.0, 0.0, 3.0, 50.0, 8))
    for key, value in change.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    with pytest.raises(ValueError, match=message):
        cam.from_json(data)


def test_scene_box_default_and_aabb():
    box = SceneBox()
    torch.testing.assert_close(box.aabb(), torch.tensor([-1.2, -1.5, -1.2, 1.2, 0.9, 1.2]))
    custom = SceneBox(center=(1.0, 0.0, 0.0), half_size=(0.5, 1.0, 2.0))
    torch.testing.assert_close(custom.aabb(dtype=F64),
                               torch.tensor([0.5, -1.0, -2.0, 1.5, 1.0, 2.0], dtype=F64))
