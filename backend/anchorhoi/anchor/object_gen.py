"""Generating the object in stage A: the human field and a free object field trained together,
then the object's mesh.

``train_anchor_with_object`` is the first round of stage A when the user gives no mesh. Each
step renders the composite (human + object) and the human alone from the anchor's orbit
cameras, and the object alone from cameras aimed at it (``object_field.object_views``), and
adds, each ``lambda_<name> · loss_<name>``:

- ``sds``, ``sds_human``: as in ``anchor_nerf.train_anchor_nerf`` (the interaction prompt on
  the composite, the human prompt on the human alone);
- ``sds_object``: SDS of the object-only render on the object prompt;
- ``sparsity``, ``body_drift``: the human field's terms of ``train_anchor_nerf``;
- ``inside_object``: human occupancy where the object is occupied (object detached);
- ``object_in_person``: object occupancy where the human field is occupied (human detached):
  the person's occupancy keeps the object out of it;
- ``sparsity_object``: mean opacity of the object-only render;
- ``floor``: 1 − the highest object occupancy in a slab about the floor under the object's
  footprint (the object rests on the floor, a few centimetres above or below the initial
  body's soles: ``ObjectRegion.below_soles``), unless the prompt lifts it;
- ``compact``: occupancy-weighted mean squared distance from the object's centroid.

``extract_object`` turns the trained field into a mesh (``objects.extract.extract_mesh``:
marching cubes, the largest piece, closed, simplified to the budget, vertex colours) and moves
it into the object frame (bounding box centred in x and z, bottom at y = 0) with the placement
that puts it back where it was distilled; ``placed_object_field`` makes the field of that mesh
that the later rounds and stage B use, exactly as for a user's mesh.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..nerf.cameras import Cameras, SceneBox
from ..nerf.field import NeRFField
from ..nerf.renderer import composite_density, render_image
from ..nerf.samplers import DenseSamplerConfig, DenseStratifiedSampler, Sampler
from ..objects.extract import EMPTY_FIELD_HINT, ExtractConfig, NoSurfaceError, extract_mesh
from ..objects.field import ObjectField, ObjectFieldConfig
from ..objects.inside import SdfGrid
from ..objects.mesh_io import ObjectMesh, Similarity
from ..objects.solid import (
    enclosed_cells,
    half_max,
    opaque_silhouettes,
    peel_to_half_max,
    silhouette_level,
)
from ..priors.base import ImagePrior
from ..progress import LossReadout, StepCallback
from .anchor_nerf import (
    AnchorNeRFConfig,
    Occupancy,
    box_points,
    fit_field_to_occupancy,
    near_surface_points,
    occupancy_of,
    sample_views,
)
from .anchor_points import DensityFn, relative_threshold
from .object_field import (
    ObjectFocus,
    ObjectGenConfig,
    blob_occupancy,
    focus_box,
    measure_focus,
    new_object_field,
    object_views,
    region_focus,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ObjectGenResult:
    human: NeRFField
    """The human field after the round."""
    obj: NeRFField
    """The object's free field."""
    region: SceneBox
    """The object region (the object field's box)."""
    losses: dict[str, float]
    """The last step's figures."""


def init_object_field(config: ObjectGenConfig, region: SceneBox, nerf: AnchorNeRFConfig, *,
                      blob_centre: tuple[float, float, float], generator: torch.Generator,
                      device: torch.device | str, dtype: torch.dtype) -> NeRFField:
    """A new object field over ``region`` fitted to ``config.blob`` at ``blob_centre``."""
    obj = new_object_field(config.object_field, region, generator, device=device, dtype=dtype)
    blob = blob_occupancy(config.blob, torch.tensor(blob_centre, device=device, dtype=dtype))
    fit_cfg = dataclasses.replace(nerf, box=region, init_iterations=config.blob.iterations,
                                  lr_field=config.blob.lr)
    obj.density_gain = config.density_gain(0.0)  # the blob at the training's first scale
    fit_field_to_occupancy(obj, blob, fit_cfg, generator, albedo=config.blob.albedo)
    return obj


def train_anchor_with_object(*, prompt: str, object_prompt: str, prior: ImagePrior,
                             human_prior: ImagePrior | None = None,
                             object_prior: ImagePrior | None = None, human: NeRFField,
                             obj: NeRFField, region: SceneBox, body_occupancy: Occupancy,
                             ground_y: float, on_floor: bool, nerf: AnchorNeRFConfig,
                             config: ObjectGenConfig, sampler: Sampler,
                             generator: torch.Generator, on_step: StepCallback | None = None,
                             device: torch.device | str = "cpu",
                             dtype: torch.dtype = torch.float32) -> ObjectGenResult:
    """Train ``human`` and ``obj`` together for ``config.iterations`` steps (module docstring).

    ``human_prior`` and ``object_prior`` default to ``prior``. ``on_step(step, total, losses)``
    is called after every step and may raise to stop.
    """
    human_prior = human_prior or prior
    object_prior = object_prior or prior
    human_prompt = nerf.human_prompt.replace("{prompt}", prompt)
    obj_prompt = config.prompt_template.replace("{object}", object_prompt)
    w = config.losses
    weights = {"sds": nerf.lambda_sds, "sds_human": nerf.lambda_sds_human,
               "sparsity": nerf.lambda_sparsity, "body_drift": nerf.lambda_body_drift,
               "inside_object": nerf.lambda_inside_object,
               "sds_object": w.lambda_sds_object, "object_in_person": w.lambda_object_in_person,
               "sparsity_object": w.lambda_sparsity_object,
               "floor": w.lambda_floor if on_floor else 0.0, "compact": w.lambda_compact}
    opt = torch.optim.Adam([{"params": list(human.parameters()), "lr": nerf.lr_field},
                            {"params": list(obj.parameters()), "lr": config.lr_field}])
    background = torch.tensor(nerf.background, device=device, dtype=dtype)
    readout = LossReadout(on_step, config.iterations, nerf.sync_every)
    scene_density = composite_density([human, obj])
    focus: ObjectFocus | None = None
    for step in range(config.iterations):
        progress = step / max(config.iterations - 1, 1)
        obj.density_gain = config.density_gain(progress)
        if step % config.views.refocus_every == 0:
            focus = (region_focus(region) if progress < config.views.wide_until else
                     measure_focus(obj, region, config.views, nerf.occupancy_step, focus))
            obj_sampler = DenseStratifiedSampler(  # the samples where the object can be seen
                DenseSamplerConfig(num_samples=config.views.num_samples),
                box=focus_box(focus, region, config.views.margin))
        assert focus is not None  # measured at step 0
        views = sample_views(nerf, generator, device=device, dtype=dtype)
        o_views = object_views(focus, config.views, generator, nerf.views_per_step,
                               device=device, dtype=dtype)
        if nerf.random_background:
            background = torch.rand(3, generator=generator, device=device, dtype=dtype)
            views = dataclasses.replace(views, background=background)
            o_views = dataclasses.replace(o_views, background=background)
        cams, o_cams = views.cameras, o_views.cameras
        assert isinstance(cams, Cameras) and isinstance(o_cams, Cameras)
        sampler.update(step, scene_density)
        comp = render_image([human, obj], cams, sampler, background=background,
                            generator=generator)
        alone = render_image([human], cams, sampler, background=background, generator=generator)
        o_alone = render_image([obj], o_cams, obj_sampler, background=background,
                               generator=generator)
        terms: dict[str, torch.Tensor] = {}
        for name, p, render, text, v in (
                ("sds", prior, comp, prompt, views),
                ("sds_human", human_prior, alone, human_prompt, views),
                ("sds_object", object_prior, o_alone, obj_prompt, o_views)):
            terms[name] = p.sds_loss(render.rgb.permute(0, 3, 1, 2), prompt=text, views=v,
                                     progress=progress, generator=generator).loss
        terms["sparsity"] = alone.opacity.mean()
        terms["sparsity_object"] = o_alone.opacity.mean()
        terms.update(_occupancy_terms(human, obj, region, body_occupancy, focus, ground_y,
                                      nerf, config, generator))
        loss = torch.stack([weights[k] * v for k, v in terms.items()
                            if weights[k] != 0.0]).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        readout.step(step + 1, {**terms, "total": loss})
    obj.density_gain = 1.0  # the trained field at its full scale from here on
    return ObjectGenResult(human=human, obj=obj, region=region, losses=readout.values)


def _occupancy_terms(human: NeRFField, obj: NeRFField, region: SceneBox,
                     body_occupancy: Occupancy, focus: ObjectFocus, ground_y: float,
                     nerf: AnchorNeRFConfig, config: ObjectGenConfig,
                     generator: torch.Generator) -> dict[str, torch.Tensor]:
    """The point-sampled terms: body drift, the two overlaps, floor contact, compactness."""
    p = next(human.parameters())
    like = dict(device=p.device, dtype=p.dtype)
    n = nerf.drift_points
    x = near_surface_points(body_occupancy, nerf.box, n, generator, **like)
    occ_h = occupancy_of(human.density(x), nerf.occupancy_step)
    with torch.no_grad():
        target = body_occupancy(x)
    terms = {"body_drift": ((occ_h - target) ** 2).mean()}
    # the overlap of the two fields, on points of the object region
    y = box_points(region, n, generator, **like)
    occ_o = occupancy_of(obj.density(y), nerf.occupancy_step)
    occ_hy = occupancy_of(human.density(y), nerf.occupancy_step)
    terms["inside_object"] = (occ_hy * occ_o.detach()).sum() / occ_o.detach().sum().clamp_min(1)
    terms["object_in_person"] = (occ_o * occ_hy.detach()).sum() \
        / occ_hy.detach().sum().clamp_min(1)
    mass = occ_o.sum().clamp_min(1e-6)
    centroid = ((occ_o[:, None] * y).sum(0) / mass).detach()
    terms["compact"] = (occ_o * ((y - centroid) ** 2).sum(-1)).sum() / mass
    s = box_points(floor_slab(focus, ground_y, config), max(n // 4, 64), generator, **like)
    terms["floor"] = 1 - occupancy_of(obj.density(s), nerf.occupancy_step).max()
    return terms


def floor_slab(focus: ObjectFocus, ground_y: float, config: ObjectGenConfig) -> SceneBox:
    """Where the floor term looks for the object: under its footprint (at least 4 cm across),
    from the region's bottom (``ObjectRegion.below_soles`` under the initial soles at
    ``ground_y``) to ``ObjectLosses.floor_slab`` above them."""
    x0, z0, x1, z1 = focus.lowest
    bottom, top = ground_y - config.region.below_soles, ground_y + config.losses.floor_slab
    return SceneBox(center=((x0 + x1) / 2, (bottom + top) / 2, (z0 + z1) / 2),
                    half_size=(max((x1 - x0) / 2, 0.02), (top - bottom) / 2,
                               max((z1 - z0) / 2, 0.02)))


def extract_object(obj: NeRFField, region: SceneBox, config: ObjectGenConfig, *,
                   person: DensityFn | None = None, on_floor: bool = True,
                   floor: float | None = None,
                   device: torch.device | str = "cpu") -> tuple[ObjectMesh, np.ndarray]:
    """The object's mesh in its object frame and the ``(3,)`` translation placing it where it
    was distilled (module docstring); ``person`` (the human field's density) is carved out of
    it and, with it and (``on_floor``) the floor, shuts cells in (``solid_density``). With a
    ``floor`` height (``object_floor.standing_floor``) inside the region, nothing under it is
    the object: the lattice starts there, and the mesh's cap on it is the object's bottom."""
    lo_hi = region.aabb(dtype=torch.float64).numpy().reshape(2, 3)
    if floor is not None and lo_hi[0, 1] < floor < lo_hi[1, 1]:
        lo_hi[0, 1] = floor

    def colour(x: torch.Tensor) -> torch.Tensor:
        return obj(x).albedo

    density, level = solid_density(obj, lo_hi, config, person=person, on_floor=on_floor,
                                   device=device)
    extract = ExtractConfig(resolution=config.extract_resolution, density_level=level,
                            face_budget=config.max_faces)
    world = extract_mesh(density, colour, bounds=lo_hi, config=extract, device=device)
    lo, hi = world.vertices.min(0), world.vertices.max(0)
    shift = np.array([(lo[0] + hi[0]) / 2, lo[1], (lo[2] + hi[2]) / 2])
    mesh = ObjectMesh(vertices=world.vertices - shift, faces=world.faces,
                      vertex_colors=world.vertex_colors, to_user=Similarity.identity(),
                      corrections=list(world.corrections))
    log.info("generated object: %d vertices, %d faces, size %s m, at %s", len(mesh.vertices),
             len(mesh.faces), np.round(hi - lo, 3).tolist(), np.round(shift, 3).tolist())
    return mesh, shift


def solid_density(obj: NeRFField, bounds: np.ndarray, config: ObjectGenConfig, *,
                  person: DensityFn | None = None, on_floor: bool = True,
                  device: torch.device | str = "cpu"
                  ) -> tuple[Callable[[torch.Tensor], torch.Tensor], float]:
    """The object's density made solid, and the surface level to extract it at.

    SDS judges the field only by its renders: it may be a soft fog a few centimetres thick,
    hollow inside and open where the object stands on the floor or where the person covers
    it. On a lattice over ``bounds`` (``extract_resolution`` points along the longest side,
    ``objects.solid``):

    - the level is the one whose solid casts the silhouettes the field's own opacity casts
      (``silhouette_level``): the object as the prior saw it, neither a fog's fat outer skin
      nor its thin core;
    - where the human field is dense (``anchor_points.relative_threshold``, as stage B reads
      the person) the object is emptied: the two fields only pay for overlapping, so under the
      composite prior the object field can keep part of the person's volume (a seat's field
      reached 15 cm up into the sitter);
    - cells shut in by the solid, the person and (``on_floor``) the floor — rays along at least
      ``enclosed_hits`` of the 26 lattice directions meet one of them — are filled
      (``enclosed_cells``): a skin leaking through a gap, or covered by the sitter, becomes
      solid; the open space under a table does not;
    - the solid's outer cells under half their local maximum density are peeled off, at most
      ``edge_depth`` deep (``peel_to_half_max``): each surface at its blurred edge's half
      maximum, a thin board as well as a thick block.

    Returns the lattice's trilinear interpolation of σ · level / max(level, half maximum) — its
    ``level`` surface is at each part's half maximum where that is above the global level —
    with the filled points and those the peel did not reach raised to twice the level, and the
    person's points at zero.
    """
    lo, hi = bounds
    cell = float((hi - lo).max()) / (config.extract_resolution - 1)
    counts = np.ceil((hi - lo) / cell - 1e-9).astype(int) + 1
    axes = [torch.arange(int(c), dtype=torch.float64) * cell + float(lo[i])
            for i, c in enumerate(counts)]
    z, y, x = torch.meshgrid(axes[2], axes[1], axes[0], indexing="ij")  # (nz, ny, nx)
    points = torch.stack([x, y, z], -1).reshape(-1, 3).to(device=device, dtype=torch.float32)
    with torch.no_grad():
        sigma = torch.cat([obj.density(p) for p in points.split(65536)]).reshape(z.shape)
        carved = torch.zeros(z.shape, dtype=torch.bool)
        if person is not None:
            human = torch.cat([person(p) for p in points.split(65536)]).reshape(z.shape).cpu()
            carved = human >= relative_threshold(human.flatten())
    sigma = sigma.detach().cpu().double()
    try:
        level = silhouette_level(sigma.numpy(), cell)
    except ValueError:
        raise NoSurfaceError("The object field is empty: its density is zero everywhere in "
                             "the object region, so there is no object to extract. "
                             f"{EMPTY_FIELD_HINT}") from None
    if not any(mask.any() for mask in opaque_silhouettes(sigma.numpy(), cell)):
        log.warning("the object field is nowhere opaque (a faint blob the renders see through): "
                    "its mesh is the blob's dense core. The prior did not make the object "
                    "solid: more object steps (a larger preset) or a clearer object prompt "
                    "may.")
    dense = sigma >= level
    if carved.any() and not bool((dense & ~carved).any()):
        log.warning("the object field is dense only where the person is: its mesh keeps it "
                    "(nothing would be left to mesh otherwise)")
        carved = torch.zeros_like(carved)
    emptied = int((dense & carved).sum())
    sigma = sigma.masked_fill(carved, 0.0)
    lattice = sigma.numpy()
    solid = lattice >= level
    filled = _enclosed(solid, carved.numpy(), on_floor=on_floor, min_hits=config.enclosed_hits,
                       min_solid_lines=config.enclosed_solid_lines)
    whole = solid | filled
    half = half_max(lattice, cell, window=config.edge_window, quantile=config.edge_quantile)
    kept = peel_to_half_max(whole, lattice, half, cell, depth=config.edge_depth)
    peeled = int((whole & ~kept).sum())
    # the surface where σ = max(level, half): σ scaled so that this is `level` everywhere
    values = level * sigma / torch.as_tensor(half).clamp(min=level)
    inside = torch.as_tensor(filled | (kept & (lattice < half)))
    values = values.masked_fill(inside, 2 * level)
    grid = SdfGrid(values=values[None].to(device=device, dtype=torch.float32),
                   origin=torch.as_tensor(lo, device=device, dtype=torch.float32), cell=cell)
    log.info("object mesh: surface level %.3g, %d of %d lattice points filled inside, %d "
             "peeled off its surface, %d emptied where the person is", level, int(filled.sum()),
             filled.size, peeled, emptied)

    def density(x: torch.Tensor) -> torch.Tensor:
        return grid.sample(x)[:, 0]
    return density, level


def _enclosed(solid: np.ndarray, person: np.ndarray, *, on_floor: bool,
              min_hits: int, min_solid_lines: int) -> np.ndarray:
    """``enclosed_cells`` of the solid, the person and (``on_floor``) the floor under the
    solid's lowest layer (an object on the floor rests on it wherever that is), looked for
    within the solid's bounding box and one cell around it; never the person."""
    where = np.argwhere(solid)
    if len(where) == 0:
        return np.zeros_like(solid)
    a = np.maximum(where.min(0) - 1, 0)
    b = np.minimum(where.max(0) + 2, solid.shape)
    box = tuple(slice(int(i), int(j)) for i, j in zip(a, b, strict=True))
    floor_axis = 1 if on_floor else None  # (nz, ny, nx): the floor under the lowest layer
    filled = np.zeros_like(solid)
    filled[box] = enclosed_cells(solid[box], person[box], floor_axis=floor_axis,
                                 min_hits=min_hits, min_solid_lines=min_solid_lines)
    return filled


def placed_object_field(mesh: ObjectMesh, translation: np.ndarray, config: ObjectFieldConfig,
                        *, device: torch.device | str = "cpu") -> ObjectField:
    """The field of ``mesh`` at ``translation`` (no rotation), as a user's mesh gets one."""
    field = ObjectField(mesh, config, device=device)
    field.set_placement(np.eye(3), translation)
    return field
