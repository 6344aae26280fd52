"""Stage C's conditioning picture: the z-buffer rasteriser, the three-quarter camera, MediaPipe
on the render of our body, and the SDEdit conditioning strength of the tiny Wan."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from anchorhoi.body import BodyModel
from anchorhoi.body.pose import default_initial_pose
from anchorhoi.nerf.cameras import Cameras, intrinsics, project
from anchorhoi.video import WanVideoPrior, WanVideoPriorConfig
from anchorhoi.video.conditioning import (
    ConditioningCameraConfig,
    choose_camera,
    facing_direction,
    render_composition,
)
from anchorhoi.video.raster import rasterize, shade, vertex_normals
from anchorhoi.video.tiny import build_tiny_wan


def _camera(size=64):
    k = intrinsics(60.0, size, size, dtype=torch.float64)
    return Cameras(K=k[None], R=torch.eye(3, dtype=torch.float64)[None],
                   t=torch.zeros(1, 3, dtype=torch.float64), width=size, height=size)


def _quad(z, half):
    v = np.array([[-half, -half, z], [half, -half, z], [half, half, z], [-half, half, z]])
    return v, np.array([[0, 1, 2], [0, 2, 3]])


def test_rasterizer_coverage_depth_and_occlusion():
    cam = _camera()
    far_v, far_f = _quad(2.0, 0.5)
    near_v, near_f = _quad(1.0, 0.1)
    v = np.concatenate([far_v, near_v])
    f = np.concatenate([far_f, near_f + 4])
    frags = rasterize(v, f, cam)
    covered = frags.face >= 0
    # the far quad spans ±0.5 at z = 2: ±0.25 · focal = ±13.86 px around the centre 31.5,
    # i.e. u, v in [17.64, 45.36]: the 28 × 28 pixel centres 18 … 45
    assert float(cam.K[0, 0, 0]) == pytest.approx(55.426, abs=1e-3)
    assert covered.sum() == 28 * 28
    assert covered[18:46, 18:46].all()
    assert frags.depth[31, 31] == pytest.approx(1.0)  # the near quad wins at the centre
    assert frags.face[31, 31] >= 2
    assert frags.depth[31, 20] == pytest.approx(2.0)
    assert np.allclose(frags.bary[covered].sum(-1), 1.0)
    image = shade(frags, vertex_normals(v, f), f, np.full((4, 3), 0.5), cam)
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert (image[0, 0] == np.rint(np.array([0.55, 0.6, 0.65]) * 255)).all()  # background
    # behind the camera: nothing drawn
    assert (rasterize(*_quad(-1.0, 0.5), cam).face < 0).all()


@pytest.fixture(scope="module")
def posed():
    body = BodyModel(dtype=torch.float64)
    key = default_initial_pose()
    out = body(**key.body_inputs(dtype=torch.float64, num_betas=10))
    return body, key, out.vertices[0].numpy(), out.joints[0].numpy()


def test_three_quarter_camera_frames_the_body(posed):
    _body, key, verts, _joints = posed
    assert np.allclose(facing_direction(key.root_orient), [0, 0, 1])
    cam = choose_camera(verts, [0, 0, 1], 256, 256, ConditioningCameraConfig())
    uv = project(cam, torch.as_tensor(verts)[None])[0].numpy()
    extent = max(np.ptp(uv[:, 0]), np.ptp(uv[:, 1]))
    assert extent == pytest.approx(0.85 * 256, rel=0.1)
    eye = cam.centers[0].numpy() - verts.mean(0)
    azimuth = np.degrees(np.arctan2(eye[0], eye[2]))
    assert azimuth == pytest.approx(30.0, abs=1.0)  # 30° to the body's left (+X)


def test_mediapipe_finds_the_rendered_body_and_its_sides_are_fixed(posed):
    pytest.importorskip("mediapipe")
    from anchorhoi.keypoints import MediaPipePoseDetector, anchor_keypoints

    body, _key, verts, joints = posed
    cam = choose_camera(verts, [0, 0, 1], 256, 256)
    image = render_composition(verts, body.faces, None, None, cam)
    det = MediaPipePoseDetector().detect(image[None])
    assert det.person_found[0]
    truth = project(cam, torch.as_tensor(joints)[None])[0].numpy()
    out = anchor_keypoints(det, camera=cam, anchor_frame=0, anchor_joints_3d=joints, fps=1.0)
    limbs = [i for i, n in enumerate(__import__("anchorhoi.portable.skeleton",
                                                fromlist=["JOINT_NAMES"]).JOINT_NAMES[:22])
             if n.startswith(("left_", "right_"))]
    err = np.linalg.norm(out.keypoints[0, limbs, :2] - truth[limbs], axis=-1)
    seen = out.keypoints[0, limbs, 2] > 0
    # measured: MediaPipe swaps all sides on this faceless body (3 groups); after the fix the
    # limb joints land at a median 2.3 px from the projected SMPL-X joints (body ≈ 150 px)
    assert out.stats.side_swaps == 3
    assert seen.sum() >= 12 and np.median(err[seen]) < 5.0


@pytest.fixture(scope="module")
def tiny_wan(tmp_path_factory):
    return build_tiny_wan(tmp_path_factory.mktemp("wan") / "wan", seed=0)


def test_sdedit_strength_keeps_the_video_on_the_render(tiny_wan, posed):
    body, _, verts, _ = posed
    cam = choose_camera(verts, [0, 0, 1], 64, 64)
    image = render_composition(verts, body.faces, None, None, cam)

    def run(strength, restore):
        prior = WanVideoPrior(WanVideoPriorConfig(
            model_id=str(tiny_wan), num_inference_steps=10, guidance_scale=1.0,
            conditioning_strength=strength, restore_detail=restore))
        steps = []
        video = prior.generate(prompt="a person", image=image, num_frames=5, fps=24.0,
                               width=64, height=64, generator=torch.Generator().manual_seed(0),
                               on_step=lambda s, n, losses: steps.append((s, n)))
        return video.frames, steps

    low, steps = run(0.3, True)
    assert steps == [(1, 3), (2, 3), (3, 3)]
    assert np.abs(low[0].astype(int) - image).max() <= 1  # the first frame is the render
    diff_low = np.abs(low.astype(float) - image).mean()
    high, _ = run(1.0, False)  # the pipeline's own image-to-video from noise
    diff_high = np.abs(high.astype(float) - image).mean()
    assert diff_low < 0.5 * diff_high
    assert float(low.mean()) == pytest.approx(PINNED_LOW_MEAN, abs=0.05)
    again, _ = run(0.3, True)
    assert np.array_equal(again, low)  # seeded


PINNED_LOW_MEAN = 149.7062  # build_tiny_wan(seed=0), generator seed 0, torch 2.13 CPU


def test_conditioning_strength_is_checked():
    with pytest.raises(ValueError, match="conditioning_strength must lie in"):
        WanVideoPriorConfig(conditioning_strength=0.0)
    with pytest.raises(ValueError, match="conditioning_strength must lie in"):
        WanVideoPriorConfig(conditioning_strength=1.5)
