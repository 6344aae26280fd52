"""``MotionConfig``: everything stage E's optimisation can be tuned by.

Loss weights follow ``loss_<name> × lambda_<name>``. Lengths are metres, speeds metres per
second, image residuals pixels. The three phases run one after the other on the same Adam
parameters (root + translation; + body pose; + object and contact terms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, kw_only=True)
class MotionConfig:
    # -- schedule -----------------------------------------------------------------------------
    iterations_root: int = 80
    """Phase 1: global orientation and translation per frame of each initial pose."""
    initial_poses: tuple[Literal["key", "standing", "sitting", "squatting"], ...] = (
        "key", "standing", "sitting", "squatting")
    """Whole-body poses phase 1 fits in every frame; each frame starts phase 2 from the one that
    reprojects best (see ``initialize.py``)."""
    initial_switch_cost: float = 3.0
    """Cost of changing the initial pose between neighbouring frames, in the per-frame
    reprojection's units (``robust_scale_px²`` summed over joints)."""
    iterations_pose: int = 160
    """Phase 2: + body pose per frame (no contact terms)."""
    iterations_contact: int = 160
    """Phase 3: + object pose per frame, with foot, ground, penetration and hand contact terms."""
    learning_rate: float = 0.02
    """Adam step size for every parameter (6D rotations are O(1), translations in metres)."""
    warmup_iterations: int = 20
    """Parameters that join at a phase start ramp their step size up over this many
    iterations."""
    contact_refresh_every: int = 40
    """Phase 3 re-detects foot contact from the current estimate this often (iterations)."""

    # -- reprojection ---------------------------------------------------------------------------
    robust_loss: Literal["geman_mcclure", "huber"] = "geman_mcclure"
    """Robust penaliser of the 2D residual norm: Geman–McClure ``e²/(e²+σ²)`` or Huber."""
    robust_scale_px: float = 20.0
    """σ: residuals well beyond this many pixels barely pull (Geman–McClure) or pull linearly
    (Huber)."""
    robust_scale_start_px: float = 160.0
    """σ at the start of phase 1, annealed geometrically to ``robust_scale_px`` by the end of
    phase 2 (graduated non-convexity: far-off joints of the initial key pose still pull)."""
    min_confidence: float = 0.05
    """Keypoints with a lower confidence are ignored."""

    # -- weights --------------------------------------------------------------------------------
    lambda_reproj: float = 1.0
    """Confidence-weighted robust reprojection, in units of (``robust_scale_px``)², summed over
    joints, mean over frames."""
    lambda_key_pose: float = 2000.0
    """Key pose at the anchor frame: squared joint distance (m²) + 6D rotation difference."""
    lambda_velocity: float = 1e-3
    """Joint velocity (m/s)², summed over the 22 body joints, mean over frames."""
    lambda_accel: float = 3e-4
    """Joint acceleration (m/s²)², summed over the 22 body joints, mean over frames: damps
    jitter."""
    lambda_rot_smooth: float = 1.0
    """Second differences of the 6D rotations (per frame²): keeps the unobserved twists smooth."""
    lambda_pose_prior: float = 0.02
    """Pull of each body joint's rotation towards the key pose (6D, squared) where the joints
    it moves are seen."""
    lambda_pose_prior_hidden: float = 2.0
    """The same pull where none of the joints it moves is seen (the key pose is the best guess
    for a limb hidden behind the object); in between it blends by their confidence."""
    lambda_hinge: float = 1.0
    """Knees and elbows bend about their hinge axis only, and the natural way (see
    ``losses.hinge_loss``)."""
    lambda_foot_skate: float = 3000.0
    """Zero velocity (m/frame)² of foot joints detected in contact, weighted by the contact."""
    lambda_foot_height: float = 1e4
    """Contact foot joints at their rest height above the ground (m²)."""
    lambda_ground: float = 3e4
    """Body vertices below the ground plane (m², summed over vertices, mean over frames)."""
    penetration_margin_m: float = 0.01
    """Subset vertices are kept this far outside the object, so that the full mesh between
    them stays outside too."""
    hand_penetration_weight: float = 0.1
    """Share of ``lambda_penetration`` for the vertices of a hand while it holds the object (it
    touches it; the attachment keeps it at the key pose's grip)."""
    lambda_support: float = 3e4
    """From phase 2: the lowest body vertex of every frame on the ground (m²) — the body is
    supported by the ground in every frame (no jumps). A strong depth cue for one camera;
    0 turns it off."""
    lambda_penetration: float = 3000.0
    """Body vertices inside the object (object SDF, m², summed over vertices, mean over
    frames)."""
    lambda_attach: float = 3000.0
    """While a hand holds the object: object points vs. the hand's transform × offset (m²)."""
    lambda_object_static: float = 3000.0
    """While no hand holds it: the object does not move between frames (m² of its points)."""
    lambda_object_anchor: float = 3000.0
    """The object's placement at the anchor frame (given by stage B), m² of its points."""
    lambda_object_upright: float = 3000.0
    """A sliding object (pushed along the ground) keeps its up axis and height."""
    lambda_object_accel: float = 0.01
    """Object point acceleration (m/s²)²."""
    lambda_object_ground: float = 3e4
    """Object points below the ground (m²)."""
    lambda_hand_prior: float = 1.0
    """Only with ``hands="observed"``: pull of the hand pose towards the key pose."""

    # -- body / object sampling -----------------------------------------------------------------
    hands: Literal["key_pose", "observed"] = "key_pose"
    """Hand articulation: fixed to the key pose, or optimised in phase 3 where finger keypoints
    are observed."""
    num_body_vertices: int = 500
    """Body vertices (farthest-point subset) for penetration; soles and palms come on top."""
    num_sole_vertices: int = 40
    """Extra vertices on the soles (ground contact and penetration)."""
    num_hand_vertices: int = 32
    """Vertices per hand used to decide hand–object contact."""
    num_object_points: int = 64
    """Object surface samples used to compare object poses (attachment, static, anchor)."""
    sdf_resolution: int = 64
    """Object SDF grid points along its longest side."""

    # -- ground and contact ---------------------------------------------------------------------
    ground_y: float | None = None
    """Height of the ground plane; None: the lowest vertex of the key pose."""
    foot_contact_height_m: float = 0.06
    """A foot joint this far above its rest height over the ground counts as grounded (soft)."""
    foot_contact_speed_mps: float = 0.5
    """... and slower than this horizontally (soft)."""
    foot_image_window: int = 5
    """The keypoints' own speed is fitted over ±this many frames."""
    foot_image_min_confidence: float = 2.5
    """... and used where the fit rests on at least this much confidence (else the estimate's
    speed)."""
    foot_contact_softness: float = 0.25
    """Width of the soft thresholds as a fraction of each threshold."""
    hand_contact_distance_m: float = 0.04
    """At the anchor frame a hand touches the object when one of its vertices is this close."""
    support_tolerance_m: float = 0.04
    """An object whose lowest point is within this of the ground rests on (slides along) it;
    a sliding object's hands may move up or down this much."""
    contact_patience_frames: int = 3
    """A hand–object contact ends only where this many frames in a row break it."""

    def __post_init__(self) -> None:
        for name in ("iterations_root", "iterations_pose", "iterations_contact"):
            if getattr(self, name) < 0:
                raise ValueError(f"MotionConfig.{name} must be ≥ 0")
        for name in ("learning_rate", "robust_scale_px", "robust_scale_start_px", "foot_contact_height_m",
                     "foot_contact_speed_mps", "foot_contact_softness",
                     "hand_contact_distance_m", "support_tolerance_m"):
            if not getattr(self, name) > 0:
                raise ValueError(f"MotionConfig.{name} must be > 0")
        if not self.initial_poses or any(
                p not in ("key", "standing", "sitting", "squatting") for p in self.initial_poses):
            raise ValueError(f"MotionConfig.initial_poses: choose from key, standing, sitting, "
                             f"squatting; got {self.initial_poses}")
        if self.robust_loss not in ("geman_mcclure", "huber"):
            raise ValueError(f"MotionConfig.robust_loss: unknown {self.robust_loss!r}")
        if self.hands not in ("key_pose", "observed"):
            raise ValueError(f"MotionConfig.hands: unknown {self.hands!r}")
        if self.foot_image_window < 1:
            raise ValueError("MotionConfig.foot_image_window must be ≥ 1")
        if self.contact_patience_frames < 1:
            raise ValueError("MotionConfig.contact_patience_frames must be ≥ 1")
        if self.warmup_iterations < 1:
            raise ValueError("MotionConfig.warmup_iterations must be ≥ 1")
        if self.contact_refresh_every < 1:
            raise ValueError("MotionConfig.contact_refresh_every must be ≥ 1")
