"""The first round of stage A when the object is generated: the two fields trained together,
the object's mesh extracted (an object on the floor cut at the floor the person stands on,
``object_floor.standing_floor``), and the mesh's field placed where the object was distilled.

Progress: ``progress("object_nerf")`` (every joint SDS step; the part's name says the object
is being made) and ``progress("object_mesh")`` (one step, after the extraction).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..images import save_png
from ..nerf.field import NeRFField
from ..nerf.samplers import Sampler
from ..objects.field import ObjectField
from ..objects.mesh_io import ObjectMesh
from ..priors.base import ImagePrior
from ..progress import StageProgress
from .anchor_nerf import Occupancy, init_human_field
from .config import AnchorConfig
from .object_floor import standing_floor
from .object_gen import (
    extract_object,
    init_object_field,
    placed_object_field,
    train_anchor_with_object,
)
from .object_prompt import lifts_object
from .output import OBJECT_TURNTABLE_FILE
from .preview import turntable

log = logging.getLogger(__name__)

@dataclass(frozen=True, eq=False)
class GeneratedObject:
    """What the generating round hands on."""

    human: NeRFField
    """The human field after the round."""
    free_field: NeRFField
    """The object's free field (what was distilled)."""
    mesh: ObjectMesh
    """The extracted mesh in its object frame (bbox centred in x and z, bottom at y = 0)."""
    field: ObjectField
    """The mesh's field, placed where the object was distilled (what stage B and later rounds
    use, like a user's mesh)."""
    object_prompt: str
    """The object's words."""
    seconds: float
    """Time of the round (training and extraction)."""


def generate_object_round(*, prompt: str, object_prompt: str, prior: ImagePrior,
                          human_prior: ImagePrior | None, object_prior: ImagePrior | None,
                          centre_xz: tuple[float, float], ground_y: float,
                          body_occupancy: Occupancy, config: AnchorConfig, sampler: Sampler,
                          generator: torch.Generator, progress: StageProgress | None,
                          device: torch.device | str = "cpu") -> GeneratedObject:
    """Round 0 of stage A with a generated object (module docstring)."""
    started = time.perf_counter()
    cfg, ocfg = config.nerf, config.object
    region = ocfg.region.box(centre_xz=centre_xz, ground_y=ground_y, scene=cfg.box)
    human = init_human_field(cfg, body_occupancy, generator, device=device)
    blob_y = ground_y + ocfg.blob.radius[1]
    obj = init_object_field(ocfg, region, cfg, generator=generator, device=device,
                            dtype=torch.float32,
                            blob_centre=(centre_xz[0], blob_y, centre_xz[1] + ocfg.blob.distance))
    on_floor = ocfg.on_floor if ocfg.on_floor is not None else not lifts_object(prompt)
    log.info("generating the object %r (on the floor: %s) in %s", object_prompt, on_floor,
             region)
    trained = train_anchor_with_object(
        prompt=prompt, object_prompt=object_prompt, prior=prior, human_prior=human_prior,
        object_prior=object_prior, human=human, obj=obj, region=region,
        body_occupancy=body_occupancy, ground_y=ground_y, on_floor=on_floor, nerf=cfg,
        config=ocfg, sampler=sampler, generator=generator,
        on_step=None if progress is None else progress("object_nerf"), device=device)
    floor = None
    if on_floor:
        bounds = region.aabb(dtype=torch.float64).numpy().reshape(2, 3)
        band = (float(bounds[0, 1]), ground_y + ocfg.losses.floor_slab)
        floor = standing_floor(trained.human.density, bounds, band, ocfg.floor_probe,
                               device=device)
        log.info("the person stands on a floor at y = %s (the initial soles at %.3f)",
                 "none in reach" if floor is None else f"{floor:.3f}", ground_y)
    mesh, shift = extract_object(trained.obj, region, ocfg, person=trained.human.density,
                                 on_floor=on_floor, floor=floor, device=device)
    field = placed_object_field(mesh, shift, ocfg.mesh_field, device=device)
    if progress is not None:
        progress("object_mesh")(1, 1, {"faces": float(len(mesh.faces))})
    return GeneratedObject(human=trained.human, free_field=trained.obj, mesh=mesh, field=field,
                           object_prompt=object_prompt, seconds=time.perf_counter() - started)


def write_object_preview(out_dir: Path, obj: ObjectField, config: AnchorConfig) -> Path:
    """``object_turntable.png``: the placed object alone, six views framing it."""
    lo, hi = obj.mesh.vertices.min(0), obj.mesh.vertices.max(0)
    with torch.no_grad():
        placement = obj.placement_matrix().detach().cpu().double().numpy()
    centre = placement[:3, :3] @ ((lo + hi) / 2) + placement[:3, 3]
    size = float(np.linalg.norm(hi - lo)) * float(np.cbrt(np.linalg.det(placement[:3, :3])))
    with torch.no_grad():
        image = turntable([obj], box=config.nerf.box, views=6, size=config.preview_size,
                          target=(float(centre[0]), float(centre[1]), float(centre[2])),
                          radius=max(0.6, 1.6 * size), num_samples=config.nerf.sampler.num_samples)
    path = out_dir / OBJECT_TURNTABLE_FILE
    save_png(path, image)
    return path
