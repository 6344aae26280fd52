"""MediaPipe BlazePose on real pixels: the astronaut photograph (pinned keypoints, sides) and
our own procedural body rendered by Blender from a known camera (detections against the
projected SMPL-X joints)."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("mediapipe", reason="the MediaPipe detector needs mediapipe==0.10.21")
skimage_data = pytest.importorskip("skimage.data", reason="scikit-image provides the astronaut")

from anchorhoi.keypoints import (  # noqa: E402 - after the skip
    KEYPOINT_DETECTORS,
    KeypointDetector,
    MediaPipePoseConfig,
    MediaPipePoseDetector,
)
from anchorhoi.keypoints.base import JOINT_INDEX  # noqa: E402

J = JOINT_INDEX
LIMBS = ["left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
         "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
         "right_ankle"]


@pytest.fixture(scope="module")
def detector() -> MediaPipePoseDetector:
    return MediaPipePoseDetector()


def test_astronaut_keypoints_are_pinned_and_sides_are_the_persons(detector):
    image = skimage_data.astronaut()  # (512, 512, 3); she faces the camera
    det = detector.detect(image[None])
    assert isinstance(detector, KeypointDetector) and KEYPOINT_DETECTORS["mediapipe"] is \
        MediaPipePoseDetector
    assert det.person_found.tolist() == [True] and det.image_size == (512, 512)
    measured = {  # SMPL-X joint: (u, v) pixels, measured with mediapipe 0.10.21
        "left_shoulder": (305.7, 256.1), "right_shoulder": (112.2, 239.4),
        "right_elbow": (64.1, 413.1), "left_eye_smplhf": (248.4, 112.0),
        "right_eye_smplhf": (204.5, 102.8), "head": (224.7, 141.2), "neck": (212.9, 221.2),
    }
    for name, uv in measured.items():
        np.testing.assert_allclose(det.xy[0, J[name]], uv, atol=3.0, err_msg=name)
    # her left shoulder and eye are on the image's right
    assert det.xy[0, J["left_shoulder"], 0] > det.xy[0, J["right_shoulder"], 0] + 150
    assert det.xy[0, J["left_eye_smplhf"], 0] > det.xy[0, J["right_eye_smplhf"], 0]
    conf = det.confidence[0]
    assert conf[J["left_shoulder"]] > 0.95 and conf[J["right_elbow"]] > 0.6
    assert conf[J["head"]] == pytest.approx(0.5, abs=0.01)  # approximate joint: factor ½
    assert conf[J["left_knee"]] < 0.1  # below the frame
    unmapped = ["spine1", "spine2", "spine3", "left_collar", "jaw", "left_index2"]
    assert all(conf[J[n]] == 0 for n in unmapped)


def test_video_mode_tracks_and_reports_frames_without_a_person(detector):
    image = skimage_data.astronaut()
    frames = np.stack([np.roll(image, 3 * k, axis=1) for k in range(6)]
                      + [np.full_like(image, 128)] * 2)
    det = detector.detect(frames)
    assert det.person_found.tolist() == [True] * 6 + [False] * 2
    assert (det.confidence[6:] == 0).all()
    # the shoulders follow the 3-pixel-per-frame shift (MediaPipe's filter lags a little)
    shift = det.xy[:6, J["right_shoulder"], 0] - det.xy[0, J["right_shoulder"], 0]
    np.testing.assert_allclose(shift, 3.0 * np.arange(6), atol=12.0)
    assert np.isfinite(detector.last_ms_per_frame)


def test_models_missing_from_the_wheel_and_a_missing_package_are_refused(monkeypatch):
    with pytest.raises(ValueError, match="model_complexity=1"):
        MediaPipePoseDetector(MediaPipePoseConfig(model_complexity=2))
    with pytest.raises(ValueError,
                       match=r"MediaPipePoseConfig\.model_complexity must be one of 0, 1, 2"):
        MediaPipePoseConfig(model_complexity=3)
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        MediaPipePoseDetector().detect(skimage_data.astronaut())
    monkeypatch.setitem(sys.modules, "mediapipe", None)
    with pytest.raises(ImportError, match=r"pip install mediapipe==0\.10\.21"):
        MediaPipePoseDetector()


# --- our body, rendered by Blender ------------------------------------------------------------

SIZE, AZIMUTH, ELBOW = 320, 30.0, 70.0


def posed_body():
    """Procedural body with the arms lowered 60° and the elbows bent 70°: vertices, joints,
    faces (world, Y up)."""
    from anchorhoi.body import BodyModel, axis_angle_to_matrix

    body = BodyModel(dtype=torch.float64)
    aa = torch.zeros(1, 21, 3, dtype=torch.float64)  # body_pose[k] drives joint k + 1
    aa[0, J["left_shoulder"] - 1, 2] = -math.radians(60)
    aa[0, J["right_shoulder"] - 1, 2] = math.radians(60)
    aa[0, J["left_elbow"] - 1, 1] = -math.radians(ELBOW)
    aa[0, J["right_elbow"] - 1, 1] = math.radians(ELBOW)
    out = body(global_orient=torch.eye(3, dtype=torch.float64)[None],
               body_pose=axis_angle_to_matrix(aa))
    return out.vertices[0].numpy(), out.joints[0].numpy(), body.faces


def render_with_blender(bpy, vertices, faces, camera, path) -> np.ndarray:
    """Cycles (CPU, 16 samples) render of the mesh in a skin colour on a plain background,
    seen by ``camera`` (OpenCV convention, world Y up) → (H, W, 3) uint8."""
    import mathutils
    from PIL import Image

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    yup_to_zup = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
    mesh = bpy.data.meshes.new("body")
    mesh.from_pydata((vertices @ yup_to_zup.T).tolist(), [], faces.tolist())
    mesh.shade_smooth()
    obj = bpy.data.objects.new("body", mesh)
    scene.collection.objects.link(obj)
    mat = bpy.data.materials.new("skin")  # node-based by default in Blender 5
    mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = (0.8, 0.55, 0.42, 1)
    mesh.materials.append(mat)
    scene.world = bpy.data.worlds.new("plain")
    scene.world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.55, 0.6, 0.65, 1)
    cam_data = bpy.data.cameras.new("camera")
    cam_data.sensor_fit = "VERTICAL"
    cam_data.angle = 2 * math.atan(0.5 * camera.height / float(camera.K[0, 1, 1]))
    cam = bpy.data.objects.new("camera", cam_data)
    scene.collection.objects.link(cam)
    c2w = np.eye(4)  # Blender cameras look down −Z with +Y up: OpenCV axes times diag(1,−1,−1)
    c2w[:3, :3] = yup_to_zup @ camera.R[0].numpy().T @ np.diag([1.0, -1.0, -1.0])
    c2w[:3, 3] = yup_to_zup @ camera.centers[0].numpy()
    cam.matrix_world = mathutils.Matrix(c2w.tolist())
    scene.camera = cam
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    sun.data.energy = 3.0
    sun.rotation_euler = (math.radians(40), math.radians(10), math.radians(20))
    scene.collection.objects.link(sun)
    render = scene.render
    render.engine = "CYCLES"
    render.resolution_x = render.resolution_y = SIZE
    render.resolution_percentage = 100
    render.filepath = str(path)
    scene.cycles.device = "CPU"
    scene.cycles.samples = 16
    scene.cycles.use_denoising = False
    scene.view_settings.view_transform = "Standard"
    bpy.ops.render.render(write_still=True)
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.mark.slow
def test_blender_render_of_our_body_lands_on_the_projected_smplx_joints(detector, tmp_path):
    bpy = pytest.importorskip("bpy")
    from anchorhoi.nerf.cameras import orbit_cameras, project

    vertices, joints, faces = posed_body()
    camera = orbit_cameras(AZIMUTH, 5.0, 2.8, 40.0, SIZE, target=(0.0, -0.45, 0.0),
                           dtype=torch.float64)
    image = render_with_blender(bpy, vertices, faces, camera, tmp_path / "body.png")
    det = detector.detect(image[None])
    if not det.person_found[0]:
        pytest.skip("MediaPipe finds no person in the render of the procedural body")
    truth = project(camera, torch.as_tensor(joints)[None])[0].numpy()
    body_px = np.ptp(truth[:25, 1])  # ≈ 254 px
    err = np.linalg.norm(det.xy[0] - truth, axis=-1)
    limbs = np.array([J[n] for n in LIMBS])
    # measured: limbs median 4.4 px (max 10.3, the hips: BlazePose marks the outer hip),
    # neck 0.7, head 1.7, pelvis 4.8, feet 3–4 px
    assert np.median(err[limbs]) < 0.025 * body_px
    assert err[limbs].max() < 0.06 * body_px
    for name in ("neck", "head", "pelvis", "left_foot", "right_foot"):
        assert err[J[name]] < 0.04 * body_px, name
    # sides: the person's left is the image's right in this front three-quarter view
    swapped = np.array([J[n.replace("left", "right") if n.startswith("left")
                          else n.replace("right", "left")] for n in LIMBS])
    assert np.median(err[limbs]) < 0.2 * np.median(np.linalg.norm(det.xy[0, swapped]
                                                                   - truth[limbs], axis=-1))
