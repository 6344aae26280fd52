"""2D keypoint detectors (behind ``KeypointDetector``) and stage D, the anchor keypoints.

``KEYPOINT_DETECTORS`` (:mod:`.registry`) is the explicit registry of detector classes; nothing
registers itself on import, and neither mediapipe nor a transformers model is loaded until a
detector is built.
"""

from .anchor_keypoints import AnchorKeypointsConfig, anchor_keypoints
from .base import Detections, KeypointDetector, NoPersonFoundError
from .mediapipe_pose import MediaPipePoseConfig, MediaPipePoseDetector
from .output import AnchorKeypoints, AnchorKeypointsStats
from .overlay import save_overlay
from .registry import (
                       DEFAULT_DETECTOR,
                       KEYPOINT_DETECTORS,
                       check_detector,
                       detector_family,
                       make_detector,
)
from .vitpose import VitPoseDetector, VitPoseDetectorConfig

__all__ = [
    "DEFAULT_DETECTOR",
    "KEYPOINT_DETECTORS",
    "AnchorKeypoints",
    "AnchorKeypointsConfig",
    "AnchorKeypointsStats",
    "Detections",
    "KeypointDetector",
    "MediaPipePoseConfig",
    "MediaPipePoseDetector",
    "NoPersonFoundError",
    "VitPoseDetector",
    "VitPoseDetectorConfig",
    "anchor_keypoints",
    "check_detector",
    "detector_family",
    "make_detector",
    "save_overlay",
]
