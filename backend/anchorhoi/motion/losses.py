"""Stage E's loss terms, each a pure function of batched tensors returning a scalar.

Shapes: ``T`` frames, ``J`` joints, ``V`` vertices, ``P`` object points. Units are metres and
seconds (velocities and accelerations are scaled by the frame rate, so weights do not depend
on it); image residuals are pixels.
"""

from __future__ import annotations

import torch

from ..nerf.cameras import Cameras
from ..objects.inside import SdfGrid
from .config import RobustLoss


def robust(sq: torch.Tensor, scale: float,
           kind: RobustLoss) -> torch.Tensor:
    """Robust penalty (px²) of squared residual norms ``sq`` (px²), ≈ ``sq`` near 0:
    Geman–McClure ``σ² sq / (sq + σ²)`` (saturates at σ²), or Huber (quadratic up to σ, then
    ``σ(2r − σ)``)."""
    s2 = scale * scale
    if kind == "geman_mcclure":
        return s2 * sq / (sq + s2)
    r = torch.sqrt(sq + 1e-12)
    return torch.where(r <= scale, sq, scale * (2 * r - scale))


def reprojection_loss(joints: torch.Tensor, keypoints: torch.Tensor, camera: Cameras, *,
                      scale: float, kind: RobustLoss,
                      unit_px: float, joint_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Confidence-weighted robust 2D error: ``joints (T,J,3)`` world, ``keypoints (T,J,3)``
    ``(u, v, confidence)`` in pixels (confidence 0: unobserved, its u, v are ignored);
    ``joint_mask (J,)`` optionally selects joints. Sum over joints, mean over frames, in units
    of ``unit_px²`` (so the weight does not move when ``scale`` is annealed)."""
    cam = camera.R[0], camera.t[0], camera.K[0]
    p_cam = joints @ cam[0].T + cam[1]
    z = p_cam[..., 2:].clamp_min(1e-3)  # points behind the camera: pushed out, never NaN
    uv = (p_cam[..., :2] / z) @ cam[2][:2, :2].T + cam[2][:2, 2]
    conf = keypoints[..., 2]
    if joint_mask is not None:
        conf = conf * joint_mask
    target = torch.where(conf[..., None] > 0, keypoints[..., :2], uv.detach())
    sq = ((uv - target) ** 2).sum(-1)
    return (conf * robust(sq, scale, kind)).sum(-1).mean() / (unit_px * unit_px)


def pixel_errors(joints: torch.Tensor, keypoints: torch.Tensor, camera: Cameras) -> torch.Tensor:
    """(N,) pixel distances of the observed keypoints (confidence > 0) to the projected joints."""
    p_cam = joints @ camera.R[0].T + camera.t[0]
    uv = (p_cam[..., :2] / p_cam[..., 2:].clamp_min(1e-3)) @ camera.K[0][:2, :2].T \
        + camera.K[0][:2, 2]
    seen = keypoints[..., 2] > 0
    return (uv - keypoints[..., :2]).norm(dim=-1)[seen]


def velocity_loss(x: torch.Tensor, fps: float) -> torch.Tensor:
    """Squared speed (m/s)² of points ``x (T, N, 3)``: sum over points, mean over frames."""
    if x.shape[0] < 2:
        return x.new_zeros(())
    return (((x[1:] - x[:-1]) * fps) ** 2).sum((-1, -2)).mean()


def acceleration_loss(x: torch.Tensor, fps: float,
                      mask: torch.Tensor | None = None) -> torch.Tensor:
    """Squared acceleration (m/s²)² of points ``x (T, N, 3)``: sum over points, mean over the
    frame triplets (those where ``mask (T-2,)`` holds, if given)."""
    if x.shape[0] < 3:
        return x.new_zeros(())
    per = (((x[2:] - 2 * x[1:-1] + x[:-2]) * fps * fps) ** 2).sum((-1, -2))
    if mask is None:
        return per.mean()
    m = mask.to(per.dtype)
    return (m * per).sum() / m.sum().clamp_min(1.0)


def second_difference_loss(x: torch.Tensor) -> torch.Tensor:
    """Mean squared second difference over frames of any ``x (T, ...)`` (per frame²)."""
    if x.shape[0] < 3:
        return x.new_zeros(())
    return ((x[2:] - 2 * x[1:-1] + x[:-2]) ** 2).reshape(x.shape[0] - 2, -1).sum(-1).mean()


def key_pose_loss(joints: torch.Tensor, rot6d: torch.Tensor, key_joints: torch.Tensor,
                  key_rot6d: torch.Tensor) -> torch.Tensor:
    """The anchor frame's ``joints (J,3)`` and 6D rotations ``(K,6)`` against the key pose:
    summed squared joint distance (m²) + summed squared 6D difference."""
    return ((joints - key_joints) ** 2).sum() + ((rot6d - key_rot6d) ** 2).sum()


HINGES = ((4, (1.0, 0.0, 0.0), (2, 1), 1.0), (5, (1.0, 0.0, 0.0), (2, 1), 1.0),
          (18, (0.0, 1.0, 0.0), (0, 2), -1.0), (19, (0.0, 1.0, 0.0), (0, 2), 1.0))
"""(joint, hinge axis, matrix entry that is sin θ for a rotation θ about it, sign of a natural
bend): knees bend about x (positive), the left elbow about −y, the right elbow about +y."""


def hinge_loss(rotations: torch.Tensor) -> torch.Tensor:
    """Knees and elbows as hinges: ``rotations (T, 55, 3, 3)`` local. Squared departure of the
    hinge axis ``‖R a − a‖²`` plus the squared sine of a bend the wrong way; sum over the four
    joints, mean over frames."""
    total = rotations.new_zeros(())
    for joint, axis, (row, col), sign in HINGES:
        r = rotations[:, joint]
        a = torch.tensor(axis, dtype=r.dtype, device=r.device)
        total = total + ((r @ a - a) ** 2).sum(-1).mean() \
            + torch.relu(-sign * r[:, row, col]).pow(2).mean()
    return total


def run_loss(points: torch.Tensor, weights: torch.Tensor, runs: torch.Tensor) -> torch.Tensor:
    """Points held at the reference of their run: ``points (T,N,3)``, ``weights (T,N)`` in
    [0, 1], ``runs (N,T,T)`` whose row ``t`` mixes the frames giving point ``n``'s reference at
    frame ``t`` (``contact.footprint_matrix``: the run's weighted mean, or the anchor frame).
    Sum over points of the weighted squared distance (m²) to the reference, mean over frames.
    Used for planted feet (no skating) and a still body. (A reference shared by the whole run
    ties its frames together at once; pairwise zero velocity would pass a correction on only
    frame by frame.)"""
    target = torch.einsum("ntu,unc->tnc", runs, points)
    return (weights * ((points - target) ** 2).sum(-1)).sum(-1).mean()


def foot_height_loss(feet: torch.Tensor, weights: torch.Tensor, rest_height: torch.Tensor,
                     ground_y: float | torch.Tensor) -> torch.Tensor:
    """Grounded foot joints at ``rest_height (F,)`` (or ``(T, F)`` per frame) above the
    ground (``ground_y``: its height, or ``(T, F)`` the support under each joint); ``feet
    (T,F,3)``, ``weights (T,F)``. Sum over joints of weighted squared height error, mean over
    frames."""
    err = feet[..., 1] - ground_y - rest_height
    return (weights * err * err).sum(-1).mean()


def ground_loss(points: torch.Tensor, ground_y: float) -> torch.Tensor:
    """Points ``(T, N, 3)`` below the ground plane: sum of squared depths, mean over frames."""
    depth = torch.relu(ground_y - points[..., 1])
    return (depth * depth).sum(-1).mean()


def support_loss(points: torch.Tensor, floor: float | torch.Tensor) -> torch.Tensor:
    """Something touches the floor in every frame: the lowest of ``points (T, N, 3)`` above
    its floor (``floor``: the ground height, or ``(T, N)`` each point's own — a sole over a
    box stands on its top, ``supports.py``) at 0; squared gap (m²), mean over frames. Not for
    jumps or flight phases. (A hard minimum: a soft one sits below the lowest of many equally
    low sole points.)"""
    return ((points[..., 1] - floor).amin(-1) ** 2).mean()


def penetration_loss(vertices: torch.Tensor, obj_rot: torch.Tensor, obj_trans: torch.Tensor,
                     sdf: SdfGrid, margin: float = 0.0,
                     weights: torch.Tensor | None = None) -> torch.Tensor:
    """Body ``vertices (T,V,3)`` inside the object placed by ``obj_rot (T,3,3)`` (object →
    world) and ``obj_trans (T,3)``: sum of (``weights (T,V)``-weighted) squared depths (m², SDF
    grid, object frame) beyond ``margin``, mean over frames."""
    local = (vertices - obj_trans[:, None]) @ obj_rot  # Rᵀ (v − t), row vectors
    d = sdf.sample_sdf(local.reshape(-1, 3)).reshape(vertices.shape[:2])
    depth = torch.relu(margin - d)
    sq = depth * depth if weights is None else weights * depth * depth
    return sq.sum(-1).mean()


def transform_points(points: torch.Tensor, rot: torch.Tensor, trans: torch.Tensor) -> torch.Tensor:
    """Object-frame ``points (P,3)`` placed by ``rot (T,3,3)``, ``trans (T,3)`` → (T, P, 3)."""
    return points @ rot.transpose(1, 2) + trans[:, None]


def attachment_loss(obj_points: torch.Tensor, held_points: torch.Tensor,
                    held: torch.Tensor) -> torch.Tensor:
    """Object points ``(T,P,3)`` where it is vs. ``held_points (H,T,P,3)`` where hand h's
    transform × offset puts them, for frames with ``held (T,H)``: mean squared distance (m²)
    over the held (frame, hand) pairs."""
    if not bool(held.any()):
        return obj_points.new_zeros(())
    sq = ((obj_points[None] - held_points) ** 2).sum(-1).mean(-1)  # (H, T)
    mask = held.T.to(sq.dtype)
    return (mask * sq).sum() / mask.sum()


def upright_loss(obj_rot: torch.Tensor, obj_trans: torch.Tensor, anchor_rot: torch.Tensor,
                 anchor_trans: torch.Tensor) -> torch.Tensor:
    """A sliding object keeps its up axis and height: ``obj_rot (T,3,3)``, ``obj_trans (T,3)``
    against the anchor's ``(3,3)``, ``(3,)``; squared differences, mean over frames."""
    up = ((obj_rot[:, :, 1] - anchor_rot[:, 1]) ** 2).sum(-1)
    return (up + (obj_trans[:, 1] - anchor_trans[1]) ** 2).mean()


def object_static_loss(obj_points: torch.Tensor, free: torch.Tensor) -> torch.Tensor:
    """No motion of the object points ``(T,P,3)`` across the frame pairs where ``free (T-1,)``
    (no hand moves it): mean squared displacement (m²) over those pairs."""
    if obj_points.shape[0] < 2 or not bool(free.any()):
        return obj_points.new_zeros(())
    sq = ((obj_points[1:] - obj_points[:-1]) ** 2).sum(-1).mean(-1)
    mask = free.to(sq.dtype)
    return (mask * sq).sum() / mask.sum()


def balance_loss(com: torch.Tensor, left: torch.Tensor, right: torch.Tensor,
                 weights: torch.Tensor, radius: float) -> torch.Tensor:
    """The centre of mass ``com (T, 3)`` over the support of two planted feet (centres
    ``left``, ``right (T, 3)``): its horizontal (x, z) distance to the segment joining them,
    beyond ``radius`` (a capsule approximating the two footprints), squared (m²), weighted by
    ``weights (T,)`` and averaged over frames."""
    excess = balance_excess(com, left, right, radius)
    return (weights * excess * excess).mean()


def balance_excess(com: torch.Tensor, left: torch.Tensor, right: torch.Tensor,
                   radius: float) -> torch.Tensor:
    """``(...)`` the horizontal (x, z) distance of the centre of mass ``com (..., 3)`` from the
    segment joining the feet's centres ``left``, ``right (..., 3)`` beyond ``radius`` (m; 0 over
    the support)."""
    c, a, b = com[..., [0, 2]], left[..., [0, 2]], right[..., [0, 2]]
    d = b - a
    u = (((c - a) * d).sum(-1) / (d * d).sum(-1).clamp_min(1e-8)).clamp(0, 1)
    return torch.relu((c - (a + u[..., None] * d)).norm(dim=-1) - radius)


def occlusion_loss(joints: torch.Tensor, centre: torch.Tensor, obj_rot: torch.Tensor,
                   obj_trans: torch.Tensor, sdf: SdfGrid, obj_centre: torch.Tensor,
                   obj_radius: float, seen: torch.Tensor, hidden: torch.Tensor, *,
                   samples: int = 24, tail: float = 0.03, margin: float = 0.01,
                   scale: float = 0.05) -> tuple[torch.Tensor, torch.Tensor]:
    """What the object hides, along the camera rays: ``joints (T, J, 3)`` world, ``centre (3,)``
    the camera centre, the object placed by ``obj_rot (T, 3, 3)``, ``obj_trans (T, 3)`` with its
    SDF (object frame), bounding-sphere centre ``obj_centre (3,)`` (object frame) and
    ``obj_radius``. Each segment camera → joint is sampled at ``samples`` points where it passes
    the bounding sphere.

    * ``seen (T, J)`` weights joints that are seen: their segment (its last ``tail`` metres
      left out, where a joint touches the object) must not pass through the object — squared
      depth of its deepest sample;
    * ``hidden (T, J)`` weights joints the object likely hides: their segment must pass at
      least ``margin`` inside it — the shortfall ``e`` of its deepest sample, Geman–McClure
      ``σ²e²/(e²+σ²)`` with σ = ``scale`` (a joint missed at random far from the object
      barely pulls).

    Returns both, each summed over joints and averaged over frames (m²)."""
    t_count = joints.shape[0]
    k = torch.linspace(0, 1, samples, dtype=joints.dtype, device=joints.device)

    def deepest(weights: torch.Tensor, end: float) -> tuple[torch.Tensor, torch.Tensor]:
        """The lowest SDF on the segments of the (frame, joint) pairs with weight > 0."""
        frame, joint = torch.nonzero(weights > 0, as_tuple=True)
        d = joints[frame, joint] - centre  # (N, 3)
        rot, trans = obj_rot[frame], obj_trans[frame]
        with torch.no_grad():
            length = d.norm(dim=-1).clamp_min(1e-6)
            c = (rot @ obj_centre[:, None])[..., 0] + trans - centre
            along = (d * c).sum(-1) / length  # where the ray passes the sphere's centre
            lo = ((along - obj_radius) / length).clamp(0, 1)
            hi = torch.minimum(((along + obj_radius) / length).clamp(0, 1),
                               (1 - end / length).clamp_min(0))
            frac = lo[:, None] + (hi - lo).clamp_min(0)[:, None] * k  # (N, S)
        pts = centre + frac[..., None] * d[:, None]  # (N, S, 3)
        local = (pts - trans[:, None]) @ rot  # Rᵀ (p − t), row vectors
        sd = sdf.sample_sdf(local.reshape(-1, 3)).reshape(frac.shape).amin(-1)
        return sd, weights[frame, joint]

    zero = joints.new_zeros(())
    seen_loss, hidden_loss = zero, zero
    if bool((seen > 0).any()):
        sd, w = deepest(seen, tail)
        depth = torch.relu(-sd)
        seen_loss = (w * depth * depth).sum() / t_count
    if bool((hidden > 0).any()):
        sd, w = deepest(hidden, 0.0)
        short = torch.relu(sd + margin)
        hidden_loss = (w * robust(short * short, scale, "geman_mcclure")).sum() / t_count
    return seen_loss, hidden_loss
