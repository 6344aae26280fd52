"""Stage D on synthetic detections made from known 2D tracks: every injected fault is rejected
and flagged (and nothing else), gaps are bridged or not by length, and the anchor-frame
alignment recovers a known scale and offset."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
from PIL import Image

from anchorhoi.keypoints import (
    AnchorKeypoints,
    AnchorKeypointsConfig,
    Detections,
    NoPersonFoundError,
    anchor_keypoints,
    save_overlay,
)
from anchorhoi.keypoints.base import JOINT_INDEX
from anchorhoi.keypoints.mediapipe_pose import MediaPipePoseConfig, mapping_matrices
from anchorhoi.keypoints.overlay import draw_overlay
from anchorhoi.keypoints.sides import GROUP_PAIRS, SIDE_GROUPS, fix_side_swaps, swap_group
from anchorhoi.nerf.cameras import Cameras, orbit_cameras, project
from anchorhoi.portable.procedural_body import build_procedural_model
from anchorhoi.portable.smplx_files import rig_from_model

T, FPS, ANCHOR = 80, 24.0, 10
SCALE, OFFSET = 1.6, np.array([-37.0, 12.5])  # video pixel = SCALE · camera pixel + OFFSET
CONF = 0.9


@pytest.fixture(scope="module")
def scene():
    """A 3.3-second clip: the procedural body sways sideways and circles its wrists (1.2 Hz);
    true camera-pixel tracks (T, 55, 2) and the key pose at the anchor frame."""
    rest = rig_from_model(build_procedural_model(), np.zeros(10)).rest_joints
    t = np.arange(T)[:, None]
    joints = np.repeat(rest[None], T, axis=0)
    joints[..., 0] += 0.25 * np.sin(2 * math.pi * t / T)
    for name, sign in (("left_wrist", 1), ("right_wrist", -1)):
        phase = 2 * math.pi * np.arange(T) / 20
        joints[:, JOINT_INDEX[name], 1] += 0.2 * np.sin(phase)
        joints[:, JOINT_INDEX[name], 0] += sign * 0.2 * (np.cos(phase) - 1)
    camera = orbit_cameras(0.0, 5.0, 3.0, 40.0, 256, dtype=torch.float64)
    per_frame = Cameras(K=camera.K.expand(T, 3, 3), R=camera.R.expand(T, 3, 3),
                        t=camera.t.expand(T, 3), width=256, height=256)
    truth = project(per_frame, torch.as_tensor(joints)).numpy()
    return camera, joints[ANCHOR], truth


def make_detections(truth, *, seed=0, noise=0.3):
    """MediaPipe-like detections: its observed joints at CONF, the rest 0, in video pixels."""
    rng = np.random.default_rng(seed)
    observed = mapping_matrices(MediaPipePoseConfig())[1] > 0
    xy = SCALE * truth + OFFSET + rng.normal(0, noise, truth.shape)
    conf = np.where(observed[None], CONF, 0.0).repeat(T, axis=0)
    return xy, conf, np.ones(T, dtype=bool), observed


def run(det, scene, **cfg):
    camera, key_joints, _ = scene
    return anchor_keypoints(det, camera=camera, anchor_frame=ANCHOR, anchor_joints_3d=key_joints,
                            fps=FPS, config=AnchorKeypointsConfig(**cfg))


def test_faults_are_rejected_and_flagged_and_gaps_bridged_by_length(scene):
    _, _, truth = scene
    xy, conf, found, observed = make_detections(truth)
    j = JOINT_INDEX
    faults = {  # (frame, joint) → what is wrong
        (20, j["left_wrist"]): "jump", (33, j["right_knee"]): "jump", (52, j["neck"]): "jump",
        (25, j["left_elbow"]): "low confidence",
        (ANCHOR, j["right_wrist"]): "disagrees with the anchor pose",
    }
    xy[20, j["left_wrist"]] += (40.0, -30.0)
    xy[33, j["right_knee"]] += (-45.0, 10.0)
    xy[52, j["neck"]] += (0.0, 45.0)
    conf[25, j["left_elbow"]] = 0.1
    xy[ANCHOR, j["right_wrist"]] += (0.0, 45.0)  # about 0.16 body sizes: it must not skew the fit
    short, long_ = range(40, 44), range(45, 65)
    conf[short, j["left_ankle"]] = 0.0
    conf[long_, j["right_ankle"]] = 0.0
    missing = (70, 71)  # no person at all
    found[list(missing)] = False
    conf[list(missing)] = 0.0

    res = run(Detections(xy=xy, confidence=conf, person_found=found, image_size=(410, 410)),
              scene)

    assert res.stats.aligned
    assert res.scale == pytest.approx(SCALE, rel=2e-3)
    np.testing.assert_allclose(res.offset, OFFSET, atol=0.5)
    assert res.stats.body_size_px == pytest.approx(float(np.ptp(res.anchor_projection[:25, 1])))

    expected = set(faults) | {(t, j["left_ankle"]) for t in short}
    expected |= {(t, j["right_ankle"]) for t in long_}
    expected |= {(t, k) for t in missing for k in np.nonzero(observed)[0]}
    flagged = {(int(t), int(k)) for t, k in zip(*np.nonzero(res.occluded))}
    assert flagged == expected  # every fault caught, no clean detection lost
    assert (res.stats.rejected_jump, res.stats.rejected_anchor) == (3, 1)
    assert not res.occluded[:, ~observed].any() and (res.keypoints[:, ~observed] == 0).all()

    kp, ok = res.keypoints, ~res.occluded & observed[None]
    err = np.linalg.norm(kp[..., :2] - truth, axis=-1)
    assert err[ok].max() < 1.0  # accepted points are in the camera's pixel frame
    np.testing.assert_allclose(kp[..., 2][ok], CONF)
    # single-frame faults and the no-person frames are bridged (1–2 frames), at half confidence
    for t, k in list(faults) + [(t, k) for t in missing for k in np.nonzero(observed)[0]]:
        assert kp[t, k, 2] == pytest.approx(0.5 * CONF) and err[t, k] < 3.0, (t, k)
    # the 4-frame gap is bridged with reduced confidence; the 20-frame gap is not
    assert np.allclose(kp[list(short), j["left_ankle"], 2], 0.5 * CONF)
    assert err[list(short), j["left_ankle"]].max() < 2.0
    assert (kp[list(long_), j["right_ankle"]] == 0).all()
    assert res.stats.unbridged == len(long_)


def test_cubic_bridging_follows_a_curved_track_better_than_linear(scene):
    _, _, truth = scene
    xy, conf, found, _ = make_detections(truth, noise=0.0)
    w = JOINT_INDEX["left_wrist"]
    conf[30:35, w] = 0.0
    errs = {}
    for mode in ("linear", "cubic"):
        res = run(Detections(xy=xy, confidence=conf, person_found=found, image_size=(410, 410)),
                  scene, interpolation=mode)
        errs[mode] = np.linalg.norm(res.keypoints[30:35, w, :2] - truth[30:35, w], axis=-1).max()
    assert errs["cubic"] < 0.5 * errs["linear"]


def test_fast_smooth_motion_is_not_mistaken_for_jumps(scene):
    _, _, truth = scene
    xy, conf, found, _ = make_detections(truth)
    res = run(Detections(xy=xy, confidence=conf, person_found=found, image_size=(410, 410)),
              scene, max_speed=0.6)  # the wrists move at up to 1.23 body sizes/s
    assert res.stats.rejected_jump == 0 and not res.occluded.any()


def test_glitches_at_the_clip_ends_are_caught_but_not_bridged(scene):
    _, _, truth = scene
    xy, conf, found, _ = make_detections(truth)
    ends = {(0, JOINT_INDEX["left_knee"]), (1, JOINT_INDEX["left_wrist"]),
            (T - 1, JOINT_INDEX["right_shoulder"])}
    for t, k in ends:
        xy[t, k] += (35.0, -20.0)
    res = run(Detections(xy=xy, confidence=conf, person_found=found, image_size=(410, 410)),
              scene)
    assert {(int(t), int(k)) for t, k in zip(*np.nonzero(res.occluded))} == ends
    assert res.keypoints[0, JOINT_INDEX["left_knee"], 2] == 0  # nothing to bridge from
    assert res.keypoints[1, JOINT_INDEX["left_wrist"], 2] == pytest.approx(0.5 * CONF)


def test_no_person_raises_with_a_hint(scene):
    with pytest.raises(NoPersonFoundError, match="found no person in any of the") as info:
        run(Detections.empty(T, (256, 256)), scene)
    assert info.value.hint.startswith("try another seed or prompt")
    assert info.value.hint not in str(info.value)  # message and hint travel separately


def test_person_in_some_frames_only_is_fine(scene):
    _, _, truth = scene
    xy, conf, found, observed = make_detections(truth)
    found[40:] = False
    conf[40:] = 0.0
    res = run(Detections(xy=xy, confidence=conf, person_found=found, image_size=(410, 410)),
              scene)
    assert res.stats.frames_with_person == 40
    assert (res.keypoints[40:, :, 2] == 0).all() and res.occluded[40:, observed].all()
    assert res.keypoints[:40, observed, 2].min() == pytest.approx(CONF)


def test_anchor_frame_without_person_falls_back_to_unaligned(scene, caplog):
    _, _, truth = scene
    xy, conf, found, _ = make_detections(truth)
    found[ANCHOR] = False
    conf[ANCHOR] = 0.0
    res = run(Detections(xy=xy, confidence=conf, person_found=found, image_size=(410, 410)),
              scene)
    assert not res.stats.aligned and res.scale == 1.0 and "unaligned" in caplog.text


def test_keypoints_npz_and_overlay_are_written_atomically_and_read_back(scene, tmp_path,
                                                                         monkeypatch):
    _, _, truth = scene
    xy, conf, found, _ = make_detections(truth)
    conf[30:33, JOINT_INDEX["left_wrist"]] = 0.0
    det = Detections(xy=xy, confidence=conf, person_found=found, image_size=(410, 410))
    res = run(det, scene)
    path = res.save(tmp_path)
    assert path == tmp_path / "keypoints.npz"
    with np.load(path, allow_pickle=False) as data:
        assert data["keypoints"].shape == (T, 55, 3) and data["occluded"].dtype == bool
        assert float(data["fps"]) == FPS and int(data["anchor_frame"]) == ANCHOR
        assert list(data["joint_names"][:3]) == ["pelvis", "left_hip", "right_hip"]
        np.testing.assert_allclose(data["keypoints"], res.keypoints, atol=1e-4)
    back = AnchorKeypoints.load(tmp_path)
    assert back.stats == res.stats and np.array_equal(back.occluded, res.occluded)
    np.testing.assert_allclose(back.keypoints, res.keypoints, atol=1e-4)
    assert (back.fps, back.anchor_frame, back.scale) == (FPS, ANCHOR, res.scale)
    np.testing.assert_array_equal(back.offset, res.offset)
    np.testing.assert_array_equal(back.anchor_projection, res.anchor_projection)
    before = path.read_bytes()

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        res.save(tmp_path)
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["keypoints.npz"]

    frames = np.full((T, 410, 410, 3), 30, np.uint8)
    picks = save_overlay(tmp_path / "keypoints.png", frames, res, detections=det, num_frames=4,
                         gif_path=tmp_path / "keypoints.gif", max_side=205)
    assert ANCHOR in picks and len(picks) == 5
    assert Image.open(tmp_path / "keypoints.png").size == (205 * 5, 205)
    gif = Image.open(tmp_path / "keypoints.gif")
    assert gif.n_frames == T and gif.size == (205, 205)
    assert sorted(os.listdir(tmp_path)) == ["keypoints.gif", "keypoints.npz", "keypoints.png"]

    # colours: accepted joints green, bridged ones orange, at their video-pixel positions
    img = draw_overlay(frames[31], res, 31)
    for joint, colour in (("left_wrist", (255, 160, 0)), ("right_knee", (40, 220, 60))):
        u, v = np.round(res.scale * res.keypoints[31, JOINT_INDEX[joint], :2] + res.offset)
        assert tuple(img[int(v), int(u)]) == colour, joint


# --- left/right swaps (keypoints/sides.py) ---------------------------------------------------

def test_side_groups_pair_every_left_joint_with_its_right_one():
    assert list(SIDE_GROUPS) == ["arms", "legs", "eyes"]
    assert len(GROUP_PAIRS["legs"]) == 4 and len(GROUP_PAIRS["eyes"]) == 1
    assert len(GROUP_PAIRS["arms"]) == 4 + 15  # collar, shoulder, elbow, wrist + 15 fingers
    x = np.arange(55.0)
    y = swap_group(x, "legs")
    assert y[JOINT_INDEX["left_knee"]] == JOINT_INDEX["right_knee"]
    assert y[JOINT_INDEX["left_elbow"]] == JOINT_INDEX["left_elbow"]  # other groups untouched
    assert np.array_equal(swap_group(y, "legs"), x)


def _swapped(xy, conf, frames, groups):
    xy, conf = xy.copy(), conf.copy()
    for t in frames:
        for g in groups:
            xy[t], conf[t] = swap_group(xy[t], g), swap_group(conf[t], g)
    return xy, conf


def test_swaps_are_undone_at_the_anchor_and_along_the_track(scene):
    _camera, _key_joints, truth = scene
    xy, conf, _, _ = make_detections(truth)
    valid = conf > 0
    # the whole body swapped from frame 0 to 30 (anchor 10 inside), only the arms 50–54
    bad, _ = _swapped(xy, conf, range(31), SIDE_GROUPS)
    bad, _ = _swapped(bad, conf, range(50, 55), ["arms"])
    ref = SCALE * truth[ANCHOR] + OFFSET
    fixed, _, _, swapped = fix_side_swaps(bad, conf, valid, ANCHOR, ref)
    assert np.allclose(fixed[valid], xy[valid])
    assert swapped[:31].all() and not swapped[31:50].any()
    assert swapped[50:55, 0].all() and not swapped[50:55, 1:].any() and not swapped[55:].any()
    # without the anchor reference the anchor frame's labels are trusted as they are
    _, _, _, trusting = fix_side_swaps(bad, conf, valid, ANCHOR, None)
    assert not trusting[ANCHOR].any() and trusting[31:50].all()


def test_a_hidden_group_keeps_the_previous_decision(scene):
    _, _, truth = scene
    xy, conf, _, _ = make_detections(truth)
    bad, _ = _swapped(xy, conf, range(T), ["legs"])  # a detector that stays swapped
    valid = conf > 0
    legs = GROUP_PAIRS["legs"].reshape(-1)
    valid[20:25, legs] = False  # the legs unseen for five frames
    ref = SCALE * truth[ANCHOR] + OFFSET
    fixed, _, _, swapped = fix_side_swaps(bad, conf, valid, ANCHOR, ref)
    assert swapped[:, 1].all()
    assert np.allclose(fixed[valid], xy[valid])


def test_anchor_keypoints_fixes_a_mirrored_detector(scene):
    camera, key_joints, truth = scene
    xy, conf, found, _ = make_detections(truth)
    bad, bad_conf = _swapped(xy, conf, range(T), SIDE_GROUPS)
    det = Detections(xy=bad, confidence=bad_conf, person_found=found, image_size=(410, 410))
    out = anchor_keypoints(det, camera=camera, anchor_frame=ANCHOR, anchor_joints_3d=key_joints,
                           fps=FPS)
    assert out.stats.side_swaps == 3 * T and out.stats.aligned
    assert out.scale == pytest.approx(SCALE, rel=1e-3)
    seen = out.keypoints[..., 2] > 0
    assert np.abs(out.keypoints[..., :2][seen] - truth[seen]).max() < 2.0
    # switched off: the labels stay swapped and the anchor check rejects the far limbs
    raw = anchor_keypoints(det, camera=camera, anchor_frame=ANCHOR, anchor_joints_3d=key_joints,
                           fps=FPS, config=AnchorKeypointsConfig(fix_sides=False))
    assert raw.stats.side_swaps == 0 and raw.stats.rejected_anchor > 0
