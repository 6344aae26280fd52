"""The plausibility report against hand-made motions with known answers: the procedural body at
rest, moved rigidly (a foot sliding at a known speed, a body sunk 2 cm into the floor or lifted
3 cm off it), a box placed at a known distance from a hand, a resting object on the floor or
10 cm above it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from anchorhoi.body import BodyModel
from anchorhoi.motion.metrics import max_penetration
from anchorhoi.motion.plausibility import (
    LEFT_HAND,
    PlausibilityConfig,
    keypoint_misfit,
    part_vertex_ids,
    plausibility_report,
)
from anchorhoi.nerf.cameras import Cameras, intrinsics, look_at, project
from anchorhoi.oracles.family_shapes import box
from anchorhoi.portable.motion import SmplxMotion

FPS = 30.0
T = 12


@pytest.fixture(scope="module")
def rest():
    model = BodyModel(dtype=torch.float64)
    verts = model.layer.v_template.numpy().copy()
    weights = model.layer.lbs_weights.numpy()
    return verts, weights, float(verts[:, 1].min())


def moving(verts: np.ndarray, step: np.ndarray) -> np.ndarray:
    """(T, V, 3): ``verts`` moved by ``step (3,)`` per frame."""
    return verts[None] + np.arange(T)[:, None, None] * step


def far_box(floor: float, lift: float = 0.0):
    """A 30 cm box 3 m from the body, ``lift`` above the floor, for every frame."""
    v, f = box(0.3, 0.3, 0.3)
    rot = np.repeat(np.eye(3)[None], T, 0)
    trans = np.tile([3.0, floor + lift, 0.0], (T, 1))
    return v, f, rot, trans


def report(vertices, weights, floor, obj, held=None, **kw):
    v, f, rot, trans = obj
    return plausibility_report(vertices=vertices, lbs_weights=weights, obj_vertices=v,
                               obj_faces=f, obj_rot=rot, obj_trans=trans, floor_y=floor,
                               fps=FPS, held=np.zeros(T, bool) if held is None else held, **kw)


def test_a_still_body_on_the_floor_passes_everything(rest):
    verts, weights, floor = rest
    r = report(moving(verts, np.zeros(3)), weights, floor, far_box(floor))
    figures = r.as_json()
    assert figures["penetration_max_mm"]["value"] == pytest.approx(0.0, abs=1e-6)
    assert figures["skate_mm_per_planted_frame"]["value"] == pytest.approx(0.0, abs=1e-9)
    assert figures["floating_mm"]["value"] == pytest.approx(0.0, abs=1e-6)
    assert figures["hand_contact_share"]["status"] == "n/a"  # nothing held
    assert r.warnings() == []


@pytest.mark.parametrize("speed", [0.3, 0.9])
def test_a_foot_sliding_at_a_known_speed(rest, speed):
    verts, weights, floor = rest
    r = report(moving(verts, np.array([speed / FPS, 0.0, 0.0])), weights, floor,
               far_box(floor)).figures
    assert r["skate_mm_per_planted_frame"].value == pytest.approx(1000 * speed / FPS, rel=1e-6)
    assert r["skate_mm_per_planted_frame"].status == "warn"  # 10 and 30 mm per frame > 5
    # faster than 0.5 m/s near the floor: every frame pair skates; slower: none
    assert r["skating_frames_share"].value == (1.0 if speed > 0.5 else 0.0)


def test_a_body_sunk_2_cm_into_the_floor(rest):
    verts, weights, floor = rest
    r = report(moving(verts - [0, 0.02, 0], np.zeros(3)), weights, floor,
               far_box(floor)).figures
    assert r["penetration_max_mm"].value == pytest.approx(20.0, abs=1e-6)
    assert r["penetration_frames_share"].value == 1.0  # more than 1 cm in every frame
    assert r["penetration_max_mm"].status == "warn"
    assert r["floating_mm"].value == pytest.approx(0.0, abs=1e-9)


def test_a_body_lifted_3_cm_floats(rest):
    verts, weights, floor = rest
    r = report(moving(verts + [0, 0.03, 0], np.zeros(3)), weights, floor,
               far_box(floor)).figures
    assert r["floating_mm"].value == pytest.approx(30.0, abs=1e-6)
    assert r["floating_mm"].status == "warn"
    # frames that need no support (a jump) do not count
    off = report(moving(verts + [0, 0.03, 0], np.zeros(3)), weights, floor, far_box(floor),
                 supported=np.zeros(T, bool)).figures
    assert off["floating_mm"].status == "n/a"


@pytest.mark.parametrize("gap, share", [(0.03, 1.0), (0.08, 0.0)])
def test_a_hand_at_a_known_distance_from_the_held_object(rest, gap, share):
    verts, weights, floor = rest
    hand = verts[part_vertex_ids(weights, LEFT_HAND)]
    tip = hand[:, 0].max()  # the left arm points along +x at rest: its fingertips
    v, f = box(0.2, 0.2, 0.2)
    centre_y = hand[:, 1].mean() - 0.1
    trans = np.tile([tip + gap + 0.1, centre_y, hand[:, 2].mean()], (T, 1))
    obj = (v, f, np.repeat(np.eye(3)[None], T, 0), trans)
    r = report(moving(verts, np.zeros(3)), weights, floor, obj, held=np.ones(T, bool)).figures
    assert r["hand_contact_share"].value == share
    assert r["hand_contact_share"].status == ("pass" if share == 1.0 else "warn")
    assert r["object_support_gap_mm"].status == "n/a"  # held the whole time


@pytest.mark.parametrize("lift, status", [(0.0, "pass"), (0.10, "warn")])
def test_a_resting_object_on_the_floor_or_floating(rest, lift, status):
    verts, weights, floor = rest
    r = report(moving(verts, np.zeros(3)), weights, floor, far_box(floor, lift)).figures
    assert r["object_support_gap_mm"].value == pytest.approx(1000 * lift, abs=1e-6)
    assert r["object_support_gap_mm"].status == status


def test_penetration_into_the_object_is_the_metrics_one(rest):
    """One way to measure it: the bench's ``max_penetration`` and the report agree."""
    verts, weights, floor = rest
    v, f = box(0.3, 0.3, 0.3)
    hand = verts[part_vertex_ids(weights, LEFT_HAND)]
    # the box's face 4 cm past the fingertips' x: the tips are inside it
    trans = np.tile([hand[:, 0].max() - 0.04 + 0.15, hand[:, 1].mean() - 0.15, 0.0], (T, 1))
    rot = np.repeat(np.eye(3)[None], T, 0)
    r = report(moving(verts, np.zeros(3)), weights, floor, (v, f, rot, trans)).figures
    inside, below = max_penetration(moving(verts, np.zeros(3)), v, f, rot, trans, floor)
    assert r["penetration_max_mm"].value == pytest.approx(1000 * max(inside, below), abs=1e-6)
    assert 30.0 < r["penetration_max_mm"].value <= 40.0 + 1e-6


def test_limits_are_configurable(rest):
    verts, weights, floor = rest
    strict = PlausibilityConfig(max_skate_mm=50.0)
    r = report(moving(verts, np.array([0.3 / FPS, 0, 0])), weights, floor, far_box(floor),
               config=strict).figures
    assert r["skate_mm_per_planted_frame"].status == "pass"


def test_frames_that_leave_their_keypoints_are_counted(rest):
    """Keypoints made from the body's own joints, then moved off by a known fraction of the
    body's size in the image in 3 of 12 frames; frames seeing fewer than 5 keypoints are not
    judged."""
    verts, weights, floor = rest
    still = SmplxMotion(trans=np.zeros((T, 3)), root_orient=np.zeros((T, 3)),
                        pose_body=np.zeros((T, 63)), pose_hand=np.zeros((T, 90)),
                        pose_jaw=np.zeros((T, 3)), pose_eye=np.zeros((T, 6)),
                        betas=np.zeros(10), fps=FPS)
    with torch.no_grad():
        joints = BodyModel(dtype=torch.float64).forward_motion(still).joints.numpy()
    R, t = look_at(torch.tensor([[0.5, 0.0, 3.5]], dtype=torch.float64),
                   torch.tensor([[0.0, -0.3, 0.0]], dtype=torch.float64))
    cam = Cameras(K=intrinsics(50.0, 960, 540, dtype=torch.float64)[None], R=R, t=t,
                  width=960, height=540)
    uv = project(cam, torch.as_tensor(joints.reshape(1, -1, 3)))[0].numpy().reshape(T, 55, 2)
    kp = np.concatenate([uv, np.ones((T, 55, 1))], -1)
    size = np.linalg.norm(uv[0, :22].max(0) - uv[0, :22].min(0))
    kp[[2, 3, 4], :, 0] += 0.2 * size  # 20 % of the body's size off
    kp[7, :, 1] += 0.05 * size  # 5 %: within the noise allowed
    kp[9, 4:, 2] = 0.0  # 4 seen: not judged
    misfit = keypoint_misfit(joints, kp, cam)
    assert np.isnan(misfit[9])
    np.testing.assert_allclose(misfit[[2, 3, 4]], 0.2, rtol=1e-6)
    assert misfit[7] == pytest.approx(0.05, rel=1e-6)
    assert np.nanmax(np.delete(misfit, [2, 3, 4, 7, 9])) < 1e-6
    figure = report(moving(verts, np.zeros(3)), weights, floor, far_box(floor),
                    misfit=misfit).figures["off_keypoints_share"]
    assert figure.value == pytest.approx(3 / 11)
    assert figure.status == "warn"
    ok = report(moving(verts, np.zeros(3)), weights, floor, far_box(floor),
                misfit=np.where(np.isfinite(misfit), np.minimum(misfit, 0.05), np.nan))
    assert ok.figures["off_keypoints_share"].status == "pass"
    assert "off_keypoints_share" not in report(moving(verts, np.zeros(3)), weights, floor,
                                               far_box(floor)).figures

