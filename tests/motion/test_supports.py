"""What the feet stand on (``motion.supports``): the top of a box resting on the ground is a
second floor — under a sole, for a ray of a foot seen on it, and for its plants' footprints —
while a foot seen beyond it keeps the ground as its other footprint."""

from __future__ import annotations

import numpy as np
import torch

from anchorhoi.motion.config import FootPlantConfig, SupportConfig
from anchorhoi.motion.foot_plants import detect_plants, plant_loss
from anchorhoi.motion.losses import support_loss
from anchorhoi.motion.supports import Supports, build_supports
from anchorhoi.nerf.cameras import Cameras, intrinsics, look_at, project
from anchorhoi.objects.inside import build_sdf_grid
from anchorhoi.objects.mesh_io import ObjectMesh

FPS = 30.0

GROUND = -1.0
TOP = 0.2  # the box's height over the ground
REST = 0.08  # an ankle's height over its sole


def camera(eye: tuple[float, float, float], target: tuple[float, float, float]) -> Cameras:
    """A 960×540 camera (50° vertical field of view) at ``eye`` looking at ``target``."""
    R, t = look_at(torch.tensor([eye], dtype=torch.float64),
                   torch.tensor([target], dtype=torch.float64))
    return Cameras(K=intrinsics(50.0, 960, 540, dtype=torch.float64)[None], R=R, t=t,
                   width=960, height=540)


def seen_by(cam: Cameras, points: np.ndarray, rng: np.random.Generator, *,
            noise_px: float) -> torch.Tensor:
    """``points (T, F, 3)`` → keypoints ``(T, F, 3)`` with pixel noise, all seen."""
    uv = project(cam, torch.as_tensor(points.reshape(1, -1, 3)))[0].numpy()
    uv = uv.reshape(*points.shape[:2], 2) + rng.normal(scale=noise_px, size=(*points.shape[:2], 2))
    return torch.as_tensor(np.concatenate([uv, np.ones((*points.shape[:2], 1))], -1))


def box_mesh(width: float, height: float, depth: float) -> ObjectMesh:
    """A closed box standing at y = 0, centred on the y axis."""
    x, z = width / 2, depth / 2
    v = np.array([[sx * x, y, sz * z] for y in (0.0, height) for sx in (-1, 1) for sz in (-1, 1)])
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return ObjectMesh(vertices=v, faces=faces[:, ::-1].copy())  # counter-clockwise outside


def placed(x: float = 0.0, y: float = GROUND, z: float = 0.0) -> torch.Tensor:
    pose = torch.eye(4, dtype=torch.float64)
    pose[:3, 3] = torch.tensor([x, y, z], dtype=torch.float64)
    return pose


def box_supports(pose: torch.Tensor | None = None, **kw) -> Supports:
    mesh = box_mesh(0.8, TOP, 0.6)
    sdf = build_sdf_grid(mesh.vertices, mesh.faces, resolution=32, dtype=torch.float64)
    return build_supports(mesh, placed() if pose is None else pose, GROUND,
                          SupportConfig(**kw), moved_by_hands=False, sdf=sdf)


def test_a_resting_box_top_is_the_floor_under_a_point_over_it_and_the_ground_elsewhere():
    sup = box_supports()
    pts = torch.tensor([[0.0, 0.0, 0.0], [0.35, 0.0, 0.25], [0.5, 0.0, 0.0], [0.0, 0.0, -0.4]],
                       dtype=torch.float64)
    np.testing.assert_allclose(sup.under(pts).numpy(), [GROUND + TOP, GROUND + TOP, GROUND,
                                                        GROUND], atol=1e-9)
    assert bool(sup.inside(torch.tensor([[0.0, GROUND + 0.1, 0.0]], dtype=torch.float64))[0])
    assert not bool(sup.inside(torch.tensor([[0.0, GROUND + 0.3, 0.0]],
                                            dtype=torch.float64))[0])


def test_no_top_where_the_object_is_lifted_touched_or_too_high():
    assert not box_supports(placed(y=GROUND + 0.3)).has_tops  # in the air: nobody stands on it
    assert not box_supports(max_height_m=0.15).has_tops  # a table top is not stepped onto
    mesh = box_mesh(0.8, TOP, 0.6)
    touched = build_supports(mesh, placed(), GROUND, SupportConfig(), moved_by_hands=True)
    assert not touched.has_tops  # a hand may carry or push it


def test_a_ray_finds_the_top_a_joint_stands_on_and_passes_the_side_of_a_box():
    sup = box_supports()
    cam = camera((0.3, 0.6, 3.0), (0.0, GROUND + 0.3, 0.0))
    on_top = [0.1, GROUND + TOP + REST, 0.1]
    beside = [0.6, GROUND + REST, 0.2]  # beside the box, its ray misses the top
    before = [0.1, GROUND + REST, 0.5]  # on the camera's side of the box
    uv = project(cam, torch.tensor([[on_top, beside, before]], dtype=torch.float64))[0]
    levels = sup.levels(cam, uv, torch.full((3,), REST, dtype=torch.float64))
    np.testing.assert_allclose(levels.numpy(), [GROUND + TOP, GROUND, GROUND], atol=1e-9)


def test_plants_on_a_box_top_and_beyond_it_find_their_footprints():
    """One foot stands on the box top, another on the ground just beyond the box, where its
    ray skims the top: the first footprint of both is on the top; the second has the ground
    beyond as its other footprint, and ``plant_loss`` holds each joint on the nearer one."""
    sup = box_supports()
    cam = camera((0.0, 0.9, 3.5), (0.0, GROUND + 0.2, 0.0))
    on_top = np.array([0.1, GROUND + TOP + REST, 0.0])
    beyond = np.array([-0.1, GROUND + REST, -0.65])  # its ray clears the top by 3 cm
    frames = 30
    points = np.repeat(np.stack([on_top, beyond])[None], frames, 0)
    kp = seen_by(cam, points, np.random.default_rng(1), noise_px=1.0)
    heights = torch.full((2,), GROUND + REST, dtype=torch.float64)
    plants = detect_plants(kp, cam, heights, FPS, FootPlantConfig(), sup)
    held = plants.footprint_weights.numpy() > 0
    assert held[5:25].all()
    top = plants.footprints.numpy()
    np.testing.assert_allclose(top[10, :, 1], GROUND + TOP + REST, atol=1e-9)
    assert np.linalg.norm(top[10, 0] - on_top) < 0.03
    assert plants.behind is not None and plants.behind_weights is not None
    assert float(plants.behind_weights[10, 0]) == 0.0  # under the top: inside the box
    assert float(plants.behind_weights[10, 1]) > 0.0
    assert np.linalg.norm(plants.behind[10, 1].numpy() - beyond) < 0.05
    # a body whose feet stand where they truly are is held there, not on the top's footprint
    feet = torch.as_tensor(points)
    truth = plant_loss(feet, plants)
    on_tops = plant_loss(plants.footprints, plants)
    assert float(truth) < 0.05 * float(plant_loss(feet + torch.tensor([0.0, 0.0, 0.4]),
                                                  plants))
    assert float(on_tops) < 1e-3


def test_the_support_term_stands_a_sole_on_the_top_not_on_the_ground():
    sup = box_supports()
    soles = torch.tensor([True, False])
    # a sole on the box top and a knee above the ground: the body is supported
    body = torch.tensor([[[0.0, GROUND + TOP, 0.0], [0.0, GROUND + 0.5, 0.0]]],
                        dtype=torch.float64)
    assert float(support_loss(body, sup.sole_floor(body, soles))) < 1e-12
    # the same sole sunk 5 cm into the box is 5 cm under its floor
    sunk = body - torch.tensor([0.0, 0.05, 0.0], dtype=torch.float64)
    np.testing.assert_allclose(float(support_loss(sunk, sup.sole_floor(sunk, soles))),
                               0.05 ** 2, rtol=1e-6)
    # a sole on the ground under a top (a foot under a chair's seat) stands on the ground
    under = body - torch.tensor([0.0, TOP, 0.0], dtype=torch.float64)
    assert float(support_loss(under, sup.sole_floor(under, soles))) < 1e-12
