"""Contact decisions of stage E: feet on the ground (soft, per frame) and the hand–object
contact interval (hard, grown from the anchor frame).

**Feet.** A foot joint (ankles, balls of the feet) is grounded with weight
``σ((τ_h − h)/(s·τ_h)) · σ((τ_v − v)/(s·τ_v))``: ``h`` its height above its rest height over
the ground in the current estimate, ``v`` its speed, ``τ`` the config's thresholds and ``s``
their softness. The speed comes from the keypoints themselves where they are seen (a line fit
over a few frames, pixels → metres at the joint's estimated depth: a static camera sees a
planted foot still even while the estimate's depth is still wrong), interpolated across frames
where they are hidden, else from the estimate. A hidden foot's height is unknown too: there
the speed alone decides (a hidden foot that was still before and after is taken as planted).
Grounded joints get the zero-velocity (no skating) and height terms. (With ``plants.enabled`` the
optimiser takes a seen foot's slowness from its plants instead, ``foot_plants.py``: the image
speed turned into metres on the ground plane; this weight is the fallback for a foot joint
never seen.)

**Hands.** Only the key pose tells that a hand touches the object: at the anchor frame a hand
is in contact when one of its vertices lies within ``ContactConfig.hand_distance_m`` of the object's
surface; its offset ``Δ = H_hand⁻¹ · O_anchor`` is captured there (``H`` the wrist's global
transform). From the anchor the contact grows frame by frame in both time directions, with the
object where the contacting hands would carry it (``H_hand(t) · Δ``; both hands: their grip
frame ``G(t) · G_anchor⁻¹ · O_anchor``, level and standing on where the hands press on it,
``objective.grip_hand_points`` and ``grip_frames``, so that the wrists' barely seen rotations
do not turn it), and stops at the first frame that breaks
the mode it started in:

* **held** (the object is in the air at the anchor frame: its lowest point more than
  ``ContactConfig.support_tolerance_m`` above the ground): the contact lasts while the carried
  object stays in the air; where it reaches the ground it was picked up / is set down. It
  ends too where the seen hands let go above the ground (set down on a table or a shelf top):
  carried on, the object would sink into the torso, legs or head as the hands go back to the
  body (``grip_holds``); it then rests where the hands last stood still (``set_down``) —
  unless they never stood still and, carried on, the object meets the ground: then the hands
  took it down to the floor (a squat's pick-up, the estimate's legs closing round the box);
* **sliding** (it rests on the ground at the anchor frame): the contact lasts while the carried
  object stays on the ground (pushed or pulled along it); where the hands would lift it off or
  push it into the ground — rise or sink by more than ``ContactConfig.slide_release_m`` — they
  let go. While held, it starts upright as at the anchor, moved along the ground as far as
  the hands move (``optimize._slid``).

A resting object does not move unless the evidence says the hands move it: in **sliding**
mode the object travels only if, over the contact frames where the touching hands are **seen**
(their keypoints' confidence), the hands' keypoints travel at least
``ContactConfig.slide_min_travel_m`` in the image from where they touched it at the anchor
frame, pixels → metres at the hands' depth (``moves_with_hands``) — and only the part of that
travel the hips' keypoints share counts: a push or pull walks with the object, while a hand
that reaches out to it, passes over its top or leans on it moves with the arm alone (or the
estimate's hands and hips travel together at least ``ContactConfig.slide_min_ground_travel_m``
on the ground plane: a walk straight along the camera ray barely moves in the image; with the
feet unseen, only if the shoulders' width in the image follows the estimate's depth,
``scale_follows``: it grows as a body walks towards the camera). The image is the evidence:
the estimate's depth along the camera ray and the object origin the hands would carry (swung
by wrist-rotation errors over a lever arm as long as the object) both drift by more than that
while hands rest on a table.
Otherwise the hands only touch it (reaching to it, leaning on it, crouching behind it, or
hidden while they would "move" it: a hidden hand's estimate is the pose prior's guess, not
evidence) and the mode is **resting**: no frame is held and the object stays where it is.

Beyond the contact interval the object rests where it was picked up or set down (the carried
pose at the boundary frame, dropped onto the ground when within the tolerance, laid level on
the face of its hull facing most nearly down: a wrist rotation error tilts the carried pose,
and a box left tilted by 10° on the floor floats its far edge and swings its base by the lever
arm up to the hands). Human keypoints alone cannot tell a pick-up from a put-down at the
grasp frame (they are time reversals of each other): for a pick-up the anchor frame must be
in the held phase; a resting object touched at the anchor frame is taken as pushed, never
lifted.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from scipy.spatial import ConvexHull, QhullError

from ..body.rotations import matrix_to_rot6d, rot6d_to_matrix
from .config import ContactConfig
from .line_fits import image_velocity

ContactMode = Literal["none", "resting", "held", "sliding"]
"""How the hands move the object: not at all (no hand touches it at the anchor frame), not at
all though a hand touches it (**resting**: the evidence shows no carrying), carried in the air
(**held**), or pushed along the ground (**sliding**); see the module docstring."""

FOOT_JOINTS = (7, 8, 10, 11)
"""left_ankle, right_ankle, left_foot, right_foot."""
WRIST_JOINTS = (20, 21)
"""left_wrist, right_wrist: the hands' frames."""
LEFT_HAND = (20, *range(25, 40))
"""left_wrist and the left hand's 15 finger joints."""
RIGHT_HAND = (21, *range(40, 55))
HIP_JOINTS = (0, 1, 2)
"""pelvis, left_hip, right_hip: the trunk's travel in the image (``moves_with_hands``: a push
or pull walks with the object; the shoulders sway with a lean or a reach too)."""


def fill_gaps(x: torch.Tensor, median: int = 5) -> torch.Tensor:
    """``(T, F)`` with NaN gaps (unseen keypoints) filled per column by linear interpolation
    between the seen frames (held at the ends), from the seen values median-filtered over
    ``median`` seen frames (the fits at the edge of a gap rest on few frames and are noisy).
    All-NaN columns stay NaN."""
    out = x.clone()
    frames = np.arange(x.shape[0])
    half = median // 2
    for f in range(x.shape[1]):
        col = x[:, f].cpu().numpy()
        seen = np.isfinite(col)
        if seen.any() and not seen.all():
            vals = col[seen]
            smooth = np.array([np.median(vals[max(0, i - half):i + half + 1])
                               for i in range(len(vals))])
            filled = np.interp(frames, frames[seen], smooth)
            out[:, f] = torch.as_tensor(np.where(seen, col, filled), dtype=x.dtype,
                                        device=x.device)
    return out


def foot_contact_weights(feet: torch.Tensor, rest_height: torch.Tensor,
                         ground_y: float | torch.Tensor,
                         fps: float, contact: ContactConfig,
                         image_speed_mps: torch.Tensor | None = None,
                         use_height: bool | torch.Tensor = True,
                         body_speed_mps: torch.Tensor | None = None) -> torch.Tensor:
    """``feet (T, F, 3)`` (detached) → soft contact weights ``(T, F)`` in [0, 1].

    The speed is ``image_speed_mps (T, F)`` where given (finite) — the keypoints' own motion,
    which does not depend on the current estimate's depth errors — else the horizontal speed of
    the estimate (central differences). ``use_height`` (bool, or ``(T, F)`` bool per joint and
    frame) says where the estimate's height counts too; elsewhere only the speed decides.
    ``body_speed_mps (T,)``: where given, a foot counts as slow where it or the body's root is
    (``ground_speed``): a hidden foot that the estimate moves while the seen body stays put is
    taken as planted (a crouch behind a box: the legs fold, the feet stay)."""
    h = feet[..., 1] - ground_y - rest_height
    xz = feet[..., [0, 2]]
    if feet.shape[0] >= 2:
        d = torch.cat([xz[1:2] - xz[0:1], (xz[2:] - xz[:-2]) / 2, xz[-1:] - xz[-2:-1]])
        speed = d.norm(dim=-1) * fps
    else:
        speed = torch.zeros_like(h)
    if image_speed_mps is not None:
        speed = torch.where(torch.isfinite(image_speed_mps), image_speed_mps, speed)
    if body_speed_mps is not None:
        speed = torch.minimum(speed, body_speed_mps[:, None])
    th, tv, s = contact.foot_height_m, contact.foot_speed_mps, contact.softness
    slow = torch.sigmoid((tv - speed) / (s * tv))
    low = torch.sigmoid((th - h) / (s * th))
    if isinstance(use_height, bool):
        return slow * low if use_height else slow
    return slow * torch.where(use_height, low, torch.ones_like(low))


def footprint_matrix(weights: torch.Tensor, anchor: int, threshold: float = 0.5) -> torch.Tensor:
    """``(F, T, T)``: row ``t`` of joint ``f`` averages the frames of the contact run (weights
    above ``threshold``) holding ``t`` — weighted by contact — or, for the run holding the
    anchor frame, picks the anchor frame (the key pose places that footprint). Rows of frames
    out of contact pick the frame itself (no pull)."""
    t_count, f_count = weights.shape
    out = torch.zeros(f_count, t_count, t_count, dtype=weights.dtype, device=weights.device)
    down = weights > threshold
    for f in range(f_count):
        t = 0
        while t < t_count:
            if not bool(down[t, f]):
                out[f, t, t] = 1
                t += 1
                continue
            end = t
            while end + 1 < t_count and bool(down[end + 1, f]):
                end += 1
            if t <= anchor <= end:
                out[f, t:end + 1, anchor] = 1
            else:
                w = weights[t:end + 1, f]
                out[f, t:end + 1, t:end + 1] = (w / w.sum())[None]
            t = end + 1
    return out


def ground_speed(points: torch.Tensor, fps: float, window: int) -> torch.Tensor:
    """``(T, N)`` horizontal speed (m/s) of ``points (T, N, 3)``: per frame a straight-line fit
    of their ``x, z`` over ``±window`` frames (``line_fits.image_velocity``), so that a jolt
    of one frame does not count as travel."""
    xz = points[..., [0, 2]]
    fits = image_velocity(torch.cat([xz, torch.ones_like(xz[..., :1])], -1), window, window)
    return fits.velocity.norm(dim=-1) * fps


def contact_heights(footprints: torch.Tensor, anchor: int, rest_height: torch.Tensor,
                    key_height: torch.Tensor) -> torch.Tensor:
    """``(T, F)`` the height above its support each foot joint keeps where it is in contact:
    its rest height (a flat foot on the floor), but the key pose's ``key_height (F,)`` over
    the contact run holding the ``anchor`` frame (``footprints (F, T, T)``,
    ``footprint_matrix``: the rows picking the anchor). That run's footprint is the key pose's
    foot, so its height is too: a crouch or a kneel on raised heels holds its ankles up where
    a flat foot's height pulled them down against the footprint."""
    in_anchor_run = footprints[:, :, anchor].T > 0.5  # (T, F)
    return torch.where(in_anchor_run, key_height.expand_as(in_anchor_run),
                       rest_height.expand_as(in_anchor_run))


def hands_touching(hand_vertex_sdf: torch.Tensor, distance_m: float) -> torch.Tensor:
    """``(2, N)`` object SDF at each hand's vertices (anchor frame) → ``(2,)`` bool: a vertex
    within ``distance_m`` of the surface (or inside)."""
    return hand_vertex_sdf.amin(-1) <= distance_m


def rigid(rot: torch.Tensor, trans: torch.Tensor) -> torch.Tensor:
    """``rot (..., 3, 3)``, ``trans (..., 3)`` → ``(..., 4, 4)``."""
    top = torch.cat([rot, trans[..., None]], -1)
    bottom = torch.zeros(*rot.shape[:-2], 1, 4, dtype=rot.dtype, device=rot.device)
    bottom[..., 0, 3] = 1
    return torch.cat([top, bottom], -2)


def hold_still(obj6d: torch.Tensor, obj_trans: torch.Tensor, moved: torch.Tensor) -> None:
    """In place: every run of frames where no hand moves the object (``moved (T,)`` False)
    takes the run's mean pose (``obj6d (T, 6)``, ``obj_trans (T, 3)``; the mean 6D is
    orthonormalised wherever it is read). A rigid object no hand moves does not move: a soft
    term against frame-to-frame motion let the hands' pull at the grasp frame slide a box
    3.7-5.4 cm towards them over the frames before it, so the optimiser projects onto the
    constraint after every step instead."""
    with torch.no_grad():
        free = (~moved).cpu().tolist()
        start = None
        for t, is_free in enumerate(free + [False]):
            if is_free and start is None:
                start = t
            elif not is_free and start is not None:
                if t - start > 1:
                    obj6d[start:t] = obj6d[start:t].mean(0)
                    obj_trans[start:t] = obj_trans[start:t].mean(0)
                start = None


def grip_frames(points: torch.Tensor, line: torch.Tensor | None = None, max_tilt: float = 0.9
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """The frames ``(T, 4, 4)`` of a two-handed grip from a point on each hand ``points (T, 2,
    3)`` (left, right: where they press on the object, ``objective.grip_points``) and where
    they are defined ``(T,)``: origin midway between the points, x from the left one to the
    right, y the world's up made orthogonal to it. Two hands holding an object fix it up to its
    turn about the line between them, which the world's up fixes for a load held level; the
    wrists' rotations, which one camera barely sees (a hidden hand's not at all), do not enter:
    from the wrists' rotations, a box carried in both hands swung 10-40 cm off where its rest
    before the pick-up was decided, into the legs (pick_up_carry-5-12: 12.9 -> 4.2 cm,
    penetration 48 -> 1 mm from the grip). Undefined where the points are closer than 5 cm or
    their line tilts more than ``max_tilt`` (cosine) towards the vertical.

    ``line (T, 2, 3)``, if given, are the points the line between the hands runs through
    instead (the wrists, ``held_poses``): where the palms press on a box depends on the hands'
    rotations, which one camera barely sees, and the box hangs from its grip by half its
    height — a palm 4 cm too low on one side and 3 cm too high on the other tilted a carried
    box's grip 10° and swung its base 13 cm sideways (pick_up_carry-24-01) while the wrists
    stood within 2 cm."""
    ends = points if line is None else line
    x = ends[:, 1] - ends[:, 0]
    length = x.norm(dim=-1, keepdim=True)
    x = x / length.clamp_min(1e-9)
    up = torch.zeros_like(x)
    up[:, 1] = 1
    ok = (length[:, 0] > 0.05) & (x[:, 1].abs() < max_tilt)
    y = up - (up * x).sum(-1, keepdim=True) * x
    y = y / y.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    z = torch.linalg.cross(x, y)
    return rigid(torch.stack([x, y, z], -1), points.mean(1)), ok


def mean_pose(poses: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted mean of rigid poses ``(H, T, 4, 4)`` over H with ``weights (H, T)`` (rotation:
    the mean matrix projected back onto SO(3) through its 6D columns)."""
    w = weights / weights.sum(0).clamp_min(1e-9)
    m = (w[..., None, None] * poses).sum(0)
    return rigid(rot6d_to_matrix(matrix_to_rot6d(m[..., :3, :3])), m[..., :3, 3])


def grow_contact(lowest_anchor: float, rise: torch.Tensor, anchor: int, ground_y: float,
                 tolerance: float, patience: int = 3, grip: torch.Tensor | None = None,
                 slide_tolerance: float | None = None) -> tuple[torch.Tensor, ContactMode]:
    """The contact frames ``(T,)`` bool grown from ``anchor``, and the mode (see the module).

    ``lowest_anchor``: the object's lowest point at the anchor frame; ``rise (T,)``: how far the
    contacting hands are above their height at the anchor frame — the carried object's lowest
    point moves with them (its rotation is left out: small wrist errors would swing the far
    end of a large object). ``grip (T,)`` bool, optional: frames where the hands may still
    hold an object in the air (``grip_holds``); where they cannot, a held contact ends as where
    the object reaches the ground. A run of ``patience`` frames breaking the mode ends the
    contact at its first frame (single noisy frames do not). The hands of a sliding object
    may rise or sink by ``slide_tolerance`` (default ``tolerance``) before they let go — a slow
    drift of the estimate does not end a push — and where they do, the contact ends where they
    last were within ``tolerance`` (the approach and the lift-off are not held)."""
    held_mode = lowest_anchor > ground_y + tolerance
    lowest = lowest_anchor + rise
    slide = tolerance if slide_tolerance is None else slide_tolerance
    ok = lowest > ground_y + tolerance if held_mode else rise.abs() <= slide
    if held_mode and grip is not None:
        ok = ok & grip
    contact = torch.zeros_like(ok)
    contact[anchor] = True
    count = len(ok)
    for step in (1, -1):
        t = anchor + step
        while 0 <= t < count:
            run = [t + k * step for k in range(patience) if 0 <= t + k * step < count]
            if not any(bool(ok[u]) for u in run):
                break
            contact[t] = True
            t += step
        if 0 <= t < count and not held_mode:  # let go: where the hands left the tolerance
            t -= step
            while t != anchor and float(rise[t].abs()) > tolerance:
                contact[t] = False
                t -= step
    return contact, "held" if held_mode else "sliding"


def level_on_ground(pose: torch.Tensor, corners: torch.Tensor) -> torch.Tensor:
    """``pose (4, 4)`` (object → world) turned by the smallest rotation that lays the face of
    the object's convex hull (``corners (C, 3)``, object frame) facing most nearly down flat on
    a horizontal floor, about the centre of the object's bounding box (which keeps its place):
    a rigid object rests on a face, not tilted as the hands' wrists left it. Unchanged where the
    hull is flat (no face to rest on)."""
    pts = corners.detach().double().cpu().numpy()
    try:
        normals = ConvexHull(pts).equations[:, :3]  # outward unit normals, object frame
    except QhullError:
        return pose
    rot = pose[:3, :3].double().cpu().numpy()
    world = normals @ rot.T
    n = world[int(np.argmin(world[:, 1]))]  # the face looking most nearly down
    down = np.array([0.0, -1.0, 0.0])
    axis, cos = np.cross(n, down), float(n @ down)
    sin = float(np.linalg.norm(axis))
    if sin < 1e-9:
        return pose
    k = axis / sin
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    turn = np.eye(3) + sin * kx + (1 - cos) * kx @ kx  # Rodrigues: n onto straight down
    centre = 0.5 * (pts.min(0) + pts.max(0))
    out = pose.clone()
    new_rot = turn @ rot
    out[:3, :3] = torch.as_tensor(new_rot, dtype=pose.dtype, device=pose.device)
    shift = rot @ centre - new_rot @ centre
    out[:3, 3] = pose[:3, 3] + torch.as_tensor(shift, dtype=pose.dtype, device=pose.device)
    return out


def object_path(carried: torch.Tensor, contact: torch.Tensor, lowest: torch.Tensor,
                ground_y: float, tolerance: float,
                corners: torch.Tensor | None = None) -> torch.Tensor:
    """Initial object poses ``(T, 4, 4)``: ``carried (T, 4, 4)`` inside the contact interval;
    outside it, the carried pose at the first frame beyond the interval, dropped onto the ground
    when its lowest point (``lowest (T,)`` at the carried poses) is within ``tolerance`` of it
    (or below) — with ``corners (C, 3)`` (the object's vertices, object frame) laid level on
    it first (``level_on_ground``)."""
    out = carried.clone()
    frames = torch.nonzero(contact).flatten()
    if len(frames) == 0:
        return out
    first, last = int(frames[0]), int(frames[-1])
    t_count = carried.shape[0]
    for boundary, span in ((first - 1, range(first)), (last + 1, range(last + 1, t_count))):
        if boundary < 0 or boundary >= t_count:
            continue
        rest = carried[boundary].clone()
        if float(lowest[boundary]) <= ground_y + tolerance:
            if corners is None:
                rest[1, 3] += ground_y - lowest[boundary]
            else:
                rest = level_on_ground(rest, corners)
                low = (corners @ rest[:3, :3].T + rest[:3, 3])[:, 1].amin()
                rest[1, 3] += ground_y - low
        out[list(span)] = rest
    return out


def moves_with_hands(track: torch.Tensor, anchor: int, contact: torch.Tensor,
                     seen: torch.Tensor, *, min_travel: float, min_seen: float = 0.5,
                     median: int = 5, body: torch.Tensor | None = None,
                     ground: tuple[torch.Tensor, torch.Tensor] | None = None,
                     ground_min_travel: float = 0.2) -> bool:
    """Whether the evidence shows the hands moving the object: ``track (T, D)`` the touching
    hands' position (metres; in the image plane at their depth in the optimiser), ``anchor``
    the frame where they touch it, ``contact (T,)`` the grown contact frames and ``seen (T,)``
    how well the touching hands are seen (keypoint confidence in [0, 1]). Over the contact
    frames with ``seen ≥ min_seen``, the displacement from the anchor frame, median-filtered
    over ``median`` such frames (single noisy frames do not count), must reach ``min_travel``
    metres. No seen frame: no evidence, ``False``.

    ``body (T, D)``, optional: the trunk's position (the hips, same units as ``track``). The
    body must then travel with the hands: an object pushed or pulled along the ground moves
    with the walking body, while hands that reach out to an object, pass over its top or lean
    on it move with the arms alone (reach_high-2-01: the hand's arc over a shelf top
    travelled 17 cm in the image, the hips 2 cm; sliding took the static shelf 14 cm off).
    Only the part of the hands' displacement the hips share counts (the hips' displacement
    projected on the hands', clipped to ``[0, |hands'|]``). A walk straight along the camera
    ray barely moves either in the image (push_pull-2-21: 72 cm of travel, 8 cm in the
    image): ``ground = (hands, hips)``, optional, ``(T, 2)`` each, their estimated positions
    on the ground plane (metres), shares the same way, against ``ground_min_travel`` — a
    higher bar, as the estimate's depth drifts."""
    use = contact & (seen >= min_seen)
    if not bool(use.any()):
        return False
    half = median // 2

    def reach(dist: torch.Tensor) -> float:
        d = dist.cpu().numpy()
        return float(max(np.median(d[max(0, i - half):i + half + 1]) for i in range(len(d))))

    def shared(hands: torch.Tensor, trunk: torch.Tensor) -> torch.Tensor:
        move = hands[use] - hands[anchor]
        dist = move.norm(dim=-1)
        along = ((trunk[use] - trunk[anchor]) * move).sum(-1) / dist.clamp_min(1e-9)
        return torch.minimum(along.clamp_min(0.0), dist)

    if body is None:
        return reach((track[use] - track[anchor]).norm(dim=-1)) >= min_travel
    if reach(shared(track, body)) >= min_travel:
        return True
    return ground is not None and reach(shared(*ground)) >= ground_min_travel


def scale_follows(width: torch.Tensor, depth: torch.Tensor, frames: torch.Tensor, *,
                  min_share: float, min_frames: int) -> bool:
    """Whether the body's size in the image follows the estimate's depth over ``frames (T,)``
    bool: the change of ``log width (T,)`` (the shoulders' image width, NaN where unseen)
    along its least-squares line over the frames where it is seen, from the first of
    ``frames`` to the last, is at least ``min_share`` of the change of ``−log depth (T,)``
    (the estimate's shoulder depth) along its line over ``frames``, in the same direction (1:
    the image grows exactly as the estimate comes nearer). A depth that does not change is
    no evidence against it (``True``); fewer than ``min_frames`` frames seeing the width are
    no evidence for it (``False``): the estimate's depth with the legs hidden is unopposed,
    and a line through a few frames of the width's noise (8 % per frame at 4–5 m, ±25 % on
    a body bent low) confirms anything (reach_low-24-21: a hand on a box on the floor, 9
    contact frames; the estimate's hips swung 30 cm away from the camera and back, the
    static box slid 7 cm and the hidden feet skated 27 mm a frame). A body walking along the
    camera ray barely moves in the image but grows or shrinks there; an estimate whose depth
    drifts with the legs hidden does not. (Lines, not frame by frame: the width's noise and
    the pose's own changes average out along them.)"""
    index = torch.nonzero(frames).flatten()
    seen = index[torch.isfinite(width[index]) & (width[index] > 0)]
    if len(seen) < min_frames:
        return False
    span = float(index[-1] - index[0])

    def change(t: torch.Tensor, y: torch.Tensor) -> float:
        t = t.double() - t.double().mean()
        y = y.double() - y.double().mean()
        spread = float((t * t).sum())
        return float((t * y).sum()) / spread * span if spread > 0 else 0.0

    claimed = change(index, -torch.log(depth[index].clamp_min(1e-3)))
    if abs(claimed) <= 1e-6:
        return True
    return change(seen, torch.log(width[seen])) / claimed >= min_share


def grip_holds(body_depth: torch.Tensor, seen: torch.Tensor, *, max_depth: float,
               min_seen: float) -> torch.Tensor:
    """``(T,)`` bool: frames where the touching hands may still hold the object in the air —
    carried along, it would sink at most ``max_depth`` into the rest of the body
    (``body_depth (T,)``: the deepest torso, leg or head vertex inside the carried object), or
    the hands are not seen there (``seen (T,)`` below ``min_seen``: a hidden hand's estimate is
    the prior's guess, no evidence). Hands that let go of an object set down on a table or a
    shelf go back to the body; the object does not go with them."""
    return (body_depth <= max_depth) | (seen < min_seen)


def set_down(contact: torch.Tensor, grip: torch.Tensor, track: torch.Tensor, anchor: int,
             fps: float, *, still_speed: float, patience: int,
             ground: torch.Tensor | None = None) -> torch.Tensor:
    """The held frames ``contact (T,)`` ended where the hands let go above the ground: an end
    of the interval followed by ``patience`` frames the grip cannot hold (``grip (T,)``) is
    moved back to the last frame, between it and ``anchor``, where the hands were still
    (``track (T, D)``, metres, slower than ``still_speed`` m/s, median over 5 frames): the
    hands stop where they set the object down, let go, and only then move off — the object
    stays where they stopped, not where they were when the grip test failed.

    ``ground (T,)``, optional: the held frames the ground alone allows (grown without the
    grip). Where the hands never stopped between ``anchor`` and an end the grip cut, and the
    ground's interval reaches further on that side and ends inside the clip (carried on, the
    object meets the ground there), that end is the ground's: the hands took the object on
    down to the floor without a pause — a squat's pick-up or put-down, where the estimate's
    legs close round the box (pick_up_carry-1-12: the grip failed 8 frames above the floor
    and left the box hanging 30 cm over it) — rather than setting it down on a support."""
    frames = torch.nonzero(contact).flatten()
    if len(frames) == 0:
        return contact
    out = contact.clone()
    count = len(contact)
    step = torch.zeros(count, dtype=track.dtype, device=track.device)
    if count >= 2:
        d = (track[1:] - track[:-1]).norm(dim=-1) * fps
        step = torch.cat([d[:1], 0.5 * (d[1:] + d[:-1]), d[-1:]])
    speed = step.cpu().numpy()
    smooth = np.array([np.median(speed[max(0, t - 2):t + 3]) for t in range(count)])
    still = smooth < still_speed
    reach = None if ground is None else torch.nonzero(ground).flatten()
    first, last = int(frames[0]), int(frames[-1])
    for end, direction in ((last, 1), (first, -1)):
        beyond = [end + direction * k for k in range(1, patience + 1)
                  if 0 <= end + direction * k < count]
        if not beyond or any(bool(grip[u]) for u in beyond):
            continue  # the clip's end, or the ground ended it
        span = range(end, anchor - direction, -direction)
        stop = next((t for t in span if still[t]), None)
        if stop is None and reach is not None and len(reach):
            floor_end = int(reach[-1]) if direction > 0 else int(reach[0])
            inside = 0 < floor_end < count - 1
            if inside and (floor_end - end) * direction > 0:
                lo, hi = sorted((end, floor_end))
                out[lo:hi + 1] = True  # carried on down to the floor
                continue
        stop = end if stop is None else stop
        if direction > 0:
            out[stop + 1:] = False
        else:
            out[:stop] = False
    return out


def grasp_frames(contact: torch.Tensor, still: torch.Tensor, rests: torch.Tensor, *,
                 max_gap: int, min_still: float) -> torch.Tensor:
    """``(T,)`` bool: the frames beside the held ``contact (T,)`` where the hands already hold
    the object while it still rests on the ground — a pick-up's grasp — or still hold it once
    it is set down (``rests (T,)``: where it rests on the ground, read at the frames just
    before and after the contact). The contact grows from the anchor while the carried object
    is in the air, so it starts where the estimate's object reaches the ground; the hands took
    hold of it before: they came to rest on it, kept still, and lifted it. These are the
    frames from the last run of still hands (``still (T,)``: the holding hands' stillness in
    [0, 1], ``stillness.still_weights``; still over ``min_still``) that ends at most
    ``max_gap`` frames before the contact, up to the contact; after it likewise. None where
    the hands never keep still so near it, nor with ``max_gap`` 0."""
    out = torch.zeros_like(contact)
    held = torch.nonzero(contact).flatten()
    if len(held) == 0 or max_gap == 0:
        return out
    t_count, quiet = len(contact), still > min_still
    for end, step in ((int(held[0]) - 1, -1), (int(held[-1]) + 1, 1)):
        if not 0 <= end < t_count or not bool(rests[end]):
            continue
        t = end
        while 0 <= t < t_count and abs(t - end) < max_gap and not bool(quiet[t]):
            t += step
        if not (0 <= t < t_count and bool(quiet[t])):
            continue
        while 0 <= t + step < t_count and bool(quiet[t + step]):
            t += step
        lo, hi = min(t, end), max(t, end)
        out[lo:hi + 1] = True
    return out


def true_runs(down: torch.Tensor, min_gap: int, min_run: int) -> list[tuple[int, int]]:
    """``(T,)`` bool → the ``[start, end]`` runs of True with gaps shorter than ``min_gap``
    closed and runs shorter than ``min_run`` dropped."""
    runs: list[tuple[int, int]] = []
    t, n = 0, len(down)
    while t < n:
        if not bool(down[t]):
            t += 1
            continue
        end = t
        while end + 1 < n and bool(down[end + 1]):
            end += 1
        if runs and t - runs[-1][1] - 1 < min_gap:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((t, end))
        t = end + 1
    return [(a, b) for a, b in runs if b - a + 1 >= min_run]


def _stands(frames: torch.Tensor, seen: torch.Tensor, swings: torch.Tensor,
            contact: ContactConfig) -> bool:
    """Whether the feet stand through the contact ``frames (T,)`` bool: seen in at least half
    of them, and no swing there lasting ``contact.walk_min_swing_frames`` (a run of frames
    where a seen foot swings, ``swings (T,)``, single frames between closed; ``seen (T,)``:
    the feet are seen; ``foot_plants.feet_swing``). A step's swing lasts a third of a second;
    the keypoints' noise makes a planted foot swing for a frame or three."""
    if not _mostly(seen, frames):
        return False
    return not true_runs(swings & frames, 2, contact.walk_min_swing_frames)


def _mostly(seen: torch.Tensor, frames: torch.Tensor) -> bool:
    """Whether ``seen (T,)`` holds in at least half of the ``frames (T,)`` (none: no)."""
    count = int(frames.sum())
    return count > 0 and int((seen & frames).sum()) * 2 >= count


def _ground_counts(frames: torch.Tensor, contact: ContactConfig,
                   feet: tuple[torch.Tensor, torch.Tensor] | None,
                   scale: tuple[torch.Tensor, torch.Tensor] | None) -> bool:
    """Whether the estimate's travel on the ground over the contact ``frames`` is evidence of
    a push (``decide_contact``'s ``feet`` and ``scale``): not where the seen feet stand
    (``_stands``), and with the feet unseen in most frames only where the shoulders' image
    width, seen in enough of them, follows the estimate's depth (``scale_follows``)."""
    if feet is not None and _stands(frames, *feet, contact):
        return False
    if scale is None or contact.slide_min_scale_share <= 0 \
            or (feet is not None and _mostly(feet[0], frames)):
        return True
    return scale_follows(*scale, frames, min_share=contact.slide_min_scale_share,
                         min_frames=contact.scale_min_frames)


def decide_contact(*, lowest_anchor: float, hand_height: torch.Tensor,
                   hand_track: torch.Tensor, seen: torch.Tensor, anchor: int, ground_y: float,
                   contact: ContactConfig, body_depth: torch.Tensor | None = None,
                   fps: float = 30.0, body_track: torch.Tensor | None = None,
                   ground_tracks: tuple[torch.Tensor, torch.Tensor] | None = None,
                   feet: tuple[torch.Tensor, torch.Tensor] | None = None,
                   scale: tuple[torch.Tensor, torch.Tensor] | None = None
                   ) -> tuple[torch.Tensor, ContactMode]:
    """The hands' contact with the object over the clip from the evidence of every frame (see
    the module): ``lowest_anchor`` the object's lowest point at the anchor frame,
    ``hand_height (T,)`` the touching hands' height, ``hand_track (T, D)`` their seen motion
    (metres), ``seen (T,)`` how well they are seen. Returns the contact frames ``(T,)`` (grown
    from the anchor) and the mode; with ``"resting"`` the frames are those the hands touch it
    in, and none of them moves it. ``body_depth (T,)``, optional: how deep the object carried
    by the hands would sink into the rest of the body (``grip_holds``); a held object is let
    go where it would, set down where the hands stopped before (``set_down``), ``fps`` the
    frame rate of that. ``body_track (T, D)``, optional: the trunk's seen motion in the
    units of ``hand_track``, and ``ground_tracks`` the hands' and the hips' estimated
    positions on the ground plane (``(T, 2)`` each, metres), both optional: a push then
    counts only the hands' travel the body shares (``moves_with_hands``). ``feet``,
    optional: per frame ``(T,)`` bool whether the feet are seen and whether a seen foot swings
    (``foot_plants.feet_swing``); where the contact frames see the feet mostly planted, never
    swinging for ``contact.walk_min_swing_frames``, the body does not walk and its estimated
    travel on the ground (``ground_tracks``: the estimate's depth drifting) is no evidence
    (reach_low-1-05: the hips' estimate drifted 30 cm along the camera ray while the feet
    stood; the object touched on the floor slid 50 cm). ``scale``, optional: the shoulders'
    width in the image ``(T,)`` (pixels, NaN where either is unseen) and the estimate's
    shoulder depth ``(T,)`` (metres from the camera); where the feet are unseen in most
    contact frames, the estimated travel on the ground counts only if the width follows the
    depth (``scale_follows``)."""
    grip = None if body_depth is None else grip_holds(
        body_depth, seen, max_depth=contact.release_depth_m,
        min_seen=contact.hand_seen_confidence)
    rise = hand_height - hand_height[anchor]
    frames, mode = grow_contact(lowest_anchor, rise, anchor, ground_y,
                                contact.support_tolerance_m, contact.patience_frames, grip,
                                contact.slide_release_m)
    if mode == "held" and grip is not None:
        ground, _ = grow_contact(lowest_anchor, rise, anchor, ground_y,
                                 contact.support_tolerance_m, contact.patience_frames)
        frames = set_down(frames, grip, hand_track, anchor, fps,
                          still_speed=contact.release_still_speed_mps,
                          patience=contact.patience_frames, ground=ground)
    if ground_tracks is not None and not _ground_counts(frames, contact, feet, scale):
        ground_tracks = None
    if mode == "sliding" and not moves_with_hands(
            hand_track, anchor, frames, seen, min_travel=contact.slide_min_travel_m,
            min_seen=contact.hand_seen_confidence, body=body_track, ground=ground_tracks,
            ground_min_travel=contact.slide_min_ground_travel_m):
        return frames, "resting"
    return frames, mode
