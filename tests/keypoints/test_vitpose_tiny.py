"""ViTPose through transformers, offline: tiny random ViTPose and RT-DETR models built from
config, saved and reloaded through ``from_pretrained`` (safetensors), run end to end on a frame.
Checks shapes and that the COCO → SMPL-X map is wired right, not accuracy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import (
    RTDetrConfig,
    RTDetrForObjectDetection,
    RTDetrImageProcessorPil,
    RTDetrResNetConfig,
    VitPoseBackboneConfig,
    VitPoseConfig,
    VitPoseForPoseEstimation,
    VitPoseImageProcessorPil,
)

from anchorhoi.hub import ModelNotFoundError
from anchorhoi.keypoints import (
    KEYPOINT_DETECTORS,
    KeypointDetector,
    MediaPipePoseDetector,
    VitPoseDetector,
    VitPoseDetectorConfig,
    check_detector,
    detector_family,
    make_detector,
)
from anchorhoi.keypoints.base import JOINT_INDEX
from anchorhoi.keypoints.vitpose import (
    COCO_KEYPOINTS,
    DEFAULT_PERSON_DETECTOR_ID,
    DEFAULT_VITPOSE_ID,
    coco_to_smplx,
)

J = JOINT_INDEX
C = {name: i for i, name in enumerate(COCO_KEYPOINTS)}


def build_tiny_vitpose(folder, *, num_labels=17, seed=0):
    torch.manual_seed(seed)
    backbone = VitPoseBackboneConfig(image_size=[64, 48], patch_size=[16, 16], hidden_size=32,
                                     num_hidden_layers=2, num_attention_heads=2, mlp_ratio=2,
                                     out_indices=[2])
    model = VitPoseForPoseEstimation(VitPoseConfig(backbone_config=backbone,
                                                   num_labels=num_labels)).eval()
    model.save_pretrained(folder)
    VitPoseImageProcessorPil(size={"height": 64, "width": 48}).save_pretrained(folder)
    return folder


def build_tiny_rtdetr(folder, *, seed=0):
    torch.manual_seed(seed)
    backbone = RTDetrResNetConfig(embedding_size=8, hidden_sizes=[8, 16, 24, 32],
                                  depths=[1, 1, 1, 1], layer_type="basic",
                                  out_features=["stage2", "stage3", "stage4"])
    config = RTDetrConfig(
        backbone_config=backbone, encoder_in_channels=[16, 24, 32], encoder_hidden_dim=16,
        encoder_ffn_dim=32, encoder_attention_heads=2, encoder_layers=1, d_model=16,
        decoder_in_channels=[16, 16, 16], decoder_ffn_dim=32, decoder_attention_heads=2,
        decoder_layers=1, decoder_n_points=2, num_queries=10, num_denoising=0,
        anchor_image_size=None, num_labels=2, id2label={0: "chair", 1: "person"},
        label2id={"chair": 0, "person": 1})
    model = RTDetrForObjectDetection(config).eval()
    with torch.no_grad():  # random heads score both labels alike: make "person" win
        for head in [*model.model.decoder.class_embed, model.model.enc_score_head]:
            head.bias[1] += 3.0
    model.save_pretrained(folder)
    RTDetrImageProcessorPil(size={"height": 64, "width": 64}).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-keypoints")
    return build_tiny_vitpose(root / "vitpose"), build_tiny_rtdetr(root / "rtdetr")


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (3, 96, 80, 3), dtype=np.uint8)


def test_full_frame_end_to_end_matches_the_model_and_the_map(tiny_folders, frames):
    vitpose, _ = tiny_folders
    config = VitPoseDetectorConfig(model_id=str(vitpose), person_detector="full-frame")
    det = VitPoseDetector(config, device="cpu")
    assert isinstance(det, KeypointDetector) and KEYPOINT_DETECTORS["vitpose"] is VitPoseDetector
    out = det.detect(frames)
    assert out.xy.shape == (3, 55, 2) and out.confidence.shape == (3, 55)
    assert out.person_found.all() and out.image_size == (80, 96)

    # the same frames through transformers by hand: heatmaps → COCO keypoints
    processor = VitPoseImageProcessorPil.from_pretrained(vitpose)
    model = VitPoseForPoseEstimation.from_pretrained(vitpose, use_safetensors=True).eval()
    boxes = [[[0.0, 0.0, 80.0, 96.0]]] * 3
    with torch.no_grad():
        res = processor.post_process_pose_estimation(
            model(**processor(list(frames), boxes=boxes, return_tensors="pt")), boxes=boxes)
    coco = np.stack([r[0]["keypoints"].numpy() for r in res])  # (3, 17, 2)
    score = np.clip(np.stack([r[0]["scores"].numpy() for r in res]), 0, 1)
    for side in ("left", "right"):
        for part in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"):
            np.testing.assert_allclose(out.xy[:, J[f"{side}_{part}"]], coco[:, C[f"{side}_{part}"]],
                                       atol=1e-4)
            np.testing.assert_allclose(out.confidence[:, J[f"{side}_{part}"]],
                                       score[:, C[f"{side}_{part}"]], atol=1e-6)
        np.testing.assert_allclose(out.xy[:, J[f"{side}_eye_smplhf"]], coco[:, C[f"{side}_eye"]],
                                   atol=1e-4)
    hips = [C["left_hip"], C["right_hip"]]
    np.testing.assert_allclose(out.xy[:, J["pelvis"]], coco[:, hips].mean(1), atol=1e-4)
    np.testing.assert_allclose(out.confidence[:, J["pelvis"]], 0.5 * score[:, hips].min(1),
                               atol=1e-6)
    mid_sh = coco[:, [C["left_shoulder"], C["right_shoulder"]]].mean(1)
    mid_ear = coco[:, [C["left_ear"], C["right_ear"]]].mean(1)
    np.testing.assert_allclose(out.xy[:, J["neck"]], mid_sh + 0.2 * (mid_ear - mid_sh), atol=1e-4)
    np.testing.assert_allclose(out.xy[:, J["head"]], mid_ear + 0.2 * (mid_sh - mid_ear), atol=1e-4)
    unmapped = ["spine1", "left_collar", "left_foot", "jaw", "left_index1", "right_thumb3"]
    assert all((out.confidence[:, J[n]] == 0).all() for n in unmapped)


def test_coco_to_smplx_keeps_sides_and_scores():
    keypoints = np.arange(17 * 2, dtype=float).reshape(1, 17, 2)
    scores = np.linspace(0.2, 1.0, 17)[None]
    xy, conf = coco_to_smplx(keypoints, scores, VitPoseDetectorConfig(approx_confidence=0.4))
    assert (xy[0, J["left_wrist"]] == keypoints[0, C["left_wrist"]]).all()
    assert (xy[0, J["right_ankle"]] == keypoints[0, C["right_ankle"]]).all()
    assert conf[0, J["right_knee"]] == pytest.approx(scores[0, C["right_knee"]])
    ears_shoulders = [C["left_ear"], C["right_ear"], C["left_shoulder"], C["right_shoulder"]]
    assert conf[0, J["head"]] == pytest.approx(0.4 * scores[0, ears_shoulders].min())
    assert int((conf[0] > 0).sum()) == 17  # 14 limbs/eyes + pelvis, neck, head


def test_person_boxes_from_a_tiny_rtdetr(tiny_folders, frames):
    vitpose, rtdetr = tiny_folders
    base = dict(model_id=str(vitpose), detector_id=str(rtdetr), batch_size=2)
    det = VitPoseDetector(VitPoseDetectorConfig(**base, detector_threshold=0.0))
    boxes, found = det.person_boxes(frames)
    assert found.all() and boxes.shape == (3, 4)
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 0] + boxes[:, 2] <= 80 + 1e-3).all()
    assert (boxes[:, 1] + boxes[:, 3] <= 96 + 1e-3).all() and (boxes[:, 2:] > 0).all()
    out = det.detect(frames)
    assert out.person_found.all() and np.isfinite(det.last_ms_per_frame)
    # no box reaches the threshold: no person, confidence 0 (not an error at this stage)
    none = VitPoseDetector(VitPoseDetectorConfig(**base, detector_threshold=1.0)).detect(frames)
    assert not none.person_found.any() and (none.confidence == 0).all()


def test_missing_models_name_the_id(tiny_folders, tmp_path):
    with pytest.raises(ModelNotFoundError, match="no such folder") as info:
        VitPoseDetector(VitPoseDetectorConfig(model_id=str(tmp_path / "nowhere"),
                                              person_detector="full-frame"))
    assert str(tmp_path / "nowhere") in str(info.value)
    assert "the transformers layout (config.json" in info.value.remedy
    with pytest.raises(ModelNotFoundError, match="someone/no-such-vitpose"):
        VitPoseDetector(VitPoseDetectorConfig(model_id="someone/no-such-vitpose",
                                              person_detector="full-frame"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelNotFoundError, match="lacks config.json, preprocessor_config.json"):
        VitPoseDetector(VitPoseDetectorConfig(model_id=str(empty), person_detector="full-frame"))
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "preprocessor_config.json"):
        (broken / name).write_text("{")
    with pytest.raises(ModelNotFoundError, match="local folder could not be read"):
        VitPoseDetector(VitPoseDetectorConfig(model_id=str(broken), person_detector="full-frame"))
    vitpose, _ = tiny_folders
    with pytest.raises(ModelNotFoundError, match="no-such-rtdetr"):
        VitPoseDetector(VitPoseDetectorConfig(model_id=str(vitpose),
                                              detector_id="someone/no-such-rtdetr"))


def test_a_model_with_other_keypoints_is_refused(tmp_path):
    folder = build_tiny_vitpose(tmp_path / "wholebody", num_labels=133)
    with pytest.raises(ValueError, match="133 keypoints"):
        VitPoseDetector(VitPoseDetectorConfig(model_id=str(folder), person_detector="full-frame"))


def test_the_registry_tells_families_from_checkpoints(tiny_folders):
    vitpose, _ = tiny_folders
    assert detector_family("mediapipe") == ("mediapipe", None)
    assert detector_family("vitpose") == ("vitpose", None)
    assert detector_family(str(vitpose)) == ("vitpose", str(vitpose))
    assert isinstance(make_detector("mediapipe"), MediaPipePoseDetector)
    assert check_detector("mediapipe") is None
    # a ViTPose checkpoint by folder gets RT-DETR person boxes from the hub: offline and not
    # cached, both the build and the pre-flight name the person detector
    for call in (lambda: make_detector(str(vitpose)), lambda: check_detector(str(vitpose))):
        with pytest.raises(ModelNotFoundError, match="offline") as info:
            call()
        assert info.value.model_id == DEFAULT_PERSON_DETECTOR_ID
    with pytest.raises(ModelNotFoundError) as info:
        check_detector("vitpose")
    assert info.value.model_id == DEFAULT_VITPOSE_ID
