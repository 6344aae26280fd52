"""``MediaPipePoseDetector``: BlazePose (MediaPipe's legacy ``solutions.pose``) on the CPU.

Why ``mediapipe==0.10.21`` exactly: it is the last release whose wheel carries the pose models
(``pose_detection.tflite`` and ``pose_landmark_full.tflite``) and the legacy ``mp.solutions``
API; 0.10.30 and later (1.x included) ship neither, and fetch models at run time. So the
detector works offline, but only with ``model_complexity=1`` (the "full" landmark model): the
lite (0) and heavy (2) models are not in the wheel and MediaPipe would try to download them
(printing to stdout, which belongs to our process protocol) — they are refused unless their
``.tflite`` file has been placed in the package by hand.

Videos run in tracking mode (``static_image_mode=False``: the landmarks of one frame seed the
next, with MediaPipe's temporal smoothing); a single image runs in static mode. Landmark
coordinates are normalised by the image size with pixel *edges* on integers; they are turned
into this project's pixel convention (centres on integers) by ``u = x·W − ½``, ``v = y·H − ½``.

MediaPipe's left/right are the *person's* (on a person facing the camera, ``LEFT_SHOULDER``
lies on the image's right), as are SMPL-X's; so left maps to left.

Mapping of BlazePose's 33 landmarks (index in parentheses) onto SMPL-X joints. Every SMPL-X
joint is a fixed linear combination of landmarks; its confidence is the smallest visibility of
the landmarks used, times the factor in the last column (``a`` = ``approx_confidence``):

=================================  ==============================================  ========
SMPL-X joint                       BlazePose landmarks                             factor
=================================  ==============================================  ========
pelvis                             mid-hip ½(L_HIP 23 + R_HIP 24) — SMPL-X's       a
                                   pelvis sits a little above the hip line
left_hip / right_hip               LEFT_HIP 23 / RIGHT_HIP 24                      1
left_knee / right_knee             LEFT_KNEE 25 / RIGHT_KNEE 26                    1
left_ankle / right_ankle           LEFT_ANKLE 27 / RIGHT_ANKLE 28                  1
left_foot / right_foot             heel + f·(foot index − heel), HEEL 29/30,       a
                                   FOOT_INDEX 31/32, ``f = foot_heel_to_toe``
                                   (SMPL-X's foot joint is the ball of the foot,
                                   ~70 % of the way from heel to toe tip)
neck                               mid-shoulder + n·(mid-ear − mid-shoulder),      a
                                   SHOULDER 11/12, EAR 7/8, ``n = neck_to_ears``
                                   (the neck base lies above the shoulder line)
head                               mid-ear + h·(mid-shoulder − mid-ear),           a
                                   ``h = head_to_shoulders`` (SMPL-X's head joint
                                   is the skull base, below and behind the ears)
left_eye_smplhf / right_eye_smplhf LEFT_EYE 2 / RIGHT_EYE 5                        1
left_shoulder / right_shoulder     LEFT_SHOULDER 11 / RIGHT_SHOULDER 12            1
left_elbow / right_elbow           LEFT_ELBOW 13 / RIGHT_ELBOW 14                  1
left_wrist / right_wrist           LEFT_WRIST 15 / RIGHT_WRIST 16                  1
left_index1 / right_index1         LEFT_INDEX 19 / RIGHT_INDEX 20 (index knuckle)  a
left_pinky1 / right_pinky1         LEFT_PINKY 17 / RIGHT_PINKY 18 (pinky knuckle)  a
left_thumb2 / right_thumb2         LEFT_THUMB 21 / RIGHT_THUMB 22                  a
spine1–3, collars, jaw, the other  —  (no landmark: confidence 0)                  0
finger joints
=================================  ==============================================  ========

The nose (0), inner/outer eye corners, mouth corners and the ear landmarks themselves have no
SMPL-X joint of their own; the ears only feed the neck and head. BlazePose's hand landmarks are
coarse, hence the reduced confidence.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..config_checks import check_choices
from ..hub import ModelNotFoundError
from ..portable.skeleton import NUM_JOINTS
from ..progress import StepCallback
from .base import JOINT_INDEX, Detections, check_frames, map_to_smplx

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

MEDIAPIPE_VERSION = "0.10.21"
NUM_LANDMARKS = 33
# BlazePose landmark indices (mediapipe.solutions.pose.PoseLandmark), named here so this module
# does not need mediapipe to be importable.
NOSE, L_EYE, R_EYE, L_EAR, R_EAR = 0, 2, 5, 7, 8
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 11, 12, 13, 14, 15, 16
L_PINKY, R_PINKY, L_INDEX, R_INDEX, L_THUMB, R_THUMB = 17, 18, 19, 20, 21, 22
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 23, 24, 25, 26, 27, 28
L_HEEL, R_HEEL, L_FOOT_INDEX, R_FOOT_INDEX = 29, 30, 31, 32

_LANDMARK_MODELS = {0: "pose_landmark_lite.tflite", 1: "pose_landmark_full.tflite",
                    2: "pose_landmark_heavy.tflite"}


@dataclass(frozen=True, kw_only=True)
class MediaPipePoseConfig:
    """How BlazePose runs and how its landmarks become SMPL-X joints."""

    model_complexity: Literal[0, 1, 2] = 1
    """Landmark model: only 1 ("full") ships in the mediapipe 0.10.21 wheel; 0 and 2 are
    refused unless their ``.tflite`` file is present (MediaPipe would download them)."""
    mode: Literal["auto", "video", "image"] = "auto"
    """``video``: tracking across frames; ``image``: every frame alone; ``auto``: video for
    T > 1 frames, image for a single frame."""
    min_detection_confidence: float = 0.5
    """MediaPipe's person-detector threshold."""
    min_tracking_confidence: float = 0.5
    """Below this landmark confidence, tracking mode re-runs the person detector."""
    smooth_landmarks: bool = True
    """MediaPipe's temporal landmark filter (video mode only)."""
    approx_confidence: float = 0.5
    """Factor on the confidence of joints that are approximations of the SMPL-X joint
    (pelvis, neck, head, feet, hand knuckles) rather than the same anatomical point."""
    foot_heel_to_toe: float = 0.7
    """Where SMPL-X's foot joint lies between the heel (0) and the toe tip (1)."""
    neck_to_ears: float = 0.2
    """Neck = mid-shoulder moved this fraction of the way towards mid-ear."""
    head_to_shoulders: float = 0.2
    """Head = mid-ear moved this fraction of the way towards mid-shoulder."""

    def __post_init__(self) -> None:
        check_choices(self)
        for name in ("min_detection_confidence", "min_tracking_confidence", "approx_confidence",
                     "foot_heel_to_toe", "neck_to_ears", "head_to_shoulders"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"MediaPipePoseConfig.{name} must be in [0, 1], "
                                 f"got {getattr(self, name)}")


def mapping_matrices(config: MediaPipePoseConfig) -> tuple[np.ndarray, np.ndarray]:
    """``weights (55, 33)`` and ``factor (55,)``: SMPL-X joint ``j`` sits at
    ``Σ_i weights[j, i] · landmark_i`` with confidence ``factor[j] · min_{i: w≠0} visibility_i``
    (the table in the module docstring)."""
    w = np.zeros((NUM_JOINTS, NUM_LANDMARKS))
    factor = np.zeros(NUM_JOINTS)
    a = config.approx_confidence

    def put(joint: str, sources: dict[int, float], f: float) -> None:
        j = JOINT_INDEX[joint]
        for i, weight in sources.items():
            w[j, i] += weight
        factor[j] = f

    for side, (hip, knee, ankle, heel, toe, sh, el, wr, pinky, index, thumb, eye) in {
        "left": (L_HIP, L_KNEE, L_ANKLE, L_HEEL, L_FOOT_INDEX, L_SHOULDER, L_ELBOW, L_WRIST,
                 L_PINKY, L_INDEX, L_THUMB, L_EYE),
        "right": (R_HIP, R_KNEE, R_ANKLE, R_HEEL, R_FOOT_INDEX, R_SHOULDER, R_ELBOW, R_WRIST,
                  R_PINKY, R_INDEX, R_THUMB, R_EYE),
    }.items():
        for joint, lm in (("hip", hip), ("knee", knee), ("ankle", ankle), ("shoulder", sh),
                          ("elbow", el), ("wrist", wr)):
            put(f"{side}_{joint}", {lm: 1.0}, 1.0)
        put(f"{side}_eye_smplhf", {eye: 1.0}, 1.0)
        f = config.foot_heel_to_toe
        put(f"{side}_foot", {heel: 1.0 - f, toe: f}, a)
        put(f"{side}_index1", {index: 1.0}, a)
        put(f"{side}_pinky1", {pinky: 1.0}, a)
        put(f"{side}_thumb2", {thumb: 1.0}, a)
    put("pelvis", {L_HIP: 0.5, R_HIP: 0.5}, a)
    n, h = config.neck_to_ears, config.head_to_shoulders
    put("neck", {L_SHOULDER: (1 - n) / 2, R_SHOULDER: (1 - n) / 2, L_EAR: n / 2, R_EAR: n / 2}, a)
    put("head", {L_EAR: (1 - h) / 2, R_EAR: (1 - h) / 2, L_SHOULDER: h / 2, R_SHOULDER: h / 2}, a)
    return w, factor


def landmarks_to_smplx(landmarks: np.ndarray, visibility: np.ndarray,
                       config: MediaPipePoseConfig) -> tuple[np.ndarray, np.ndarray]:
    """BlazePose ``landmarks (T, 33, 2)`` pixels and ``visibility (T, 33)`` → SMPL-X
    ``xy (T, 55, 2)`` and ``confidence (T, 55)``."""
    return map_to_smplx(landmarks, visibility, *mapping_matrices(config))


INSTALL_REMEDY = (f"Install the backend with its keypoints extra: pip install "
                  f"'anchorhoi[keypoints]' (mediapipe=={MEDIAPIPE_VERSION}, the last release "
                  "that ships its pose models).")


def _import_mediapipe():
    try:
        import mediapipe as mp
        from mediapipe.python.solutions import pose as mp_pose
    except ImportError as exc:
        raise ImportError(
            f"The MediaPipe keypoint detector needs mediapipe=={MEDIAPIPE_VERSION} (the last "
            f"release that ships its pose models): pip install mediapipe=={MEDIAPIPE_VERSION} "
            f"({exc})") from exc
    version = getattr(mp, "__version__", "?")
    if version != MEDIAPIPE_VERSION:
        log.warning("mediapipe %s is installed; the detector is tested with %s (later releases "
                    "ship no pose models and no solutions API)", version, MEDIAPIPE_VERSION)
    return mp, mp_pose


class MediaPipePoseDetector:
    """A :class:`~.base.KeypointDetector` over MediaPipe BlazePose (CPU, offline)."""

    @classmethod
    def from_model(cls, model_id: str | None = None, *, device: torch.device | str = "cpu",
                   cache_dir: Path | None = None) -> MediaPipePoseDetector:
        """The detector with its bundled model (the job's way in; ``model_id`` must be None:
        the models ship inside the wheel; it runs on the CPU whatever ``device`` says)."""
        _no_model_id(model_id)
        return cls()

    @staticmethod
    def check(model_id: str | None = None, *, cache_dir: Path | None = None) -> str | None:
        """Pre-flight: None when mediapipe imports, else ``ModelNotFoundError`` saying how to
        install it."""
        _no_model_id(model_id)
        try:
            import mediapipe  # noqa: F401
        except ImportError as exc:
            raise ModelNotFoundError("mediapipe", f"the MediaPipe pose detector is not installed "
                                     f"({exc})", remedy=INSTALL_REMEDY) from None
        return None

    def __init__(self, config: MediaPipePoseConfig = MediaPipePoseConfig()):
        self.config = config
        self._mp, self._mp_pose = _import_mediapipe()
        model = (Path(self._mp.__file__).parent / "modules" / "pose_landmark"
                 / _LANDMARK_MODELS[config.model_complexity])
        if not model.is_file():
            raise ValueError(
                f"MediaPipe model_complexity={config.model_complexity} needs {model.name}, which "
                f"mediapipe {MEDIAPIPE_VERSION} does not ship (it would be downloaded at run "
                "time); use model_complexity=1")
        self.last_ms_per_frame = float("nan")
        """Wall time of the last :meth:`detect` call per frame (milliseconds)."""

    def detect(self, frames: np.ndarray, on_step: StepCallback | None = None) -> Detections:
        """Keypoints of the person in ``frames (T, H, W, 3)`` uint8 RGB (see the module doc).
        ``on_step(done, total, {})`` after each frame (may raise to cancel)."""
        frames = check_frames(frames)
        t, height, width = frames.shape[:3]
        cfg = self.config
        static = cfg.mode == "image" or (cfg.mode == "auto" and t == 1)
        landmarks = np.zeros((t, NUM_LANDMARKS, 2))
        visibility = np.zeros((t, NUM_LANDMARKS))
        found = np.zeros(t, dtype=bool)
        start = time.perf_counter()
        with self._mp_pose.Pose(static_image_mode=static, model_complexity=cfg.model_complexity,
                                smooth_landmarks=cfg.smooth_landmarks, enable_segmentation=False,
                                min_detection_confidence=cfg.min_detection_confidence,
                                min_tracking_confidence=cfg.min_tracking_confidence) as pose:
            for k in range(t):
                result = pose.process(frames[k])
                if result.pose_landmarks is not None:
                    found[k] = True
                    lms = result.pose_landmarks.landmark
                    landmarks[k] = [(p.x * width - 0.5, p.y * height - 0.5) for p in lms]
                    visibility[k] = [p.visibility for p in lms]
                if on_step is not None:
                    on_step(k + 1, t, {})
        self.last_ms_per_frame = (time.perf_counter() - start) * 1e3 / t
        log.info("MediaPipe pose: person in %d of %d frames (%s mode), %.1f ms/frame",
                 int(found.sum()), t, "static" if static else "tracking", self.last_ms_per_frame)
        xy, conf = landmarks_to_smplx(landmarks, np.clip(visibility, 0.0, 1.0), cfg)
        conf[~found] = 0.0
        return Detections(xy=xy, confidence=conf, person_found=found, image_size=(width, height))


def _no_model_id(model_id: str | None) -> None:
    if model_id is not None:
        raise ValueError(f"the MediaPipe detector loads no model by id (got {model_id!r}); its "
                         "pose models ship inside the mediapipe wheel")
