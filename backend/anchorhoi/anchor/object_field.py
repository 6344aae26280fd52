"""The generated object's field in stage A: where it may be, how it is built, how it is seen.

When the user gives no mesh, the object is a free field of its own — a hash-grid NeRF field
(``nerf.field.NeRFField``: density + albedo) whose box is the **object region**: the part of
the scene the composition may use, 1.2 m either way of the initial body, from the floor to
above the head (``ObjectRegion``, clipped to the scene box). The field is zero outside it.

It starts as a small soft blob on the floor in front of the body (``init_object_field``) and is
trained with the human field (``object_gen.train_anchor_with_object``). Its object-only renders
use their own cameras, aimed at the object as it currently is (``ObjectFocus``, re-measured
every few steps from the field's occupancy on a coarse lattice), so the object fills the frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from ..nerf.cameras import Cameras, SceneBox, orbit_cameras
from ..nerf.encoding import HashGridConfig
from ..nerf.field import NeRFField, NeRFFieldConfig
from ..objects.field import ObjectFieldConfig
from ..priors.base import ViewBatch
from .object_floor import FloorProbe

OBJECT_FIELD = NeRFFieldConfig(encoding=HashGridConfig(
    levels=8, log2_hashmap_size=17, base_resolution=8, per_level_scale=1.5),
    hidden_dim=32, num_layers=1, density_scale=30.0)
"""The default object field: 8 levels from 8 to 136 cells over the region (~1.8 cm over the
default region's 2.4 m); densities thirty times the MLP's softplus (reached by
``ObjectGenConfig.density_ramp``: a third of it at first). An object's thin parts (a 4 cm
table top) are opaque only at σ ≳ 100 /m; unscaled, the field reached 15–25 /m in its steps and
made them opaque by being 10–15 cm thick and soft instead (the oracle's table on legs: IoU
0.55–0.62). At ten times, a chair's 4 cm boards still came out as a soft fat chair on half the
seeds (IoU 0.28–0.33); at thirty from the start, an object forming far from the initial blob
faded before it formed (a stool 1.4 m away: IoU 0.12 and 0.0 on two seeds)."""


@dataclass(frozen=True, kw_only=True)
class ObjectRegion:
    """Where the generated object may be, relative to the initial body (metres, world axes:
    Y up, the body faces +Z)."""

    half_width: float = 1.2
    """Half the region's extent along x, centred on the body."""
    front: float = 1.2
    """How far the region reaches in front of the body (+z)."""
    back: float = 1.2
    """How far the region reaches behind the body (−z). As far as in front and to the sides:
    the prompt's object may stand anywhere around the person (a stool behind a turning
    person, a table at their back), and the field cannot make an object outside the region —
    with 0.6 m behind and 0.9 m across, unseen oracle cases whose object stood behind or
    beside the body kept it 9–30 cm off (Chamfer 7–15 cm); with 1.2 m all round, ≤ 3 cm on 9
    of 10 such cases (``bench/oracle_anchor.py`` has the figures)."""
    height: float = 2.4
    """The region's height above the initial body's soles (floor to above the head)."""
    below_soles: float = 0.03
    """How far the region reaches below the initial body's soles (metres). The floor the prior
    pictures is where the person's feet are, and the initial body is not the person: its
    shape and stance put its soles a few centimetres above or below them (−3 to +3.5 cm on
    the unseen oracle cases). With the region ending at the soles, a stool whose floor was
    2.9 cm lower lost its 2 cm foot disc (IoU 0.44; 0.64 at 3 cm, 0.60 at 6 cm). Further down
    costs thin parts elsewhere: the region's lattice moves with its bottom, and the table on
    legs, whose top is a cell or two thick, went 0.73 / 0.62 / 0.58 at 0 / 3 / 6 cm."""

    def __post_init__(self) -> None:
        if not (min(self.half_width, self.front, self.back, self.height) > 0
                and self.below_soles >= 0):
            raise ValueError("ObjectRegion wants half_width, front, back and height > 0 and "
                             f"below_soles ≥ 0, got {self}")

    def box(self, *, centre_xz: tuple[float, float], ground_y: float,
            scene: SceneBox) -> SceneBox:
        """The region around a body at ``centre_xz`` whose soles are at ``ground_y``, inside
        ``scene`` (a ValueError when they do not overlap)."""
        lo = [centre_xz[0] - self.half_width, ground_y - self.below_soles,
              centre_xz[1] - self.back]
        hi = [centre_xz[0] + self.half_width, ground_y + self.height, centre_xz[1] + self.front]
        s_lo = [c - h for c, h in zip(scene.center, scene.half_size, strict=True)]
        s_hi = [c + h for c, h in zip(scene.center, scene.half_size, strict=True)]
        lo = [max(a, b) for a, b in zip(lo, s_lo, strict=True)]
        hi = [min(a, b) for a, b in zip(hi, s_hi, strict=True)]
        if any(h - lo_ < 0.05 for lo_, h in zip(lo, hi, strict=True)):
            raise ValueError("ObjectRegion: the object region lies outside the scene box; "
                             "move the body or enlarge AnchorNeRFConfig.box")
        return SceneBox(center=((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2),
                        half_size=((hi[0] - lo[0]) / 2, (hi[1] - lo[1]) / 2,
                                   (hi[2] - lo[2]) / 2))


@dataclass(frozen=True, kw_only=True)
class ObjectViews:
    """Cameras of the object-only renders: an orbit around the object's current bounds."""

    resolution: int = 48
    """Side of the square object-only renders."""
    elevation_deg: tuple[float, float] = (-5.0, 50.0)
    """Range of camera elevations, uniform."""
    fov_deg: float = 40.0
    """Vertical field of view."""
    margin: float = 1.25
    """The bounding sphere of the object's occupied cells, times this, fills the view."""
    min_radius: float = 0.2
    """Smallest bounding-sphere radius the cameras frame (metres)."""
    refocus_every: int = 20
    """Steps between two measurements of the object's bounds."""
    wide_until: float = 0.3
    """Fraction of the steps during which the cameras frame the whole region (the object
    may be anywhere in it), before they follow the object's bounds."""
    lattice: int = 24
    """Points per side of the lattice the bounds are measured on."""
    occupied: float = 0.5
    """Occupancy above which a lattice point counts as the object."""
    num_samples: int = 48
    """Samples per ray of the object-only renders (through the region only)."""


@dataclass(frozen=True, kw_only=True)
class InitialBlob:
    """The object field's start: a soft ellipsoid on the floor in front of the body."""

    radius: tuple[float, float, float] = (0.2, 0.2, 0.2)
    """Half-axes (metres)."""
    distance: float = 0.45
    """Its centre's distance in front of the body's centre (+z)."""
    iterations: int = 60
    """Steps fitting the field to the blob."""
    lr: float = 3e-2
    """Adam learning rate of that fit."""
    albedo: tuple[float, float, float] = (0.6, 0.6, 0.6)
    """Its colour."""


@dataclass(frozen=True, kw_only=True)
class ObjectLosses:
    """Weights of the object's terms in the joint SDS loop, ``lambda_<name> · loss_<name>``."""

    lambda_sds_object: float = 0.5
    """Object-only SDS on the object prompt (object-only renders, object cameras)."""
    lambda_object_in_person: float = 1.0
    """Object occupancy where the human field is occupied (the person's occupancy keeps the
    object out of it)."""
    lambda_sparsity_object: float = 0.01
    """Mean opacity of the object-only renders (no floaters)."""
    lambda_floor: float = 0.1
    """1 − the highest object occupancy in a slab on the floor under the object (it rests on
    the floor); off when the prompt lifts the object (``object_prompt.lifts_object``) or
    ``ObjectGenConfig.on_floor`` says so. The slab reaches from the region's bottom
    (``ObjectRegion.below_soles`` under the initial soles) to ``floor_slab`` above the soles:
    where the floor is, within that, the object's own renders say."""
    lambda_compact: float = 0.05
    """Occupancy-weighted mean squared distance from the object's centroid (one compact
    solid rather than scattered pieces)."""
    floor_slab: float = 0.04
    """How far above the initial body's soles the floor slab reaches (metres)."""


@dataclass(frozen=True)
class ObjectFocus:
    """The object's current bounding sphere (what its cameras look at)."""

    centre: tuple[float, float, float]
    radius: float
    lowest: tuple[float, float, float, float]
    """(x_min, z_min, x_max, z_max) of its footprint: where the floor term looks."""


def new_object_field(config: NeRFFieldConfig, region: SceneBox, generator: torch.Generator, *,
                     device: torch.device | str, dtype: torch.dtype) -> NeRFField:
    """An untrained object field over ``region``."""
    aabb = region.aabb(device=device, dtype=dtype)
    return NeRFField(config, aabb=aabb, generator=generator).to(device, dtype)


def blob_occupancy(blob: InitialBlob, centre: torch.Tensor):
    """``x (N, 3) → (N,)`` a soft ellipsoid's occupancy (1 inside, 0 outside, ~2 cm edge)."""
    radius = torch.tensor(blob.radius, device=centre.device, dtype=centre.dtype)

    def occupancy(x: torch.Tensor) -> torch.Tensor:
        d = (((x - centre) / radius) ** 2).sum(-1).sqrt()
        return torch.sigmoid((1 - d) * min(blob.radius) / 0.01)
    return occupancy


def region_focus(region: SceneBox) -> ObjectFocus:
    """The whole region's bounding sphere (the cameras' framing before the object has one)."""
    h = region.half_size
    return ObjectFocus(centre=region.center, radius=(h[0] ** 2 + h[1] ** 2 + h[2] ** 2) ** 0.5,
                       lowest=(region.center[0] - h[0], region.center[2] - h[2],
                               region.center[0] + h[0], region.center[2] + h[2]))


def measure_focus(obj: NeRFField, region: SceneBox, views: ObjectViews, occupancy_step: float,
                  previous: ObjectFocus | None = None) -> ObjectFocus:
    """The bounding sphere of the lattice points the field occupies (``previous``, else the
    whole region, when none is)."""
    p = next(obj.parameters())
    lo_hi = region.aabb(device=p.device, dtype=p.dtype)
    axes = [torch.linspace(float(lo_hi[i]), float(lo_hi[i + 3]), views.lattice,
                           device=p.device, dtype=p.dtype) for i in range(3)]
    x = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    with torch.no_grad():
        occ = 1 - torch.exp(-obj.density(x) * occupancy_step)
    inside = x[occ > views.occupied]
    if len(inside) == 0:
        if previous is not None:
            return previous
        inside = lo_hi.reshape(2, 3)
    lo, hi = inside.min(0).values, inside.max(0).values
    centre = (lo + hi) / 2
    radius = max(float((hi - lo).norm()) / 2, views.min_radius)
    return ObjectFocus(centre=(float(centre[0]), float(centre[1]), float(centre[2])),
                       radius=radius,
                       lowest=(float(lo[0]), float(lo[2]), float(hi[0]), float(hi[2])))


def focus_box(focus: ObjectFocus, region: SceneBox, margin: float) -> SceneBox:
    """The cube around ``focus`` (its radius times ``margin``) within ``region``: where the
    object-only renders place their samples."""
    half = focus.radius * margin
    lo = [max(c - half, rc - rh) for c, rc, rh in
          zip(focus.centre, region.center, region.half_size, strict=True)]
    hi = [min(c + half, rc + rh) for c, rc, rh in
          zip(focus.centre, region.center, region.half_size, strict=True)]
    return SceneBox(center=((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2),
                    half_size=((hi[0] - lo[0]) / 2, (hi[1] - lo[1]) / 2, (hi[2] - lo[2]) / 2))


def object_views(focus: ObjectFocus, views: ObjectViews, generator: torch.Generator,
                 count: int, *, device, dtype) -> ViewBatch:
    """``count`` random orbit cameras framing ``focus``."""
    u = torch.rand(2, count, generator=generator, device=generator.device,
                   dtype=torch.float64).cpu()
    az = -180.0 + 360.0 * u[0]
    el = views.elevation_deg[0] + (views.elevation_deg[1] - views.elevation_deg[0]) * u[1]
    distance = views.margin * focus.radius / math.sin(math.radians(views.fov_deg) / 2)
    cams: Cameras = orbit_cameras(az, el, distance, views.fov_deg, views.resolution,
                                  target=focus.centre, device=device, dtype=dtype)
    return ViewBatch(azimuth_deg=az.to(dtype), elevation_deg=el.to(dtype), cameras=cams)


@dataclass(frozen=True, kw_only=True)
class ObjectGenConfig:
    """Generating the object in stage A when the user gives no mesh (``AnchorConfig.object``)."""

    object_field: NeRFFieldConfig = OBJECT_FIELD
    """The object's field (hash grid over the object region + MLP)."""
    region: ObjectRegion = field(default_factory=ObjectRegion)
    """Where the object may be."""
    iterations: int = 300
    """SDS steps of the first round when the object is generated (the human field trains in
    the same steps; later rounds use ``AnchorNeRFConfig.iterations`` with the mesh's field)."""
    views: ObjectViews = field(default_factory=ObjectViews)
    """Cameras of the object-only renders."""
    blob: InitialBlob = field(default_factory=InitialBlob)
    """The field's start."""
    losses: ObjectLosses = field(default_factory=ObjectLosses)
    """Weights of the object's terms."""
    lr_field: float = 1e-2
    """Adam learning rate of the object field."""
    density_ramp: tuple[float, float] = (1 / 3, 0.5)
    """The object field's densities start at ``density_ramp[0]`` times its
    ``density_scale`` (the initial blob is fitted at that scale) and reach the full scale,
    linearly, at ``density_ramp[1]`` of the steps (``density_gain``): a soft field moves and
    grows where the prior pictures the object, a dense one makes thin parts thin."""
    prompt_template: str = "a photo of {object}, on a plain background"
    """Prompt of the object-only renders; ``{object}`` is replaced by the object prompt."""
    on_floor: bool | None = None
    """Whether the floor term holds the object on the floor; None: unless the prompt lifts it."""
    extract_resolution: int = 128
    """Lattice points along the region's longest side for marching cubes and the solid's
    tests (``object_gen.solid_density``): about one per cell of the object field's finest level
    (``OBJECT_FIELD``: 136 cells, 1.8 cm over the default 2.4 m region), so that a board one or
    two of those cells thick is sampled rather than aliased. At 96 points (2.6 cm) an unseen
    oracle shelf's 3 cm panels came out a centimetre thicker: re-extracting the same trained
    fields, reach_high-3-00's IoU 0.598 → 0.636 and reach_high-13-01's 0.630 → 0.641 at 128
    (0.638 and 0.626 at 112 and 160 points on the first). The lattice has 2.4× the points: the
    extraction took 8 → 20 s on the CPU."""
    enclosed_hits: int = 24
    """A lattice cell is filled when rays along at least this many of the 26 lattice
    directions meet the solid, the person or the floor (``objects.solid.enclosed_cells``)."""
    enclosed_solid_lines: int = 3
    """... and along at least this many of the 13 lattice lines through it the solid is met
    both ways: space the person shuts in against one face of the object (between a sitter's
    shins and a chair's front) is not the object's."""
    edge_window: float = 0.045
    """Metres around a surface cell whose largest density it is compared with: cells under
    half of it are peeled off (``objects.solid.peel_to_half_max``)."""
    edge_quantile: float = 0.95
    """The local maximum of ``edge_window`` is this quantile of the densities there (1: the
    largest), so that a few hot cells do not peel thin parts next to them."""
    edge_depth: float = 0.025
    """The most that is peeled off the solid's surface (metres)."""
    max_faces: int = 5000
    """Face budget of the extracted mesh."""
    floor_probe: FloorProbe = field(default_factory=FloorProbe)
    """How the floor the person stands on is read from the human field: an object on the
    floor is cut there (``object_floor.standing_floor``)."""
    mesh_field: ObjectFieldConfig = field(default_factory=ObjectFieldConfig)
    """The extracted mesh's field in stage B and the later rounds (a user's mesh gets the
    default)."""

    def __post_init__(self) -> None:
        start, until = self.density_ramp
        if not (0 < start <= 1 and 0 < until <= 1):
            raise ValueError("ObjectGenConfig.density_ramp wants a start in (0, 1] and an end "
                             f"in (0, 1] of the steps, got {self.density_ramp}")
        if (self.iterations < 1 or self.max_faces < 4 or self.extract_resolution < 8
                or not 1 <= self.enclosed_hits <= 26
                or not 0 <= self.enclosed_solid_lines <= 13
                or self.edge_window <= 0 or not 0 < self.edge_quantile <= 1
                or self.edge_depth <= 0):
            raise ValueError("ObjectGenConfig wants iterations ≥ 1, max_faces ≥ 4, "
                             "extract_resolution ≥ 8, enclosed_hits in 1..26, "
                             "enclosed_solid_lines in 0..13, edge_window, "
                             "edge_depth > 0 and edge_quantile in (0, 1], got "
                             f"{self.iterations}, {self.max_faces}, "
                             f"{self.extract_resolution}, {self.enclosed_hits}, "
                             f"{self.enclosed_solid_lines}, {self.edge_window}, "
                             f"{self.edge_depth}, {self.edge_quantile}")

    def density_gain(self, progress: float) -> float:
        """The factor on the object field's density scale at ``progress`` (0..1) of the
        steps (``density_ramp``)."""
        start, until = self.density_ramp
        return start + (1 - start) * min(progress / until, 1.0)
