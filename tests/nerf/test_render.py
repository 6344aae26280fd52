"""Rendering: samplers and compositing against a reference renderer and analytic integrals,
the occupancy-grid path and its fallback, the hash encoding, and a tiny fitting run."""

from __future__ import annotations

import dataclasses
import logging
import math
import subprocess
import sys
import textwrap

import pytest
import torch

from anchorhoi.nerf import samplers as samplers_mod
from anchorhoi.nerf.cameras import SceneBox, orbit_cameras, rays
from anchorhoi.nerf.encoding import HashGridConfig, HashGridEncoding
from anchorhoi.nerf.field import FieldOutput, NeRFField, NeRFFieldConfig, density_normals
from anchorhoi.nerf.renderer import composite_fields, render_image, render_rays
from anchorhoi.nerf.samplers import (
    DenseSamplerConfig,
    DenseStratifiedSampler,
    RaySamples,
    SamplerConfig,
    make_sampler,
    packed_to_dense,
)

BOX = SceneBox(center=(0.0, 0.0, 0.0), half_size=(1.2, 1.2, 1.2))
BG = torch.tensor([0.2, 0.3, 0.4])


@pytest.fixture(autouse=True)
def one_thread():
    """These tensors are tiny: with a second thread per op, a busy 2-core machine makes every
    op wait for a descheduled worker (measured: 20× slower training steps). Restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class Sphere:
    """Constant density ``sigma`` inside a ball, constant albedo."""

    def __init__(self, sigma: float, radius: float, albedo=(0.9, 0.5, 0.1), center=(0, 0, 0)):
        self.sigma, self.radius = sigma, radius
        self.albedo, self.center = torch.tensor(albedo), torch.tensor(center, dtype=torch.float32)

    def density(self, x):
        inside = (x - self.center).norm(dim=-1) < self.radius
        return torch.where(inside, self.sigma, 0.0).to(x.dtype)

    def __call__(self, x):
        return FieldOutput(density=self.density(x), albedo=self.albedo.to(x).expand(len(x), 3))


class Blob:
    """Gaussian density ``peak · exp(-|x - c|² / 2s²)``, albedo varying smoothly in space."""

    def __init__(self, peak: float, scale: float, center=(0.0, 0.0, 0.0), tint=(0.0, 0.0, 0.0)):
        self.peak, self.scale = peak, scale
        self.center, self.tint = torch.tensor(center), torch.tensor(tint)

    def density(self, x):
        r2 = ((x - self.center.to(x)) ** 2).sum(-1)
        return self.peak * torch.exp(-r2 / (2 * self.scale ** 2))

    def albedo(self, x):
        return 0.5 + 0.4 * torch.tanh(2 * x + self.tint.to(x))

    def normal(self, x):
        return torch.nn.functional.normalize(x - self.center.to(x), dim=-1)

    def __call__(self, x):
        return FieldOutput(density=self.density(x), albedo=self.albedo(x))


def reference_render(fields, origins, dirs, *, t_min=1.5, t_max=4.5, steps=3000, background=BG,
                     light=None, normal=None, ambient=0.1):
    """Plain front-to-back α-compositing with a fine fixed step over ``[t_min, t_max]`` (no box,
    no nerfacc; the tests' fields are negligible outside that range for cameras 3 m away).

    With ``light``, albedo is shaded by ``ambient + (1 - ambient) max(0, n·l)`` using the
    analytic ``normal(x)``."""
    dt = (t_max - t_min) / steps
    trans = torch.ones(len(origins), dtype=torch.float64)
    rgb = torch.zeros(len(origins), 3, dtype=torch.float64)
    depth = torch.zeros(len(origins), dtype=torch.float64)
    o, d = origins.double(), dirs.double()
    for i in range(steps):
        t = t_min + (i + 0.5) * dt
        x = o + t * d
        sig = sum(f.density(x) for f in fields)
        col = sum(f.density(x)[:, None] * f.albedo(x) for f in fields)
        col = col / sig.clamp_min(1e-30)[:, None]
        if light is not None:
            shade = ambient + (1 - ambient) * (normal(x) @ light.double()).clamp_min(0)
            col = col * shade[:, None]
        alpha = 1 - torch.exp(-sig * dt)
        rgb += (trans * alpha)[:, None] * col
        depth += trans * alpha * t
        trans = trans * (1 - alpha)
    opacity = 1 - trans
    rgb += trans[:, None] * background.double()
    return rgb, opacity, depth / opacity.clamp_min(1e-30)


def centre_camera(size=9):
    return orbit_cameras(0.0, 0.0, 3.0, 40.0, size, target=(0.0, 0.0, 0.0))


def flat_rays(cameras):
    o, d = rays(cameras)
    return o.reshape(-1, 3), d.reshape(-1, 3)


# --- dense sampler vs analytic integrals and the reference renderer ------------------------

def test_constant_sphere_centre_ray_matches_the_closed_form():
    sigma, r = 2.0, 0.6
    sampler = DenseStratifiedSampler(DenseSamplerConfig(num_samples=64), box=BOX)
    o, d = flat_rays(centre_camera(9))
    centre = 4 * 9 + 4
    out = render_rays(Sphere(sigma, r), o[centre:centre + 1], d[centre:centre + 1], sampler,
                      background=BG)
    # the box chord [1.8, 4.2] in 64 bins puts the sphere's surface (t = 2.4, 3.6) on bin edges
    opacity = 1 - math.exp(-sigma * 2 * r)
    L, ta = 2 * r, 3.0 - r
    depth = ta + (1 - math.exp(-sigma * L) * (1 + sigma * L)) / (sigma * (1 - math.exp(-sigma * L)))
    assert abs(float(out.opacity[0]) - opacity) < 1e-6  # 0.909282
    assert abs(float(out.depth[0]) - depth) < 5e-4  # 2.780281 (bin mid-points: +σΔ²/12)
    expected_rgb = torch.tensor([0.9, 0.5, 0.1]) * opacity + BG * (1 - opacity)
    torch.testing.assert_close(out.rgb[0], expected_rgb, rtol=0, atol=1e-6)


def test_dense_sampler_matches_reference_renderer_on_a_smooth_blob():
    blob = Blob(peak=6.0, scale=0.25)
    cams = centre_camera(11)
    o, d = flat_rays(cams)
    sampler = DenseStratifiedSampler(DenseSamplerConfig(num_samples=192), box=BOX)
    out = render_rays(blob, o, d, sampler, background=BG)
    rgb, opacity, depth = reference_render([blob], o, d)
    hit = opacity > 1e-3
    assert int(hit.sum()) > 60
    torch.testing.assert_close(out.opacity.double(), opacity, rtol=0, atol=5e-4)
    torch.testing.assert_close(out.rgb.double(), rgb, rtol=0, atol=5e-4)
    torch.testing.assert_close(out.depth.double()[hit], depth[hit], rtol=0, atol=1e-3)
    # the centre ray: optical depth peak·s·√(2π) in closed form, depth pinned
    centre = 5 * 11 + 5
    optical_depth = 6.0 * 0.25 * math.sqrt(2 * math.pi)
    assert abs(float(out.opacity[centre]) - (1 - math.exp(-optical_depth))) < 2e-4  # 0.976715
    assert abs(float(out.depth[centre]) - 2.7762) < 1e-4  # the reference at 10× finer steps


def test_rays_missing_the_box_show_the_background():
    sampler = DenseStratifiedSampler(DenseSamplerConfig(num_samples=16), box=BOX)
    o = torch.tensor([[0.0, 5.0, 3.0], [0.0, 0.0, 3.0]])
    d = torch.tensor([[0.0, 0.0, -1.0], [0.0, 0.0, -1.0]])
    out = render_rays(Sphere(3.0, 0.5), o, d, sampler, background=BG)
    torch.testing.assert_close(out.rgb[0], BG)
    assert float(out.opacity[0]) == 0.0 and float(out.depth[0]) == 0.0
    assert float(out.opacity[1]) > 0.9


def test_stratified_jitter_is_seeded_and_unbiased():
    blob = Blob(peak=6.0, scale=0.25)
    o, d = flat_rays(centre_camera(7))
    sampler = DenseStratifiedSampler(DenseSamplerConfig(num_samples=96), box=BOX)
    fixed = render_rays(blob, o, d, sampler).opacity
    runs = [render_rays(blob, o, d, sampler, generator=torch.Generator().manual_seed(s)).opacity
            for s in (1, 1, 2)]
    torch.testing.assert_close(runs[0], runs[1], rtol=0, atol=0)
    assert not torch.equal(runs[0], runs[2])
    assert float((runs[0] - fixed).abs().max()) < 2e-2


def test_composite_of_two_fields_adds_densities_and_mixes_albedo():
    a = Blob(peak=5.0, scale=0.2, center=(-0.15, 0.0, 0.0), tint=(1.0, -1.0, 0.0))
    b = Blob(peak=4.0, scale=0.3, center=(0.2, 0.05, 0.0), tint=(-1.0, 0.5, 2.0))
    o, d = flat_rays(centre_camera(9))
    sampler = DenseStratifiedSampler(DenseSamplerConfig(num_samples=192), box=BOX)
    both = render_rays([a, b], o, d, sampler, background=BG)
    rgb, opacity, _depth = reference_render([a, b], o, d)
    torch.testing.assert_close(both.opacity.double(), opacity, rtol=0, atol=5e-4)
    torch.testing.assert_close(both.rgb.double(), rgb, rtol=0, atol=5e-4)
    # a single field renders alone (e.g. the human-only view): less opaque than the composite
    alone = render_rays(a, o, d, sampler, background=BG)
    assert float((both.opacity - alone.opacity).min()) >= 0
    assert float((both.opacity - alone.opacity).max()) > 0.1
    x = torch.rand(20, 3, generator=torch.Generator().manual_seed(0)) - 0.5
    mixed = composite_fields([a, b], x)
    torch.testing.assert_close(mixed.density, a.density(x) + b.density(x))
    expected = (a.density(x)[:, None] * a.albedo(x) + b.density(x)[:, None] * b.albedo(x))
    torch.testing.assert_close(mixed.albedo, expected / mixed.density[:, None])


@pytest.mark.parametrize("method", ["autograd", "finite_difference"])
def test_lambertian_shading_matches_reference_with_analytic_normals(method):
    blob = Blob(peak=8.0, scale=0.25)
    o, d = flat_rays(centre_camera(9))
    light = torch.tensor([0.3, 0.8, 0.6])
    sampler = DenseStratifiedSampler(DenseSamplerConfig(num_samples=192), box=BOX)
    out = render_rays(blob, o, d, sampler, background=BG, shading="lambertian",
                      light_dir=light, normals=method, normal_eps=1e-3)
    unit = torch.nn.functional.normalize(light, dim=0)
    rgb, _, _ = reference_render([blob], o, d, light=unit, normal=blob.normal)
    torch.testing.assert_close(out.rgb.double(), rgb, rtol=0, atol=2e-3)
    x = torch.tensor([[0.1, 0.2, -0.3], [0.0, 0.0, 0.4]])
    torch.testing.assert_close(density_normals(blob.density, x, method=method, eps=1e-3),
                               blob.normal(x), rtol=0, atol=1e-4)


# --- the packed (occupancy-grid) layout -------------------------------------------------------

def test_packed_to_dense_pinned():
    ray_indices = torch.tensor([2, 0, 0, 2, 0])
    t0 = torch.tensor([5.0, 1.0, 2.0, 6.0, 3.0])
    t1 = t0 + 0.5
    starts, ends, valid = packed_to_dense(ray_indices, t0, t1, 4)
    torch.testing.assert_close(starts, torch.tensor([[1.0, 2, 3], [0, 0, 0], [5, 6, 0], [0, 0, 0]]))
    torch.testing.assert_close(ends - starts, valid.float() * 0.5)
    assert valid.sum(1).tolist() == [3, 0, 2, 0]


class PackedSkippingSampler:
    """Emulates the occupancy grid on CPU: dense samples, empty ones dropped, output packed and
    then densified exactly as ``OccupancyGridSampler`` does."""

    def __init__(self, dense: DenseStratifiedSampler):
        self.dense = dense

    def sample(self, origins, directions, *, generator=None, density_fn=None):
        s = self.dense.sample(origins, directions)
        keep = s.valid & (density_fn(s.positions.reshape(-1, 3)).reshape(s.valid.shape) > 0)
        ray_indices = torch.arange(len(origins))[:, None].expand_as(keep)[keep]
        perm = torch.randperm(len(ray_indices), generator=torch.Generator().manual_seed(0))
        starts, ends, valid = packed_to_dense(ray_indices[perm], s.t_starts[keep][perm],
                                              s.t_ends[keep][perm], len(origins))
        mid = ((starts + ends) / 2)[..., None]
        return RaySamples(t_starts=starts, t_ends=ends, positions=origins[:, None] +
                          directions[:, None] * mid, valid=valid, hit=s.hit)

    def update(self, step, density_fn):
        pass


def test_packed_layout_renders_the_same_image_as_dense():
    field = Sphere(2.5, 0.5, center=(0.1, -0.05, 0.0))
    o, d = flat_rays(centre_camera(13))
    dense = DenseStratifiedSampler(DenseSamplerConfig(num_samples=64), box=BOX)
    packed = PackedSkippingSampler(dense)
    samples = packed.sample(o, d, density_fn=field.density)
    assert samples.valid.shape[1] < 64 and 0 < int(samples.valid.sum()) < 64 * len(o)
    a = render_rays(field, o, d, dense, background=BG)
    b = render_rays(field, o, d, packed, background=BG)
    for x, y in ((a.rgb, b.rgb), (a.opacity, b.opacity), (a.depth, b.depth)):
        torch.testing.assert_close(x, y, rtol=0, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="nerfacc's occupancy grid needs CUDA")
def test_occupancy_grid_sampler_matches_dense_on_cuda():
    from anchorhoi.nerf.samplers import OccupancyGridConfig, OccupancyGridSampler

    # compact support: the grid may skip exactly the empty cells (a Gaussian's tails would be
    # culled by the grid's mean-occupancy threshold and change the image)
    sphere = Sphere(2.5, 0.5, center=(0.1, -0.05, 0.0))
    sphere.albedo, sphere.center = sphere.albedo.cuda(), sphere.center.cuda()
    cams = centre_camera(24).to("cuda")
    cfg = OccupancyGridConfig(resolution=64, render_step_size=2e-3, update_every=1)
    grid = OccupancyGridSampler(cfg, box=BOX, device="cuda")
    for step in range(16):  # each refresh probes one random point per cell
        grid.update(step, sphere.density)
    dense = DenseStratifiedSampler(DenseSamplerConfig(num_samples=512), box=BOX)
    a = render_image(sphere, cams, dense, background=BG.cuda())
    b = render_image(sphere, cams, grid, background=BG.cuda(),
                     generator=torch.Generator("cuda").manual_seed(0))
    for x, y in ((a.opacity, b.opacity), (a.rgb, b.rgb)):
        diff = (x - y).abs()
        assert float(diff.mean()) < 2e-3 and float(diff.max()) < 3e-2
    centre = float(b.opacity[0, 12, 12, 0])  # close to a chord through the centre
    assert abs(centre - (1 - math.exp(-2.5 * 2 * 0.5))) < 3e-2


# --- choosing a sampler, and falling back ----------------------------------------------------

def test_make_sampler_on_cpu_is_dense_and_never_loads_nerfacc_cuda(monkeypatch):
    def forbidden():
        raise AssertionError("nerfacc's CUDA ops must not be touched for a CPU device")

    monkeypatch.setattr(samplers_mod, "load_nerfacc_cuda", forbidden)
    sampler = make_sampler(SamplerConfig(), torch.device("cpu"))
    assert isinstance(sampler, DenseStratifiedSampler)
    assert isinstance(make_sampler(SamplerConfig(kind="dense"), "cuda"), DenseStratifiedSampler)
    with pytest.raises(ValueError, match="needs a CUDA device"):
        make_sampler(SamplerConfig(kind="occupancy_grid"), "cpu")


def test_cpu_rendering_does_not_import_nerfacc_cuda_backend():
    code = textwrap.dedent("""
        import sys, torch
        from anchorhoi.nerf import *
        field = NeRFField(NeRFFieldConfig(encoding=HashGridConfig(levels=2, log2_hashmap_size=10)),
                          aabb=SceneBox().aabb())
        sampler = make_sampler(SamplerConfig(), "cpu")
        img = render_image(field, orbit_cameras(0, 0, 3, 40, 8), sampler)
        img.rgb.sum().backward()
        assert "nerfacc.cuda._backend" not in sys.modules, "nerfacc's CUDA backend was imported"
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""


def test_failed_nerfacc_build_warns_once_and_falls_back(monkeypatch, caplog):
    calls = []

    def broken_build():
        calls.append(1)
        raise ImportError("simulated: broken nerfacc_cuda build folder")

    monkeypatch.setattr(samplers_mod, "load_nerfacc_cuda", broken_build)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with caplog.at_level(logging.WARNING, logger="anchorhoi.nerf.samplers"):
        sampler = make_sampler(SamplerConfig(), torch.device("cuda"))
    assert isinstance(sampler, DenseStratifiedSampler)
    assert len(calls) == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "broken nerfacc_cuda build" in warnings[0].getMessage()
    # asking for the grid explicitly turns the same failure into an error
    with pytest.raises(RuntimeError, match="CUDA ops are unavailable"):
        make_sampler(SamplerConfig(kind="occupancy_grid"), "cuda")


# --- hash encoding and the field ------------------------------------------------------------

SMALL_GRID = HashGridConfig(levels=4, features_per_level=2, base_resolution=4,
                            per_level_scale=2.0, log2_hashmap_size=10)


def test_hash_encoding_shape_levels_and_determinism():
    aabb = BOX.aabb()
    enc = HashGridEncoding(SMALL_GRID, aabb=aabb, generator=torch.Generator().manual_seed(5))
    assert SMALL_GRID.resolutions() == [4, 8, 16, 32]
    assert enc.dense.tolist() == [True, True, False, False]  # 5³, 9³ ≤ 1024 < 17³
    assert tuple(enc.table.shape) == (2, 125 + 729 + 1024 + 1024)
    x = torch.rand(100, 3, generator=torch.Generator().manual_seed(1)) * 2.4 - 1.2
    y = enc(x)
    assert y.shape == (100, 8)
    again = HashGridEncoding(SMALL_GRID, aabb=aabb, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(again(x), y, rtol=0, atol=0)
    other = HashGridEncoding(SMALL_GRID, aabb=aabb, generator=torch.Generator().manual_seed(6))
    assert not torch.equal(other(x), y)
    assert float(enc.table.detach().abs().max()) <= SMALL_GRID.init_scale


def test_hash_encoding_interpolates_and_hashes_like_instant_ngp():
    enc = HashGridEncoding(SMALL_GRID, aabb=torch.tensor([0.0, 0, 0, 1, 1, 1]))
    with torch.no_grad():  # dense level 1 (8 cells, 9³ vertices): feature 0 = 1·i + 10·j + 100·k
        i, j, k = torch.meshgrid(*(torch.arange(9.0),) * 3, indexing="ij")
        row = i + 9 * j + 81 * k  # x fastest
        value = torch.zeros(729)
        value[row.reshape(-1).long()] = (i + 10 * j + 100 * k).reshape(-1)
        enc.table[0, 125:125 + 729] = value
    x = torch.tensor([[0.3, 0.55, 0.9], [1.0, 0.0, 0.51], [0.125, 0.25, 0.375]])
    got = enc(x)[:, 2]  # level 1, feature 0
    torch.testing.assert_close(got, 8 * (x[:, 0] + 10 * x[:, 1] + 100 * x[:, 2]))
    # a hashed level's rows: (x·1 ⊕ y·2654435761 ⊕ z·805459861) mod 2^10, plus the level offset
    cells = torch.zeros(4, 3, 1, dtype=torch.long)  # (L, 3, N = 1): lower cell corners
    cells[2:, :, 0] = torch.tensor([3, 7, 11])  # levels 0, 1 at the origin; 2, 3 at (3, 7, 11)
    rows = enc.vertex_rows(cells)  # (L, 2, 2, 2, N) indexed [z, y, x]
    for z in (0, 1):
        for y_ in (0, 1):
            for x_ in (0, 1):
                h = ((3 + x_) * 1) ^ ((7 + y_) * 2654435761) ^ ((11 + z) * 805459861)
                assert int(rows[2, z, y_, x_, 0]) == 125 + 729 + (h % 1024)
                assert int(rows[3, z, y_, x_, 0]) == 125 + 729 + 1024 + (h % 1024)
    assert int(rows[1, 1, 1, 1, 0]) == 125 + 1 + 9 + 81


def test_hash_encoding_gradients_reach_table_and_points():
    enc = HashGridEncoding(SMALL_GRID, aabb=BOX.aabb(), generator=torch.Generator().manual_seed(0))
    x = (torch.rand(64, 3, generator=torch.Generator().manual_seed(2)) - 0.5).requires_grad_()
    (enc(x) ** 2).sum().backward()
    touched = int((enc.table.grad != 0).any(0).sum())
    assert 64 < touched <= 64 * 8 * 4
    assert bool(torch.isfinite(x.grad).all()) and float(x.grad.abs().sum()) > 0


def test_field_outputs_and_density_outside_box():
    cfg = NeRFFieldConfig(encoding=SMALL_GRID, hidden_dim=16, density_bias=0.5)
    f = NeRFField(cfg, aabb=BOX.aabb(), generator=torch.Generator().manual_seed(0))
    g = NeRFField(cfg, aabb=BOX.aabb(), generator=torch.Generator().manual_seed(0))
    x = torch.tensor([[0.0, 0.0, 0.0], [0.3, -0.2, 0.9], [0.0, 2.0, 0.0]])
    out = f(x)
    assert out.density.shape == (3,) and out.albedo.shape == (3, 3)
    assert float(out.density[2].detach()) == 0.0 and bool((out.density[:2] > 0).all())
    assert bool(((out.albedo > 0) & (out.albedo < 1)).all())
    torch.testing.assert_close(g(x).albedo, out.albedo, rtol=0, atol=0)
    torch.testing.assert_close(f.density(x), out.density)
    n = f.normals(x[:2])
    torch.testing.assert_close(n.norm(dim=-1), torch.ones(2))
    exp_cfg = NeRFFieldConfig(encoding=SMALL_GRID, hidden_dim=16, density_activation="trunc_exp")
    e = NeRFField(exp_cfg, aabb=BOX.aabb(), generator=torch.Generator().manual_seed(0))
    assert bool((e.density(x[:2]) > 0).all())


def test_density_scale_multiplies_the_density():
    cfg = NeRFFieldConfig(encoding=SMALL_GRID, hidden_dim=16, density_bias=0.5)
    x = torch.tensor([[0.0, 0.0, 0.0], [0.3, -0.2, 0.9]])
    f = NeRFField(cfg, aabb=BOX.aabb(), generator=torch.Generator().manual_seed(0))
    scaled = NeRFField(dataclasses.replace(cfg, density_scale=10.0), aabb=BOX.aabb(),
                       generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(scaled.density(x), 10.0 * f.density(x))
    torch.testing.assert_close(scaled(x).albedo, f(x).albedo)
    scaled.density_gain = 0.25  # a training schedule's factor on top of the scale
    torch.testing.assert_close(scaled.density(x), 2.5 * f.density(x))
    with pytest.raises(ValueError, match="density_scale"):
        NeRFFieldConfig(density_scale=0.0)


def test_tiny_field_fits_renders_of_a_target():
    target = Blob(peak=8.0, scale=0.3)
    cams = orbit_cameras([0.0, 120.0, 240.0], 10.0, 3.0, 40.0, 10, target=(0.0, 0.0, 0.0))
    sampler = DenseStratifiedSampler(DenseSamplerConfig(num_samples=24), box=BOX)
    with torch.no_grad():
        goal = render_image(target, cams, sampler, background=BG).rgb
    cfg = NeRFFieldConfig(encoding=SMALL_GRID, hidden_dim=16, density_bias=-1.0)
    field = NeRFField(cfg, aabb=BOX.aabb(), generator=torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(field.parameters(), lr=5e-2)
    gen = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(40):
        rgb = render_image(field, cams, sampler, background=BG, generator=gen).rgb
        loss = ((rgb - goal) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(0.01379, abs=1e-4)  # the initial fog vs the target
    assert losses[-1] < 0.3 * losses[0], losses  # 0.0138 → 0.0033 here
