"""The anchor NeRF's machinery: cameras, the hash-grid field, samplers and the renderer.

Conventions: world frame of the body model (Y up, the body faces +Z, metres), the scene inside
an axis-aligned ``SceneBox``, OpenCV cameras (x right, y down, z forward; world → camera
``R, t``; intrinsics ``K``). The dense sampler runs everywhere; nerfacc's occupancy grid is used
on CUDA when its CUDA ops load (``make_sampler``), and both give the same image.
"""

from .cameras import (
    Cameras,
    SceneBox,
    from_json,
    intrinsics,
    look_at,
    orbit_cameras,
    pixel_rays,
    project,
    rays,
    to_json,
    world_to_camera,
)
from .encoding import HashGridConfig, HashGridEncoding
from .field import Field, FieldOutput, NeRFField, NeRFFieldConfig, density_normals
from .renderer import ImageOutput, RenderOutput, composite_fields, render_image, render_rays
from .samplers import (
    DenseSamplerConfig,
    DenseStratifiedSampler,
    OccupancyGridConfig,
    OccupancyGridSampler,
    RaySamples,
    Sampler,
    SamplerConfig,
    make_sampler,
    packed_to_dense,
    ray_aabb,
)

__all__ = [
    "Cameras",
    "DenseSamplerConfig",
    "DenseStratifiedSampler",
    "Field",
    "FieldOutput",
    "HashGridConfig",
    "HashGridEncoding",
    "ImageOutput",
    "NeRFField",
    "NeRFFieldConfig",
    "OccupancyGridConfig",
    "OccupancyGridSampler",
    "RaySamples",
    "RenderOutput",
    "Sampler",
    "SamplerConfig",
    "SceneBox",
    "composite_fields",
    "density_normals",
    "from_json",
    "intrinsics",
    "look_at",
    "make_sampler",
    "orbit_cameras",
    "packed_to_dense",
    "pixel_rays",
    "project",
    "ray_aabb",
    "rays",
    "render_image",
    "render_rays",
    "to_json",
    "world_to_camera",
]
