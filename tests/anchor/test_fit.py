"""Stage B against an oracle: SMPL-X fitted to the density of a known posed body.

Each case poses the procedural body, builds the human density analytically from it —
``σ_max · sigmoid(−sdf / ε)`` with the winding-number signed distance of the posed mesh,
precomputed on an ``SdfGrid`` — places a box where the pose needs one, and fits from
``default_initial_pose()``. The fit must recover the pose (MPJPE over the 22 body joints),
keep out of the box and, sitting, touch the seat. Plus unit tests of the pieces.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest
import torch

from anchorhoi.anchor import FitConfig, fit_body, joint_limit_penalty, joint_limit_table
from anchorhoi.anchor.fit import AnchorLattice, FitSampling, FitSchedule, fit_steps
from anchorhoi.anchor.limb_search import LimbSearchConfig
from anchorhoi.anchor.losses import chamfer, distance_transform, silhouette_chamfer
from anchorhoi.anchor.skinning import SubsetSkinning
from anchorhoi.body import BodyModel, axis_angle_to_matrix, matrix_to_axis_angle
from anchorhoi.body.pose import KeyPose, default_initial_pose
from anchorhoi.nerf.cameras import orbit_cameras, rays
from anchorhoi.objects.inside import build_sdf_grid, simplify_for_field
from anchorhoi.objects.mesh_io import ObjectMesh
from anchorhoi.portable.skeleton import JOINT_NAMES

SIGMA_MAX = 50.0  # density inside the oracle body (per metre)
EPSILON = 0.004  # width of the oracle's density edge (metres)
BODY = {name: i - 1 for i, name in enumerate(JOINT_NAMES)}  # index into pose_body's 21 joints


class Box(torch.nn.Module):
    """An axis-aligned box with a learnable offset: the ``sdf_world`` + ``parameters()`` the fit
    sees of an object."""

    def __init__(self, lo, hi):
        super().__init__()
        self.register_buffer("lo", torch.tensor(lo, dtype=torch.float32))
        self.register_buffer("hi", torch.tensor(hi, dtype=torch.float32))
        self.offset = torch.nn.Parameter(torch.zeros(3))

    def sdf_world(self, x: torch.Tensor) -> torch.Tensor:
        q = (x - (self.lo + self.hi) / 2 - self.offset).abs() - (self.hi - self.lo) / 2
        outside = torch.sqrt((q.clamp_min(0) ** 2).sum(-1) + 1e-12)
        return outside + q.max(-1).values.clamp_max(0)


def _rx(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])


def _ry(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1.0, 0], [-s, 0, c]])


def _aa(m: np.ndarray) -> np.ndarray:
    return matrix_to_axis_angle(torch.as_tensor(m)).numpy()


def _reach(direction: np.ndarray, sign: float, parent: np.ndarray) -> np.ndarray:
    """Shoulder axis-angle pointing the arm (rest ``±x``) along world ``direction``."""
    rest = np.array([sign, 0.0, 0.0])
    d = direction / np.linalg.norm(direction)
    axis = np.cross(rest, d)
    world = axis_angle_to_matrix(torch.as_tensor(
        axis / np.linalg.norm(axis) * math.atan2(np.linalg.norm(axis), rest @ d))).numpy()
    return _aa(parent.T @ world)


def oracle_pose(case: str) -> KeyPose:
    pose = np.zeros((21, 3))
    if case == "lunge":  # arms raised, left leg forward, right leg back; turned 35°
        root, trans = np.array([0.0, math.radians(35), 0.0]), np.array([0.05, -0.12, 0.1])
        pose[BODY["left_hip"]], pose[BODY["left_knee"]] = [-0.7, 0, 0.1], [1.0, 0, 0]
        pose[BODY["right_hip"]], pose[BODY["right_knee"]] = [0.35, 0, -0.05], [0.35, 0, 0]
        pose[BODY["left_shoulder"]], pose[BODY["left_elbow"]] = [0, 0, 0.6], [0, -0.3, 0]
        pose[BODY["right_shoulder"]], pose[BODY["right_elbow"]] = [0, -0.3, -0.9], [0, 0.5, 0]
        pose[BODY["spine1"]] = [0.1, 0, 0]
    elif case == "sit":  # hips and knees at 90°, hands on the thighs; turned −25°
        root, trans = np.array([0.0, math.radians(-25), 0.0]), np.array([-0.05, -0.4, 0.0])
        pose[BODY["left_hip"]], pose[BODY["right_hip"]] = [-1.57, 0, 0.1], [-1.57, 0, -0.1]
        pose[BODY["left_knee"]] = pose[BODY["right_knee"]] = [1.57, 0, 0]
        pose[BODY["left_shoulder"]], pose[BODY["right_shoulder"]] = [0, 0, -1.2], [0, 0, 1.2]
        pose[BODY["left_elbow"]], pose[BODY["right_elbow"]] = [0, -0.9, 0], [0, 0.9, 0]
    elif case == "reach_low":  # pelvis pitched 56° forward over a deep squat, hands down; 25°
        root, trans = _aa(_ry(math.radians(25)) @ _rx(0.97)), np.array([0.0, -0.3, 0.0])
        pose[BODY["left_hip"]], pose[BODY["right_hip"]] = [-1.76, -0.1, 0.12], [-1.76, 0.1, -0.12]
        pose[BODY["left_knee"]] = pose[BODY["right_knee"]] = [0.98, 0, 0]
        for name in ("spine1", "spine2", "spine3"):
            pose[BODY[name]] = [0.13, 0, 0]
        pose[BODY["left_shoulder"]], pose[BODY["right_shoulder"]] = [0, 0, -1.0], [0, 0, 1.0]
    elif case == "lean":  # bent forward 54°, straight arms reaching down to a table; turned 15°
        lean, spine = 0.5, 0.15
        root, trans = _aa(_ry(math.radians(15)) @ _rx(lean)), np.array([0.0, -0.1, 0.0])
        pose[BODY["left_hip"]] = pose[BODY["right_hip"]] = [-lean, 0, 0]
        for name in ("spine1", "spine2", "spine3"):
            pose[BODY[name]] = [spine, 0, 0]
        torso = _rx(lean + 3 * spine)  # world rotation of the collars
        pose[BODY["left_shoulder"]] = _reach(np.array([0.12, -0.7, 0.7]), 1.0, torso)
        pose[BODY["right_shoulder"]] = _reach(np.array([-0.12, -0.7, 0.7]), -1.0, torso)
    else:
        raise ValueError(case)
    return KeyPose(root_orient=root, pose_body=pose.reshape(-1), pose_hand=np.zeros(90),
                   trans=trans, betas=np.zeros(10))


def oracle_box(case: str, vertices: np.ndarray, joints: np.ndarray) -> Box | None:
    floor = vertices[:, 1].min()
    if case == "sit":  # a 45 cm box under the pelvis, its top touching the body
        pelvis = joints[0]
        above = (np.abs(vertices[:, 0] - pelvis[0]) < 0.25) & \
            (np.abs(vertices[:, 2] - pelvis[2]) < 0.25)
        top = vertices[above, 1].min()
        return Box([pelvis[0] - 0.25, top - 0.45, pelvis[2] - 0.25],
                   [pelvis[0] + 0.25, top, pelvis[2] + 0.25])
    if case == "lean":  # a table from the floor up to the lowest point of the hands
        wrists = joints[[20, 21]]
        hands = np.linalg.norm(vertices[:, None] - wrists[None], axis=-1).min(1) < 0.2
        top = vertices[hands, 1].min()
        x, z = wrists[:, 0].mean(), wrists[:, 2].mean()
        return Box([x - 0.45, floor, z - 0.15], [x + 0.45, top, z + 0.45])
    return None


def oracle_density(body: BodyModel, vertices: np.ndarray):
    """σ_max · sigmoid(−sdf/ε) of the posed mesh, its signed distance precomputed on a grid
    (the mesh simplified to 8000 faces first: the winding number of all 23k faces is slow)."""
    mesh = simplify_for_field(ObjectMesh(vertices=vertices,
                                         faces=np.asarray(body.faces, dtype=np.int64)), 8000)
    grid = build_sdf_grid(mesh.vertices, mesh.faces, resolution=64, margin=0.08)

    def density(x: torch.Tensor) -> torch.Tensor:
        return SIGMA_MAX * torch.sigmoid(-grid.sample_sdf(x) / EPSILON)

    return density


def render_masks(density, cameras, *, near: float, far: float, samples: int = 96):
    """``(K, H, W)`` opacity of ``density`` seen by ``cameras`` (uniform ray marching)."""
    origins, dirs = rays(cameras)
    t = torch.linspace(near, far, samples)
    points = origins[..., None, :] + dirs[..., None, :] * t[:, None]
    with torch.no_grad():
        sigma = density(points.reshape(-1, 3)).reshape(*points.shape[:-1])
    return 1 - torch.exp(-sigma.sum(-1) * (far - near) / samples)


@pytest.fixture(scope="module")
def cases(body):
    out = {}
    for case in ("lunge", "sit", "lean"):
        pose = oracle_pose(case)
        with torch.no_grad():
            posed = body(**pose.body_inputs())
        vertices = posed.vertices[0].double().numpy()
        joints = posed.joints[0].double().numpy()
        out[case] = dict(pose=pose, vertices=vertices, joints=joints,
                         box=oracle_box(case, vertices, joints),
                         density=oracle_density(body, vertices))
    return out


def mpjpe(body: BodyModel, pose: KeyPose, joints: np.ndarray) -> np.ndarray:
    """Per-joint error (metres) over the 22 body joints."""
    with torch.no_grad():
        fitted = body(**pose.body_inputs()).joints[0, :22].double().numpy()
    return np.linalg.norm(fitted - joints[:22], axis=1)


# Achieved (seed 0, one CPU thread; MPJPE / worst joint / max penetration):
#   lunge + 4 masks  8.3 mm / 43 mm (left wrist)  / —
#   sit              8.0 mm / 23 mm (left wrist)  / 0 mm, 14 contact vertices on the seat
#   lean             6.9 mm / 19 mm (left elbow)  / 0 mm
# (~10-15 s a fit on an idle machine.) Lean over seeds 0-9: worst 19-53 mm; before the phases'
# warm-up (FitSchedule.warmup_steps) the detail phase's first Adam steps threw the arms off
# and the worst joint reached 105-207 mm on 3 of 10 seeds. Without the limb search, arms and
# legs that must swing far from the initial A-pose (raised arms, thighs at 90°) end in wrong
# basins at 50-150 mm.
@pytest.mark.slow
@pytest.mark.parametrize("case", ["lunge", "sit", "lean"])
def test_fit_recovers_the_oracle_pose(body, cases, case):
    c = cases[case]
    masks = cameras = None
    if case == "lunge":  # this case also gets silhouettes from 4 views
        cameras = orbit_cameras([20.0, 110.0, 200.0, 290.0], 10.0, 3.2, 45.0, 64)
        masks = render_masks(c["density"], cameras, near=1.6, far=4.8)
        assert 0.05 < float((masks > 0.5).float().mean()) < 0.5
    box = c["box"]
    if box is not None:  # the oracle itself keeps out of the box
        gt_sdf = box.sdf_world(torch.as_tensor(c["vertices"], dtype=torch.float32))
        assert float(gt_sdf.detach().min()) > -1e-3
    start = time.perf_counter()
    result = fit_body(body, human_density=c["density"], masks=masks, cameras=cameras, obj=box,
                      config=FitConfig(), generator=torch.Generator().manual_seed(0))
    elapsed = time.perf_counter() - start
    err = mpjpe(body, result.key_pose, c["joints"])
    print(f"{case}: MPJPE {1000 * err.mean():.1f} mm, worst {1000 * err.max():.1f} mm "
          f"({JOINT_NAMES[int(err.argmax())]}), penetration {1000 * result.max_penetration:.1f}"
          f" mm, {len(result.contact_vertices)} contacts, {elapsed:.1f} s")
    assert err.mean() <= 0.040
    assert err.max() <= 0.100
    assert np.isfinite(result.losses["total"])
    if masks is not None:
        assert "silhouette" in result.losses
    if box is None:
        assert len(result.contact_vertices) == 0 and result.max_penetration == 0.0
        return
    assert result.max_penetration <= 0.010
    if case == "sit":  # touching the seat, from above
        assert len(result.contact_vertices) > 0
        with torch.no_grad():
            fitted = body(**result.key_pose.body_inputs()).vertices[0]
        touching = fitted[torch.as_tensor(result.contact_vertices)]
        assert bool((touching[:, 1] > box.hi[1] - 0.02).all())
        assert bool((box.sdf_world(touching).abs() < 0.02).all())


@pytest.mark.slow
def test_the_polish_places_the_limbs_of_a_body_bent_low(body):
    """A deep squat with the pelvis pitched far forward (reaching low): the search's limb search
    places the limbs about a torso only rigidly aligned, and the gradient leaves the limbs off.
    The polish searches the limbs again from the fitted body and lowers the total and the mean
    joint error. Where it lands depends on the CPU's arithmetic: on the machine it was written
    on, seeds 0-3, the worst joint 32-53 mm -> 10-28 mm; on an AMD EPYC (2026-12-07) the mean
    11.5-14.1 -> 5.3-11.6 mm at every seed, the worst 33-47 -> 13-42 mm (seed 0: 33.9 -> 41.8,
    a wrist traded for the rest). So the test holds the polish to what it does everywhere (a
    lower total, a lower mean) and the fit to the anchor's targets."""
    pose = oracle_pose("reach_low")
    with torch.no_grad():
        posed = body(**pose.body_inputs())
    density = oracle_density(body, posed.vertices[0].double().numpy())
    joints = posed.joints[0].double().numpy()
    polished = FitSchedule().polish_rounds
    assert polished >= 1
    results = {}
    for rounds in (0, polished):
        config = FitConfig(schedule=FitSchedule(polish_rounds=rounds))
        results[rounds] = fit_body(body, human_density=density, config=config,
                                   generator=torch.Generator().manual_seed(0))
    err = {k: mpjpe(body, r.key_pose, joints) for k, r in results.items()}
    print({k: (round(1000 * e.mean(), 1), round(1000 * e.max(), 1)) for k, e in err.items()})
    assert results[polished].losses["total"] < results[0].losses["total"]
    assert err[polished].mean() < err[0].mean()
    assert err[polished].mean() <= 0.040 and err[polished].max() <= 0.100


def test_object_stays_put_unless_fitted(body, cases):
    """Started at the right pose with the seat 3 cm too high: a fixed seat gets no gradient and
    the body leaves it; with ``fit_object`` the seat itself moves out of the body."""
    c = cases["sit"]
    quick = FitConfig(schedule=FitSchedule(yaw_hypotheses_deg=(0.0,), rigid_iterations=0,
                                           search_iterations=0, search_rounds=1,
                                           pose_iterations=30, detail_iterations=20),
                      limb_search=None, lattice=AnchorLattice(resolution=64))
    penetration = {}
    for fit_object in (False, True):
        box = c["box"]
        seat = Box(box.lo.tolist(), box.hi.tolist())
        with torch.no_grad():
            seat.offset.copy_(torch.tensor([0.0, 0.03, 0.0]))
        result = fit_body(body, human_density=c["density"], obj=seat, init=c["pose"],
                          config=dataclasses.replace(quick, fit_object=fit_object),
                          generator=torch.Generator().manual_seed(1))
        assert seat.offset.requires_grad
        offset = seat.offset.detach()
        if fit_object:  # ~1.5 cm down (seed 1)
            assert float(offset[1]) < 0.02
        else:
            assert seat.offset.grad is None
            assert offset.tolist() == pytest.approx([0.0, 0.03, 0.0])
        penetration[fit_object] = result.max_penetration
    # ~9 mm with the seat held too high, ~4 mm with it moved
    assert penetration[True] < penetration[False] < 0.015


def test_fit_refuses_an_empty_anchor_and_bad_settings(body):
    with pytest.raises(ValueError, match=r"FitSchedule\.pose_iterations must be ≥ 0; got -1"):
        FitSchedule(pose_iterations=-1)
    with pytest.raises(ValueError, match=r"AnchorLattice\.resolution must be ≥ 8; got 4"):
        AnchorLattice(resolution=4)
    with pytest.raises(ValueError, match=r"orders of the limbs .* each naming every limb once"):
        LimbSearchConfig(orders=(("left_leg", "right_leg", "left_arm"),))
    with pytest.raises(ValueError, match="no dense region"):
        fit_body(body, human_density=lambda x: torch.zeros(x.shape[0]),
                 config=FitConfig(lattice=AnchorLattice(resolution=16)),
                 generator=torch.Generator())
    with pytest.raises(ValueError, match="masks and cameras together"):
        fit_body(body, human_density=lambda x: torch.zeros(x.shape[0]),
                 masks=torch.zeros(1, 8, 8), generator=torch.Generator())


def test_joint_limits_zero_inside_positive_outside():
    lo, hi = joint_limit_table()
    inside = torch.zeros(2, 21, 3)
    inside[0, BODY["left_knee"], 0] = math.radians(100)  # knee bent the right way
    inside[1, BODY["left_elbow"], 1] = math.radians(-90)  # left elbow flexed
    inside[1, BODY["right_elbow"], 1] = math.radians(90)
    assert joint_limit_penalty(inside, lo, hi).tolist() == [0.0, 0.0]
    outside = torch.zeros(3, 21, 3)
    outside[0, BODY["left_knee"], 0] = math.radians(-20)  # hyper-extended knee
    outside[1, BODY["right_elbow"], 1] = math.radians(-30)  # elbow bent backwards
    outside[2, BODY["right_hip"], 0] = math.radians(60)  # leg swung far back
    penalty = joint_limit_penalty(outside, lo, hi)
    np.testing.assert_allclose(penalty.numpy(), [math.radians(20) ** 2, math.radians(30) ** 2,
                                                 math.radians(15) ** 2], rtol=1e-5)


def test_key_pose_6d_round_trip():
    rng = np.random.default_rng(0)
    aa = rng.normal(scale=0.8, size=(55, 3))
    aa *= np.minimum(1.0, 3.0 / np.linalg.norm(aa, axis=1, keepdims=True))  # angles < π
    pose = KeyPose(root_orient=aa[0], pose_body=aa[1:22].reshape(-1),
                   pose_hand=aa[25:55].reshape(-1), trans=rng.normal(size=3),
                   betas=rng.normal(size=10))
    params = pose.to_params(dtype=torch.float64)
    assert params.root.shape == (1, 6) and params.body.shape == (1, 21, 6)
    assert params.hand.shape == (1, 30, 6)
    back = params.to_key_pose()
    for name in ("root_orient", "pose_body", "pose_hand", "trans", "betas"):
        np.testing.assert_allclose(getattr(back, name), getattr(pose, name), atol=1e-9)
    start = default_initial_pose()
    assert start.pose_body.shape == (63,) and start.betas.shape == (10,)
    with pytest.raises(ValueError, match="pose_body"):
        KeyPose(root_orient=np.zeros(3), pose_body=np.zeros(60), pose_hand=np.zeros(90),
                trans=np.zeros(3), betas=np.zeros(10))


def test_chamfer_on_a_tiny_example():
    a = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    b = torch.tensor([[0.0, 0.0, 0.5]])
    ab, ba = chamfer(a, b, eta=1e-9)
    assert float(ab) == pytest.approx((0.5 + math.sqrt(1.25)) / 2, rel=1e-6)
    assert float(ba) == pytest.approx(0.5, rel=1e-6)
    ab, ba = chamfer(a, b, eta=0.1)  # Charbonnier: √(d² + η²) − η
    assert float(ba) == pytest.approx(math.sqrt(0.25 + 0.01) - 0.1, rel=1e-6)


def test_distance_transform_is_exact():
    g = torch.Generator().manual_seed(0)
    masks = torch.rand(2, 9, 11, generator=g) > 0.85
    dt = distance_transform(masks)
    grid = torch.stack(torch.meshgrid(torch.arange(9.0), torch.arange(11.0), indexing="ij"), -1)
    for k in range(2):
        ref = torch.cdist(grid.reshape(-1, 2), grid[masks[k]]).min(1).values.reshape(9, 11)
        torch.testing.assert_close(dt[k], ref)
    volume = torch.zeros(7, 8, 9, dtype=torch.bool)
    volume[3, 4, 5] = True
    assert float(distance_transform(volume, dims=3)[0, 0, 0]) == pytest.approx(math.sqrt(50))
    assert float(distance_transform(volume, dims=3, max_distance=2)[0, 0, 0]) == 2.0


def test_silhouette_chamfer_on_a_tiny_example():
    masks = torch.zeros(1, 5, 5, dtype=torch.bool)
    masks[0, 2, 1] = True  # one pixel at (u, v) = (1, 2)
    dt = distance_transform(masks)
    uv = torch.tensor([[[4.0, 2.0], [1.0, 2.0]]])  # 3 px right of it, and on it
    pixels = [torch.tensor([[1.0, 2.0]])]
    visible = torch.ones(1, 2, dtype=torch.bool)
    loss = silhouette_chamfer(uv, visible, dt, pixels, eta=1e-9)
    assert float(loss) == pytest.approx((3 / 5) / 2, rel=1e-5)  # body→mask mean; mask→body 0


def test_subset_skinning_matches_the_body_model(body):
    g = torch.Generator().manual_seed(0)
    aa = 0.4 * torch.randn(2, 55, 3, generator=g)
    rot, trans = axis_angle_to_matrix(aa), torch.randn(2, 3, generator=g)
    betas = torch.randn(2, 10, generator=g)
    with torch.no_grad():
        out = body(global_orient=rot[:, 0], body_pose=rot[:, 1:22], jaw_pose=rot[:, 22],
                   leye_pose=rot[:, 23], reye_pose=rot[:, 24], left_hand_pose=rot[:, 25:40],
                   right_hand_pose=rot[:, 40:], transl=trans, betas=betas)
        skin = SubsetSkinning.of_body(body)
        v, j, _ = skin(rot, trans, betas)
        ids = torch.randperm(v.shape[1], generator=g)[:500]
        v_sub, _, n_sub = skin.subset(ids)(rot, trans, betas)
    torch.testing.assert_close(v, out.vertices, atol=1e-5, rtol=0)
    torch.testing.assert_close(j, out.joints, atol=1e-5, rtol=0)
    torch.testing.assert_close(v_sub, out.vertices[:, ids], atol=1e-5, rtol=0)
    torch.testing.assert_close(n_sub.norm(dim=-1), torch.ones(2, 500))


def test_fit_reports_every_step_and_a_raise_stops_it(body):
    """Progress comes from every optimiser step of every phase, one count over the phases
    (3 rigid + 2 search + 4 pose + 2 detail) and the exact evaluation last, with the final
    losses; a cancel raised from it stops the fit at once."""
    from anchorhoi.anchor.stage import posed_body_field

    pose = default_initial_pose(10)
    field = posed_body_field(body, pose)
    config = FitConfig(schedule=FitSchedule(rigid_iterations=3, search_rounds=1,
                                            search_iterations=2, pose_iterations=4,
                                            detail_iterations=2, yaw_hypotheses_deg=(0.0,)),
                       limb_search=None, lattice=AnchorLattice(resolution=32),
                       sampling=FitSampling(num_body_samples=300, num_anchor_samples=500))
    seen = []
    fit_body(body, human_density=lambda x: field.density(x).detach(), config=config,
             generator=torch.Generator().manual_seed(0),
             on_step=lambda step, total, losses: seen.append((step, total, dict(losses))))
    assert [(step, total) for step, total, _ in seen] == [(s, 12) for s in range(1, 13)]
    with_limbs = dataclasses.replace(config, limb_search=LimbSearchConfig())
    # the search rounds run once per limb order, and so do the polish's (pose + detail) rounds
    assert fit_steps(with_limbs) == 12 + 2 + 2 * with_limbs.schedule.polish_rounds * (4 + 2)
    assert all(losses == {} for _, _, losses in seen[:-1]) and "total" in seen[-1][2]

    class Stop(Exception):
        pass

    def stop(step, total, losses):
        if step == 6:  # the first pose step
            seen.append(step)
            raise Stop

    seen.clear()
    with pytest.raises(Stop):
        fit_body(body, human_density=lambda x: field.density(x).detach(), config=config,
                 generator=torch.Generator().manual_seed(0), on_step=stop)
    assert seen == [6]
