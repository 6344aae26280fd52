"""The balance term (``objective.balance_loss``) is off only where the object carries some of the
body (``objective.carried_by``): a body vertex close to it over a face that looks up — seated
on it, knees on it — and not where the shins brush a seat's front or a hip touches a side;
and where the hands hold an object that stays on the floor, not one they carry."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.true_poses import true_pose_problem

from anchorhoi.body import BodyModel, axis_angle_to_matrix, matrix_to_rot6d, rot6d_to_matrix
from anchorhoi.motion import MotionConfig
from anchorhoi.motion.objective import Problem, State, balance_loss, carried_by
from anchorhoi.objects.inside import build_sdf_grid
from anchorhoi.objects.mesh_io import ObjectMesh


def box_mesh(size=(0.4, 0.45, 0.4)) -> ObjectMesh:
    """A box of ``size`` (m) centred on its own origin."""
    h = np.asarray(size) / 2
    v = np.array([[x, y, z] for x in (-h[0], h[0]) for y in (-h[1], h[1])
                  for z in (-h[2], h[2])])
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return ObjectMesh(vertices=v, faces=faces)


def box_sdf(size=(0.4, 0.45, 0.4)):
    """The distance grid of ``box_mesh(size)``."""
    box = box_mesh(size)
    return build_sdf_grid(box.vertices, box.faces, resolution=48, dtype=torch.float64)


def test_a_vertex_on_the_top_is_carried_and_one_against_a_side_is_not():
    sdf = box_sdf()
    rot = torch.eye(3, dtype=torch.float64)[None].expand(4, 3, 3)
    trans = torch.tensor([0.0, 0.225, 0.0], dtype=torch.float64).expand(4, 3)  # on the ground
    points = torch.tensor([[[0.05, 0.465, 0.0]],  # 1.5 cm over the top: seated
                           [[0.0, 0.25, 0.215]],  # 1.5 cm off the front face: a shin
                           [[0.215, 0.44, 0.0]],  # beside the top edge, level with it
                           [[0.0, 0.56, 0.0]]],  # 11 cm over the top: off it
                          dtype=torch.float64)
    got = carried_by(sdf, points, rot, trans, distance_m=0.04)
    assert got.tolist() == [True, False, False, False]


def test_the_faces_that_look_up_follow_the_objects_pose():
    """The box rolled a quarter turn about the camera's view: its former side faces up. A point
    over the new top is carried; one beside the new side is not."""
    sdf = box_sdf((0.6, 0.3, 0.4))  # 60 cm along its own x: standing on end after the roll
    roll = axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2], dtype=torch.float64))
    rot = roll[None].expand(2, 3, 3)
    trans = torch.tensor([1.0, 0.3, -2.0], dtype=torch.float64).expand(2, 3)
    points = torch.tensor([[[1.0, 0.62, -2.0]],  # 2 cm over the top (0.3 + 0.3)
                           [[1.17, 0.3, -2.0]]],  # 2 cm off a side (half of 0.3 is 0.15)
                          dtype=torch.float64)
    got = carried_by(sdf, points, rot, trans, distance_m=0.04)
    assert got.tolist() == [True, False]


CASE = Path(__file__).resolve().parents[2] / "bench" / "cases" / "motion" / "sit_on_chair"
FRAMES = slice(0, 4)
"""The case's first frames: the body stands on both feet, before it sits."""


@pytest.fixture(scope="module")
def standing(one_thread):
    """The case's first frames with their true poses, both feet planted, the hands holding a
    box 5 m below the floor (it touches nothing)."""
    problem, state = true_pose_problem(BodyModel(), CASE, FRAMES, box_mesh((0.4, 0.4, 0.4)))
    t = state.trans.shape[0]
    return problem, replace(state, obj_trans=torch.tensor([0.0, -5.0, 0.0]).expand(t, 3).clone(),
                            held=torch.ones(t, 2, dtype=torch.bool),
                            foot_weights=torch.ones(t, 4))


def balance(problem: Problem, state: State, mode: str, lean_deg: float = 0.0) -> float:
    """``objective.balance_loss`` of ``state`` in contact ``mode``, the whole body turned
    ``lean_deg`` about the world's x axis through its root (its feet swing off under it)."""
    turn = axis_angle_to_matrix(torch.tensor([math.radians(lean_deg), 0.0, 0.0]))
    leaning = replace(state, root6d=matrix_to_rot6d(turn @ rot6d_to_matrix(state.root6d)),
                      mode=mode)
    frames = leaning.pose(problem)
    return float(balance_loss(problem, leaning, MotionConfig(), frames,
                              rot6d_to_matrix(leaning.obj6d)))


def test_the_body_stays_over_its_feet_while_the_hands_carry_the_object(standing):
    """A carried object carries none of the body: while the hands hold it (contact mode held)
    the centre of mass must stay over the planted feet, as with empty hands. A pushed object
    (mode sliding) may take some weight through the hands: no balance there."""
    problem, state = standing
    assert balance(problem, state, "held") == 0.0  # standing upright: over its feet
    carried = balance(problem, state, "held", lean_deg=30.0)
    free_hands = balance(problem, replace(state, held=torch.zeros_like(state.held)), "held",
                         lean_deg=30.0)
    assert carried > 0.0
    assert carried == pytest.approx(free_hands)
    assert balance(problem, state, "sliding", lean_deg=30.0) == 0.0
