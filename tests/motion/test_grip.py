"""A load held in both hands rides on their grip frame (the two wrists' positions and the
world's up), not on the wrists' rotations, which one camera barely sees."""

from __future__ import annotations

import math

import pytest
import torch

from anchorhoi.body import axis_angle_to_matrix
from anchorhoi.motion.contact import grip_frames, rigid


def yaw(angle: float) -> torch.Tensor:
    return axis_angle_to_matrix(torch.tensor([0.0, angle, 0.0], dtype=torch.float64))


def test_a_box_carried_in_both_hands_follows_their_grip_exactly():
    """Hands 40 cm apart carry a box whose centre sits 12 cm in front of and 10 cm below
    their midpoint; the body walks and turns. The box's pose in the grip frame, taken once,
    puts it where it is in every frame."""
    t = 30
    wrists_rest = torch.tensor([[0.2, 1.0, 0.3], [-0.2, 1.0, 0.3]], dtype=torch.float64)
    box_rest = rigid(torch.eye(3, dtype=torch.float64),
                     torch.tensor([0.0, 0.9, 0.42], dtype=torch.float64))
    moves = [rigid(yaw(0.05 * i), torch.tensor([0.03 * i, 0.01 * math.sin(i), 0.02 * i],
                                                 dtype=torch.float64)) for i in range(t)]
    wrists = torch.stack([m[:3, :3] @ wrists_rest.T + m[:3, 3:] for m in moves]).transpose(1, 2)
    boxes = torch.stack([m @ box_rest for m in moves])
    frames, ok = grip_frames(wrists)
    assert bool(ok.all())
    offset = torch.linalg.inv(frames[0]) @ boxes[0]
    assert torch.allclose(frames @ offset, boxes, atol=1e-9)
    # the frame is a rotation: orthonormal, right-handed
    rot = frames[:, :3, :3]
    assert torch.allclose(rot.transpose(1, 2) @ rot, torch.eye(3, dtype=torch.float64).expand(
        t, 3, 3), atol=1e-9)
    assert torch.allclose(torch.linalg.det(rot), torch.ones(t, dtype=torch.float64))


@pytest.mark.parametrize("left, right", [
    ([0.0, 1.0, 0.0], [0.02, 1.0, 0.02]),  # hands 3 cm apart: no line between them
    ([0.0, 1.0, 0.0], [0.05, 1.6, 0.0]),  # one hand over the other: no level to keep
])
def test_the_grip_is_undefined_where_the_hands_give_no_frame(left, right):
    _, ok = grip_frames(torch.tensor([[left, right]], dtype=torch.float64))
    assert not bool(ok[0])
