"""Stillness from the keypoints' image speeds (``motion.stillness``): a joint is held where the
body and the joint itself keep still, with a threshold that rises with the keypoints' noise."""

from __future__ import annotations

import torch

from anchorhoi.motion.config import ContactConfig
from anchorhoi.motion.foot_plants import FootPlants
from anchorhoi.motion.stillness import still_weights, travel_frames

T, J = 40, 22
ARMS = [16, 17, 18, 19, 20, 21]


def speeds(generator: torch.Generator, noise_mps: float) -> torch.Tensor:
    """Speed fits of a still body: the norm of two axes of noise, ``noise_mps`` each."""
    return (noise_mps * torch.randn(T, J, 2, generator=generator, dtype=torch.float64)
            ).norm(dim=-1)


def test_arms_rising_while_the_body_keeps_still_are_not_held():
    gen = torch.Generator().manual_seed(0)
    speed = speeds(gen, 0.03)
    speed[10:30, ARMS] += 0.6  # a lift: the arms rise for 20 frames
    error = torch.full((T, J), 0.03, dtype=torch.float64)
    w = still_weights(speed, error, torch.ones(T, J, dtype=torch.bool), ContactConfig())
    legs_torso = [j for j in range(J) if j not in ARMS]
    assert bool((w[:, legs_torso] > 0.5).all())  # held (``contact.footprint_matrix``)
    assert bool((w[10:30, ARMS] < 0.05).all())
    assert bool((w[:8, ARMS] > 0.5).all())


def test_a_far_noisy_body_keeping_still_is_seen_still_and_a_slow_walk_is_not():
    """Keypoint noise of 0.1 m/s per axis in the speed fits (a body 5 m away, 4 px of noise)
    reads as a median speed of about 0.12 m/s, the fixed threshold. With the thresholds at
    two and three standard errors the still body is still; a walk at 0.5 m/s is not; with the
    threshold fixed the still body was barely still."""
    gen = torch.Generator().manual_seed(1)
    still = speeds(gen, 0.1)
    walk = speeds(gen, 0.1) + 0.5
    error = torch.full((T, J), 0.1, dtype=torch.float64)
    seen = torch.ones(T, J, dtype=torch.bool)
    assert float(still_weights(still, error, seen, ContactConfig()).mean()) > 0.7
    assert float(still_weights(walk, error, seen, ContactConfig()).max()) < 0.05
    fixed = ContactConfig(still_noise_sigmas=0.0)
    assert float(still_weights(still, error, seen, fixed).mean()) < 0.5


def test_an_unseen_joint_is_as_still_as_its_mirror_image_or_else_the_body():
    """A lift's far wrist hidden throughout while the seen one rises; the feet hidden too; five
    frames seeing nothing. The hidden wrist moves when its mirror image does; the hidden feet
    of the still body are held, as are the frames seeing nothing, between still ones."""
    gen = torch.Generator().manual_seed(2)
    speed = speeds(gen, 0.02)
    speed[10:30, [16, 18, 21]] += 0.6  # the right arm rises (seen)
    error = torch.full((T, J), 0.02, dtype=torch.float64)
    seen = torch.ones(T, J, dtype=torch.bool)
    seen[:, [17, 19, 20]] = False  # the left arm is hidden throughout
    seen[:, [7, 8, 10, 11]] = False  # so are both feet
    seen[32:37] = False  # and every joint for five frames
    w = still_weights(speed, error, seen, ContactConfig())
    assert bool((w[12:28, 20] < 0.05).all())  # as its seen mirror image, the right wrist
    assert bool((w[:8, 20] > 0.5).all())
    assert bool((w[:, [7, 8, 10, 11]] > 0.5).all())  # hidden feet follow the still body
    assert bool((w[32:37] > 0.5).all())
    none = still_weights(speed, error, torch.zeros(T, J, dtype=torch.bool), ContactConfig())
    assert bool((none == 0).all())  # nothing seen anywhere: nothing is known to keep still




def plants_of(weights: torch.Tensor, seen: torch.Tensor) -> FootPlants:
    """Foot plants ``(T, 4)`` (left / right ankle, left / right ball) with these weights, the
    joints ``seen`` (a speed) or not (NaN)."""
    speed = torch.where(seen, 1.0 - weights, torch.full_like(weights, float("nan")))
    zeros = torch.zeros_like(weights)
    return FootPlants(speed_mps=speed, weights=torch.where(seen, weights, zeros),
                      footprints=torch.zeros(*weights.shape, 3, dtype=weights.dtype),
                      footprint_weights=zeros, footprint_sigma_m=zeros)


def test_a_body_that_steps_or_pushes_unseen_is_not_still_where_it_may_travel():
    """The image speeds see nothing of a walk along the camera ray (push_pull-21-09: 0.96
    m/s away from the camera read as still). Where a seen foot steps — a joint of it swings
    for ``contact.walk_min_swing_frames`` frames or more — the body is not still; noise that
    lets go of one joint, then of another, for a few frames each (lift_overhead-22-13, a low
    camera: eight frames in a row with some joint let go) leaves it still, as does a swing
    that began before the clip or lands after it (a detector's jittering ankle over the
    first six frames of twelve, the tiny preset's standing body). Where the feet are
    unseen, the body is not still only while the hands move the object (a push walks; a lean
    stands)."""
    gen = torch.Generator().manual_seed(3)
    speed = speeds(gen, 0.03)  # still in the image throughout
    error = torch.full((T, J), 0.03, dtype=torch.float64)
    seen = torch.ones(T, J, dtype=torch.bool)
    contact = ContactConfig()
    weights = torch.ones(T, 4, dtype=torch.float64)
    weights[5:13, [0, 2]] = 0.1  # the left foot steps: eight frames
    for f, joint in ((20, 1), (21, 1), (22, 3), (23, 3), (25, 0), (26, 2), (27, 1)):
        weights[f, joint] = 0.2  # noise: a joint at a time
    weights[:7, 1] = 0.1  # a swing from the clip's first frame: no lift-off seen
    weights[33:, 3] = 0.1  # one to its last: no landing
    feet = torch.ones(T, 4, dtype=torch.bool)
    travels = travel_frames(plants_of(weights, feet), False, contact)
    w = still_weights(speed, error, seen, contact, travels)
    assert bool((w[5:13] < 0.05).all())
    assert bool((w[:5] > 0.5).all()) and bool((w[14:] > 0.5).all())
    assert bool((still_weights(speed, error, seen, contact)[5:13] > 0.5).all())  # unaware
    hidden = plants_of(torch.ones(T, 4, dtype=torch.float64), ~feet)
    pushing, leaning = (travel_frames(hidden, moves, contact) for moves in (True, False))
    assert bool((still_weights(speed, error, seen, contact, pushing) < 0.05).all())
    assert bool((still_weights(speed, error, seen, contact, leaning) > 0.5).all())
