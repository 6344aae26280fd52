"""Image diffusion priors for score distillation (stage A), behind the ``ImagePrior`` interface.

``IMAGE_PRIORS`` (:mod:`.registry`) is the explicit registry of the priors that load from a
model id; nothing registers itself on import. The oracle prior is built from a known scene.
"""

from .base import ImagePrior, SDSOutput, TimestepRamp, ViewBatch
from .oracle import OracleImagePrior, OracleImagePriorConfig
from .registry import IMAGE_PRIORS, check_image_model, make_image_prior
from .stable_diffusion import (
                               DEFAULT_MODEL_ID,
                               StableDiffusionPrior,
                               StableDiffusionPriorConfig,
                               default_dtype,
)

__all__ = [
    "DEFAULT_MODEL_ID",
    "IMAGE_PRIORS",
    "ImagePrior",
    "OracleImagePrior",
    "OracleImagePriorConfig",
    "SDSOutput",
    "StableDiffusionPrior",
    "StableDiffusionPriorConfig",
    "TimestepRamp",
    "ViewBatch",
    "check_image_model",
    "default_dtype",
    "make_image_prior",
]
