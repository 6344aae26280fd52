"""Rotation conversions: round trips, including angles near 0 and π."""

from __future__ import annotations

import math

import torch

from anchorhoi.body import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    matrix_to_rot6d,
    rot6d_to_matrix,
)


def test_round_trips_near_zero_and_pi():
    g = torch.Generator().manual_seed(0)
    axes = torch.nn.functional.normalize(
        torch.randn(200, 3, generator=g, dtype=torch.float64), dim=-1)
    angles = torch.cat([torch.linspace(0, 1e-6, 50), torch.linspace(0.1, 3.0, 50),
                        math.pi - torch.logspace(-9, -2, 50), torch.full((50,), math.pi)])
    aa = axes * angles[:, None].double()
    m = axis_angle_to_matrix(aa)
    assert torch.allclose(m @ m.transpose(-1, -2), torch.eye(3, dtype=torch.float64), atol=1e-12)
    back = axis_angle_to_matrix(matrix_to_axis_angle(m))
    assert (back - m).abs().max() < 1e-9
    assert torch.allclose(rot6d_to_matrix(matrix_to_rot6d(m)), m, atol=1e-12)


def test_known_values():
    m = axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2], dtype=torch.float64))
    assert torch.allclose(m, torch.tensor([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]],
                                          dtype=torch.float64), atol=1e-15)
    aa = matrix_to_axis_angle(m)
    assert torch.allclose(aa, torch.tensor([0, 0, math.pi / 2], dtype=torch.float64), atol=1e-15)


def test_rot6d_orthonormalises():
    d6 = torch.tensor([[2.0, 0.1, 0, 0.3, 1.5, 0.2]], dtype=torch.float64)
    m = rot6d_to_matrix(d6)
    assert torch.allclose(m @ m.transpose(-1, -2), torch.eye(3, dtype=torch.float64), atol=1e-12)
    assert abs(torch.linalg.det(m).item() - 1.0) < 1e-12
