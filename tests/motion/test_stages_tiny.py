"""The ``tiny`` preset through stages C–E: a tiny random Wan (built from config, reloaded
offline), the real MediaPipe detector on its frames, the motion fit, a result v1 the importer's
reader accepts; each stage's output read back from its folder as a resumed job does. Plus the
runners' errors, cancel and frame-count/fps handling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from anchorhoi.body import BodyModel
from anchorhoi.body.pose import default_initial_pose
from anchorhoi.job.presets import PRESETS
from anchorhoi.keypoints import AnchorKeypoints, MediaPipePoseDetector, NoPersonFoundError
from anchorhoi.keypoints.stage import run_keypoint_stage
from anchorhoi.motion import metrics as M
from anchorhoi.motion.output import MotionOutput
from anchorhoi.motion.stage import run_motion_stage
from anchorhoi.objects.mesh_io import ObjectMesh
from anchorhoi.portable.motion import SmplxMotion
from anchorhoi.portable.result_v1 import read_result
from anchorhoi.video import VideoOutput, load_video, make_video_prior
from anchorhoi.video.stage import run_video_stage
from anchorhoi.video.tiny import build_tiny_wan

pytestmark = pytest.mark.slow

TINY = PRESETS["tiny"]

pytest.importorskip("mediapipe")


class Cancelled(Exception):
    pass


@pytest.fixture(scope="module")
def scene():
    body = BodyModel()
    key = default_initial_pose()
    box = trimesh.creation.box(extents=(0.4, 0.45, 0.4))
    box.vertices[:, 1] += 0.225
    mesh = ObjectMesh(vertices=np.asarray(box.vertices, dtype=np.float64),
                      faces=np.asarray(box.faces, dtype=np.int64))
    ground = float(body.rig(key.betas).rest_vertices[:, 1].min())
    placement = np.eye(4)
    placement[:3, 3] = [0.45, ground, 0.35]  # a box standing beside the body, on the ground
    return body, key, mesh, placement


def recorder(steps):
    """A stage runner's progress that records ``(part, step, total, losses)``."""
    def progress(part):
        return lambda step, total, losses: steps.append((part, step, total, dict(losses)))
    return progress


def keypoints_of(root, c, key, body, **kwargs):
    """Stage D on stage C's output ``c``."""
    return run_keypoint_stage(frames=c.video.frames, fps=c.video.fps, camera=c.camera,
                              key_pose=key, body=body, anchor_frame=c.anchor_frame,
                              detector=MediaPipePoseDetector(), **kwargs)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, scene, one_thread):
    """Stages C–E as a resumed job runs them: each stage reads the one before from its
    folder."""
    root = tmp_path_factory.mktemp("tiny-stages")
    body, key, mesh, placement = scene
    steps = []
    prior = make_video_prior(str(build_tiny_wan(root / "tiny_wan")), TINY.video.sampling)
    c = run_video_stage(prompt="a person stands beside a box", key_pose=key, obj_mesh=mesh,
                        object_placement=placement, body=body, config=TINY.video, prior=prior,
                        out_dir=root / "video", generator=torch.Generator().manual_seed(0),
                        num_frames=TINY.frames, fps=TINY.fps, progress=recorder(steps))
    c_back = VideoOutput.load(root / "video")
    d = keypoints_of(root, c_back, key, body, config=TINY.keypoints, out_dir=root / "keypoints",
                     progress=recorder(steps))
    d_back = AnchorKeypoints.load(root / "keypoints")
    e = run_motion_stage(keypoints=d_back.keypoints, camera=c_back.camera, key_pose=key,
                         anchor_frame=c_back.anchor_frame, obj_mesh=mesh,
                         object_placement=placement, body=body, config=TINY.motion, fps=TINY.fps,
                         out_dir=root / "result", generator=torch.Generator().manual_seed(0),
                         progress=recorder(steps))
    return root, c, d, e, steps, prior


def test_tiny_preset_runs_c_to_e_and_writes_a_result_v1(tiny_run, scene):
    root, c, d, e, steps, _ = tiny_run
    body, key, _, _ = scene
    for name in ("conditioning.png", "camera.json", "video.json", "frames.npz", "preview.gif"):
        assert (root / "video" / name).is_file(), name
    for name in ("keypoints.npz", "keypoints_overlay.png", "keypoints_overlay.gif"):
        assert (root / "keypoints" / name).is_file(), name
    assert [p.name for p in VideoOutput.previews(root / "video")] == ["conditioning.png",
                                                                      "preview.gif"]
    assert [p.name for p in AnchorKeypoints.previews(root / "keypoints")] == [
        "keypoints_overlay.png", "keypoints_overlay.gif"]
    assert MotionOutput.previews(root / "result") == []
    # each output reads back as it was handed on (a resumed job goes on from these)
    c_back = VideoOutput.load(root / "video")
    assert np.array_equal(c_back.video.frames, c.video.frames) and c_back.video.fps == 12.0
    assert np.array_equal(c_back.conditioning, c.conditioning) and c_back.anchor_frame == 0
    for name in ("K", "R", "t"):
        assert torch.equal(getattr(c_back.camera, name), getattr(c.camera, name))
    d_back = AnchorKeypoints.load(root / "keypoints")
    assert np.array_equal(d_back.keypoints, d.keypoints.astype(np.float32))
    assert np.array_equal(d_back.occluded, d.occluded) and d_back.stats == d.stats
    assert np.array_equal(d_back.anchor_projection, d.anchor_projection)
    assert (d_back.scale, d_back.fps, d_back.anchor_frame) == (d.scale, d.fps, d.anchor_frame)
    e_back = MotionOutput.load(root / "result")
    assert np.array_equal(e_back.clip.motion.pose_body,  # motion.npz keeps AMASS's float32
                          e.clip.motion.pose_body.astype(np.float32))
    assert e_back.info.quality == e.info.quality and e_back.result is None
    video = load_video(root / "video")
    assert video.frames.shape == (12, 256, 256, 3) and video.fps == 12.0
    # the first frame is the conditioning render (pinned); the others stay close to it
    assert np.abs(video.frames[0].astype(int) - c.conditioning).max() <= 1
    diff = np.abs(video.frames.astype(float) - c.conditioning).mean()
    assert 4.0 < diff < 16.0  # measured 9.7: the random model does change the frames
    # the real detector finds the body in every frame; its left/right swap is undone
    stats = d.stats
    assert stats.frames_with_person == 12 and stats.aligned
    assert stats.side_swaps == 36  # measured: all three side groups swapped in all 12 frames
    assert stats.anchor_residual_px < 6.0  # measured 3.4 px
    # the recovered motion holds the key pose (the video shows the body standing still)
    clip, doc = read_result(root / "result")
    assert doc["frame_count"] == 12 and doc["fps"] == 12.0 and clip.motion.num_frames == 12
    assert clip.obj is not None and clip.obj.trans.shape == (12, 3)
    assert np.allclose(clip.obj.trans, clip.obj.trans[0])  # nobody touches the box
    assert doc["timings"]["motion"]["seconds"] > 0
    q = doc["quality"]
    assert q["reprojection_px_median"] < 5.0  # measured 2.9
    assert q["key_pose_joint_error_mm"] < 5.0  # measured 1.2
    # the plausibility report: a body standing still on the floor by an untouched box
    report = q["plausibility"]
    assert report["skate_mm_per_planted_frame"]["status"] == "pass"
    assert report["penetration_max_mm"]["status"] == "pass"
    assert report["object_support_gap_mm"]["status"] == "pass"  # the box rests on the floor
    assert report["hand_contact_share"]["status"] == "n/a"  # nothing is held
    assert report["off_keypoints_share"]["status"] == "pass"  # it follows the video
    with torch.no_grad():
        pred = body.forward_motion(clip.motion).joints.double().numpy()
        still = SmplxMotion(
            trans=np.tile(key.trans - [0.0, e.result.ground_y, 0.0], (12, 1)),  # floor y = 0
            root_orient=np.tile(key.root_orient, (12, 1)),
            pose_body=np.tile(key.pose_body, (12, 1)), pose_hand=np.tile(key.pose_hand, (12, 1)),
            pose_jaw=np.zeros((12, 3)), pose_eye=np.zeros((12, 6)), betas=key.betas, fps=12.0)
        gt = body.forward_motion(still).joints.double().numpy()
    assert M.mpjpe(pred[:, :22], gt[:, :22]) < 0.01  # measured 0.9 mm
    # progress: each denoising step, each detected frame, each Adam iteration
    assert steps[0] == ("video", 0, 1, {})  # the render is drawn
    assert [s[1:3] for s in steps[1:4]] == [(1, 3), (2, 3), (3, 3)]
    assert [s[1:3] for s in steps if s[0] == "keypoints"] == [(k, 12) for k in range(1, 13)]
    assert [s[1] for s in steps if s[0] == "motion"] == list(range(1, 151))
    stages = [s for s, *_ in steps]
    assert stages.count("video") == 1 + 3  # the render, then round(0.3 · 10) steps
    assert stages.count("keypoints") == 12
    assert stages.count("motion") == 150
    last = [s for s in steps if s[0] == "motion"][-1]
    assert last[1] == last[2] == 150 and "reproj" in last[3]


def test_requested_frame_count_and_fps_are_honoured(tiny_run, scene, tmp_path):
    _, _, _, _, _, prior = tiny_run
    body, key, mesh, placement = scene
    c = run_video_stage(prompt="a person", key_pose=key, obj_mesh=mesh,
                        object_placement=placement, body=body, config=TINY.video,
                        prior=prior, out_dir=tmp_path, generator=torch.Generator().manual_seed(1),
                        num_frames=7, fps=10.0)
    assert c.video.num_frames == 7 and c.video.fps == 10.0
    assert load_video(tmp_path).frames.shape[0] == 7


def test_cancel_from_progress_stops_each_stage(tiny_run, scene, tmp_path):
    root, c, d, _, _, prior = tiny_run
    body, key, mesh, placement = scene
    calls = []

    def cancel_at(stage_name, n):
        def progress(part):
            def on_step(step, total, losses):
                calls.append(part)
                if part == stage_name and step >= n:
                    raise Cancelled(part)
            return on_step
        return progress

    with pytest.raises(Cancelled, match="video"):
        run_video_stage(prompt="a person", key_pose=key, obj_mesh=mesh,
                        object_placement=placement, body=body, config=TINY.video,
                        prior=prior, out_dir=tmp_path / "v", num_frames=5, fps=12.0,
                        generator=torch.Generator().manual_seed(0),
                        progress=cancel_at("video", 1))
    assert calls.count("video") == 2 and not (tmp_path / "v" / "frames.npz").exists()
    with pytest.raises(Cancelled, match="keypoints"):
        keypoints_of(root, c, key, body, out_dir=tmp_path / "k",
                     progress=cancel_at("keypoints", 2))
    assert calls.count("keypoints") == 2 and not (tmp_path / "k" / "keypoints.npz").exists()
    with pytest.raises(Cancelled, match="motion"):
        run_motion_stage(keypoints=d.keypoints, camera=c.camera, key_pose=key, anchor_frame=0,
                         obj_mesh=mesh, object_placement=placement, body=body,
                         config=TINY.motion, fps=12.0, out_dir=tmp_path / "m",
                         generator=torch.Generator().manual_seed(0),
                         progress=cancel_at("motion", 5))
    assert calls.count("motion") == 5
    assert not (tmp_path / "m" / "result.json").exists()


def test_a_video_without_a_person_says_what_to_try(tiny_run, scene, tmp_path):
    _, c, _, _, _, _ = tiny_run
    body, key, _, _ = scene
    grey = np.full((4, 256, 256, 3), 140, dtype=np.uint8)
    with pytest.raises(NoPersonFoundError, match="no person") as info:
        run_keypoint_stage(frames=grey, fps=12.0, camera=c.camera, key_pose=key, body=body,
                           anchor_frame=0, detector=MediaPipePoseDetector(),
                           out_dir=tmp_path / "k")
    assert "seed" in info.value.hint


def test_partial_detections_are_handled(tiny_run, scene, tmp_path):
    """Frames where the person is blanked out: stage D keeps the others, bridges short gaps,
    and stage E still fits every frame."""
    root, c, _, _, _, _ = tiny_run
    body, key, mesh, placement = scene
    frames = load_video(root / "video").frames.copy()
    frames[5:7] = frames[5:7, :1, :1]  # two frames of plain background
    d = run_keypoint_stage(frames=frames, fps=12.0, camera=c.camera, key_pose=key, body=body,
                           anchor_frame=0, detector=MediaPipePoseDetector(),
                           out_dir=tmp_path / "k")
    assert d.stats.frames_with_person == 10
    assert d.stats.bridged > 0 and (d.keypoints[5:7, :, 2] > 0).any()
    assert d.occluded[5:7].any()
    e = run_motion_stage(keypoints=d.keypoints, camera=c.camera, key_pose=key, anchor_frame=0,
                         obj_mesh=mesh, object_placement=placement, body=body,
                         config=TINY.motion, fps=12.0, out_dir=tmp_path / "m",
                         generator=torch.Generator().manual_seed(0))
    assert e.result.motion.num_frames == 12
    assert e.result.quality["key_pose_joint_error_mm"] < 5.0


def test_a_placement_that_is_not_rigid_is_refused(tiny_run, scene, tmp_path):
    _, c, d, _, _, _ = tiny_run
    body, key, mesh, placement = scene
    scaled = placement.copy()
    scaled[:3, :3] *= 2.0
    with pytest.raises(ValueError, match="object_placement must be rigid"):
        run_motion_stage(keypoints=d.keypoints, camera=c.camera, key_pose=key, anchor_frame=0,
                         obj_mesh=mesh, object_placement=scaled, body=body, fps=12.0,
                         out_dir=tmp_path, generator=torch.Generator().manual_seed(0))


def test_without_an_object_the_body_alone_is_rendered(tiny_run, scene, tmp_path):
    _, c, _, _, _, prior = tiny_run
    body, key, _, _ = scene
    alone = run_video_stage(prompt="a person waves", key_pose=key, obj_mesh=None,
                            object_placement=None, body=body, config=TINY.video, prior=prior,
                            out_dir=tmp_path, generator=torch.Generator().manual_seed(0),
                            num_frames=5, fps=12.0)
    box_colour = np.rint(np.array([0.42, 0.47, 0.62]) * 255)
    assert not (np.abs(alone.conditioning - box_colour).max(-1) < 30).any()  # no box drawn
    assert (np.abs(c.conditioning - box_colour).max(-1) < 60).sum() > 500  # (it was there)
