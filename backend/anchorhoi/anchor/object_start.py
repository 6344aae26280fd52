"""Where the generated object starts (stage A, no mesh given): the placement search run with a
few stand-in shapes.

SDS grows the free object field only where its image already overlaps what the prior pictures
(``object_search``'s module docstring says why): a blob that starts in front of the body never
finds a stool behind it, a pole beside it or a table to its left. Before the joint SDS steps,
each stand-in — an axis-aligned box of a typical size (``ObjectStartConfig.stand_ins``: a
crate, a table-sized block, a tall post, a low platform) — is placed by
``object_search.search_object_translation`` (coarse to fine, the object anywhere around the
body, scored by the prior's denoising error of the composite), all under the same noise so
that their scores compare.

Before, the human field is trained alone for a few steps (``human_steps``), so that the
composite shows the person as the prior pictures them, not the initial standing body; a
placement covering much of that person is not scored (``max_body_covered``). The best stand-in
decides

the object region: ``half_width`` either way of the stand-in's centre in x and z (wider for a
wide stand-in), from the floor to ``ObjectRegion.height`` (the field is zero outside it). The
blob starts at its usual spot in front of the body, moved into that region.

Its search result is handed on like a given mesh's (``AnchorOutput.object_search``), so a start
that the prior's scores do not single out is reported in the same words.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from dataclasses import dataclass

import numpy as np
import torch

from ..nerf.cameras import SceneBox
from ..nerf.field import NeRFField
from ..nerf.samplers import Sampler
from ..objects.field import ObjectField
from ..objects.mesh_io import ObjectMesh
from ..priors.base import ImagePrior
from ..randomness import draw_seed
from .anchor_nerf import AnchorNeRFConfig, Occupancy, occupancy_of, train_anchor_nerf
from .object_search import ObjectSearchConfig, ObjectSearchResult, search_object_translation

log = logging.getLogger(__name__)

_BOX_FACES = np.array([[0, 1, 2], [0, 2, 3], [4, 6, 5], [4, 7, 6], [0, 5, 1], [0, 4, 5],
                       [2, 7, 3], [2, 6, 7], [1, 6, 2], [1, 5, 6], [0, 7, 4], [0, 3, 7]],
                      dtype=np.int64)  # counter-clockwise seen from outside


@dataclass(frozen=True, kw_only=True)
class ObjectStartConfig:
    """The stand-in search that places the generated object's start (module docstring)."""

    stand_ins: tuple[tuple[float, float, float], ...] = (
        (0.4, 0.4, 0.4), (0.9, 0.75, 0.9), (0.4, 1.5, 0.4), (1.0, 0.2, 1.0))
    """Sizes (x, y, z in metres) of the boxes tried: a crate or stool, a table, a post or shelf,
    a step or platform."""
    yaw_steps: int = 2
    """Turns about the up axis tried per stand-in (a box repeats itself every half turn, so 2
    tries both footprints), in place of the search's own."""
    refine_rounds: int = 2
    """Refining rounds per stand-in, in place of the search's own (a stand-in only has to land
    near the object, not on it)."""
    half_width: float = 0.9
    """Half the object region's extent in x and z (metres), centred on the best stand-in."""
    margin: float = 0.45
    """At least this far (metres) the region reaches beyond the stand-in's footprint."""
    human_steps: int = 60
    """SDS steps of the human field alone (``anchor_nerf.train_anchor_nerf`` without an object:
    the human prompt on the human's render) before the stand-ins are scored, so that the
    composite they are scored in shows the person as the prior pictures them rather than the
    initial standing body. Against the standing body, a kneeler's or sitter's torso appears
    where the standing hips are, and a crate there "explained" the person better than one on
    the object (0–2 % apart). The joint training continues from this field."""
    max_body_covered: float = 0.2
    """Placements where the stand-in covers more than this share of the person (the human
    field's dense part after ``human_steps``) are not scored: the object keeps out of the
    person (``object_in_person``), and a box standing in for the chest or a post for the whole
    person scores on the person's pixels, not the object's. A seat under a sitter covers
    their shins and feet, about a tenth."""
    body_lattice: int = 48
    """Points per side of the lattice over the scene box on which the person is read."""

    def __post_init__(self) -> None:
        if not self.stand_ins or any(len(s) != 3 or min(s) <= 0 for s in self.stand_ins):
            raise ValueError("ObjectStartConfig.stand_ins: one or more (x, y, z) sizes > 0")
        if self.yaw_steps < 1 or self.refine_rounds < 0 or self.margin < 0 \
                or not 0 < self.max_body_covered <= 1 \
                or self.body_lattice < 8:
            raise ValueError("ObjectStartConfig: yaw_steps ≥ 1, refine_rounds ≥ 0, margin ≥ 0, "
                             "max_body_covered in (0, 1], body_lattice ≥ 8")


@dataclass(frozen=True)
class ObjectStart:
    """Where the generated object starts."""

    bounds: np.ndarray
    """(2, 3) the best stand-in's lowest and highest corner as placed (world, metres)."""
    region: SceneBox
    """The object region (the free field's box)."""
    size: tuple[float, float, float]
    """The best stand-in's size."""
    search: ObjectSearchResult
    """The best stand-in's search (score, candidates, support)."""
    candidates: int
    """Candidates scored over every stand-in."""

    def blob_centre(self, default: tuple[float, float, float],
                    radius: tuple[float, float, float]) -> tuple[float, float, float]:
        """Where a blob of half-axes ``radius`` starts: at ``default`` (the usual spot in front
        of the body) moved into the region. Not on the stand-in: a blob that overlaps the
        object only in part stays where it started (the oracle's ball and a kneeler's crate
        kept the 7–20 cm by which their stand-ins missed), while one that is on the object or
        clear of it ends on it."""
        c = np.asarray(self.region.center)
        h = np.maximum(np.asarray(self.region.half_size) - np.asarray(radius), 0.0)
        return tuple(float(v) for v in np.clip(default, c - h, c + h))


def stand_in_mesh(size: tuple[float, float, float]) -> ObjectMesh:
    """A closed box of ``size`` in the object frame (centred in x and z, standing at y = 0)."""
    x, y, z = (float(s) for s in size)
    corners = np.array([[-x / 2, 0, -z / 2], [x / 2, 0, -z / 2], [x / 2, 0, z / 2],
                        [-x / 2, 0, z / 2], [-x / 2, y, -z / 2], [x / 2, y, -z / 2],
                        [x / 2, y, z / 2], [-x / 2, y, z / 2]])
    return ObjectMesh(vertices=corners, faces=_BOX_FACES.copy())


def search_object_start(*, human: NeRFField, prior: ImagePrior, human_prior: ImagePrior | None,
                        prompt: str, nerf: AnchorNeRFConfig, search: ObjectSearchConfig,
                        config: ObjectStartConfig, body_occupancy: Occupancy,
                        sampler: Sampler, centre_xz: tuple[float, float], ground_y: float,
                        height: float, generator: torch.Generator,
                        device: torch.device | str = "cpu") -> ObjectStart:
    """Train ``human`` alone for ``config.human_steps`` (in place; ``body_occupancy`` is the
    initial body's, as in ``train_anchor_nerf``), then place every stand-in with ``search``
    (its yaw steps and refining rounds replaced by ``config``'s) around the body at
    ``centre_xz`` on ``ground_y`` and keep the best; the region reaches ``height`` above the
    floor."""
    if config.human_steps > 0:  # on a copy: the joint training starts from the given field
        warm = dataclasses.replace(nerf, iterations=config.human_steps, lambda_sds=0.0,
                                   lr_placement=0.0)
        human = train_anchor_nerf(prompt=prompt, prior=prior, human_prior=human_prior,
                                  obj=None, body_occupancy=body_occupancy, config=warm,
                                  sampler=sampler, generator=generator,
                                  human=copy.deepcopy(human), device=device).human
    step = nerf.occupancy_step

    def person(x: torch.Tensor) -> torch.Tensor:
        return occupancy_of(human.density(x), step)

    cfg = dataclasses.replace(search, yaw_steps=config.yaw_steps,
                              refine_rounds=config.refine_rounds)
    v = nerf.views
    seed = draw_seed(generator)  # one noise for every stand-in: their scores compare
    body = body_points(person, nerf.box, config.body_lattice, device)
    best: tuple[ObjectSearchResult, tuple[float, float, float], np.ndarray] | None = None
    candidates = 0
    for size in config.stand_ins:
        obj = ObjectField(stand_in_mesh(size), device=device)
        obj.set_placement(np.eye(3), np.array([centre_xz[0], ground_y,  # in front of the body
                                               centre_xz[1] + config.margin + size[2] / 2]))
        found = search_object_translation(
            human=human, obj=obj, prior=prior, prompt=prompt, box=nerf.box, centre_xz=centre_xz,
            ground_y=ground_y, target=v.target, radius=sum(v.radius) / 2, fov_deg=v.fov_deg,
            background=nerf.background, config=cfg,
            generator=torch.Generator(device=generator.device).manual_seed(seed),
            admissible=_covering(body, size, config.max_body_covered))
        candidates += found.candidates
        with torch.no_grad():
            placement = obj.placement_matrix().detach().cpu().double().numpy()
        corners = stand_in_mesh(size).vertices @ placement[:3, :3].T + placement[:3, 3]
        log.info("object start: stand-in %s at %s, denoising error %.4g", size,
                 np.round(corners.mean(0), 3).tolist(), found.score)
        if best is None or found.score < best[0].score:
            best = (found, size, corners)
    assert best is not None  # stand_ins is not empty
    found, size, corners = best
    lo, hi = corners.min(0), corners.max(0)
    region = _region(lo, hi, config, ground_y, height, nerf.box)
    return ObjectStart(bounds=np.stack([lo, hi]), region=region, size=size, search=found,
                       candidates=candidates)



def body_points(body_occupancy: Occupancy, box: SceneBox, lattice: int,
                device: torch.device | str) -> np.ndarray:
    """(N, 3) the points of a ``lattice``³ grid over ``box`` inside the person (occupancy
    above ½)."""
    lo = np.asarray(box.center) - np.asarray(box.half_size)
    hi = np.asarray(box.center) + np.asarray(box.half_size)
    axes = [np.linspace(a, b, lattice) for a, b in zip(lo, hi, strict=True)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    with torch.no_grad():
        occ = body_occupancy(torch.as_tensor(grid, device=device, dtype=torch.float32))
    return grid[occ.cpu().numpy() > 0.5]


def _covering(points: np.ndarray, size: tuple[float, float, float], limit: float):
    """``admissible(centre, rotation)``: whether the stand-in of ``size`` centred at ``centre``
    holds at most ``limit`` of ``points`` (the body's)."""
    half = np.asarray(size) / 2

    def admissible(centre: np.ndarray, rotation: np.ndarray) -> bool:
        if len(points) == 0:
            return True
        local = (points - centre) @ rotation  # into the stand-in's frame
        return float(np.all(np.abs(local) <= half, axis=1).mean()) <= limit

    return admissible


def _region(lo: np.ndarray, hi: np.ndarray, config: ObjectStartConfig, ground_y: float,
            height: float, scene: SceneBox) -> SceneBox:
    """Centred in x and z on the stand-in ``lo``–``hi``: ``config.half_width`` either way (or
    the footprint and ``config.margin``, if wider), from ``ground_y`` up ``height`` (or to the
    stand-in's top and the margin), inside ``scene``."""
    s_lo = np.asarray(scene.center) - np.asarray(scene.half_size)
    s_hi = np.asarray(scene.center) + np.asarray(scene.half_size)
    c, half = (lo + hi) / 2, np.maximum(config.half_width, (hi - lo) / 2 + config.margin)
    r_lo = np.maximum([c[0] - half[0], ground_y, c[2] - half[2]], s_lo)
    r_hi = np.minimum([c[0] + half[0], max(ground_y + height, hi[1] + config.margin),
                       c[2] + half[2]], s_hi)
    return SceneBox(center=tuple(float(c) for c in (r_lo + r_hi) / 2),
                    half_size=tuple(float(h) for h in (r_hi - r_lo) / 2))
