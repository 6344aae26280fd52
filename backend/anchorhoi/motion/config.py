"""``MotionConfig``: everything stage E's optimisation can be tuned by, in groups.

| group | class | holds |
|---|---|---|
| ``schedule`` | ``MotionSchedule`` | phase iterations, step size, candidate poses |
| ``reprojection`` | ``ReprojectionConfig`` | the robust keypoint penalty, its annealed scale |
| ``weights`` | ``MotionWeights`` | every loss weight ``lambda_<name>`` |
| ``contact`` | ``ContactConfig`` | foot, stillness and hand–object contact; margins |
| ``sampling`` | ``MotionSampling`` | body vertices, object points, the SDF grid |
| ``resting`` | ``RestingObjectConfig`` | placing a resting object before phase 3 |
| ``plants`` | ``FootPlantConfig`` | foot plants and their footprints from the keypoints |
| ``supports`` | ``SupportConfig`` | what the feet stand on: the ground, a resting object's top |
| ``likeness`` | ``LikenessConfig`` | how much a frame looks like the key pose |

Loss weights follow ``loss_<name> × lambda_<name>`` (the names of ``objective.loss_terms``);
most terms are summed over their points and averaged over frames. Lengths are metres, speeds
metres per second, image residuals pixels. Phases (``optimize.py``): 1 root + translation of
candidate poses, 2 + body pose, 3 + object pose and the contact terms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from ..config_checks import check_at_least, check_choices, check_positive

InitialPose = Literal["key", "key_mirrored", "standing", "relaxed", "carrying", "crouching",
                      "sitting", "squatting"]
RobustLoss = Literal["geman_mcclure", "huber"]
HandMode = Literal["key_pose", "observed"]
HiddenLimbs = Literal["carried", "key"]


@dataclass(frozen=True, kw_only=True)
class MotionSchedule:
    """How long each phase runs, how fast it steps, and where phase 1 starts from."""

    root_iterations: int = 80
    """Phase 1: Adam iterations fitting each candidate pose's root and translation per frame."""
    pose_iterations: int = 160
    """Phase 2: + the body pose of every frame."""
    contact_iterations: int = 160
    """Phase 3: + the object pose of every frame, with the penetration and hand–object terms."""
    learning_rate: float = 0.02
    """Adam step size of every parameter (6D rotations are O(1), translations metres)."""
    settle_iterations: int = 40
    """The last this many iterations of phase 3 lower every step size geometrically to
    ``settle_learning_rate``: at a constant step Adam leaves each frame's parameters
    oscillating about their optimum by about a step, which a planted foot shows as sliding
    of millimetres per frame. 0 keeps the step constant."""
    settle_learning_rate: float = 0.002
    """The step size the last iteration of phase 3 takes (see ``settle_iterations``)."""
    warmup_iterations: int = 20
    """Parameters joining at the start of a phase ramp their step size up over this many
    iterations."""
    contact_refresh_every: int = 40
    """Foot contact and stillness are re-detected this often (iterations) in phases 2 and 3."""
    sync_every: int = 10
    """The loss terms are read to the host (progress figures) every this many iterations of a
    phase and after its last (``progress.LossReadout``); between reads the GPU is never waited
    for."""
    initial_poses: tuple[InitialPose, ...] = ("key", "key_mirrored", "standing", "relaxed",
                                             "carrying", "crouching", "sitting", "squatting")
    """Candidate whole-body poses of phase 1; each frame starts phase 2 from the best one (see
    ``initialize.py``; ``key_mirrored``: the key pose with its legs' stride swapped left for
    right; ``crouching``: standing on knees bent 60°; ``relaxed``: standing with the arms
    hanging, not the key pose's; ``carrying``: standing, the forearms forward at the waist)."""
    initial_switch_cost: float = 3.0
    """Cost of changing the candidate between neighbouring frames, in the per-frame
    reprojection's units (``reprojection.scale_px²``, summed over joints)."""
    initial_jump_speed_mps: float = 2.5
    """Between neighbouring frames the torso (the mean of the torso joints) of the chosen
    candidates moves along the camera's viewing direction at most about this fast (faster
    than a walk; a start that jumps further pays ``initial_jump_cost``). Only the depth: the
    keypoints hold the rest from frame to frame, and one camera does not see the depth."""
    initial_jump_cost: float = 100.0
    """Cost, in the per-frame reprojection's units per m², of the squared distance the torso
    of the chosen candidates moves in depth between neighbouring frames beyond what
    ``initial_jump_speed_mps`` allows (0: off)."""
    seat_cost: float = 10.0
    """Cost per frame, in the same units, of the ``"sitting"`` candidate where nothing carries
    it: its centre of mass is not over its feet (``g_b`` beyond ``contact.balance_radius_m``
    of the segment joining them) and the object, at its anchor placement, offers no seat
    under its pelvis (``g_s`` from the segment ``seat_reach_m`` down from it) —
    ``seat_cost·g²/(g² + σ²)`` with ``g`` the smaller of the two and σ = ``seat_scale_m``.
    Seen from the front, a body leaning towards the camera and one sitting back on nothing
    project alike (push_pull-1-07 started 17 frames seated: pelvis 18 cm deep along the ray,
    MPJPE 208 mm there); the flexed legs leaning over the feet are a crouch or a step up and
    stay a start. 0 turns it off."""
    seat_reach_m: float = 0.35
    """How far below the sitting candidate's pelvis joint a seat may be (the joint sits about
    10 cm above the seat's surface; a low stool or the seat's soft estimate lower)."""
    seat_scale_m: float = 0.05
    """σ of ``seat_cost``: a seat this far from the probe costs half of it."""

    @property
    def total_iterations(self) -> int:
        """Iterations of the three phases together (the progress total)."""
        return self.root_iterations + self.pose_iterations + self.contact_iterations

    def __post_init__(self) -> None:
        check_choices(self)
        check_at_least(self, 0, ("root_iterations", "pose_iterations", "contact_iterations",
                                 "settle_iterations"))
        check_at_least(self, 1, ("warmup_iterations", "contact_refresh_every", "sync_every"))
        check_positive(self, ("learning_rate", "settle_learning_rate", "seat_scale_m",
                              "initial_jump_speed_mps"))
        check_at_least(self, 0.0, ("initial_switch_cost", "initial_jump_cost", "seat_cost",
                                   "seat_reach_m"))
        if not self.initial_poses:
            raise ValueError("MotionSchedule.initial_poses must name at least one pose")


@dataclass(frozen=True, kw_only=True)
class ReprojectionConfig:
    """The robust penalty of a keypoint's residual and which keypoints count."""

    robust_loss: RobustLoss = "geman_mcclure"
    """Robust penalty of a keypoint's residual ``e``: Geman–McClure ``σ²e²/(e²+σ²)`` or
    Huber."""
    scale_px: float = 20.0
    """σ at the end of phase 2 and in phase 3: residuals well beyond it barely pull
    (Geman–McClure) or pull only linearly (Huber). The reprojection's unit is ``scale_px²``."""
    start_scale_px: float = 160.0
    """σ at the start of phase 1, annealed geometrically to ``scale_px`` by the end of phase 2
    (graduated non-convexity: joints far from their start still pull)."""
    min_confidence: float = 0.05
    """Keypoints with a lower confidence are ignored."""

    def __post_init__(self) -> None:
        check_choices(self)
        check_positive(self, ("scale_px", "start_scale_px"))


@dataclass(frozen=True, kw_only=True)
class MotionWeights:
    """The weight ``lambda_<name>`` of every loss term ``<name>`` (0 turns a term off where
    noted)."""

    lambda_reproj: float = 1.0
    """Confidence-weighted robust reprojection, in units of ``reprojection.scale_px²``."""
    lambda_key_pose: float = 2000.0
    """The key pose at the anchor frame: squared joint distances (m²) + squared 6D rotation
    differences."""
    lambda_velocity: float = 1e-3
    """Joint speed (m/s)² of the 22 body joints."""
    lambda_accel: float = 3e-4
    """Joint acceleration (m/s²)² of the 22 body joints: damps jitter. Stronger, it eases a
    foot's swing into and out of its plants (an estimated foot leaving its footprint a few
    frames before the true one skates) but holds back what the body really does
    (``bench/oracle_motion.py``): at 1e-3 and 3e-3, step_onto-21-03's skating (noise seed 3)
    fell from 9.7 to 3.5 and 3.8 mm, but over twelve family cases, one of every kind but
    walk_straight (seed 1), the mean MPJPE rose from 38.5 to 43.1 and 48.4 mm (reach_low-24-10
    44 → 72 and 106 mm, kneel-21-15's penetration 5 → 12 mm; pick_up_carry-24-01,
    reach_high-24-09 and sit_stand-24-04 better). On the four foot joints alone (3e-3 and 1e-2,
    fifteen cases): mean MPJPE 40.3 → 41.6 and 46.1 mm, lean_on-22-04 27 → 41 and 49 mm,
    kneel-21-15's penetration 5 → 16 mm."""
    lambda_rot_smooth: float = 1.0
    """Squared second differences of the 6D rotations: keeps unobservable twists smooth."""
    lambda_pose_prior: float = 0.02
    """Pull of a body joint's rotation towards the key pose (6D, squared) where the joints it
    moves are seen."""
    lambda_pose_prior_hidden: float = 2.0
    """The same pull where none of them is seen (the key pose is the best guess for a limb
    hidden behind the object); in between it blends by their confidence."""
    lambda_hinge: float = 1.0
    """Knees and elbows bend about their hinge axes only, and the natural way."""
    lambda_support: float = 3e4
    """The lowest body vertex of every frame on the ground (m²): the body stands, sits or walks
    on the ground (no jumps) — the strongest depth cue a single camera has. Faded in during
    phase 2; 0 turns it off."""
    lambda_foot_skate: float = 3000.0
    """Foot joints in contact stay on the footprint of their contact run (m², weighted by the
    contact): no skating."""
    lambda_foot_height: float = 1e4
    """Foot joints in contact at their rest height above the ground (m²)."""
    lambda_still: float = 3000.0
    """Where the body keypoints keep still, the body joints keep still as one run (m²): averages
    a still body's depth over the run."""
    lambda_balance: float = 3e4
    """While both feet are planted and nothing else supports the body (no hand holds the
    object where it rests or slides on the floor, no other body part lies on it; an object
    the hands carry supports nothing), the centre of mass (the mean of the body's vertex
    spread) over the support: its horizontal distance beyond ``contact.balance_radius_m`` from
    the segment between the two feet (m², phase 3). 0 turns it off."""
    lambda_ground: float = 3e4
    """Body vertices below the ground (m²)."""
    lambda_penetration: float = 1e4
    """Body vertices inside the object (object SDF, m²). Moves the body and, where it has
    parameters (held somewhere in the clip), the object."""
    lambda_hand_prior: float = 1.0
    """Only with ``hands="observed"``: pull of the hand pose towards the key pose."""
    lambda_attach: float = 3000.0
    """While a hand carries the object: the object's points where they are vs. where the
    wrist's transform × the anchor's offset puts them (m², mean over points and those frames;
    ``objective.attachment``)."""
    lambda_grasp: float = 3000.0
    """The same while the hands hold the object as it rests on the floor before a pick-up or
    after a set-down (``State.grasped``), a mean over those frames of its own."""
    lambda_grip_side: float = 3000.0
    """While both hands hold a load in the air: how far their grip lies off the body's midplane
    keeps its value at the anchor (m², mean over those frames; ``objective.grip_side_loss``)."""
    lambda_likeness: float = 100.0
    """Frames that look like the key pose keep its rotations (``likeness.py``): squared 6D
    distance of the root and body rotations to the key pose's, times each one's likeness
    (phases 2 and 3). 0 turns it off."""
    lambda_object_static: float = 3000.0
    """Between frames where no hand holds it the object does not move (m², mean over
    points)."""
    lambda_object_anchor: float = 3000.0
    """The object's placement at the anchor frame, given by stage B (m², mean over points)."""
    lambda_object_upright: float = 3000.0
    """A sliding object (pushed along the ground) keeps its up axis and its height."""
    lambda_object_accel: float = 0.01
    """Acceleration (m/s²)² of the object's points while it is carried (mean over points)."""
    lambda_object_ground: float = 3e4
    """Object vertices below the ground (m²)."""
    lambda_object_rest: float = 3e4
    """A resting object that lies on the ground (beyond the contact, see ``contact.py``) keeps
    its lowest point on it (m², squared gap): it does not float up off the floor."""
    lambda_occlusion: float = 1e4
    """Placing a resting object (``resting``): the seen body joints are not behind the object,
    and the joints it likely hides are (``losses.occlusion_loss``, m²). Placing the object
    between the camera and the joints it hides is a depth cue where one camera has little."""
    lambda_body_occlusion: float = 2000.0
    """An object no hand touches (it never moves): the body joints it likely hides stay
    behind it along their camera rays and the seen ones out of its shadow
    (``losses.occlusion_loss`` with the ``resting`` group's margins, m²), from phase 2 on
    (faded in like the ground terms). 0 turns it off. (At 1e4 the hidden joints' pull into
    the box's shadow pressed crouch-1-05's body 13 mm into it.)"""
    lambda_rest_pull: float = 1.0
    """Placing a resting object: pull of its placement to where the hands put it (m²)."""
    lambda_plant: float = 3000.0
    """Foot joints planted in the keypoints on their footprints, where the rays of their
    pixels meet the ground (m², ``foot_plants.py``): the global trajectory's depth and travel
    from ground contact (phases 1–3). 0 turns it off."""


@dataclass(frozen=True, kw_only=True)
class ContactConfig:
    """When feet, the body and the hands count as in contact, and the margins of contact."""

    foot_height_m: float = 0.06
    """A seen foot joint this far above its rest height over the ground is half in contact."""
    foot_speed_mps: float = 0.5
    """A foot joint moving this fast is half in contact."""
    still_speed_mps: float = 0.12
    """A frame whose body keypoints' median speed is this is half still."""
    still_noise_sigmas: float = 2.0
    """That threshold rises to this many standard errors of the speed fits (their median over
    the body's keypoints) where the keypoints' noise makes slower speeds indistinguishable
    from still (a far body, a short focal length); 0 keeps it fixed."""
    still_joint_noise_sigmas: float = 3.0
    """The same for each joint's own speed (``stillness.still_weights``): a joint of a still
    body is held only where it is still itself."""
    softness: float = 0.25
    """Width of these soft thresholds as a fraction of each threshold."""
    image_speed_window: int = 5
    """Keypoint speeds (feet, body) are line fits over ±this many frames."""
    travel_window: int = 15
    """The body's root travels (``contact.ground_speed``: where its speed on the ground, a
    line fit over ±this many frames, reaches ``foot_speed_mps`` a hidden foot is no longer
    taken as planted). Wide: the estimate's root jumps back and forth along the camera ray
    where nothing but the torso's size gives its depth, which a short fit takes for travel;
    a walk keeps its speed over a second. Not where the hands may move the object: not
    before the contact decision where a hand touches it at the anchor frame, nor where they
    hold or slide it after (a push walks in strokes, its travel along the camera ray
    unseen)."""
    image_speed_min_confidence: float = 2.5
    """A speed fit resting on less confidence (summed over its frames) counts as unseen."""
    hand_distance_m: float = 0.04
    """At the anchor frame a hand touches the object when one of its vertices is this close;
    a body vertex this close to the object supports the body (no balance term there)."""
    support_tolerance_m: float = 0.04
    """An object whose lowest point is within this of the ground rests on (slides along) it."""
    slide_release_m: float = 0.08
    """The hands of a sliding object (pushed or pulled along the ground) let go where they rise
    or sink this far from their height at the anchor frame (``contact.grow_contact``): more
    than the ground's tolerance, as a body's depth error along the camera ray shifts the
    estimated hands' height too (a push whose hands' estimate rose 5 cm let go of the object
    halfway, push_pull-0-12)."""
    slide_min_travel_m: float = 0.1
    """A resting object touched at the anchor frame is pushed or pulled only if the seen hands
    would move it at least this far along the ground, counting only the travel the hips share
    (``contact.moves_with_hands``); less is touching it (resting)."""
    slide_min_ground_travel_m: float = 0.2
    """Or only if the estimate's hands and hips would move it at least this far together on
    the ground plane (a push straight along the camera ray barely moves them in the image;
    the estimate's depth drifts by up to 13 cm on the shipped lean and reach cases, so the
    bar is higher)."""
    clear_depth_m: float = 0.05
    """Before phase 3, a body this deep inside the object where it rests (no hand holds it)
    is moved out along its camera ray (``optimize._clear_resting_object``)."""
    clear_step_m: float = 0.02
    """Step of the shifts tried (0: no such move)."""
    clear_reach_m: float = 1.5
    """Largest shift tried, either way."""
    walk_min_swing_frames: int = 6
    """The body walks (its estimated travel on the ground counts as evidence of a push) only
    where a seen foot swings for at least this many frames in a row within the contact frames
    (a step's swing: a third of a second); feet seen planted throughout stand
    (``contact.decide_contact``)."""
    grasp_max_gap_frames: int = 8
    """Before a pick-up from the ground (after a set-down onto it) the hands hold the resting
    object where they keep still at most this many frames before the held frames begin
    (``contact.grasp_frames``): there it is attached to their grip as it rests, which fixes
    their depth by its place on the ground (pick_up_carry-23-07: 6.9 -> 1.9 cm before the
    lift; over the family's eight pick-ups at three noise seeds, misses 17 -> 10 of 24 runs and
    the body's MPJPE lower on all 24, by 1-8 mm). 0: the hands hold it only while it is
    carried."""
    grasp_min_still: float = 0.3
    """The holding hands' mean stillness (``stillness.still_weights``) over which they keep
    still on the object."""
    slide_min_scale_share: float = 0.4
    """Where the feet are unseen in most contact frames, the estimate's travel on the ground
    counts only if the body's size in the image follows its depth: over the contact frames
    the shoulders' image width must change (along a straight-line fit of its log) by at least
    this share of what the estimate's shoulder depth implies, in the same direction
    (``contact.scale_follows``). With the legs hidden, the estimate's depth drifts along the
    camera ray unopposed (reach_low-7-16: the hands and hips 0.43 m on the ground, the object
    slid 20 cm), while a push that walks along the ray grows or shrinks the body in the image
    (the 10 such pushes with the legs hidden of seeds 4–16 of the case family: 0.68–1.6). 0:
    off."""
    scale_min_frames: int = 10
    """With the feet unseen, fewer contact frames seeing both shoulders cannot confirm the
    estimate's depth: its travel on the ground is then no evidence of a push (a push walks
    for seconds; a hand that touches an object for a third of a second while the estimate's
    depth swings does not move it, ``contact.scale_follows``)."""
    hand_seen_confidence: float = 0.5
    """The touching hands count as seen in a frame where their keypoints' mean confidence
    reaches this (only seen hands are evidence that the object moves)."""
    release_depth_m: float = 0.04
    """A held object is let go where, carried on by the seen touching hands, it would sink
    this far into the torso, legs or head (the hands went back to the body: it was set down on
    a table or a shelf; ``contact.grip_holds``)."""
    release_still_speed_mps: float = 0.15
    """Where it is let go, it rests where the hands were last slower than this (they stop to
    set it down; ``contact.set_down``)."""
    rest_on_ground_m: float = 0.15
    """Beyond the hands' contact, an object whose lowest point is within this of the ground
    rests on it, laid level (``contact.object_path``): the ground is the only support the scene
    knows of, and a table or shelf top stands far higher. (A squat's pick-up let go of its
    box 7 cm above the floor where the estimate's legs would have swallowed it.)"""
    patience_frames: int = 3
    """A hand–object contact ends only where this many frames in a row break it."""
    balance_radius_m: float = 0.08
    """Half-width of the support region around the segment joining the feet's centres
    (``weights.lambda_balance``)."""
    penetration_margin_m: float = 0.015
    """The subset vertices keep this far outside the object, so that the full mesh between
    them stays outside too."""
    untouched_penetration_early: bool = True
    """An object no hand touches at the anchor frame never moves (contact mode ``"none"``):
    the body keeps out of it from phase 2 on (``weights.lambda_penetration``, faded in like the
    ground terms), not only in phase 3. Limbs the object hides (legs crouched behind a box, the
    hands hanging by the knees) otherwise drift into it along the camera ray in phase 2, and
    phase 3 pushes them out through its far side (crouch-1-03: hands 40 cm behind the body,
    PA-MPJPE 60 mm; 36 with the term from phase 2). Not where its top is a support
    (``supports``): the soles stand on it there, and the term's margin fought the support
    term in phase 2 (step_onto-0-04: MPJPE 79 -> 83 mm)."""
    holding_hand_penetration_share: float = 0.1
    """Share of ``weights.lambda_penetration`` for a hand's vertices while it holds the object
    (it touches it; the attachment keeps it at the key pose's grip)."""

    def __post_init__(self) -> None:
        check_at_least(self, 1, ("image_speed_window", "travel_window", "patience_frames",
                                 "walk_min_swing_frames", "scale_min_frames"))
        check_positive(self, ("foot_height_m", "foot_speed_mps", "still_speed_mps", "softness",
                         "hand_distance_m", "support_tolerance_m", "slide_release_m",
                         "slide_min_travel_m", "slide_min_ground_travel_m",
                         "hand_seen_confidence", "release_depth_m", "rest_on_ground_m",
                         "release_still_speed_mps"))
        check_at_least(self, 0.0, ("clear_depth_m", "clear_step_m", "clear_reach_m",
                                   "slide_min_scale_share", "still_noise_sigmas",
                                   "still_joint_noise_sigmas", "grasp_max_gap_frames",
                                   "grasp_min_still"))


@dataclass(frozen=True, kw_only=True)
class MotionSampling:
    """The points the terms are computed on."""

    num_body_vertices: int = 500
    """Body vertices (farthest-point subset) for ground and penetration terms."""
    num_sole_vertices: int = 40
    """Extra vertices on the soles."""
    num_toe_vertices: int = 16
    """Extra vertices on the front of the feet up to 5 cm above the soles (the toes' tips and
    tops): a foot pointed down at lift-off digs them into the ground, which the body subset
    and the soles missed (step_onto-0-15: 15 mm); 0: none."""
    num_hand_vertices: int = 32
    """Vertices per hand deciding whether it touches the object at the anchor frame."""
    num_object_points: int = 64
    """Object vertices and as many surface samples comparing object poses."""
    sdf_resolution: int = 64
    """Object SDF grid points along its longest side."""
    max_watched_pairs: int = 4096
    """(frame, vertex) pairs of the mesh beyond the subset that the penetration term watches
    (``watch.py``). The subset's vertices lie about 6 cm apart: an object's edge or corner
    between them went 15–17 mm into a heel on a step's edge and a head under a shelf's board
    (step_onto-22-07, reach_high-24-15), where every vertex of the mesh would have kept out
    (3.4 and 0.9 mm with 2,000 subset vertices, at three times the time). So phase 3 poses the
    whole mesh near the object at every contact refresh (``schedule.contact_refresh_every``),
    and the pairs then within ``watch_distance_m`` of it or inside (the nearest first; a
    holding hand's not in the frames it holds) join the term until the phase ends (4.0 to
    9.4 and 5.9 mm there, the step's case sensitive to the order of the sums); 0: none."""
    watch_distance_m: float = 0.01
    """How near the object's surface (outside, m) a mesh vertex comes in a frame for the pair
    to be watched, by the exact distance (the grid's rounds a thin board off: an elbow 13.6 mm
    into a shelf's top board read 3 mm; reach_high-0-08)."""
    watch_margin_m: float = 0.003
    """The watched pairs keep this far outside the object. The subset's margin
    (``contact.penetration_margin_m``, 15 mm) stands for the mesh between its vertices; a
    watched vertex is that mesh. With the subset's margin on them, the hands resting on a table
    or a shelf were held off it over the whole palm and the poses moved (on the unseen family,
    12 of 96 cases 5 mm or more worse in MPJPE against 4 with this margin, and 4 better)."""

    def __post_init__(self) -> None:
        check_at_least(self, 0, ("max_watched_pairs",))
        check_at_least(self, 0.0, ("watch_distance_m", "watch_margin_m"))


@dataclass(frozen=True, kw_only=True)
class RestingObjectConfig:
    """Placing each resting stretch of the object (before and after the contact) from the
    phase-2 bodies of its frames, before phase 3: no penetration
    (``weights.lambda_penetration``), the seen joints not behind it and the joints it hides
    behind it (``weights.lambda_occlusion``), a weak pull to where the hands put it
    (``weights.lambda_rest_pull``)."""

    iterations: int = 80
    """Adam iterations per resting stretch; 0: it stays where the hands at the boundary frame
    put it (there the object often hides those hands, so their depth is the weakest of the
    clip)."""
    learning_rate: float = 0.01
    """Step size (m) of that fit."""
    ray_starts_m: tuple[float, ...] = (-0.3, 0.3)
    """More starts of that fit (m along the camera ray, away from the camera positive) than
    where the hands left the object; empty: that one alone."""
    ray_start_gain: float = 3.0
    """How many times lower than the fit from the hands' place a fit from another start must
    end to win. Seen from the front, the hands reaching down along the camera ray left
    pick_up_carry-9-11's box 34 cm off and the fit from there stopped 9 cm on, its loss 24
    times the one from 30 cm nearer the camera (box error 13.8 -> 5.9 cm); on
    pick_up_carry-13-16 and 14-02 the other start ended 6–7 times lower, and at the old bar
    of 10 the hands' place stayed with the box 24–26 cm off and the legs 25–44 mm inside it
    (4.5 and 4.8 cm, 3 mm with 3). Where nothing decides, fits 40 cm apart end within a
    tenth (pick_up_carry-5-23, 6-12) and the hands' place stays."""
    occlusion_window: int = 2
    """Half-width of the window deciding that a joint is hidden rather than randomly missed."""
    occlusion_min_unseen: int = 4
    """Unseen frames (of the window's ``2·occlusion_window + 1``) that make a joint hidden."""
    occlusion_tail_m: float = 0.03
    """The end of a seen joint's segment that may touch the object (a hand on it)."""
    occlusion_margin_m: float = 0.01
    """How far inside the object the segment to a hidden joint should pass."""
    occlusion_scale_m: float = 0.05
    """Robust scale of a hidden joint's shortfall (a joint dropped at random that the object
    does not hide barely pulls)."""

    def __post_init__(self) -> None:
        check_at_least(self, 0, ("iterations",))
        check_at_least(self, 1, ("occlusion_window",))
        if not all(math.isfinite(a) for a in self.ray_starts_m):
            raise ValueError(f"resting.ray_starts_m must be finite distances, got "
                             f"{self.ray_starts_m!r}")
        check_at_least(self, 1.0, ("ray_start_gain",))
        check_positive(self, ("learning_rate", "occlusion_scale_m"))


@dataclass(frozen=True, kw_only=True)
class FootPlantConfig:
    """Foot plants from the 2D keypoints alone (``foot_plants.py``): a foot joint is planted
    where its keypoint's motion, turned into metres on the ground plane by the camera, is slow;
    each plant's footprint is where its mean pixel's ray meets the ground. They give the foot
    contact's speed (instead of the image speed at the estimate's depth) and hold planted feet
    on their footprints (``weights.lambda_plant``): depth and travel from ground contact."""

    enabled: bool = True
    """Use the plants (foot contact and footprints); False: foot contact from the keypoints'
    image speeds at the estimate's depth (``contact.py``) and no footprints. On the shipped
    locomotion family the plants cut the worst MPJPE from 159 to 55 mm with skating under
    3 mm per contact frame (the oracle bench with ``--set plants.enabled=false`` compares)."""
    window: int = 5
    """Velocities are line fits of the keypoints over ±this many frames."""
    key_footprints: bool = True
    """A plant holding the anchor frame has its footprint where the key pose puts the foot
    joint (``foot_plants.key_footprints``), not where its ray meets the plane at the joint's
    rest height (wrong for a raised heel: a kneel's ankle stands 10 cm higher)."""
    speed_mps: float = 0.5
    """A foot joint moving this fast on the ground is half planted."""
    softness: float = 0.25
    """Width of that soft threshold as a fraction of it."""
    noise_sigmas: float = 2.0
    """The plant threshold rises to this many standard errors of the speed fit where the
    keypoints' noise (their median scatter about the fits) makes slower speeds
    indistinguishable from standing (a far foot seen along the ray)."""
    max_stretch: float = 6.0
    """The ground's metres per pixel along the camera ray are capped at this many times those
    across the image (a camera near the floor: beyond it pixel noise rules)."""
    min_confidence: float = 4.0
    """A velocity fit or a footprint resting on less keypoint confidence (summed over its
    frames) counts as unseen."""
    sigma_m: float = 0.03
    """A footprint whose standard error (pixel noise over the plant's seen frames, on the
    ground) exceeds this pulls with the weight scaled by ``(sigma_m / error)²``."""
    raised_sigmas: float = 3.0
    """An ankle's and its ball's footprints further apart than the foot's length plus this
    many of their standard errors: the one farther from the camera stands raised (a heel up, a
    kneel's ankle) and pulls to no footprint (``foot_plants.drop_raised``); 0 never. On the
    unseen family (seeds 21–24) and the shipped one at noise seeds 1 and 2 it acted on 22 of
    242 case runs (footprints up to 67 cm off: kneel-22-22's raised ankle): MPJPE better on 15
    (step_onto-22-07 62 → 44 mm), worse on 7 (at most +5 mm), skating lower on 15
    (``bench/foot_plants.py`` measures the footprints against the truth)."""
    min_run_frames: int = 3
    """Plants shorter than this many frames are dropped (no footprint)."""
    min_gap_frames: int = 3
    """Gaps in a plant shorter than this many frames are closed (noisy frames; a swing lasts
    longer): one plant, one footprint."""
    split_sigmas: float = 4.0
    """A plant whose keypoint's mean pixels before and after a frame differ by more than this
    many standard errors is two plants and a swing between them (``foot_plants.split_run``:
    a step along the camera ray is too slow in the image for ``speed_mps``); 0 never
    splits."""
    landing_frames: int = 3
    """A plant starts up to this many frames earlier where the fit over the frames from there
    on (``0 … +window``) is slow too (``foot_plants._earlier_landings``: a foot lands fast,
    and the centred fit reaching back into the landing starts the plant late); 0 never. On
    the case family at noise seed 1 (``bench/foot_plants.py``, 122 cases) 0 lets go 6.9 % of
    the still foot joint-frames and holds 8.8 % of those in mid-swing; 3 lets go 3.9 % and
    holds 15.5 % (540 still frames held for 190 swinging ones). Ends moved the same way were
    the opposite trade (201 for 497; see ``_earlier_landings``)."""
    gap_weight: float = 0.6
    """The plant weight of a closed gap's frames (above one half: the foot contact's runs do
    not split there)."""
    toe_off_frames: int = 2
    """A hidden ball keeps its contact up to this many frames after its seen ankle lifts (the
    heel rises first), a hidden ankle this many before its seen ball lands
    (``foot_plants.swing_cap``)."""
    stance_weight: float = 0.75
    """Where no foot joint is seen and neither foot is in contact, the foot the estimate moves
    slower gets at least this contact weight (``foot_plants.one_foot_down``): a body that
    stands or walks has a foot on the ground. Only where the hands do not move the object
    (a push's hidden gait is a guess that plants the swinging foot as often as not); 0
    never."""

    def __post_init__(self) -> None:
        check_at_least(self, 1, ("window", "min_run_frames", "min_gap_frames"))
        check_at_least(self, 0.0, ("stance_weight",))
        if self.stance_weight > 1:
            raise ValueError(f"FootPlantConfig.stance_weight must be in [0, 1], got "
                             f"{self.stance_weight}")
        check_positive(self, ("speed_mps", "softness", "noise_sigmas", "max_stretch",
                              "min_confidence", "sigma_m", "gap_weight"))
        check_at_least(self, 0.0, ("split_sigmas", "landing_frames", "toe_off_frames",
                                    "raised_sigmas"))


@dataclass(frozen=True, kw_only=True)
class SupportConfig:
    """What the feet can stand on besides the ground (``supports.py``): the top of the object
    where it rests on the ground and no hand touches it at the anchor frame (a box or a stool
    stepped onto). The support term, the foot heights and contact, and the plants' footprints
    then measure from the support under each sole instead of the ground plane."""

    object_tops: bool = True
    """Stand on the resting object's top; False: the ground alone (a body stepping onto a box
    is then sunk into it or pushed back along the camera ray)."""
    seen_on_top: bool = True
    """The top supports the feet only where something shows a foot on it: the key pose's
    soles stand on it, or a foot plant seen in the keypoints lies on it with no ground
    footprint behind it (``foot_plants.py``). A box the person crouches behind hides the
    feet; with its top a support, phase 1 stood the hidden legs on it (crouch-1-00: MPJPE
    256 -> 136 mm without). False: every resting, untouched object's top."""
    max_height_m: float = 0.6
    """Object faces higher than this above the ground are not stood on (a step up, not a climb
    onto a table top)."""
    max_slope_deg: float = 30.0
    """A face counts as a top where its normal lies within this of vertical."""
    rest_tolerance_m: float = 0.04
    """The object rests on the ground where its lowest point is within this of it (else it
    stands on nothing the scene knows of, and nobody stands on it)."""
    sink_m: float = 0.1
    """A point up to this far below a top still stands on it (an estimate sunk into a box is
    lifted back onto it); further below, it is under the top and stands on the ground (a foot
    under a chair's seat, which the seat's top otherwise pulled up to it: sit_stand-0-00
    MPJPE 66 -> 265 mm)."""
    cell_m: float = 0.01
    """Cell size of the tops' height field (m)."""
    max_cells: int = 400
    """The height field has at most this many cells along the object's longer side (a larger
    object gets coarser cells)."""

    def __post_init__(self) -> None:
        check_at_least(self, 1, ("max_cells",))
        check_positive(self, ("max_height_m", "max_slope_deg", "rest_tolerance_m", "cell_m",
                              "sink_m"))


@dataclass(frozen=True, kw_only=True)
class LikenessConfig:
    """How much a frame looks like the key pose (``likeness.py``)."""

    sigma: float = 0.03
    """The likeness falls to 1/e where the keypoints' RMS offset from the key pose's projection
    (each set about its own mean) is this share of the key pose's height in the image."""
    level: float = 0.25
    """The root and the legs are pulled only over the frames joined to the anchor frame by a
    likeness (smoothed) at least this high."""
    smooth_frames: int = 2
    """The likeness is averaged over ±this many frames for that run."""
    min_joints: int = 8
    """Frames with fewer seen body keypoints are not compared (likeness 0)."""
    each_arm: bool = True
    """An arm's rotations (collar to wrist) are pulled no more than its own shoulder, elbow and
    wrist keypoints look like the key pose's (``likeness.arm_likeness``): a lift whose body
    already looks like the overhead key frame while the arms are still on their way up keeps
    them bent, rather than straightening them overhead and leaning them towards the camera to
    stay on their keypoints. False: the frame's likeness for every upper-body rotation."""

    def __post_init__(self) -> None:
        check_positive(self, ("sigma", "level"))
        check_at_least(self, 0, ("smooth_frames",))
        check_at_least(self, 1, ("min_joints",))


@dataclass(frozen=True, kw_only=True)
class MotionConfig:
    """Stage E's optimisation: the scene facts, and one group per concern (module table)."""

    hands: HandMode = "key_pose"
    """Hand articulation: fixed to the key pose, or optimised in phase 3 where finger keypoints
    are seen (pulled towards the key pose)."""
    ground_y: float | None = None
    """Height of the ground plane; None: the lowest vertex of the key pose."""
    hidden_limbs: HiddenLimbs = "key"
    """What a hidden body joint's rotation is pulled towards (``weights.lambda_pose_prior_hidden``,
    ``occlusion.py``): ``"carried"`` — interpolated between the frames it is seen in, else
    phase 1's start pose of the frame; ``"key"`` — the key pose in every frame."""
    schedule: MotionSchedule = field(default_factory=MotionSchedule)
    """Iterations, step size and the candidate poses of phase 1."""
    reprojection: ReprojectionConfig = field(default_factory=ReprojectionConfig)
    """The robust keypoint penalty."""
    weights: MotionWeights = field(default_factory=MotionWeights)
    """The loss weights ``lambda_<name>``."""
    contact: ContactConfig = field(default_factory=ContactConfig)
    """Contact decisions and margins."""
    sampling: MotionSampling = field(default_factory=MotionSampling)
    """Vertex subsets, object points, SDF resolution."""
    resting: RestingObjectConfig = field(default_factory=RestingObjectConfig)
    """Placing a resting object before phase 3."""
    plants: FootPlantConfig = field(default_factory=FootPlantConfig)
    """Foot plants and footprints from the keypoints (the global trajectory)."""
    supports: SupportConfig = field(default_factory=SupportConfig)
    """What the feet stand on: the ground, and a resting object's top."""
    likeness: LikenessConfig = field(default_factory=LikenessConfig)
    """How much a frame looks like the key pose (``weights.lambda_likeness``)."""

    def __post_init__(self) -> None:
        check_choices(self)
