"""Image diffusion priors for score distillation (stage A), behind the ``ImagePrior`` interface.

``IMAGE_PRIORS`` is the explicit registry of implementations; nothing registers itself on import.
"""

from .base import ImagePrior, ModelNotFoundError, SDSOutput, TimestepRamp, ViewBatch
from .oracle import OracleImagePrior, OracleImagePriorConfig
from .stable_diffusion import (DEFAULT_MODEL_ID, StableDiffusionPrior, StableDiffusionPriorConfig,
                               default_dtype)

IMAGE_PRIORS: dict[str, type] = {
    "stable-diffusion": StableDiffusionPrior,
    "oracle": OracleImagePrior,
}

__all__ = [
    "DEFAULT_MODEL_ID",
    "IMAGE_PRIORS",
    "ImagePrior",
    "ModelNotFoundError",
    "OracleImagePrior",
    "OracleImagePriorConfig",
    "SDSOutput",
    "StableDiffusionPrior",
    "StableDiffusionPriorConfig",
    "TimestepRamp",
    "ViewBatch",
    "default_dtype",
]
