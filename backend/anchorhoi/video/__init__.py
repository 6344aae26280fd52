"""Video diffusion priors (stage C), behind the ``VideoPrior`` interface, and the stage C runner.

``VIDEO_PRIORS`` (:mod:`.registry`) is the explicit registry of implementations; nothing
registers itself on import. Tiny random models for tests and the ``tiny`` preset are built by
:mod:`.tiny`.
"""

from .base import Video, VideoPrior, VideoSampling
from .frames import FramePlan, plan_frames, resample_frames
from .ltx import DEFAULT_LTX_MODEL_ID, LTXVideoPrior, LTXVideoPriorConfig
from .output import VideoFiles, VideoOutput, load_video, save_video
from .registry import VIDEO_PRIORS, check_video_model, make_video_prior, video_family
from .wan import DEFAULT_WAN_MODEL_ID, WanVideoPrior, WanVideoPriorConfig

__all__ = [
    "DEFAULT_LTX_MODEL_ID",
    "DEFAULT_WAN_MODEL_ID",
    "VIDEO_PRIORS",
    "FramePlan",
    "LTXVideoPrior",
    "LTXVideoPriorConfig",
    "Video",
    "VideoFiles",
    "VideoOutput",
    "VideoPrior",
    "VideoSampling",
    "WanVideoPrior",
    "WanVideoPriorConfig",
    "check_video_model",
    "load_video",
    "make_video_prior",
    "plan_frames",
    "resample_frames",
    "save_video",
    "video_family",
]
