"""Family kinds where the body travels: walking straight or along a curve, turning in place,
stepping onto a platform, picking up and carrying, pushing or pulling.

Each takes the shaped body and a random generator and returns a ``family_place.Drawn``.
"""

from __future__ import annotations

import numpy as np

from . import family_shapes as S
from .family_gait import Station, pelvis_over, walk
from .family_ik import J, ShapedBody
from .family_objects import OBJECTS, draw_object, place_clear
from .family_place import (
    GAP_M,
    Drawn,
    body_to_world,
    follow,
    hand_ids,
    hanging_wrists,
    narrowest_grasp,
    pose_clip,
    pose_matrix,
    support_under,
    within_reach,
)
from .motion_authoring import smooth

FLAT = np.zeros(3)


def _frames(start: int, steps: int, swing: int, pause: int, tail: int) -> np.ndarray:
    return np.arange(float(start + steps * (swing + pause) + tail))


def _timing(rng: np.random.Generator) -> tuple[int, int, int]:
    """(lead-in frames, swing frames, double-support frames)."""
    return int(rng.integers(4, 10)), int(rng.integers(9, 13)), int(rng.integers(1, 4))


def _loco(body: ShapedBody, rng: np.random.Generator, stations: list[Station],
          scenery_centre: np.ndarray, radius: tuple[float, float]) -> Drawn:
    start, swing, pause = _timing(rng)
    frames = _frames(start, len(stations), swing, pause, int(rng.integers(4, 10)))
    stance = rng.uniform(-0.01, 0.04)
    feet = walk(body, stations, frames, start=start, swing=swing, pause=pause, stance=stance)
    drop = np.full(len(frames), rng.uniform(0.03, 0.05))
    pelvis, yaw = pelvis_over(body, feet, drop=drop)
    pitch = np.full(len(frames), rng.uniform(0.0, 0.08))
    clip = pose_clip(body, pelvis=pelvis, yaw=yaw, pitch=pitch,
                     spine=np.zeros((len(frames), 3)), feet=feet)
    mesh = draw_object(rng, str(rng.choice([o for o in OBJECTS if o != "shelf"])))
    pose = place_clear(rng, mesh, clip.verts, body.ground_y, centre=scenery_centre,
                       radius=radius)
    return Drawn(clip=clip, mesh=mesh, obj_poses=np.repeat(pose[None], len(frames), 0),
                 anchor_frame=len(frames) // 2, facing=float(yaw.mean()))


def walk_straight(body: ShapedBody, rng: np.random.Generator) -> Drawn:
    """Walking 4–6 steps along a straight line in a random direction, an object beside."""
    n, step, head = int(rng.integers(4, 7)), rng.uniform(0.26, 0.36), rng.uniform(-np.pi, np.pi)
    d = np.array([np.sin(head), np.cos(head)])
    s0 = -d * step * n / 2
    st = [Station(x=s0[0] + k * step * d[0], z=s0[1] + k * step * d[1], heading=head)
          for k in range(n + 1)]
    return _loco(body, rng, st, np.zeros(2), (0.8, 1.4))


def walk_curved(body: ShapedBody, rng: np.random.Generator) -> Drawn:
    """Walking 5–7 steps along an arc of 1.2–2.2 m radius around an object at its centre."""
    n, step, r = int(rng.integers(5, 8)), rng.uniform(0.26, 0.34), rng.uniform(1.2, 2.2)
    turn = rng.choice([-1.0, 1.0])
    a0 = rng.uniform(-np.pi, np.pi)
    st = []
    for k in range(n + 1):
        a = a0 + turn * k * step / r
        # centre of the arc at the origin; walking counter-clockwise seen from above if turn > 0
        x, z = r * np.cos(a), r * np.sin(a)
        tangent = turn * np.array([-np.sin(a), np.cos(a)])
        st.append(Station(x=x, z=z, heading=float(np.arctan2(tangent[0], tangent[1]))))
    return _loco(body, rng, st, np.zeros(2), (0.0, max(0.0, r - 1.0)))


def turn_in_place(body: ShapedBody, rng: np.random.Generator) -> Drawn:
    """Turning in place by 90–180° in 3–5 steps, an object nearby."""
    n = int(rng.integers(3, 6))
    total = rng.uniform(np.pi / 2, np.pi) * rng.choice([-1.0, 1.0])
    head = rng.uniform(-np.pi, np.pi)
    st = [Station(x=0.0, z=0.0, heading=head + total * k / n) for k in range(n + 1)]
    return _loco(body, rng, st, np.zeros(2), (0.9, 1.4))


def step_onto(body: ShapedBody, rng: np.random.Generator) -> Drawn:
    """Two or three steps on the floor, then up onto a platform 10–25 cm high."""
    start, swing, pause = _timing(rng)
    swing += 3
    step, head, h = rng.uniform(0.28, 0.34), rng.uniform(-np.pi, np.pi), rng.uniform(0.1, 0.25)
    before, on = int(rng.integers(2, 4)), 2
    d = np.array([np.sin(head), np.cos(head)])
    st = [Station(x=k * step * d[0], z=k * step * d[1], heading=head,
                  floor=h if k > before else 0.0) for k in range(before + on + 1)]
    frames = _frames(start, len(st), swing, pause, int(rng.integers(6, 12)))
    feet = walk(body, st, frames, start=start, swing=swing, pause=pause, stance=0.0,
                lift=0.07, climb=0.25)
    pelvis, yaw = pelvis_over(body, feet, drop=np.full(len(frames), rng.uniform(0.13, 0.16)),
                              lower=True)
    clip = pose_clip(body, pelvis=pelvis, yaw=yaw, pitch=np.full(len(frames), 0.05),
                     spine=np.zeros((len(frames), 3)), feet=feet)
    # the platform: its near face between the toes of the last foot on the floor and the heel
    # of the first foot on it (nearer the heel: the trailing foot's toes rise past the face)
    toe, heel = sole_reach(body)
    gap = step - toe - heel
    if gap < 0.03:
        raise ValueError("the step is too short for a platform edge between the feet")
    ball_z = body.rest[J["left_foot"], 2] - body.rest[0, 2]  # station centre → ball of the foot
    near = before * step + ball_z + toe + 0.7 * gap
    depth = on * step + rng.uniform(0.35, 0.6)
    width = rng.uniform(0.7, 1.1)
    mesh = S.box(width, h - GAP_M, depth)  # the soles just clear of its top
    centre = (near + depth / 2) * d
    pose = pose_matrix(np.array([centre[0], body.ground_y, centre[1]]), head)
    return Drawn(clip=clip, mesh=mesh, obj_poses=np.repeat(pose[None], len(frames), 0),
                 anchor_frame=start + (before + 1) * (swing + pause) - pause, facing=head)


def sole_reach(body: ShapedBody) -> tuple[float, float]:
    """(toe, heel): how far the rest sole reaches ahead of and behind the ball of the foot (m)."""
    dom = body.model.layer.lbs_weights.numpy().argmax(1)
    z = body.kin.all_rest_vertices[np.isin(dom, [J["left_ankle"], J["left_foot"]]), 2]
    ball = body.rest[J["left_foot"], 2]
    return float(z.max() - ball), float(ball - z.min())


def pick_up_and_carry(body: ShapedBody, rng: np.random.Generator) -> Drawn:
    """Squatting to grasp a box or cylinder on the floor between both hands, rising with it and
    walking 2–4 steps carrying it."""
    head = rng.uniform(-np.pi, np.pi)
    down, grasp, rise = int(rng.integers(14, 22)), 0, 0
    grasp = down + int(rng.integers(4, 8))
    rise = grasp + int(rng.integers(14, 20))
    n, step = int(rng.integers(2, 5)), rng.uniform(0.24, 0.3)
    swing, pause = int(rng.integers(10, 13)), int(rng.integers(1, 3))
    d = np.array([np.sin(head), np.cos(head)])
    st = [Station(x=k * step * d[0], z=k * step * d[1], heading=head) for k in range(n + 1)]
    frames = _frames(rise + 2, len(st), swing, pause, int(rng.integers(4, 8)))
    t = len(frames)
    feet = walk(body, st, frames, start=rise + 2, swing=swing, pause=pause, stance=0.03)
    squat = rng.uniform(0.6, 0.68)
    drop = smooth([(0, 0.02), (4, 0.02), (down, squat), (grasp, squat), (rise, 0.05),
                   (t, 0.05)], frames)
    back = smooth([(0, 0.0), (4, 0.0), (down, -0.12), (grasp, -0.12), (rise, 0.0),
                   (t, 0.0)], frames)
    pelvis, yaw = pelvis_over(body, feet, drop=drop)
    pelvis += body_to_world(np.zeros_like(pelvis), yaw, np.stack(
        [np.zeros(t), np.zeros(t), back], 1))
    lean = rng.uniform(0.25, 0.35)
    pitch = smooth([(0, 0.0), (4, 0.0), (down, lean), (grasp, lean), (rise, 0.08),
                    (t, 0.08)], frames)
    spine = smooth([(0, FLAT), (4, FLAT), (down, (0.1, 0.1, 0.05)), (grasp, (0.1, 0.1, 0.05)),
                    (rise, (0.05, 0.05, 0.03)), (t, (0.05, 0.05, 0.03))], frames)
    free = pose_clip(body, pelvis=pelvis, yaw=yaw, pitch=pitch, spine=spine, feet=feet)
    hang = hanging_wrists(body, free, pelvis)
    half = rng.uniform(0.2, 0.26)  # wrists; the hands point inwards, ~15 cm closer
    reach_y = body.ground_y + rng.uniform(0.25, 0.35) - pelvis[grasp, 1]
    reach = rng.uniform(0.52, 0.58)  # the box clear of the knees, over the toes
    wrists = {}
    for side, sx in (("left", 1.0), ("right", -1.0)):
        at = within_reach(body, free, pelvis, side, grasp, np.array([sx * half, reach_y, reach]))
        carry = within_reach(body, free, pelvis, side, rise, np.array([sx * half, 0.1, 0.32]))
        wrists[side] = smooth([(0, hang[side][0]), (4, hang[side][4]), (down - 2, at),
                               (grasp, at), (rise, carry), (t, carry)], frames)
    clip = pose_clip(body, pelvis=pelvis, yaw=yaw, pitch=pitch, spine=spine, feet=feet,
                     wrists_rel=wrists, tolerance_m=0.03)
    left, right = hand_ids(body)
    width, centre = narrowest_grasp(clip.verts, left, right, pelvis, yaw,
                                    range(grasp, t, 3), grasp)
    height = 2 * (centre[1] - body.ground_y)
    mesh = S.box(width, height, rng.uniform(0.14, 0.2))  # clear of the knees in the squat
    pose0 = pose_matrix(np.array([centre[0], body.ground_y, centre[2]]), head)
    mid = (clip.joints[:, 20] + clip.joints[:, 21]) / 2
    poses = follow(mid, yaw, grasp, pose0)
    return Drawn(clip=clip, mesh=mesh, obj_poses=poses, anchor_frame=rise + 2, facing=head)


def push_pull(body: ShapedBody, rng: np.random.Generator) -> Drawn:
    """Walking 3–4 steps forward pushing (or backward pulling) a table or box along the floor,
    both hands on its top."""
    head, sign = rng.uniform(-np.pi, np.pi), rng.choice([1.0, -1.0])
    start, swing, pause = _timing(rng)
    swing += 2
    n, step = int(rng.integers(3, 5)), rng.uniform(0.22, 0.3)
    d = np.array([np.sin(head), np.cos(head)])
    st = [Station(x=sign * k * step * d[0], z=sign * k * step * d[1], heading=head)
          for k in range(n + 1)]
    frames = _frames(start, len(st), swing, pause, int(rng.integers(4, 8)))
    t = len(frames)
    feet = walk(body, st, frames, start=start, swing=swing, pause=pause, stance=0.02)
    lean = rng.uniform(0.12, 0.3)
    pelvis, yaw = pelvis_over(body, feet, drop=np.full(t, 0.05), forward=-0.06)
    pitch, spine = np.full(t, lean), np.tile([0.12, 0.12, 0.08], (t, 1))
    hands_y, reach, half = rng.uniform(0.1, 0.2), rng.uniform(0.38, 0.45), rng.uniform(0.18, 0.24)
    wrists = {side: np.tile([sx * half, hands_y, reach], (t, 1))
              for side, sx in (("left", 1.0), ("right", -1.0))}
    clip = pose_clip(body, pelvis=pelvis, yaw=yaw, pitch=pitch, spine=spine, feet=feet,
                     wrists_rel=wrists, tolerance_m=0.03)
    left, right = hand_ids(body)
    hands = np.concatenate([left, right])
    mid = (clip.joints[:, 20] + clip.joints[:, 21]) / 2
    # the rest of the body in the moving object's frame over all frames
    others = np.delete(clip.verts - (mid - mid[0])[:, None] * [1, 0, 1], hands, axis=1)
    floor_centre = np.array([mid[0, 0], body.ground_y, mid[0, 2]])
    sup = support_under(clip.verts[0, hands], clip.verts[0, hands], centre=floor_centre,
                        yaw=head, half_width=0.5, others=others.reshape(-1, 3)[::5])
    width, depth = rng.uniform(0.7, 1.0), rng.uniform(0.5, 0.7)
    height = sup.top - body.ground_y
    mesh = (S.table(width, depth, height) if rng.random() < 0.5
            else S.box(width, height, depth))
    pose0 = pose_matrix(floor_centre + body_to_world(
        np.zeros((1, 3)), np.array([head]), np.array([[0, 0, sup.near + depth / 2]]))[0], head)
    poses = follow(mid, yaw, 0, pose0, lift=False)
    return Drawn(clip=clip, mesh=mesh, obj_poses=poses, anchor_frame=t // 2, facing=head)
