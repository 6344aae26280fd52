"""A load held in both hands rides on their grip frame (where the hands press on it and the
world's up), not on the wrists' rotations, which one camera barely sees; where the hands press
is their inner faces, wherever they point."""

from __future__ import annotations

import math

import pytest
import torch

from anchorhoi.body import axis_angle_to_matrix
from anchorhoi.motion.contact import grip_frames, rigid
from anchorhoi.motion.objective import grip_points, grip_sideways


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


def flat_hand(wrist: torch.Tensor, fingers: torch.Tensor, inward: torch.Tensor) -> torch.Tensor:
    """A hand as a grid of points: a slab 18 cm long from ``wrist`` along ``fingers``, 8 cm
    wide, 3 cm thick, its palm facing ``inward`` (unit vectors)."""
    side = torch.linalg.cross(fingers, inward)
    a, b, c = torch.meshgrid(torch.linspace(0.0, 0.18, 10, dtype=torch.float64),
                             torch.linspace(-0.04, 0.04, 5, dtype=torch.float64),
                             torch.linspace(0.0, 0.03, 4, dtype=torch.float64), indexing="ij")
    return wrist + a.reshape(-1, 1) * fingers + b.reshape(-1, 1) * side \
        - c.reshape(-1, 1) * inward


def test_a_box_between_the_palms_rides_on_them_as_the_hands_turn_from_forward_to_up():
    """A lift: at the chest the fingers point forward, overhead they point up, and the box
    stays between the palms' centres. Captured overhead, the offset from the grip frame of
    the hands' grip points puts the box right at the chest too; the wrists' grip frame would
    put it 9 cm too high there and 9 cm too near the body."""
    x, up, fwd = (torch.eye(3, dtype=torch.float64)[i] for i in range(3))
    hands, boxes, wrists = [], [], []
    for wrist_y, wrist_z, fingers in ((1.1, 0.35, fwd), (1.9, 0.15, up)):
        left = flat_hand(torch.tensor([0.2, wrist_y, wrist_z], dtype=torch.float64), fingers,
                         -x)
        right = flat_hand(torch.tensor([-0.2, wrist_y, wrist_z], dtype=torch.float64),
                          fingers, x)
        hands.append(torch.cat([left, right]))
        palms = torch.tensor([0.0, wrist_y, wrist_z], dtype=torch.float64) + 0.09 * fingers
        boxes.append(rigid(torch.eye(3, dtype=torch.float64), palms - 0.1 * up))
        wrists.append(torch.tensor([[0.2, wrist_y, wrist_z], [-0.2, wrist_y, wrist_z]],
                                   dtype=torch.float64))
    side = torch.cat([torch.zeros(200, dtype=torch.long), torch.ones(200, dtype=torch.long)])
    points = grip_points(torch.stack(hands), side)
    # the grip points lie on the palms, mid-hand (weighted towards, not onto, the inner face:
    # the 3 cm slab's layers weigh in by their depth)
    for frame, fingers in enumerate((fwd, up)):
        middle = wrists[frame] + 0.09 * fingers
        assert torch.allclose(points[frame, :, 1:], middle[:, 1:], atol=0.005)
        assert torch.allclose(points[frame, :, 0].abs(), torch.full((2,), 0.2,
                                                                   dtype=torch.float64),
                              atol=0.01)
    frames, ok = grip_frames(points)
    assert bool(ok.all())
    offset = torch.linalg.inv(frames[1]) @ boxes[1]
    assert float((frames[0] @ offset - boxes[0])[:3, 3].norm()) < 0.005
    by_wrists, _ = grip_frames(torch.stack(wrists))
    wrong = (by_wrists[0] @ torch.linalg.inv(by_wrists[1]) @ boxes[1] - boxes[0])[:3, 3]
    assert torch.allclose(wrong, torch.tensor([0.0, 0.09, -0.09], dtype=torch.float64),
                          atol=1e-9)


def test_the_grip_lies_off_the_bodys_midplane_by_its_offset_across_it():
    """A body turned 60° about the vertical, its hips turned 10° less and its shoulders 10°
    more (a carry's stride), the hips tilted (one 8 cm higher): a grip 10 cm to the body's left
    of the hips' centre (across the mean of the hips' and the shoulders' lines), 40 cm in front
    of it and 30 cm above lies 10 cm off the midplane, whatever the height and the distance in
    front."""
    def left(angle: float) -> torch.Tensor:
        return yaw(angle) @ torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)

    turn = math.pi / 3
    across, fwd = left(turn), yaw(turn) @ torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    centre = torch.tensor([0.5, 0.9, -1.0], dtype=torch.float64)
    lift = torch.tensor([0.0, 0.04, 0.0], dtype=torch.float64)
    joints = torch.zeros(1, 55, 3, dtype=torch.float64)
    hips, shoulders = left(turn - math.radians(10)), left(turn + math.radians(10))
    joints[0, 1], joints[0, 2] = centre + 0.1 * hips + lift, centre - 0.1 * hips - lift
    up = torch.tensor([0.0, 0.5, 0.0], dtype=torch.float64)
    joints[0, 16], joints[0, 17] = centre + up + 0.2 * shoulders, centre + up - 0.2 * shoulders
    grip = centre + 0.1 * across + 0.4 * fwd + torch.tensor([0.0, 0.3, 0.0], dtype=torch.float64)
    points = torch.stack([grip + 0.15 * across, grip - 0.15 * across])[None]
    assert float(grip_sideways(points, joints)[0]) == pytest.approx(0.1, abs=1e-9)


def test_a_box_hanging_from_the_grip_keeps_level_with_the_wrists_where_the_palms_tilt():
    """A tall box gripped at mid-height, its base 38 cm under the grip. Carried on, the hands
    turn at the wrists (unseen): the left palm's grip point 4 cm lower, the right one's 3 cm
    higher, the wrists level as before. The grip's line through the palms tilts by 10° and
    swings the base 6 cm sideways; through the wrists the box keeps its place under them."""
    wrists = torch.tensor([[[0.22, 1.0, 0.3], [-0.22, 1.0, 0.3]]], dtype=torch.float64)
    palms = wrists + torch.tensor([0.06, 0.0, 0.1], dtype=torch.float64) \
        * torch.tensor([[-1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], dtype=torch.float64)
    box = rigid(torch.eye(3, dtype=torch.float64),
                torch.tensor([0.0, 1.0 - 0.38, 0.4], dtype=torch.float64))
    at_key, _ = grip_frames(palms, wrists)
    offset = torch.linalg.inv(at_key[0]) @ box
    turned = palms + torch.tensor([[0.0, -0.04, 0.0], [0.0, 0.03, 0.0]], dtype=torch.float64)
    by_wrists, ok = grip_frames(turned, wrists)
    by_palms, _ = grip_frames(turned)
    assert bool(ok.all())
    moved = (by_wrists[0] @ offset - box)[:3, 3]
    assert float(moved.norm()) < 0.006  # the grip's midpoint sank 5 mm, nothing more
    swung = (by_palms[0] @ torch.linalg.inv(grip_frames(palms)[0][0]) @ box - box)[:3, 3]
    assert float(swung[0].abs()) > 0.05
