"""The balance term (``objective.balance_loss``) is off only where the object carries some of the
body (``objective.carried_by``): a body vertex close to it over a face that looks up — seated
on it, knees on it — and not where the shins brush a seat's front or a hip touches a side."""

from __future__ import annotations

import math

import numpy as np
import torch

from anchorhoi.body import axis_angle_to_matrix
from anchorhoi.motion.objective import carried_by
from anchorhoi.objects.inside import build_sdf_grid


def box_sdf(size=(0.4, 0.45, 0.4)):
    """A box of ``size`` (m) centred on its own origin."""
    h = np.asarray(size) / 2
    v = np.array([[x, y, z] for x in (-h[0], h[0]) for y in (-h[1], h[1])
                  for z in (-h[2], h[2])])
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return build_sdf_grid(v, faces, resolution=48, dtype=torch.float64)


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
