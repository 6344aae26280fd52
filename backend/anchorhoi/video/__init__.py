"""Video diffusion priors (stage C), behind the ``VideoPrior`` interface.

``VIDEO_PRIORS`` is the explicit registry of implementations; nothing registers itself on import.
Tiny random models for tests and the ``tiny`` preset are built by :mod:`.tiny`.
"""

from .base import (StepCallback, Video, VideoFiles, VideoPrior, load_video, save_video)
from .frames import FramePlan, plan_frames, resample_frames
from .ltx import DEFAULT_LTX_MODEL_ID, LTXVideoPrior, LTXVideoPriorConfig
from .wan import DEFAULT_WAN_MODEL_ID, WanVideoPrior, WanVideoPriorConfig

VIDEO_PRIORS: dict[str, type] = {
    "wan": WanVideoPrior,
    "ltx": LTXVideoPrior,
}

__all__ = [
    "DEFAULT_LTX_MODEL_ID",
    "DEFAULT_WAN_MODEL_ID",
    "FramePlan",
    "LTXVideoPrior",
    "LTXVideoPriorConfig",
    "StepCallback",
    "VIDEO_PRIORS",
    "Video",
    "VideoFiles",
    "VideoPrior",
    "WanVideoPrior",
    "WanVideoPriorConfig",
    "load_video",
    "plan_frames",
    "resample_frames",
    "save_video",
]
