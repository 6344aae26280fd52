"""``VitPoseDetector``: ViTPose (top-down, COCO 17 keypoints) through transformers — the GPU option.

ViTPose needs a box around the person: an RT-DETR object detector finds the most confident
``person`` box per frame (or the whole frame is the box, ``person_detector="full-frame"``,
when the video is known to frame one person). Per frame batch:

1. RT-DETR (``RTDetrForObjectDetection``) → person boxes, the best one kept;
2. ``VitPoseImageProcessorPil`` crops/warps the box to the model's input size (the
   checkpoint's own preprocessing, scipy-based, no torchvision needed);
3. ``VitPoseForPoseEstimation`` → heatmaps → keypoints and heatmap-peak scores in frame
   pixels (the processor's post-processing);
4. COCO-17 → SMPL-X by the fixed linear map below.

Both models load with ``from_pretrained(..., use_safetensors=True)`` from a hub id or a local
folder in the transformers layout. ViTPose's keypoints follow mmpose's convention (pixel
centres on integers), as this project does.

==================================  =============================================  ======
SMPL-X joint                        COCO keypoints                                 factor
==================================  =============================================  ======
left/right_eye_smplhf               left_eye 1 / right_eye 2                       1
left/right_shoulder                 left_shoulder 5 / right_shoulder 6             1
left/right_elbow                    left_elbow 7 / right_elbow 8                   1
left/right_wrist                    left_wrist 9 / right_wrist 10                  1
left/right_hip                      left_hip 11 / right_hip 12                     1
left/right_knee                     left_knee 13 / right_knee 14                   1
left/right_ankle                    left_ankle 15 / right_ankle 16                 1
pelvis                              mid-hip                                        a
neck                                mid-shoulder + n·(mid-ear − mid-shoulder)      a
head                                mid-ear + h·(mid-shoulder − mid-ear)           a
everything else (spine, collars,    —  (confidence 0; COCO has no feet or hands)   0
feet, jaw, fingers)
==================================  =============================================  ======

Confidence = factor × the smallest score of the keypoints used (``a = approx_confidence``);
the nose (0) feeds no joint.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from .. import hub
from ..config_checks import check_choices
from ..portable.skeleton import NUM_JOINTS
from ..progress import StepCallback
from .base import JOINT_INDEX, Detections, check_frames, map_to_smplx

log = logging.getLogger(__name__)

DEFAULT_VITPOSE_ID = "usyd-community/vitpose-base-simple"
DEFAULT_PERSON_DETECTOR_ID = "PekingU/rtdetr_r50vd_coco_o365"
COCO_KEYPOINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
                  "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
                  "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
                  "right_ankle")
_COCO = {name: i for i, name in enumerate(COCO_KEYPOINTS)}
VITPOSE_LAYOUT = hub.ModelLayout(
    description="the transformers layout (config.json, preprocessor_config.json, "
                "model.safetensors)",
    index="config.json", required=("preprocessor_config.json",))
"""What a local ViTPose or RT-DETR folder holds (``save_pretrained`` of model and processor)."""


@dataclass(frozen=True, kw_only=True)
class VitPoseDetectorConfig:
    """Which checkpoints, and how boxes and keypoints are chosen."""

    model_id: str = DEFAULT_VITPOSE_ID
    """Hub id or local folder of a ViTPose checkpoint with COCO-17 keypoints."""
    person_detector: Literal["rt-detr", "full-frame"] = "rt-detr"
    """``rt-detr``: find the person box with an object detector; ``full-frame``: the whole
    frame is the box (no detector is loaded)."""
    detector_id: str = DEFAULT_PERSON_DETECTOR_ID
    """Hub id or local folder of an RT-DETR checkpoint whose labels include ``person``."""
    detector_threshold: float = 0.5
    """Minimum person-box score; a frame without such a box has no person."""
    dataset_index: int = 0
    """Expert of a ViTPose++ (mixture-of-experts) backbone; 0 is COCO. Ignored otherwise."""
    batch_size: int = 8
    """Frames per forward pass."""
    cache_dir: Path | None = None
    """Hugging Face cache folder; None: the hub's default."""
    approx_confidence: float = 0.5
    """Factor on the confidence of the approximate joints (pelvis, neck, head)."""
    neck_to_ears: float = 0.2
    """Neck = mid-shoulder moved this fraction of the way towards mid-ear."""
    head_to_shoulders: float = 0.2
    """Head = mid-ear moved this fraction of the way towards mid-shoulder."""

    def __post_init__(self) -> None:
        check_choices(self)
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be ≥ 1, got {self.batch_size}")
        for name in ("detector_threshold", "approx_confidence", "neck_to_ears",
                     "head_to_shoulders"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"VitPoseDetectorConfig.{name} must be in [0, 1], "
                                 f"got {getattr(self, name)}")


def coco_mapping(config: VitPoseDetectorConfig) -> tuple[np.ndarray, np.ndarray]:
    """``weights (55, 17)`` and ``factor (55,)`` of the COCO → SMPL-X map (module table)."""
    w = np.zeros((NUM_JOINTS, len(COCO_KEYPOINTS)))
    factor = np.zeros(NUM_JOINTS)
    a = config.approx_confidence
    for side in ("left", "right"):
        for part in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"):
            w[JOINT_INDEX[f"{side}_{part}"], _COCO[f"{side}_{part}"]] = 1.0
            factor[JOINT_INDEX[f"{side}_{part}"]] = 1.0
        w[JOINT_INDEX[f"{side}_eye_smplhf"], _COCO[f"{side}_eye"]] = 1.0
        factor[JOINT_INDEX[f"{side}_eye_smplhf"]] = 1.0
    shoulders, ears = (_COCO["left_shoulder"], _COCO["right_shoulder"]), (_COCO["left_ear"],
                                                                          _COCO["right_ear"])
    w[JOINT_INDEX["pelvis"], [_COCO["left_hip"], _COCO["right_hip"]]] = 0.5
    n, h = config.neck_to_ears, config.head_to_shoulders
    w[JOINT_INDEX["neck"], shoulders] = (1 - n) / 2
    w[JOINT_INDEX["neck"], ears] = n / 2
    w[JOINT_INDEX["head"], ears] = (1 - h) / 2
    w[JOINT_INDEX["head"], shoulders] = h / 2
    factor[[JOINT_INDEX["pelvis"], JOINT_INDEX["neck"], JOINT_INDEX["head"]]] = a
    return w, factor


def coco_to_smplx(keypoints: np.ndarray, scores: np.ndarray, config: VitPoseDetectorConfig
                  ) -> tuple[np.ndarray, np.ndarray]:
    """COCO ``keypoints (T, 17, 2)`` and ``scores (T, 17)`` → SMPL-X ``xy (T, 55, 2)``,
    ``confidence (T, 55)``."""
    scores = np.clip(np.nan_to_num(scores, nan=0.0), 0.0, 1.0)
    return map_to_smplx(keypoints, scores, *coco_mapping(config))


def _load(model_id: str, cache_dir: Path | None, model_cls: Any, processor_cls: Any,
          dtype: torch.dtype) -> tuple[Any, Any]:
    """``(model, processor)`` from a hub id or a local folder; ``hub.ModelNotFoundError``
    naming the id when it cannot be loaded."""
    source = hub.resolve(model_id, VITPOSE_LAYOUT)
    try:
        processor = processor_cls.from_pretrained(source, cache_dir=cache_dir)
        model = model_cls.from_pretrained(source, cache_dir=cache_dir, use_safetensors=True,
                                          dtype=dtype)
    except (OSError, ValueError) as exc:
        raise hub.load_error(model_id, source, exc, VITPOSE_LAYOUT) from exc
    return model.eval(), processor


class VitPoseDetector:
    """A :class:`~.base.KeypointDetector` over ViTPose (+ RT-DETR person boxes)."""

    @classmethod
    def from_model(cls, model_id: str | None = None, *, device: torch.device | str = "cpu",
                   cache_dir: Path | None = None) -> VitPoseDetector:
        """The detector over the ViTPose checkpoint ``model_id`` (None: the published default)
        with RT-DETR person boxes (the job's way in)."""
        return cls(VitPoseDetectorConfig(model_id=model_id or DEFAULT_VITPOSE_ID,
                                         cache_dir=cache_dir), device=device)

    @staticmethod
    def check(model_id: str | None = None, *, cache_dir: Path | None = None) -> str | None:
        """Pre-flight of the ViTPose checkpoint and the person detector: None (folders, or
        cached), download notes, or ``hub.ModelNotFoundError``."""
        notes = [hub.check_available(m, VITPOSE_LAYOUT, cache_dir=cache_dir)
                 for m in (model_id or DEFAULT_VITPOSE_ID, DEFAULT_PERSON_DETECTOR_ID)]
        return "; ".join(n for n in notes if n) or None

    def __init__(self, config: VitPoseDetectorConfig = VitPoseDetectorConfig(), *,
                 device: torch.device | str = "cpu", dtype: torch.dtype | None = None):
        from transformers import (
            RTDetrForObjectDetection,
            RTDetrImageProcessorPil,
            VitPoseForPoseEstimation,
            VitPoseImageProcessorPil,
        )

        self.config = config
        self.device = torch.device(device)
        self.dtype = (torch.float16 if self.device.type == "cuda" else torch.float32
                      ) if dtype is None else dtype
        self.model, self.processor = _load(config.model_id, config.cache_dir,
                                           VitPoseForPoseEstimation, VitPoseImageProcessorPil,
                                           self.dtype)
        if self.model.config.num_labels != len(COCO_KEYPOINTS):
            raise ValueError(f"{config.model_id!r} predicts {self.model.config.num_labels} "
                             "keypoints; this detector maps the 17 COCO keypoints")
        self.model.to(self.device)
        self.uses_experts = int(getattr(self.model.config.backbone_config, "num_experts", 1)) > 1
        self.box_model: Any = None
        self.box_processor: Any = None
        if config.person_detector == "rt-detr":
            self.box_model, self.box_processor = _load(
                config.detector_id, config.cache_dir, RTDetrForObjectDetection,
                RTDetrImageProcessorPil, self.dtype)
            self.box_model.to(self.device)
            labels = {str(v).lower(): int(k) for k, v in self.box_model.config.id2label.items()}
            if "person" not in labels:
                raise ValueError(f"{config.detector_id!r} has no 'person' label")
            self.person_label = labels["person"]
        self.last_ms_per_frame = float("nan")
        """Wall time of the last :meth:`detect` call per frame (milliseconds)."""

    @torch.no_grad()
    def person_boxes(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``boxes (T, 4)`` COCO ``[x, y, w, h]`` of the most confident person per frame and
        ``found (T,)``; the full frame when ``person_detector="full-frame"``."""
        t, height, width = frames.shape[:3]
        boxes = np.tile(np.array([0.0, 0.0, width, height]), (t, 1))
        if self.box_model is None:
            return boxes, np.ones(t, dtype=bool)
        found = np.zeros(t, dtype=bool)
        for start in range(0, t, self.config.batch_size):
            chunk = list(frames[start:start + self.config.batch_size])
            inputs = self.box_processor(images=chunk, return_tensors="pt")
            out = self.box_model(pixel_values=inputs["pixel_values"].to(self.device, self.dtype))
            results = self.box_processor.post_process_object_detection(
                out, threshold=self.config.detector_threshold,
                target_sizes=[(height, width)] * len(chunk))
            for k, res in enumerate(results):
                person = res["labels"] == self.person_label
                if not bool(person.any()):
                    continue
                best = int(torch.argmax(torch.where(person, res["scores"], -1.0)))
                x0, y0, x1, y1 = res["boxes"][best].float().cpu().numpy()
                x0, y0 = max(float(x0), 0.0), max(float(y0), 0.0)
                x1, y1 = min(float(x1), width), min(float(y1), height)
                if x1 > x0 and y1 > y0:
                    boxes[start + k] = (x0, y0, x1 - x0, y1 - y0)
                    found[start + k] = True
        return boxes, found

    @torch.no_grad()
    def coco_keypoints(self, frames: np.ndarray, boxes: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
        """COCO ``keypoints (T, 17, 2)`` pixels and ``scores (T, 17)`` inside ``boxes (T, 4)``."""
        t = frames.shape[0]
        keypoints = np.zeros((t, len(COCO_KEYPOINTS), 2))
        scores = np.zeros((t, len(COCO_KEYPOINTS)))
        for start in range(0, t, self.config.batch_size):
            chunk = list(frames[start:start + self.config.batch_size])
            chunk_boxes = [[list(map(float, b))] for b in boxes[start:start + len(chunk)]]
            inputs = self.processor(chunk, boxes=chunk_boxes, return_tensors="pt")
            extra = {}
            if self.uses_experts:
                extra["dataset_index"] = torch.full((len(chunk),), self.config.dataset_index,
                                                    dtype=torch.long, device=self.device)
            out = self.model(pixel_values=inputs["pixel_values"].to(self.device, self.dtype),
                             **extra)
            out.heatmaps = out.heatmaps.float()
            results = self.processor.post_process_pose_estimation(out, boxes=chunk_boxes)
            for k, res in enumerate(results):
                keypoints[start + k] = res[0]["keypoints"].cpu().numpy()
                scores[start + k] = res[0]["scores"].cpu().numpy()
        return keypoints, scores

    def detect(self, frames: np.ndarray, on_step: StepCallback | None = None) -> Detections:
        """Keypoints of the most confident person in ``frames (T, H, W, 3)`` uint8 RGB.
        ``on_step(done, total, {})`` after the person boxes (all frames at once: ``done = 0``)
        and after the keypoints (``done = total``); may raise to cancel."""
        frames = check_frames(frames)
        t, height, width = frames.shape[:3]
        begin = time.perf_counter()
        boxes, found = self.person_boxes(frames)
        if on_step is not None:
            on_step(0, t, {})
        keypoints = np.zeros((t, len(COCO_KEYPOINTS), 2))
        scores = np.zeros((t, len(COCO_KEYPOINTS)))
        if found.any():
            keypoints[found], scores[found] = self.coco_keypoints(frames[found], boxes[found])
        self.last_ms_per_frame = (time.perf_counter() - begin) * 1e3 / t
        if on_step is not None:
            on_step(t, t, {})
        log.info("ViTPose: person in %d of %d frames, %.1f ms/frame", int(found.sum()), t,
                 self.last_ms_per_frame)
        xy, conf = coco_to_smplx(keypoints, scores, self.config)
        conf[~found] = 0.0
        return Detections(xy=xy, confidence=conf, person_found=found, image_size=(width, height))
