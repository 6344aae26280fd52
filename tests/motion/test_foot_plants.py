"""Foot plants from 2D keypoints alone (``motion.foot_plants``): known tracks of feet on the
ground, seen by a known camera with pixel noise, give back their plants and footprints."""

from __future__ import annotations

import numpy as np
import torch

from anchorhoi.motion.config import ContactConfig, FootPlantConfig
from anchorhoi.motion.foot_plants import (
    FootPlants,
    contact_weights,
    detect_plants,
    drop_raised,
    key_footprints,
    on_plane,
    split_run,
)
from anchorhoi.motion.line_fits import image_velocity
from anchorhoi.nerf.cameras import Cameras, intrinsics, look_at, project, world_to_camera

FPS = 30.0


def camera(eye: tuple[float, float, float], target: tuple[float, float, float]) -> Cameras:
    """A 960×540 camera (50° vertical field of view) at ``eye`` looking at ``target``."""
    R, t = look_at(torch.tensor([eye], dtype=torch.float64),
                   torch.tensor([target], dtype=torch.float64))
    return Cameras(K=intrinsics(50.0, 960, 540, dtype=torch.float64)[None], R=R, t=t,
                   width=960, height=540)


def seen_by(cam: Cameras, points: np.ndarray, rng: np.random.Generator, *, noise_px: float,
            drop: float = 0.0) -> torch.Tensor:
    """``points (T, F, 3)`` → keypoints ``(T, F, 3)`` with pixel noise and dropped joints."""
    uv = project(cam, torch.as_tensor(points.reshape(1, -1, 3)))[0].numpy()
    uv = uv.reshape(*points.shape[:2], 2) + rng.normal(scale=noise_px, size=(*points.shape[:2], 2))
    conf = (rng.random(points.shape[:2]) >= drop).astype(float)
    return torch.as_tensor(np.concatenate([uv * conf[..., None], conf[..., None]], -1))


def ease(s: np.ndarray) -> np.ndarray:
    s = np.clip(s, 0.0, 1.0)
    return s * s * (3 - 2 * s)


def step_track(a: np.ndarray, b: np.ndarray, lift_off: int, land: int, frames: int,
               lift: float = 0.06) -> np.ndarray:
    """(T, 3) a foot planted at ``a``, swinging (lifted ``lift`` m at mid-swing) between
    ``lift_off`` and ``land``, then planted at ``b``."""
    s = ease((np.arange(frames) - lift_off) / (land - lift_off))
    out = a + (b - a) * s[:, None]
    out[:, 1] += lift * np.sin(np.pi * s)
    return out


def test_the_plane_through_a_pixel_inverts_the_projection_and_its_jacobian_is_exact():
    cam = camera((0.5, 1.2, 4.0), (0.0, 0.6, 0.0))
    rng = np.random.default_rng(0)
    pts = np.c_[rng.uniform(-1, 1, 20), np.full(20, 0.03), rng.uniform(-1, 1, 20)]
    uv = project(cam, torch.as_tensor(pts[None]))[0]
    back, jac, front = on_plane(cam, uv, torch.full((20,), 0.03, dtype=torch.float64))
    assert bool(front.all())
    np.testing.assert_allclose(back.numpy(), pts, atol=1e-9)
    eps = 1e-4
    for k in range(2):
        shifted = uv.clone()
        shifted[:, k] += eps
        moved, _, _ = on_plane(cam, shifted, torch.full((20,), 0.03, dtype=torch.float64))
        numeric = (moved - back)[:, [0, 2]] / eps
        np.testing.assert_allclose(jac[:, :, k].numpy(), numeric.numpy(), rtol=1e-3, atol=1e-7)


def test_a_step_along_the_camera_ray_is_a_swing_between_two_plants():
    """A low camera 4 m away: a foot stepping 0.6 m straight towards it barely moves in the
    image (the across-the-image metres per pixel call it slower than a plant's threshold), but
    on the ground plane it is a swing; both plants are found, their footprints within 3 cm."""
    cam = camera((0.0, 0.9, 4.5), (0.0, 0.5, 0.0))
    a, b = np.array([0.1, 0.03, 0.0]), np.array([0.1, 0.03, 0.6])
    track = step_track(a, b, 15, 27, 45)[:, None]
    kp = seen_by(cam, track, np.random.default_rng(1), noise_px=3.0)
    plants = detect_plants(kp, cam, torch.tensor([0.03], dtype=torch.float64), FPS,
                           FootPlantConfig())
    w = plants.weights[:, 0].numpy()
    assert (w[3:12] > 0.5).all() and (w[30:42] > 0.5).all()
    assert (w[19:24] < 0.5).all()
    # the naive conversion (pixels × depth / focal) takes the swing's middle for a plant
    fits = image_velocity(kp, 5, 5)
    depth = world_to_camera(cam, torch.as_tensor(track.reshape(1, -1, 3)))[0, :, 2]
    naive = fits.velocity[:, 0].norm(dim=-1) * depth / cam.K[0, 0, 0] * FPS
    assert float(naive[19:24].min()) < 0.5
    fp, fw = plants.footprints[:, 0].numpy(), plants.footprint_weights[:, 0].numpy()
    assert (fw[5:10] > 0).all() and (fw[33:40] > 0).all()
    assert np.linalg.norm(fp[5:10] - a, axis=-1).max() < 0.03
    assert np.linalg.norm(fp[33:40] - b, axis=-1).max() < 0.03


def test_a_straight_walk_seen_by_a_known_camera_gives_its_depth_from_the_footprints():
    """Five steps of 0.32 m obliquely towards a camera at chest height (ankles 8 cm and balls
    3 cm above the ground, 4 px noise, a fifth of the keypoints dropped): most planted frames
    have a footprint; nearly all lie within three of their own standard errors (+1 cm) of the
    truth, the errors are a few centimetres, and so is the depth of the feet while the body walks
    1.3 m nearer."""
    cam = camera((2.5, 1.3, 4.0), (0.0, 0.8, 0.0))
    heading = np.array([0.35, 0.0, 0.94])
    side = np.array([heading[2], 0.0, -heading[0]]) * 0.1
    swing, pause, start, steps = 10, 3, 6, 5
    frames = start + steps * (swing + pause) + 8
    columns = []
    for offset, height, forward, first in ((side, 0.08, 0.0, 1), (-side, 0.08, 0.0, 0),
                                           (side, 0.03, 0.13, 1), (-side, 0.03, 0.13, 0)):
        track = np.repeat((np.array([0.0, height, 0.0]) + offset + forward * heading)[None],
                          frames, 0)
        for k in range(first, steps, 2):  # the feet take turns, each stride two steps
            lift = start + k * (swing + pause)
            to = track[lift] + heading * 0.32 * (2 if 0 < k < steps - 1 else 1)
            track = np.where(np.arange(frames)[:, None] < lift, track,
                             step_track(track[lift], to, lift, lift + swing, frames))
        columns.append(track)
    points = np.stack(columns, 1)  # (T, 4, 3): left, right ankle; left, right ball
    heights = torch.tensor([0.08, 0.08, 0.03, 0.03], dtype=torch.float64)
    kp = seen_by(cam, points, np.random.default_rng(2), noise_px=4.0, drop=0.2)
    plants = detect_plants(kp, cam, heights, FPS, FootPlantConfig())
    still = np.r_[np.ones((1, 4), bool), np.abs(np.diff(points, axis=0)).sum(-1) < 1e-9]
    held = plants.footprint_weights.numpy() > 0
    assert held[still].mean() > 0.7
    # only the swings' first and last frames: a plant may start up to ``landing_frames``
    # before a landing, and these eased swings slow down into it
    assert held[~still].mean() < 0.4
    err = np.linalg.norm(plants.footprints.numpy() - points, axis=-1)[held]
    sigma = plants.footprint_sigma_m.numpy()[held]
    assert (err < 3 * sigma + 0.01).mean() > 0.9
    assert np.median(err) < 0.04
    depth = lambda p: world_to_camera(cam, torch.as_tensor(p.reshape(1, -1, 3)))[0, :, 2]  # noqa: E731
    found, truth = depth(plants.footprints.numpy()[held]), depth(points[held])
    assert float((found - truth).abs().median()) < 0.04
    assert float(truth.max() - truth.min()) > 1.2


def test_a_run_spanning_a_step_is_split_into_two_plants_and_a_still_one_is_not():
    """``split_run`` on pixel tracks with 3 px noise and a fifth of the frames unseen: a foot
    still for 16 frames, moving 12 px over 8 (a step seen along the camera ray, slow in the
    image), still again for 16 is two parts, the first ending and the second starting within the
    swing's frames; a foot still for 40 frames stays one part in every draw."""
    noise = torch.tensor(3.0, dtype=torch.float64)
    for seed in range(8):
        rng = np.random.default_rng(seed)
        level = np.r_[np.zeros(16), np.linspace(0.0, 12.0, 10)[1:-1], np.full(16, 12.0)]
        uv = np.c_[200 + 0.6 * level, 300 + 0.8 * level] + rng.normal(scale=3.0, size=(40, 2))
        conf = (rng.random(40) >= 0.2).astype(float)
        parts = split_run(torch.as_tensor(np.c_[uv, conf]), noise, 4.0, 3)
        assert len(parts) == 2, parts
        (a0, b0), (a1, b1) = parts
        assert a0 == 0 and b1 == 39 and 12 <= b0 < a1 <= 27, parts
        still = np.c_[200 + rng.normal(scale=3.0, size=(40, 2)), conf]
        assert split_run(torch.as_tensor(still), noise, 4.0, 3) == [(0, 39)]


def test_a_fast_landing_starts_its_plant_at_the_landing_not_later():
    """A foot sliding in at 1.8 m/s across the image stops dead at frame 20 (4 px noise, a
    fifth unseen): the centred fits reach back into the approach and start the plant 1–2
    frames late; with ``landing_frames`` the plant starts within a frame or two of the landing
    and never more than ``landing_frames`` before it."""
    cam = camera((2.5, 1.3, 4.0), (0.0, 0.8, 0.0))
    frames, land = 40, 20
    x = np.where(np.arange(frames) < land, (np.arange(frames) - land) * 0.06, 0.0)
    track = np.c_[x, np.full(frames, 0.03), np.zeros(frames)][:, None]
    heights = torch.tensor([0.03], dtype=torch.float64)
    late, starts = [], []
    for seed in range(6):
        kp = seen_by(cam, track, np.random.default_rng(seed), noise_px=4.0, drop=0.2)
        for landing, out in ((0, late), (3, starts)):
            plants = detect_plants(kp, cam, heights, FPS, FootPlantConfig(landing_frames=landing))
            out.append(10 + int(np.argmax(plants.weights[10:, 0].numpy() > 0.5)))
            held = plants.footprint_weights[:, 0].numpy() > 0
            err = np.linalg.norm(plants.footprints[:, 0].numpy() - track[land, 0], axis=-1)
            sigma = plants.footprint_sigma_m[:, 0].numpy()
            after = held & (np.arange(frames) > 10)  # within three standard errors (+1 cm)
            assert (err[after] < 3 * sigma[after] + 0.01).all()
    assert min(late) >= land and max(late) >= land + 1
    assert all(land - 3 <= s <= land for s in starts) and np.mean(starts) < np.mean(late) - 1


def test_a_hidden_ball_is_not_held_through_the_swing_of_its_seen_ankle():
    """One foot steps 0.3 m (frames 20–32) while the other stands; both balls are hidden all
    along (behind a box), so their contact comes from the estimate, here still throughout (the
    estimate held it). Where the same foot's seen ankle swings, its ball is not in contact: the
    contact runs split at the swing (one run spanning it held the ball, and the ankle with it,
    at one footprint across the step — step_onto-3-02's left foot 28 cm off). The standing
    foot's ball stays held. (Before the cap, the balls' contact was 1 in every frame.)"""
    cam = camera((3.0, 1.4, 3.5), (0.0, 0.6, 0.0))
    frames = 50
    a, b = np.array([0.1, 0.08, 0.0]), np.array([0.1, 0.08, 0.3])
    left = step_track(a, b, 20, 32, frames)
    right = np.repeat(np.array([[-0.1, 0.08, 0.15]]), frames, 0)
    ahead = np.array([0.0, -0.05, 0.13])
    points = np.stack([left, right, left + ahead, right + ahead], 1)  # (T, 4, 3)
    heights = torch.tensor([0.08, 0.08, 0.03, 0.03], dtype=torch.float64)
    kp = seen_by(cam, points, np.random.default_rng(3), noise_px=2.0)
    kp[:, 2:] = 0.0  # the balls are hidden
    plants = detect_plants(kp, cam, heights, FPS, FootPlantConfig())
    estimate = torch.ones(frames, 4, dtype=torch.float64)  # the estimate's balls keep still
    w = contact_weights(plants, torch.as_tensor(points), heights, 0.0, ContactConfig(),
                        estimate, use_height=False,
                        toe_off_frames=FootPlantConfig().toe_off_frames).numpy()
    assert (w[24:34, 0] < 0.5).all()  # the seen ankle swings
    assert (w[26:34, 2] < 0.5).all()  # and so its hidden ball, from toe_off_frames later
    assert (w[:15, 2] > 0.5).all() and (w[-10:, 2] > 0.5).all()
    assert (w[:, 3] > 0.5).all()  # the standing foot's hidden ball stays held


def test_a_raised_heel_pulls_to_no_footprint_and_a_flat_foot_keeps_both():
    """Both feet stand still, seen from chest height 4 m away (2 px noise); the left heel is
    up 10 cm (on the toes, a kneel's ankle). Its ankle's ray meets the plane of the ankle's
    rest height ~40 cm further along than the ankle stands: the footprint that dragged
    kneel-22-22's foot. ``drop_raised`` finds the left ankle's and ball's footprints further
    apart than the foot's length and takes the left ankle's footprint away (its plant still
    holds); the left ball and the flat right foot keep theirs. Without the check, the raised
    ankle pulls at full weight."""
    cam = camera((0.6, 1.3, 4.0), (0.0, 0.5, 0.0))
    frames = 40
    left_ankle, right_ankle = np.array([0.1, 0.18, 0.0]), np.array([-0.1, 0.08, 0.0])
    ahead = np.array([0.0, 0.0, 0.13])
    feet = np.stack([left_ankle, right_ankle, left_ankle + ahead - [0, 0.15, 0],
                     right_ankle + ahead - [0, 0.05, 0]])  # balls at their 3 cm rest height
    points = np.repeat(feet[None], frames, 0)
    heights = torch.tensor([0.08, 0.08, 0.03, 0.03], dtype=torch.float64)
    kp = seen_by(cam, points, np.random.default_rng(4), noise_px=2.0)
    plants = detect_plants(kp, cam, heights, FPS, FootPlantConfig())
    err = np.linalg.norm(plants.footprints.numpy() - points, axis=-1)
    held = plants.footprint_weights.numpy() > 0
    assert held[:, 0].all() and err[:, 0].min() > 0.3  # the raised ankle, far off
    assert (err[:, 1:] < 0.05).all() and held[:, 1:].all()
    length = torch.tensor([0.15, 0.15], dtype=torch.float64)
    checked = drop_raised(plants, cam, length, FootPlantConfig().raised_sigmas)
    kept = checked.footprint_weights.numpy()
    assert (kept[:, 0] == 0).all()
    np.testing.assert_array_equal(kept[:, 1:], plants.footprint_weights.numpy()[:, 1:])
    np.testing.assert_array_equal(checked.weights.numpy(), plants.weights.numpy())
    assert drop_raised(plants, cam, length, 0.0) is plants
    # with the key pose's footprint for the raised ankle the two agree: nothing is taken
    keyed = key_footprints(plants, 20, torch.as_tensor(feet))
    assert (drop_raised(keyed, cam, length, 3.0).footprint_weights.numpy()[:, 0] > 0).all()


def test_a_key_footprint_is_kept_and_its_foot_s_other_joint_loses_its_own():
    """An ankle whose footprint the key pose gave (standard error 0) and a ball 60 cm nearer
    the camera: the ball's footprint goes, though the ankle's is the farther."""
    cam = camera((0.0, 1.3, 4.0), (0.0, 0.5, 0.0))
    t = 3
    footprints = torch.zeros(t, 4, 3, dtype=torch.float64)
    footprints[:, 0] = torch.tensor([0.1, 0.08, 0.0])
    footprints[:, 2] = torch.tensor([0.1, 0.03, 0.6])
    footprints[:, 1] = torch.tensor([-0.1, 0.08, 0.0])
    footprints[:, 3] = torch.tensor([-0.1, 0.03, 0.13])
    sigma = torch.full((t, 4), 0.02, dtype=torch.float64)
    sigma[:, 0] = 0.0
    ones = torch.ones(t, 4, dtype=torch.float64)
    plants = FootPlants(speed_mps=ones * 0, weights=ones, footprints=footprints,
                        footprint_weights=ones, footprint_sigma_m=sigma,
                        plant_ids=torch.tensor([[0, 1, 2, 3]]).repeat(t, 1), plant_count=4)
    kept = drop_raised(plants, cam, torch.tensor([0.15, 0.15]), 3.0).footprint_weights
    assert kept[:, 2].eq(0).all() and kept[:, [0, 1, 3]].eq(1).all()
