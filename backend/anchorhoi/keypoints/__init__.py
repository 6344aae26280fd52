"""2D keypoint detectors (behind ``KeypointDetector``) and stage D, the anchor keypoints.

``KEYPOINT_DETECTORS`` is the explicit registry of detector classes; nothing registers itself
on import, and neither mediapipe nor a transformers model is loaded until a detector is built.
"""

from .anchor_keypoints import (AnchorKeypoints, AnchorKeypointsConfig, AnchorKeypointsStats,
                               anchor_keypoints, save_keypoints, save_overlay)
from .base import (Detections, KeypointDetector, KeypointModelNotFoundError,
                   NoPersonFoundError)
from .mediapipe_pose import MediaPipePoseConfig, MediaPipePoseDetector
from .vitpose import VitPoseDetector, VitPoseDetectorConfig

KEYPOINT_DETECTORS: dict[str, type] = {
    "mediapipe": MediaPipePoseDetector,
    "vitpose": VitPoseDetector,
}

__all__ = [
    "KEYPOINT_DETECTORS",
    "AnchorKeypoints",
    "AnchorKeypointsConfig",
    "AnchorKeypointsStats",
    "Detections",
    "KeypointDetector",
    "KeypointModelNotFoundError",
    "MediaPipePoseConfig",
    "MediaPipePoseDetector",
    "NoPersonFoundError",
    "VitPoseDetectorConfig",
    "VitPoseDetector",
    "anchor_keypoints",
    "save_keypoints",
    "save_overlay",
]
