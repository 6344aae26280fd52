"""Family kinds where the body stays on its feet' place: sitting down (and up), crouching
behind a box, kneeling, reaching low or high (onto the toes), lifting overhead, leaning on.

Each takes the shaped body and a random generator and returns a ``family_place.Drawn``.
"""

from __future__ import annotations

import numpy as np

from . import family_shapes as S
from .family_gait import Feet, Station, standing, yaw_matrix
from .family_ik import J, ShapedBody
from .family_objects import draw_object, place_clear
from .family_place import (
    GAP_M,
    Drawn,
    grasp_width,
    hand_ids,
    hanging_wrists,
    pose_clip,
    pose_matrix,
    support_under,
    to_frame,
)
from .motion_authoring import boxes_mesh, smooth

FLAT = np.zeros(3)
OPEN_M = 0.05
"""How much wider the hands pass halfway up while lifting overhead (m per hand)."""


def _keys(rng: np.random.Generator) -> tuple[np.ndarray, int, int, int | None]:
    """(frames, start of the move, its key frame, start of the way back or None)."""
    f0 = int(rng.integers(6, 14))
    f1 = f0 + int(rng.integers(18, 26))
    back = f1 + int(rng.integers(12, 20)) if rng.random() < 0.4 else None
    end = (back + 24) if back is not None else f1 + int(rng.integers(16, 28))
    return np.arange(float(end)), f0, f1, back


def _channel(frames: np.ndarray, f0: int, f1: int, back: int | None, rest, goal) -> np.ndarray:
    keys = [(0, rest), (f0, rest), (f1, goal)]
    if back is not None:
        keys += [(back, goal), (back + 20, rest)]
    return smooth(keys + [(frames[-1] + 1, keys[-1][1])], frames)


def _via_channel(frames: np.ndarray, f0: int, f1: int, back: int | None, rest, goal,
                 over) -> np.ndarray:
    """Like ``_channel`` through ``goal + over`` halfway (a hand comes onto a top from above)."""
    rest, goal = np.asarray(rest, float), np.asarray(goal, float)
    mid = (f0 + f1) // 2
    keys = [(0, rest), (f0, rest), (mid, goal + over), (f1, goal)]
    if back is not None:
        keys += [(back, goal), (back + 10, goal + over), (back + 20, rest)]
    return smooth(keys + [(frames[-1] + 1, keys[-1][1])], frames)


def _trunk(body: ShapedBody, feet: Feet, station: Station, drop: np.ndarray,
           back: np.ndarray) -> np.ndarray:
    """Pelvis (T, 3) over the standing station, ``drop`` lower and ``back`` behind."""
    rest = np.array([0.0, body.rest[0, 1], body.rest[0, 2] - body.rest[J["left_foot"], 2]])
    t = len(drop)
    rel = np.stack([np.zeros(t), rest[1] - drop + station.floor, rest[2] + back], 1)
    base = np.array([station.x, 0.0, station.z])
    mid_ball = (feet.ball["left"][0] + feet.ball["right"][0]) / 2
    base = base + (mid_ball - base) * [1, 0, 1]
    return base + np.einsum("ij,tj->ti", yaw_matrix(np.array(station.heading)), rel)


def _start(rng: np.random.Generator, body: ShapedBody, frames: np.ndarray, *,
           heel: dict[str, np.ndarray] | None = None) -> tuple[Station, Feet]:
    st = Station(x=0.0, z=0.0, heading=rng.uniform(-np.pi, np.pi))
    return st, standing(body, st, frames, stance=rng.uniform(0.0, 0.06), heel=heel)


def sit_stand(body: ShapedBody, rng: np.random.Generator) -> Drawn:
    """Sitting down on a box, stool or chair (and, sometimes, standing up again)."""
    frames, f0, f1, back = _keys(rng)
    t = len(frames)
    st, feet = _start(rng, body, frames)
    height0 = body.rest[0, 1] - body.ground_y
    drop = _channel(frames, f0, f1, back, 0.015, height0 - rng.uniform(0.52, 0.6))
    behind = _channel(frames, f0, f1, back, 0.0, -rng.uniform(0.36, 0.42))
    pelvis = _trunk(body, feet, st, drop, behind)
    mid = (f0 + f1) // 2
    keys = [(0, 0.0), (f0, 0.0), (mid, 0.55), (f1, 0.17)]
    if back is not None:
        keys += [(back, 0.17), (back + 10, 0.55), (back + 20, 0.0)]
    pitch = smooth(keys + [(t, keys[-1][1])], frames)
    spine = np.zeros((t, 3))
    yaw = np.full(t, st.heading)
    free = pose_clip(body, pelvis=pelvis, yaw=yaw, pitch=pitch, spine=spine, feet=feet)
    hang = hanging_wrists(body, free, pelvis)
    wrists = {s: _channel(frames, f0 + 4, f1, back, hang[s][0], [sx * 0.13, 0.05, 0.3])
              for s, sx in (("left", 1.0), ("right", -1.0))}
    clip = pose_clip(body, pelvis=pelvis, yaw=yaw, pitch=pitch, spine=spine, feet=feet,
                     wrists_rel=wrists)
    v = to_frame(clip.verts[f1], np.array([st.x, body.ground_y, st.z]), st.heading)
    knee_z = float(to_frame(clip.joints[f1, J["left_knee"]], np.array([st.x, 0, st.z]),
                            st.heading)[2])
    front = knee_z - 0.1
    kind = rng.choice(["box", "stool", "chair"])
    if kind == "stool":
        r = rng.uniform(0.16, 0.2)
        cz = front - r
        over = (np.hypot(v[:, 0], v[:, 2] - cz) < r) & (v[:, 1] > 0.2)
    else:
        w, depth = rng.uniform(0.4, 0.5), rng.uniform(0.38, 0.45)
        cz = front - depth / 2
        over = (np.abs(v[:, 0]) < w / 2) & (np.abs(v[:, 2] - cz) < depth / 2) & (v[:, 1] > 0.2)
    if not over.any():
        raise ValueError("no body vertex over the seat")
    top = float(v[over, 1].min()) - GAP_M
    if kind == "stool":
        mesh = S.stool(r, top)
    elif kind == "box":
        mesh = S.box(w, top, depth)
    else:
        mesh = S.merge(S.box(w, top, depth), boxes_mesh([(
            np.array([-w / 2, top, -depth / 2]), np.array([w / 2, top + 0.4, 0.04 - depth / 2]))]))
    at = np.array([st.x, body.ground_y, st.z]) + yaw_matrix(np.array(st.heading)) @ [0, 0, cz]
    pose = pose_matrix(at, st.heading)
    return Drawn(clip=clip, mesh=mesh, obj_poses=np.repeat(pose[None], t, 0), anchor_frame=f1,
                 facing=st.heading)


def crouch(body: ShapedBody, rng: np.random.Generator) -> Drawn:
    """Crouching behind a box (between the body and the camera: the legs are hidden)."""
    frames, f0, f1, back = _keys(rng)
    t = len(frames)
    phi = rng.uniform(0.0, 0.35)
    st, feet = _start(rng, body, frames, heel={
        s: _channel(frames, f0, f1, back, 0.0, phi) for s in ("left", "right")})
    height0 = body.rest[0, 1] - body.ground_y
    drop = _channel(frames, f0, f1, back, 0.015, height0 - rng.uniform(0.45, 0.58))
    pelvis = _trunk(body, feet, st, drop,
                    _channel(frames, f0, f1, back, 0.0, -rng.uniform(0.1, 0.18)))
    pitch = _channel(frames, f0, f1, back, 0.0, rng.uniform(0.3, 0.5))
    spine = _channel(frames, f0, f1, back, FLAT, (0.1, 0.1, 0.05))
    yaw = np.full(t, st.heading)
    free = pose_clip(body, pelvis=pelvis, yaw=yaw, pitch=pitch, spine=spine, feet=feet)
    hang = hanging_wrists(body, free, pelvis)
    knees = {s: to_frame(free.joints[f1, J[f"{s}_knee"]], pelvis[f1], st.heading)
             for s in ("left", "right")}
    wrists = {s: _channel(frames, f0 + 3, f1, back, hang[s][0], knees[s] + [0, 0.1, 0.04])
              for s in ("left", "right")}
    clip = pose_clip(body, pelvis=pelvis, yaw=yaw, pitch=pitch, spine=spine, feet=feet,
                     wrists_rel=wrists)
    origin = np.array([st.x, body.ground_y, st.z])
    near = float(to_frame(clip.verts, origin, st.heading)[..., 2].max()) + rng.uniform(0.06, 0.2)
    depth = rng.uniform(0.3, 0.5)
    mesh = S.box(rng.uniform(0.6, 0.9), rng.uniform(0.55, 0.8), depth)
    at = origin + yaw_matrix(np.array(st.heading)) @ [0, 0, near + depth / 2]
    pose = pose_matrix(at, st.heading)
    return Drawn(clip=clip, mesh=mesh, obj_poses=np.repeat(pose[None], t, 0), anchor_frame=f1,
                 facing=st.heading)


def kneel(body: ShapedBody, rng: np.random.Generator) -> Drawn:
    """Stepping one foot forward and kneeling on the other knee, an object on the floor ahead."""
    frames, f0, f1, _ = _keys(rng)
    f1 += 6
    frames = np.arange(float(f1 + int(rng.integers(16, 26))))
    t = len(frames)
    down, front = ("right", "left") if rng.random() < 0.5 else ("left", "right")
    st = Station(x=0.0, z=0.0, heading=rng.uniform(-np.pi, np.pi))
    swing = f0 + 12
    heel = {down: smooth([(0, 0.0), (f0, 0.0), (f1, 1.2), (t, 1.2)], frames),
            front: np.zeros(t)}
    feet = standing(body, st, frames, stance=0.03, heel=heel)
    thigh = float(np.linalg.norm(body.rest[J["left_hip"]] - body.rest[J["left_knee"]]))
    rot = yaw_matrix(np.array(st.heading))
    kb = feet.ball[down][0]
    knee = kb + rot @ [0.0, 0.0, 0.36]
    knee[1] = body.ground_y + 0.075
    hip_drop = body.rest[0, 1] - body.rest[J["left_hip"], 1]
    pelvis_goal = knee + rot @ [-np.sign((rot.T @ (kb - [st.x, 0, st.z]))[0]) * 0.09, 0, -0.04]
    pelvis_goal[1] = knee[1] + 0.96 * thigh + hip_drop
    fb0 = feet.ball[front][0]
    fb1 = fb0 + rot @ [0.0, 0.0, float((rot.T @ (pelvis_goal - fb0))[2]) + 0.85 * thigh + 0.08]
    s = np.clip((frames - f0) / (swing - f0), 0, 1)
    e = s * s * s * (10 - 15 * s + 6 * s * s)
    feet.ball[front][:] = fb0 + (fb1 - fb0) * e[:, None]
    feet.ball[front][:, 1] += 0.06 * np.sin(np.pi * e)
    start = _trunk(body, feet, st, np.full(1, 0.015), np.zeros(1))[0]
    pelvis = smooth([(0, start), (f0, start), (swing, start + (pelvis_goal - start) * 0.7),
                     (f1, pelvis_goal), (t, pelvis_goal)], frames)
    pitch = smooth([(0, 0.0), (swing, 0.1), (f1, 0.05), (t, 0.05)], frames)
    knee_target = np.where((frames >= f1)[:, None], knee, np.nan)
    clip = pose_clip(body, pelvis=pelvis, yaw=np.full(t, st.heading), pitch=pitch,
                     spine=np.zeros((t, 3)), feet=feet,
                     extra={f"{down}_knee": knee_target},
                     drop_targets={f"{down}_ankle": frames > f0})
    mesh = draw_object(rng, str(rng.choice(["ball", "box", "cylinder"])))
    ahead = fb1 + rot @ [0, 0, 0.7]
    pose = place_clear(rng, mesh, clip.verts, body.ground_y, centre=ahead[[0, 2]],
                       radius=(0.0, 0.4), clearance=0.15)
    return Drawn(clip=clip, mesh=mesh, obj_poses=np.repeat(pose[None], t, 0), anchor_frame=f1,
                 facing=st.heading + rng.choice([-1.0, 1.0]) * np.pi / 2)


def _reach(body: ShapedBody, rng: np.random.Generator, *, high: bool) -> Drawn:
    frames, f0, f1, back = _keys(rng)
    t = len(frames)
    phi = rng.uniform(0.3, 0.55) if high else 0.0
    heel = {s: _channel(frames, f0, f1, back, 0.0, phi) for s in ("left", "right")}
    st, feet = _start(rng, body, frames, heel=heel)
    sides = [str(rng.choice(["left", "right"]))] if rng.random() < 0.5 else ["left", "right"]
    if high:
        d = body.rest[J["left_foot"]] - body.rest[J["left_ankle"]]
        rise = np.hypot(d[1], d[2]) * (np.sin(np.arctan2(-d[1], d[2]) + heel["left"])
                                       - np.sin(np.arctan2(-d[1], d[2])))
        drop = 0.01 - rise
        pitch = _channel(frames, f0, f1, back, 0.0, -0.05)
        behind = np.zeros(t)
        goal = lambda sx: [sx * rng.uniform(0.12, 0.2), rng.uniform(0.62, 0.72),  # noqa: E731
                           rng.uniform(0.2, 0.3)]
    else:
        drop = _channel(frames, f0, f1, back, 0.015, rng.uniform(0.12, 0.3))
        pitch = _channel(frames, f0, f1, back, 0.0, rng.uniform(0.7, 1.0))
        behind = _channel(frames, f0, f1, back, 0.0, -0.12)
        goal = lambda sx: [sx * rng.uniform(0.1, 0.18), rng.uniform(-0.3, -0.1),  # noqa: E731
                           rng.uniform(0.42, 0.55)]
    pelvis = _trunk(body, feet, st, drop, behind)
    spine = _channel(frames, f0, f1, back, FLAT, (0.0, 0.0, 0.0) if high else (0.15, 0.15, 0.1))
    yaw = np.full(t, st.heading)
    free = pose_clip(body, pelvis=pelvis, yaw=yaw, pitch=pitch, spine=spine, feet=feet)
    hang = hanging_wrists(body, free, pelvis)
    over = np.array([0.0, 0.12, -0.06])
    wrists = {s: _via_channel(frames, f0, f1, back, hang[s][0],
                              goal(1.0 if s == "left" else -1.0), over) for s in sides}
    clip = pose_clip(body, pelvis=pelvis, yaw=yaw, pitch=pitch, spine=spine, feet=feet,
                     wrists_rel=wrists, tolerance_m=0.03)
    left, right = hand_ids(body)
    touch = np.concatenate([left if s == "left" else right for s in sides])
    rest = np.delete(clip.verts, touch, axis=1).reshape(-1, 3)[::5]
    mid = clip.verts[f1, touch].mean(0)
    centre = np.array([mid[0], body.ground_y, mid[2]])
    sup = support_under(clip.verts[f1, touch], clip.verts[f1, touch], centre=centre,
                        yaw=st.heading, half_width=0.35, others=rest,
                        sweep=np.delete(clip.verts[:, touch], f1, axis=0).reshape(-1, 3)[::3])
    height = sup.top - body.ground_y
    if height < 0.12:
        raise ValueError("the reach ends too low for an object")
    if high:
        width, depth = rng.uniform(0.6, 0.9), rng.uniform(0.3, 0.4)
        mesh = S.shelf(width, depth, height)
    else:
        kind = rng.choice(["box", "cylinder", "stool"])
        depth = rng.uniform(0.3, 0.45)
        mesh = {"box": lambda: S.box(rng.uniform(0.35, 0.6), height, depth),
                "cylinder": lambda: S.cylinder(depth / 2, height),
                "stool": lambda: S.stool(depth / 2, height)}[str(kind)]()
    at = centre + yaw_matrix(np.array(st.heading)) @ [0, 0, sup.near + depth / 2]
    pose = pose_matrix(at, st.heading)
    return Drawn(clip=clip, mesh=mesh, obj_poses=np.repeat(pose[None], t, 0), anchor_frame=f1,
                 facing=st.heading + rng.uniform(-0.6, 0.6))


def reach_low(body: ShapedBody, rng: np.random.Generator) -> Drawn:
    """Bending to put one or both hands on a low box, cylinder or stool."""
    return _reach(body, rng, high=False)


def reach_high(body: ShapedBody, rng: np.random.Generator) -> Drawn:
    """Rising onto the toes to put one or both hands on top of a shelf."""
    return _reach(body, rng, high=True)


def lift_overhead(body: ShapedBody, rng: np.random.Generator) -> Drawn:
    """Lifting a box or ball held between both hands from the chest to over the head.

    The forearms turn as the arms rise, so wrists at a fixed spread would open and close the
    hands around the object: up to two more solves correct each frame's spread so that the inner
    faces of the hands stay as far apart as at the key frame (within 1 cm), and the object
    rides on the grasp's centre."""
    frames, f0, f1, back = _keys(rng)
    t = len(frames)
    st, feet = _start(rng, body, frames)
    pelvis = _trunk(body, feet, st, np.full(t, 0.02), np.zeros(t))
    yaw = np.full(t, st.heading)
    pitch = _channel(frames, f0, f1, back, 0.0, -0.06)
    half, top = rng.uniform(0.17, 0.21), rng.uniform(0.8, 0.86)
    # halfway up the hands pass further forward (the object would brush the face)
    wrists = {s: _via_channel(frames, f0, f1, back, [sx * half, 0.2, 0.36],
                              [sx * half, top, 0.16], [sx * OPEN_M, -0.25, 0.12])
              for s, sx in (("left", 1.0), ("right", -1.0))}
    left, right = hand_ids(body)
    spread = np.zeros(t)
    for _ in range(3):
        for s, sx in (("left", 1.0), ("right", -1.0)):
            wrists[s][:, 0] += sx * spread / 2
        clip = pose_clip(body, pelvis=pelvis, yaw=yaw, pitch=pitch, spine=np.zeros((t, 3)),
                         feet=feet, wrists_rel=wrists, tolerance_m=0.03)
        grasps = [grasp_width(clip.verts[f], left, right, pelvis[f], float(yaw[f]), palms=0.02)
                  for f in range(t)]
        widths = np.array([g[0] for g in grasps])
        if widths[f1] - widths.min() < 0.01:
            break
        spread = 0.7 * (widths[f1] - widths)  # damped: a wider spread turns the hands too
    width = float(widths.min())
    if width < 0.12:
        raise ValueError("the hands close too far for an object between them")
    if rng.random() < 0.5:
        h = rng.uniform(0.14, 0.22)
        mesh = S.box(width, h, rng.uniform(0.18, 0.26))
    else:
        h = width
        mesh = S.ball(width / 2)
    poses = np.stack([pose_matrix(g[1] - [0, h / 2, 0], st.heading) for g in grasps])
    return Drawn(clip=clip, mesh=mesh, obj_poses=poses, anchor_frame=f1,
                 facing=st.heading + rng.uniform(-0.8, 0.8))


def lean_on(body: ShapedBody, rng: np.random.Generator) -> Drawn:
    """Leaning forward onto a table (or a counter), both hands on its top."""
    frames, f0, f1, back = _keys(rng)
    t = len(frames)
    st, feet = _start(rng, body, frames)
    pelvis = _trunk(body, feet, st, _channel(frames, f0, f1, back, 0.015, rng.uniform(0.02, 0.06)),
                    _channel(frames, f0, f1, back, 0.0, -0.05))
    yaw = np.full(t, st.heading)
    pitch = _channel(frames, f0, f1, back, 0.0, rng.uniform(0.35, 0.6))
    spine = _channel(frames, f0, f1, back, FLAT, (0.1, 0.1, 0.08))
    free = pose_clip(body, pelvis=pelvis, yaw=yaw, pitch=pitch, spine=spine, feet=feet)
    hang = hanging_wrists(body, free, pelvis)
    goal_y, reach = rng.uniform(0.0, 0.1), rng.uniform(0.42, 0.5)
    wrists = {}
    for s, sx in (("left", 1.0), ("right", -1.0)):
        goal = np.array([sx * rng.uniform(0.2, 0.28), goal_y, reach])
        keys = [(0, hang[s][0]), (f0, hang[s][0]), ((f0 + f1) // 2, goal + [0, 0.12, -0.05]),
                (f1, goal)]
        if back is not None:
            keys += [(back, goal), (back + 10, goal + [0, 0.12, -0.05]), (back + 20, hang[s][0])]
        wrists[s] = smooth(keys + [(t, keys[-1][1])], frames)
    clip = pose_clip(body, pelvis=pelvis, yaw=yaw, pitch=pitch, spine=spine, feet=feet,
                     wrists_rel=wrists)
    left, right = hand_ids(body)
    hands = np.concatenate([left, right])
    mid = clip.verts[f1, hands].mean(0)
    centre = np.array([mid[0], body.ground_y, mid[2]])
    sup = support_under(clip.verts[f1, hands], clip.verts[f1, hands], centre=centre,
                        yaw=st.heading, half_width=0.6,
                        others=np.delete(clip.verts, hands, axis=1).reshape(-1, 3)[::5],
                        sweep=np.delete(clip.verts[:, hands], f1, axis=0).reshape(-1, 3)[::3])
    width, depth = rng.uniform(0.9, 1.2), rng.uniform(0.5, 0.75)
    height = sup.top - body.ground_y
    mesh = S.table(width, depth, height) if rng.random() < 0.6 else S.box(width, height, depth)
    at = centre + yaw_matrix(np.array(st.heading)) @ [0, 0, sup.near + depth / 2]
    return Drawn(clip=clip, mesh=mesh, obj_poses=np.repeat(pose_matrix(at, st.heading)[None], t, 0),
                 anchor_frame=f1, facing=st.heading + rng.uniform(-0.8, 0.8))
