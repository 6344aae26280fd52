"""The mesh vertices stage E's penetration term watches beyond its vertex subset (watch.py).

The subset's vertices lie centimetres apart; an object's corner between them is inside the
body's mesh where no subset vertex is near it. These tests put a 2 cm cube there, on a real
oracle case's body, and check that the check of the whole mesh finds the vertices it enters,
that the term sees them and pushes the mesh out, and that a hand holding the object is left to
touch it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.true_poses import true_pose_problem

from anchorhoi.body import BodyModel, axis_angle_to_matrix, matrix_to_rot6d
from anchorhoi.motion import MotionConfig
from anchorhoi.motion.config import MotionSampling
from anchorhoi.motion.contact import LEFT_HAND
from anchorhoi.motion.losses import penetration_loss
from anchorhoi.motion.objective import Problem, State
from anchorhoi.motion.posing import PosedSubset, farthest_point_ids
from anchorhoi.motion.watch import (
    hand_sides,
    refresh_watch,
    watch_penetration,
    watched_depths,
    watched_points,
)
from anchorhoi.objects.mesh_io import ObjectMesh

CASE = Path(__file__).resolve().parents[2] / "bench" / "cases" / "motion" / "sit_on_chair"
FRAMES = slice(0, 6)
CUBE = 0.02
DEPTH = 0.008
"""How far the cube's face lies inside the mesh at the chosen vertex."""


def cube() -> ObjectMesh:
    h = CUBE / 2
    v = np.array([[x, y, z] for x in (-h, h) for y in (-h, h) for z in (-h, h)])
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return ObjectMesh(vertices=v, faces=f)


@pytest.fixture(scope="module")
def body():
    return BodyModel()


def box(size: tuple[float, float, float]) -> ObjectMesh:
    """A box of ``size`` (x, y, z) metres centred on the origin."""
    c = cube()
    return ObjectMesh(vertices=c.vertices / CUBE * np.asarray(size), faces=c.faces)


def setup_with(body, obj: ObjectMesh) -> tuple[Problem, State]:
    """The case's first frames with their true poses, the object ``obj`` (placed by the
    tests)."""
    return true_pose_problem(body, CASE, FRAMES, obj)


@pytest.fixture(scope="module")
def setup(body, one_thread):
    """The 2 cm cube (``place_cube`` puts it into the mesh)."""
    return setup_with(body, cube())


def mesh(problem: Problem, state: State) -> torch.Tensor:
    """(T, V, 3) the whole mesh."""
    rotations = state.rotations()
    frames = problem.kin(rotations, state.trans)
    ids = torch.arange(problem.kin.all_rest_vertices.shape[0])
    return problem.kin.skin(rotations, frames, ids)


def place_cube(problem: Problem, state: State, vertex: int) -> State:
    """``state`` with the cube's face ``DEPTH`` inside the mesh at ``vertex`` in every frame
    (along the vertex's direction from the body's centre, which the cube moves with)."""
    verts = mesh(problem, state)
    centre = verts.mean(1)
    out = verts[:, vertex] - centre
    out = out / out.norm(dim=-1, keepdim=True)
    trans = verts[:, vertex] + (CUBE / 2 - DEPTH) * out
    return State(root6d=state.root6d, body6d=state.body6d, hand6d=state.hand6d,
                 trans=state.trans.clone(), obj6d=state.obj6d, obj_trans=trans, held=state.held)


def lonely_vertex(problem: Problem, state: State, allowed: np.ndarray) -> int:
    """The vertex of ``allowed`` farthest from every subset vertex in frame 0."""
    verts = mesh(problem, state)[0]
    sub = verts[problem.kin.vertex_ids]
    gap = torch.cdist(verts[torch.as_tensor(allowed)], sub).amin(1)
    return int(allowed[int(gap.argmax())])


def deepest(problem: Problem, state: State) -> float:
    """The deepest mesh vertex inside the cube over the frames, m (≤ 0: none)."""
    local = mesh(problem, state) - state.obj_trans[:, None]
    return float(-problem.sdf.sample_sdf(local.reshape(-1, 3)).min())


def test_skin_poses_any_vertex_like_the_body_model(body):
    g = torch.Generator().manual_seed(1)
    rot = axis_angle_to_matrix(0.4 * torch.randn(3, 55, 3, generator=g))
    trans = torch.randn(3, 3, generator=g)
    betas = 0.5 * torch.randn(10, generator=g)
    kin = PosedSubset(body, betas, farthest_point_ids(body.layer.v_template.numpy(), 50))
    frames = kin(rot, trans)
    others = torch.tensor([0, 777, 5717, 6702, 10000])  # none is in the subset
    full = body(global_orient=rot[:, 0], body_pose=rot[:, 1:22], jaw_pose=rot[:, 22],
                leye_pose=rot[:, 23], reye_pose=rot[:, 24], left_hand_pose=rot[:, 25:40],
                right_hand_pose=rot[:, 40:55], transl=trans, betas=betas.expand(3, 10))
    assert torch.allclose(kin.skin(rot, frames, others), full.vertices[:, others], atol=1e-5)


def test_the_whole_mesh_check_finds_a_corner_between_the_subset_vertices(body, setup):
    problem, state = setup
    dominant = body.layer.lbs_weights.argmax(1).numpy()
    trunk = np.flatnonzero(np.isin(dominant, [3, 6, 9, 12, 15]))  # spine, neck, head
    vertex = lonely_vertex(problem, state, trunk)
    placed = place_cube(problem, state, vertex)
    config = MotionConfig()
    frames = problem.kin(placed.rotations(), placed.trans)
    subset_term = penetration_loss(frames.vertices, torch.eye(3).expand(6, 3, 3),
                                   placed.obj_trans, problem.sdf,
                                   margin=config.contact.penetration_margin_m)
    assert float(subset_term) == 0.0  # the subset sees nothing, margin and all
    assert deepest(problem, placed) > 0.006

    refresh_watch(problem, placed, config)
    watch = placed.watch
    assert watch is not None and vertex in watch.vertices.tolist()
    assert set(watch.frames[watch.vertices == vertex].tolist()) == set(range(6))
    assert not bool(torch.isin(watch.vertices, problem.kin.vertex_ids).any())
    # the pairs are posed like the mesh: the term reads the depth the check found
    before = watch_penetration(watch, problem.kin, frames, torch.eye(3).expand(6, 3, 3),
                               placed.obj_trans, problem.sdf, placed.held, 0.0, 0.1)
    assert float(before) * 6 > (0.006 ** 2)

    # the term pushes the mesh out: the body's translation, moved by it alone
    trans = placed.trans.clone().requires_grad_(True)
    opt = torch.optim.Adam([trans], lr=2e-3)
    for _ in range(60):
        opt.zero_grad()
        moved = problem.kin(placed.rotations(), trans)
        loss = watch_penetration(watch, problem.kin, moved, torch.eye(3).expand(6, 3, 3),
                                 placed.obj_trans, problem.sdf, placed.held,
                                 config.sampling.watch_margin_m, 0.1)
        (1e4 * loss).backward()
        opt.step()
    after = State(root6d=placed.root6d, body6d=placed.body6d, hand6d=placed.hand6d,
                  trans=trans.detach(), obj6d=placed.obj6d, obj_trans=placed.obj_trans,
                  held=placed.held)
    assert deepest(problem, after) < -0.002  # about the margin out


def test_a_holding_hand_is_not_watched_in_the_frames_it_holds(body, setup):
    problem, state = setup
    dominant = body.layer.lbs_weights.argmax(1).numpy()
    left = np.flatnonzero(np.isin(dominant, LEFT_HAND))
    vertex = lonely_vertex(problem, state, left)
    placed = place_cube(problem, state, vertex)
    assert int(hand_sides(problem.kin, torch.tensor([vertex]))[0]) == 0
    config = MotionConfig()
    refresh_watch(problem, placed, config)
    assert placed.watch is not None and vertex in placed.watch.vertices.tolist()

    holding = State(root6d=placed.root6d, body6d=placed.body6d, hand6d=placed.hand6d,
                    trans=placed.trans, obj6d=placed.obj6d, obj_trans=placed.obj_trans,
                    held=torch.tensor([[True, False]] * 3 + [[False, False]] * 3))
    refresh_watch(problem, holding, config)
    assert holding.watch is not None
    frames_watched = holding.watch.frames[holding.watch.sides == 0]
    assert set(frames_watched.tolist()) <= {3, 4, 5} and len(frames_watched) > 0


def test_no_watch_when_switched_off(setup, body):
    problem, state = setup
    dominant = body.layer.lbs_weights.argmax(1).numpy()
    placed = place_cube(problem, state, lonely_vertex(
        problem, state, np.flatnonzero(np.isin(dominant, [15]))))
    refresh_watch(problem, placed, MotionConfig(sampling=MotionSampling(max_watched_pairs=0)))
    assert placed.watch is None


def test_no_watch_where_nothing_comes_near(setup):
    problem, state = setup
    far = State(root6d=state.root6d, body6d=state.body6d, hand6d=state.hand6d,
                trans=state.trans, obj6d=state.obj6d, obj_trans=state.trans + 3.0,
                held=state.held)
    refresh_watch(problem, far, MotionConfig())
    assert far.watch is None


def test_the_check_measures_a_board_thinner_than_the_grid_exactly(body, one_thread):
    """A 2 cm board 1.6 m long: the grid's cells are 3 cm, so its values round the board off
    (an edge in the mesh reads shallow or outside). The check and the term read the exact
    depth, and the term pushes the mesh out by it."""
    problem, state = setup_with(body, box((1.6, 0.02, 0.4)))
    assert problem.sdf.cell > 0.025
    dominant = body.layer.lbs_weights.argmax(1).numpy()
    vertex = lonely_vertex(problem, state, np.flatnonzero(np.isin(dominant, [3, 6, 9])))
    verts = mesh(problem, state)
    out = verts[:, vertex] - verts.mean(1)
    out = out / out.norm(dim=-1, keepdim=True)  # (T, 3) the board's local z
    side = torch.linalg.cross(out, torch.tensor([0.0, 1.0, 0.0]).expand_as(out))
    side = side / side.norm(dim=-1, keepdim=True)
    rot = torch.stack([side, torch.linalg.cross(out, side), out], -1)  # object → world
    # its long edge 8 mm inside the mesh at the vertex, mid-thickness
    trans = verts[:, vertex] + (0.2 - DEPTH) * out
    placed = State(root6d=state.root6d, body6d=state.body6d, hand6d=state.hand6d,
                   trans=state.trans.clone(), obj6d=matrix_to_rot6d(rot), obj_trans=trans,
                   held=state.held)

    def exact_deepest(s: State) -> float:
        local = (mesh(problem, s)[:, vertex] - s.obj_trans)[:, None] @ rot
        return float(-problem.leaves.signed_distance(local[:, 0]).min())

    local = ((verts[:, vertex] - trans)[:, None] @ rot)[:, 0]
    assert exact_deepest(placed) == pytest.approx(DEPTH, abs=1e-4)
    assert float(-problem.sdf.sample_sdf(local).min()) < DEPTH / 2  # the grid's reading

    config = MotionConfig()
    refresh_watch(problem, placed, config)
    watch = placed.watch
    assert watch is not None and vertex in watch.vertices.tolist()
    frames = problem.kin(placed.rotations(), placed.trans)
    mine = watch.vertices == vertex
    depths = watched_depths(watch, watched_points(watch, problem.kin, frames), rot,
                            placed.obj_trans, problem.sdf)
    assert torch.allclose(depths[mine], torch.full_like(depths[mine], -DEPTH), atol=1e-4)

    trans_body = placed.trans.clone().requires_grad_(True)
    opt = torch.optim.Adam([trans_body], lr=2e-3)
    for _ in range(60):
        opt.zero_grad()
        moved = problem.kin(placed.rotations(), trans_body)
        loss = watch_penetration(watch, problem.kin, moved, rot, placed.obj_trans, problem.sdf,
                                 placed.held, config.sampling.watch_margin_m, 0.1)
        (1e4 * loss).backward()
        opt.step()
    after = State(root6d=placed.root6d, body6d=placed.body6d, hand6d=placed.hand6d,
                  trans=trans_body.detach(), obj6d=placed.obj6d, obj_trans=placed.obj_trans,
                  held=placed.held)
    assert exact_deepest(after) < -0.001  # out, measured exactly
