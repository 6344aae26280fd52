#!/usr/bin/env python3
"""Oracle bench of stages A + B: recover a known posed body and placed object from renders.

Usage: ``python bench/oracle_anchor.py CASE_DIR [CASE_DIR ...] [--seed 0] [--iterations N]
[--rounds R] [--threads 1] [--out DIR]``, or ``--random N`` to also run ``N`` cases drawn
from the case family (``anchorhoi.oracles.family``: the key frames of its motions) with seed
``--family-seed`` (default ``--seed``; ``--keep DIR`` keeps the drawn case folders). A case
folder (``bench/make_anchor_cases.py``, ``bench/make_case_family.py``) holds ``object.obj`` and
``case.npz`` (``root_orient``, ``pose_body``, ``trans``, ``betas``, ``obj_trans``, ``obj_rot``
w x y z; the body model's Y-up frame, metres). The ground truth
only makes the oracle prior's images and scores the result
(``anchorhoi.oracles.anchor_oracle``): stage A starts from the default standing body with the
object on the ground in front of it, searches the object's translation and trains the anchor
NeRF with SDS; stage B fits SMPL-X to it.

One JSON line per case: ``mpjpe_mm`` (22 body joints), ``obj_trans_err_cm`` (the user object's
origin), ``obj_rot_err_deg``, ``psnr_db`` (anchor NeRF vs the known scene, 4 held-out views),
``seconds`` (the whole case: oracle set-up, stages A and B, their outputs, scoring). After
the last case a per-kind table goes to stderr: the median and the worst of every figure and
the count of cases missing any target (≥ 22 dB, ≤ 40 mm, ≤ 3 cm).

Measured on the shipped cases (2-core CPU VM shared with two other test runs, 1 thread):

| case | seed | mpjpe_mm | obj_trans_err_cm | obj_rot_err_deg | psnr_db | seconds |
|---|---|---|---|---|---|---|
| sit_on_box | 0 | 16.25 | 0.59 | 0.35 | 32.98 | 57.3 |
| lift_box_overhead | 0 | 13.65 | 1.81 | 1.96 | 29.99 | 60.1 |
| lean_on_table | 0 | 21.69 | 0.88 | 0.25 | 30.99 | 46.2 |
| sit_on_box | 1 | 18.77 | 1.51 | 0.55 | 31.51 | 57.6 |
| lift_box_overhead | 1 | 6.55 | 0.97 | 0.60 | 31.07 | 44.3 |
| lean_on_table | 1 | 10.17 | 1.27 | 0.42 | 29.99 | 47.4 |

(acceptance: ≥ 22 dB, ≤ 40 mm, ≤ 3 cm.) With the placement search's turns and blurred coarse
stages (seed 0, one thread, a load average of 6–8, so ~5× the seconds): sit_on_box 12.12 mm /
0.59 cm / 32.31 dB, lift_box_overhead 19.73 / 0.87 / 31.36, lean_on_table 8.53 / 0.32 / 32.04;
the family's push_pull-0-12, push_pull-0-19, reach_high-0-08 and reach_high-0-14 (position-only
search: 3.9–15.7 cm, 16.5–20.5 dB) 0.11–0.43 cm and 30.8–32.1 dB.

Search cameras fitted to the space searched, hidden placements skipped, the fit's half turn
(2026-12-04; seed 0, one thread, load 3–5, so the seconds are inflated): on the shipped family
and the three cases above, 27 cases, 7 missed a target before and 4 after. Fixed: lean_on-0-25
(8.82 → 0.04 cm), turn_in_place-0-06 (105.7 → 0.60 cm), walk_straight-0-09 (42.5 → 0.28 cm),
reach_low-0-02 (60.3 → 24.1 mm), sit_stand-0-24 (3.92 → 0.73 cm); still missing crouch-0-03
(61.6 → 77.7 mm); newly missing lift_box_overhead (0.87 → 4.18 cm, 31.4 → 24.8 dB: the search
kept the box 16 cm low; sit_on_box passes but its box is kept 16° turned, 32.3 → 29.7 dB) and
pick_up_carry-0-01 (1.55 → 6.00 cm); lean_on-0-11 missed before by its PSNR (21.8 dB) and now
also by its object (0.36 → 18.55 cm, 20.8 dB: the search's refinement ends 37° and 18 cm off
although the true placement scores lower — 0.0814 against 0.0826 — a local minimum).
Of the random families' misses (``--random 24 --seed 1`` / ``2``, before: last session's
runs): walk_curved-1-02 148.5 → 0.67 cm, walk_curved-1-13 141.4 → 1.74, walk_straight-1-21
335 mm / 136.7 cm → 10.3 mm / 0.79 cm, walk_straight-2-09 127.7 → 0.29 cm (the fit 160° off
until its half turn went on), reach_high-1-09 232 mm / 21.8 cm → 8.5 mm / 0.68 cm, crouch-1-14
11.9 → 0.31 cm, push_pull-2-11 5.87 cm / 20.3 dB → 0.62 cm / 30.6 dB; still missing
push_pull-1-07 (5.26 → 6.11 cm, 19.5 → 19.8 dB) and reach_low-1-05 (86 → 122 mm).

The search's refinement and the search run again (2026-12-05; seed 0, one thread, load 3–4,
so the seconds are ~2× a quiet machine's). Causes: the fine stage scored sharp renders from
its first round, where a table's legs match only within centimetres, and halved its step after
one move, so a start a grid step off stopped half way (lean_on-0-11's table ended 37° and
18 cm off although the true placement scored 0.059 against 0.083; push_pull-1-07's 6–9 cm);
its last step was 1/16 of the grid's (2.4 cm for a stool); and before SDS the human field is
the default standing body, so a box carried by a bent person scored best over the person's
true limbs (pick_up_carry-0-01's search kept it 30 cm off). Now the refinement starts as
blurred as the coarse stages and halves the blur each round (the last sharp), repeats its
moves at each step while they improve (``refine_moves`` 3), runs 6 rounds, and refines the
start placement too; a symmetric object's turn of a start is not another start; and the
search runs again half way through round 0's SDS and after it (``after_sds``), around the
human field trained so far. Before (main, same day and load; the first four are last
session's figures) → after:

| case | before: mm / cm / dB | mpjpe_mm | obj_trans_err_cm | psnr_db | seconds |
|---|---|---|---|---|---|
| lift_box_overhead | – / **4.18** / 24.8 | 10.28 | 0.36 | 33.11 | 145.8 |
| lean_on-0-11 | – / **18.55** / **20.8** | 21.44 | 0.37 | 32.81 | 119.0 |
| pick_up_carry-0-01 | – / **6.00** / – | 19.01 | 2.40 | 31.80 | 174.7 |
| push_pull-1-07 | – / **6.11** / **19.8** | 11.55 | 0.30 | 31.93 | 111.2 |
| crouch-0-03 | **77.7** / – / – | **64.92** | 0.16 | 34.67 | 136.8 |
| reach_low-1-05 | **122** / – / – | 16.10 | 0.17 | 33.18 | 164.2 |
| sit_on_box | 17.47 / 1.21 / 29.73 (box 15.7° turned) | 13.70 | 1.26 | 34.32 | 140.8 |
| lean_on_table | 9.57 / 0.57 / 31.36 | 7.57 | 0.21 | 33.74 | 129.9 |
| push_pull-0-12 | 13.45 / 0.59 / 28.66 | 10.53 | 0.50 | 31.60 | 137.5 |
| reach_high-0-08 | 7.33 / 0.11 / 32.87 | 7.10 | 0.39 | 33.06 | 114.1 |
| lean_on-0-25 | 21.47 / 0.04 / 31.26 | 19.51 | 0.50 | 31.62 | 134.4 |
| sit_stand-0-24 | 23.15 / 0.73 / 32.38 | 18.34 | 0.70 | 34.71 | 152.8 |

(A symmetric object's half turn is the same object: ``obj_rot_err_deg`` then reads ~180°.)
The searches cost time: stage A 101–165 s here against 34–88 s before (three searches, each
15–120 s). Steps on the way, one run each: with the refinement alone (one search),
pick_up_carry-0-01 came out 11.84 cm (its search 30 cm off); with the search again only at
the end of SDS, 7.46 cm; only half way, 0.67 cm / 30.6 dB but lean_on-0-25 0.90 cm / 27.0 dB
(SDS left the table where the half-way search, 1.4 cm off, had put it) and sit_stand-0-24
2.79 cm / 27.8 dB with 4 refining rounds (1.15 cm / 34.0 dB with 6). Searched again at the
end, the carried box is placed to the search's precision, 2.4 cm here (0.67 cm with SDS after
it). Eleven of the twelve meet the targets; crouch-0-03 still misses by its body, a stage B
matter: refitted to its anchor with seeds 0–3 the fit
gave 22.5, 20.4, 58.3 and 19.5 mm (on the known body's density 4.5 mm); a fold of the legs
25–35 cm off, and one such fold's total loss is as low as a right fit's, so restarts kept by
the lowest total (tried: 2 and 3 whole fits) did not fix it.

Eight cases nobody had run (``bench/make_case_family.py --only anchor --count 4``, family seeds
13 and 17; seed 0, the same day, load 2–4), before (beb139f) → after (mm / cm / dB): crouch-13-00
15.0 / 0.68 / 30.9 → 10.0 / 0.57 / 33.4; pick_up_carry-13-02 12.3 / 1.13 / 31.1 → 9.3 / 0.29 /
33.5; **push_pull-13-03 206.9 / 0.97 / 21.7 → 25.7 / 0.27 / 33.9**; reach_high-13-01 10.6 / 0.53
/ 29.9 → 10.2 / 0.89 / 32.7; **pick_up_carry-17-02 9.4 / 2.33 / 29.6 → 6.9 / 3.58 / 29.2** (the
carried box placed by the search at the end of SDS, 1.2 cm over the target); **reach_low-17-01
98.5 / 0.56 / 31.0 → 24.5 / 0.32 / 32.8**; sit_stand-17-03 19.2 / 1.37 / 32.4 → 17.2 / 0.35 /
34.5; walk_curved-17-00 11.5 / 0.46 / 31.4 → 10.6 / 0.49 / 30.9. Two of eight missed before,
one after. Stage A 122–304 s against 40–87 s.

``--generate-object``: the stages get no mesh, stage A generates the object (a third oracle
renders the known object alone for its object-only SDS) and each line adds ``obj_chamfer_cm``
(symmetric mean Chamfer distance of the placed mesh to the known one) and ``obj_iou``
(volumetric IoU, 1 cm lattice), with ``obj_trans_err_cm`` the distance between the two meshes'
bounding-box centres (no ``obj_rot_err_deg``); every line carries ``stage_a_seconds`` (round
0's stage A: the search, or the object's generation). Acceptance: ≤ 3 cm, ≥ 0.6, ≤ 40 mm.
Measured (seed 0, 1 thread, this 2-core VM under a load average of 12–14, so the times are
~10× a quiet machine's; the shape cases are ``bench/cases/anchor_objects``):

| case | mpjpe_mm | obj_chamfer_cm | obj_iou | obj_trans_err_cm | psnr_db | stage_a_seconds |
|---|---|---|---|---|---|---|
| sit_on_box (given mesh) | 14.77 | – | – | 0.59 | 32.98 | 639.7 |
| sit_on_box (generated) | 13.89 | 2.44 | 0.642 | 1.15 | 31.19 | 1128.5 |
| ball_on_floor (generated) | 5.89 | 1.68 | 0.745 | 0.42 | 28.97 | 1145.9 |
| sit_on_cylinder (generated) | 14.13 | 2.21 | 0.779 | 1.01 | 30.96 | 640.5 |
| lean_on_table_legs (generated) | **221.08** | 1.27 | 0.623 | 1.53 | 24.63 | 652.9 |

Again on 2026-12-03 (seed 0, 1 thread, load average 6–11), after stage B's posture hypotheses:

| case | mpjpe_mm | obj_chamfer_cm | obj_iou | obj_trans_err_cm | psnr_db | stage_a_seconds |
|---|---|---|---|---|---|---|
| lean_on_table_legs (given mesh) | 9.18 | – | – | 0.25 | 31.16 | 120.3 |
| lean_on_table_legs (generated) | **147.64** | 1.27 | 0.623 | 1.53 | 24.68 | 177.7 |
| sit_on_chair (generated) | 21.27 | 2.67 | **0.321** | 0.58 | 27.52 | 402.1 |

The table's shape was recovered but its body fit was not: the limb search, legs first, folded
the right leg up onto the right forearm's anchor (the arm not placed yet). Stage B now runs its
search rounds once per limb order (legs first, arms first; the lower total is kept), and the
object's mesh is carved out of where the human field is dense. Again on 2026-12-03 (seed 0,
1 thread, two benches at once on the 2-core VM, load ≈ 2):

| case | mpjpe_mm | obj_chamfer_cm | obj_iou | obj_trans_err_cm | psnr_db | stage_a_seconds |
|---|---|---|---|---|---|---|
| sit_on_box (given mesh) | 18.72 | – | – | 0.59 | 32.31 | 43.9 |
| lean_on_table_legs (given mesh)* | 14.14 | – | – | 1.44 | **19.91** | 33.2 |
| sit_on_box (generated) | 18.10 | 2.49 | 0.638 | 0.83 | 31.26 | 76.9 |
| sit_on_cylinder (generated) | 14.81 | 2.22 | 0.775 | 1.01 | 30.99 | 77.1 |
| ball_on_floor (generated) | 6.09 | 1.68 | 0.745 | 0.42 | 28.97 | 86.1 |
| lean_on_table_legs (generated) | 8.73 | 1.27 | 0.623 | 1.53 | 24.68 | 78.3 |
| sit_on_chair (generated) | 21.31 | 1.51 | **0.410** | 0.86 | 27.36 | 78.8 |

(*) before stage B's eight headings and five postures (stage A is the same): with its mesh
given, the search keeps this table turned ~115° (six cameras from 15° kept it in place, but
six from 30° and eight from 22.5° did not; the search's four cameras stay).
Seed 1 (before the postures): lean_on_table_legs 7.26 mm / 1.27 cm / 0.653; sit_on_chair
10.83 / 2.76 / 0.323. The chair's 4 cm boards come out about 2 cm too thick each way: a chair
exactly 1 cm too thick all round scores IoU 0.59, so 0.6 asks for its surfaces within ~5 mm,
while the 48² object renders see ~2 cm per pixel (64² renders: 0.438; a finer object grid:
0.393; 600 steps: 0.432).

On cases nobody here authored (``--random 3 --family-seed 7`` and ``11``, written with
``bench/make_case_family.py --only anchor``), the generated object missed wherever it stood
behind or beside the person: the object region reached 0.6 m behind and 0.9 m across. With
1.2 m all round (2026-12-04, seed 0, 1 thread, two benches at once, load ≈ 2):

| case | before: chamfer / IoU | after: mpjpe_mm | obj_chamfer_cm | obj_iou | stage_a_seconds |
|---|---|---|---|---|---|
| turn_in_place-7-02 (stool behind) | 14.77 / 0.029 | 11.93 | 2.37 | 0.328 | 86.7 |
| lean_on-7-00 (table behind) | 7.38 / 0.331 | 14.93 | 1.56 | 0.507 | 74.2 |
| sit_stand-7-01 (stool) | 1.85 / 0.313 | 11.17 | 2.42 | 0.278 | 82.8 |
| kneel-11-01 (crate) | 1.72 / 0.675 | 16.15 | 2.54 | 0.593 | 88.3 |
| lean_on-11-00 (table behind) | 9.79 / 0.283 | 23.73 | 1.72 | 0.479 | 84.2 |
| walk_straight-11-02 (stool) | 2.67 / 0.266 | 16.92 | 2.66 | 0.265 | 72.9 |
| lean_on_table_legs | 1.27 / 0.623 | 8.63 | 1.25 | 0.639 | 86.5 |
| ball_on_floor | 1.68 / 0.745 | 8.27 | 1.86 | 0.718 | 85.4 |
| sit_on_cylinder | 2.22 / 0.775 | 18.55 | 2.55 | 0.602 | 86.0 |
| sit_on_box | 2.49 / 0.638 | 17.54 | 2.25 | **0.576** | 80.2 |

A second unseen draw (``--random 4 --family-seed 3``, same settings): reach_high-3-00
15.47 mm / 1.82 cm / 0.378, **push_pull-3-01 18.98 / 16.13 / 0.078** (a 1.1 × 0.9 × 1.2 m
table whose footprint covers the start in front of the body: the start, under the table, held
on and the table came out a heap on the floor), sit_stand-3-02 11.84 / 2.86 / 0.212,
turn_in_place-3-03 (a stool 0.95 m behind) 19.14 / 2.95 / 0.268.

Seed 1 of the own shapes after the change: sit_on_box 17.38 mm / 2.81 cm / **0.597**,
sit_on_cylinder 14.20 / **3.61 / 0.565** — the wider region costs the small clean shapes some
of their detail (the object field's cells are 1.33× coarser across).

The stools (a 4 cm seat on a 3 cm post) cannot reach IoU 0.6 as blobs; the box's IoU moves
0.3–0.9 from one variant to the next (its faces come out dented). Tried and not kept: starting
the object where the best of four stand-in boxes was placed by the object search (commit
ec4e0d7): the stools behind came out at 1.1 cm, but a start that overlaps the object in part
stays where it started (ball 7 cm, crate 20 cm off), and the table on legs failed in all
three variants tried (Chamfer 42.0, 10.0 and 42.7 cm).

The solid as the prior saw it (2026-12-04, seed 0 and 1, 1 thread, two benches at once, load
≈ 2): the surface level whose axis silhouettes match the field's own opacity, and the cells
the solid, the person and the floor shut in filled (``anchorhoi.objects.solid``; before, a
fixed level and only cells the solid closed in, so a skin with a gap stayed hollow). The
trained fields are the same as above (seed 0); "before" is the table above:

| case | seed | before: chamfer / IoU | mpjpe_mm | obj_chamfer_cm | obj_iou | stage_a_seconds |
|---|---|---|---|---|---|---|
| sit_on_box | 0 | 2.25 / 0.576 | 18.09 | 1.37 | 0.837 | 99.9 |
| sit_on_cylinder | 0 | 2.55 / 0.602 | 17.49 | 1.26 | 0.844 | 88.2 |
| ball_on_floor | 0 | 1.86 / 0.718 | 8.27 | 1.33 | 0.795 | 154.4 |
| lean_on_table_legs | 0 | 1.25 / 0.639 | 8.68 | 1.39 | 0.619 | 78.4 |
| sit_on_box | 1 | 2.81 / 0.597 | 16.94 | 2.02 | 0.756 | 101.5 |
| sit_on_cylinder | 1 | 3.61 / 0.565 | 14.02 | 2.11 | 0.750 | 89.8 |
| ball_on_floor | 1 | – | 4.46 | 1.15 | 0.824 | 166.8 |
| lean_on_table_legs | 1 | – | 8.84 | 1.77 | **0.545** | 75.8 |
| sit_on_chair | 0 | – | 18.65 | 2.67 | **0.371** | 113.8 |
| sit_on_chair | 1 | – | 18.15 | 2.72 | **0.365** | 112.1 |
| turn_in_place-7-02 | 0 | 2.37 / 0.328 | 11.93 | 1.31 | 0.507 | 71.2 |
| lean_on-7-00 | 0 | 1.56 / 0.507 | 14.48 | 1.59 | 0.485 | 83.9 |
| sit_stand-7-01 | 0 | 2.42 / 0.278 | 12.65 | 1.87 | 0.347 | 73.8 |
| kneel-11-01 | 0 | 2.54 / 0.593 | 16.15 | 1.30 | 0.733 | 75.4 |
| lean_on-11-00 | 0 | 1.72 / 0.479 | 23.56 | 1.60 | 0.520 | 74.5 |
| walk_straight-11-02 | 0 | 2.66 / 0.265 | 16.92 | 1.13 | 0.489 | 73.0 |

The second unseen draw again (``--random 4 --family-seed 3``, seed 0), before → after:
reach_high-3-00 1.82 / 0.378 → 15.47 mm / 1.99 cm / 0.374 (PSNR 21.83 dB, a hair under 22);
**push_pull-3-01 16.13 / 0.078 → 20.07 / 3.02 / 0.814** (the big table that came out a heap:
its skin was there, hollow and open where the person stood; enclosed, it is the table, 2 mm
over the Chamfer target); sit_stand-3-02 2.86 / 0.212 → 11.89 / 1.82 / 0.294;
turn_in_place-3-03 2.95 / 0.268 → 19.14 / 1.38 / 0.439.

The thin parts still miss: the table's 4 cm top and 8 cm legs and the chair's boards come out
1.5–2 cm too thick each way (the table's top is a faint fog 10–12 cm deep, σ ≈ 5–20 /m).
Tried on the table at seed 1 and not kept, one run each (IoU; 0.545 with the defaults):
64² object renders 0.576, and with the object framed tighter (margin 1.1) 0.621; margin 1.1
alone 0.525; object-only SDS ×4 0.598; with margin 1.1 0.498; no compactness 0.523; no object
sparsity 0.544; object learning rate ×2 0.535; 250 object steps 0.506; 96 samples per object
ray 0.501 (chair 0.423); the chair with a finer object grid (9, 10 levels) 0.345, 0.351.
At seed 0 (0.619 with the defaults), re-extracted with the new solid: an entropy term pushing
each object point to empty or solid (λ 0.3, 1.0) 0.520, 0.515; an exp density 0.492 (box
0.792, cylinder 0.823, each a little under the defaults). One run's spread is about ±0.05, so
none of these is a finding. Nor is the image resolution the limit: 96² object renders gave
the table (seed 1) 0.509 and the chair (seed 0) 0.319, 64² composite renders the table 0.507;
the chair with object-only SDS ×4 0.425.

On 2026-12-04 (1 thread, two cases at a time on this 2-core VM, load ≈ 2) the thickness had
its cause: the object field's densities reached only 15–25 /m in its steps, so a 4 cm board
could be opaque only as a 10–15 cm soft fog. With the object field's ``density_scale`` 10 and
each surface moved to its blurred edge's half maximum (``objects.solid.half_max``,
``peel_to_half_max``):

| case | seed | mpjpe_mm | obj_chamfer_cm | obj_iou | obj_trans_err_cm | psnr_db | stage_a_seconds |
|---|---|---|---|---|---|---|---|
| sit_on_box | 0 | 19.39 | 0.98 | 0.884 | 0.51 | 32.02 | 155.6 |
| sit_on_box | 1 | 16.23 | 1.46 | 0.808 | 0.82 | 32.73 | 150.2 |
| sit_on_cylinder | 0 | 15.92 | 0.80 | 0.910 | 1.52 | 31.30 | 89.9 |
| sit_on_cylinder | 1 | 16.21 | 0.87 | 0.901 | 0.48 | 31.74 | 87.2 |
| ball_on_floor | 0 | 6.60 | 0.57 | 0.919 | 0.39 | 31.64 | 70.7 |
| ball_on_floor | 1 | 12.95 | 0.57 | 0.925 | 0.16 | 31.83 | 59.4 |
| lean_on_table_legs | 0 | 9.21 | 1.18 | 0.637 | 0.35 | 28.65 | 75.0 |
| lean_on_table_legs | 1 | 8.14 | 1.14 | 0.667 | 0.32 | 27.82 | 72.4 |
| lean_on_table_legs | 2 | 6.63 | 1.03 | 0.732 | 0.63 | 29.10 | 93.1 |
| lean_on_table_legs | 3 | 10.84 | 1.09 | 0.671 | 0.41 | 27.08 | 91.2 |
| sit_on_chair | 0 | 19.24 | 0.95 | 0.652 | 0.56 | 31.36 | 79.8 |
| sit_on_chair | 1 | 20.96 | **3.46** | **0.326** | 4.93 | 24.24 | 73.9 |
| sit_on_chair | 2 | 14.64 | **3.65** | **0.279** | 7.19 | 22.89 | 90.8 |
| sit_on_chair | 3 | 17.28 | 0.92 | 0.647 | 0.61 | 29.51 | 98.6 |

The chair's misses are a skirt 20–25 cm deep in front of it: a fog in the space its sitter's
thighs and shins shut in under the seat. Tried (one run each, the spread between seeds is
larger than most of these): ``density_scale`` 30 — chair 0.627 / 0.680 / 0.524 / 0.724 at
seeds 0–3, but the table 0.512 / 0.551 / 0.524 / 0.573 (its legs eroded) and the box, cylinder,
ball 0.83 / 0.79, 0.89 / 0.91, 0.88 / 0.91; ``density_scale`` 20 — table 0.501 / 0.692, chair
0.680 / 0.242; the chair at seed 1 with 300 object steps (the presets' default) 0.437, without
the compactness term 0.349. On the same trained fields, cutting the surface at 0.3–0.4 of the
local maximum instead of 0.5 helped the denser tables (lattice IoU 0.63 → 0.74) and hurt the
chairs and the ball: not taken (a half maximum is where a blurred edge is).

Unseen cases, the same day and settings (``--random 4 --family-seed 3``, and
``bench/make_case_family.py --count 3 --only anchor`` with seeds 7 and 11; seed 0), before →
after (Chamfer cm / IoU; the before figures are the new solid's of 2026-12-03):
reach_high-3-00 1.99 / 0.374 → 1.41 / 0.447 (PSNR 21.83 → 23.49 dB); push_pull-3-01 3.02 / 0.814
→ 2.78 / 0.832; sit_stand-3-02 1.82 / 0.294 → 1.17 / 0.434; turn_in_place-3-03 1.38 / 0.439 →
0.64 / 0.697; lean_on-7-00 1.14 / 0.589; sit_stand-7-01 0.79 / 0.592; turn_in_place-7-02
0.59 / 0.742; walk_straight-11-02 0.66 / 0.672; lean_on-11-00 2.80 / 0.470 (PSNR 23.78);
**kneel-11-01 3.61 / 0.473** (was ≤ 2 cm): the kneeler's 27 cm crate never became dense (σ ≤ 2
/m everywhere, alpha 0.4 through it), so no silhouette is seen and the level fell to the
fog's floor, meshing the whole blob; with such a field cut at half its typical inside density
(``objects.solid.faint_level``, and a warning) 2.20 / 0.543. Body MPJPE 11.7–22.5 mm, stage A
67–117 s.

Later on 2026-12-04 (same settings; 150-180 s rows ran while four cases shared the 2 cores),
after three changes: the skirt was the filling, not fog — cells the sitter's legs, the floor
and the seat's front shut in were filled — so a filled cell must now have the solid both ways
along 3 of its 13 lattice lines (``objects.solid.enclosed_cells``); the peel's local maximum is
its 95 % quantile (hot spots no longer peel thin legs beside them); and the object field's
density is 30× the softplus, ramped up from a third over the first half of the steps
(``ObjectGenConfig.density_ramp``: at 30× from the start, turn_in_place-3-03's stool, 1.4 m
from the start blob, faded — 5.70 / 0.116 and 11.25 / 0.0 on seeds 0 and 1 — and
push_pull-3-01 came out 5.26 cm; at 10× with the new filling, the chair at seeds 1 and 2 stays
a soft fat chair, 0.30 re-extracted):

| case | seed | mpjpe_mm | obj_chamfer_cm | obj_iou | obj_trans_err_cm | psnr_db | stage_a_seconds |
|---|---|---|---|---|---|---|---|
| lean_on_table_legs | 0 | 5.58 | 1.10 | 0.659 | 0.59 | 27.72 | 115.5 |
| lean_on_table_legs | 1 | 10.15 | 1.16 | 0.655 | 0.57 | 27.41 | 110.9 |
| lean_on_table_legs | 2 | 8.04 | 1.14 | 0.684 | 1.22 | 28.11 | 85.3 |
| lean_on_table_legs | 3 | 8.51 | 1.08 | 0.660 | 0.59 | 26.94 | 84.0 |
| sit_on_chair | 0 | 20.60 | 0.95 | 0.646 | 0.56 | 30.90 | 75.9 |
| sit_on_chair | 1 | 13.24 | 1.12 | **0.599** | 1.10 | 29.88 | 183.4 |
| sit_on_chair | 2 | 14.83 | 0.95 | 0.649 | 0.47 | 31.06 | 174.6 |
| sit_on_chair | 3 | 17.01 | 0.93 | 0.648 | 0.98 | 29.94 | 84.7 |
| sit_on_box | 0 | 15.56 | 1.32 | 0.835 | 0.61 | 32.01 | 87.9 |
| sit_on_cylinder | 0 | 15.43 | 1.12 | 0.869 | 0.54 | 31.37 | 88.2 |
| ball_on_floor | 0 | 8.88 | 0.49 | 0.941 | 0.40 | 31.51 | 84.2 |
| reach_high-3-00 | 0 | 15.26 | 1.47 | **0.457** | 1.15 | 23.42 | 88.5 |
| push_pull-3-01 | 0 | 14.22 | **3.84** | 0.758 | 5.89 | 25.48 | 176.9 |
| sit_stand-3-02 | 0 | 11.23 | 1.21 | **0.428** | 1.96 | 30.72 | 126.3 |
| turn_in_place-3-03 | 0 | 14.23 | 0.67 | 0.689 | 0.56 | 32.60 | 175.7 |
| lean_on-7-00 | 0 | 13.25 | 1.06 | 0.617 | 2.23 | 26.71 | 72.9 |
| sit_stand-7-01 | 0 | 16.16 | 0.84 | **0.597** | 0.27 | 31.09 | 82.0 |
| turn_in_place-7-02 | 0 | 12.99 | 0.65 | 0.710 | 0.80 | 31.05 | 74.9 |
| lean_on-11-00 | 0 | 25.93 | 2.54 | **0.494** | 0.84 | 24.28 | 103.4 |
| kneel-11-01 | 0 | 16.42 | 1.03 | 0.843 | 0.28 | 31.04 | 76.8 |
| walk_straight-11-02 | 0 | 14.23 | 0.71 | 0.639 | 0.97 | 30.85 | 79.6 |

The same unseen cases at 10× with the new filling and peel (IoU): 0.481, 0.844 (Chamfer
2.61), 0.433, 0.691, 0.648, 0.566, 0.697, 0.531, 0.575, 0.597 — six under 0.6 against four.
What misses is thin walls (a 2 cm stool base, 3 cm shelf boards: 1–2 cm too thick each way at
~2.6 cm per object-render pixel) and push_pull-3-01's big box, one face 5–8 cm short.

2026-12-05 (seed 0 unless said, 1 thread, two to four cases at a time on this 2-core VM beside
another engineer's benches, load 2–6, so the seconds are inflated): the library decimator
(fast-simplification) pinched every thin leg and board it met into coincident faces, the mesh
failed the closed check, and extraction fell back to marching cubes on a coarser grid (2.5 →
3.9 cm cells on lean_on-11-00, 5.0 cm on reach_high-3-00) where two of the table's four legs
and the shelf's board ends vanished. ``objects/decimate.py`` (quadric collapses under the link
condition, no fold-over) keeps the 2.5 cm mesh. Before → after (IoU; Chamfer cm where it
moved; the first three rows on the same trained fields, the own shapes' "before" is the
12-04 table above):

| case | before | after | mpjpe_mm | psnr_db |
|---|---|---|---|---|
| lean_on-11-00 | 0.477 / 2.32 | 0.580 / 1.13 | 19.98 | 28.83 |
| reach_high-3-00 | 0.459 | 0.540 | 14.83 | 24.68 |
| sit_stand-7-01 | 0.597 | 0.605 | 15.40 | 31.09 |
| sit_on_chair, seeds 0/1/2/3 | 0.646/0.599/0.649/0.648 | 0.642/0.604/0.650/0.642 | 10–19 | 30–31 |
| lean_on_table_legs, 0/1/2/3 | 0.659/0.655/0.684/0.660 | 0.715/0.710/0.723/0.688 | 6–9 | 28–30 |
| sit_on_box, cylinder, ball | 0.835/0.869/0.941 | 0.842/0.872/0.940 | 9–16 | 31–32 |

The own shapes all pass (IoU ≥ 0.6, Chamfer ≤ 1.3 cm, MPJPE ≤ 19 mm). Unseen, after (IoU /
Chamfer cm): sit_stand-3-02 **0.426** (a stool, 2 cm foot disc), push_pull-3-01 0.750 /
**4.08** (0.749 / 3.94 with the old decimator today: the case moved since 12-04, not the
decimator; so did turn_in_place-3-03, 0.608 with either), lean_on-7-00 0.654,
turn_in_place-7-02 0.727, kneel-11-01 0.844, walk_straight-11-02 0.650; two new draws never
run before (``make_case_family.py --only anchor --count 4``, seeds 13 and 17): crouch-13-00
0.728 / 2.59, pick_up_carry-13-02 0.846, push_pull-13-03 **0.527** (a table), reach_high-13-01
**0.505** (a shelf), pick_up_carry-17-02 0.815, reach_low-17-01 **0.562** (a stool; MPJPE
**88 mm**), sit_stand-17-03 0.772, walk_curved-17-00 0.813. Seven of eighteen unseen cases
miss, all thin-walled: a shelf's 2.8 cm boards come out 5.1–5.4 cm thick (their undersides
1.5–2.3 cm low, their tops 0.3–0.8 cm high); the trained field itself is that thick — the best
single density threshold on it scores 0.51 — so extraction is not the limit. Tried on the same
cases, one run each, not kept: the object views' cameras down to −30° (the undersides seen;
0.532, stool 0.438), a finer object grid (10 levels, 0.8 cm; 0.556 at twice stage A's time),
crops zoomed up to 3× (0.530), sub-pixel jitter of the object views (0.388, stool 0.437,
lean_on-11-00 0.465, sit_stand-7-01 0.583), and the extraction's window, quantile and depth
(0.03–0.07 m, 0.8–1.0, 4 cm: none better on both).

2026-12-06 (seed 0, 1 thread, two or three cases at a time on this 2-core VM), after two
changes. The oracle's known object is a signed-distance grid of at most 1 cm cells
(``OracleAnchorConfig.truth_object_cell``; it was 64 points along the longest side: 3 cm cells
on a 1.55 m shelf, whose field's own solid had IoU 0.82 with the mesh — the oracle pictured
boards other than the ones it scored; 0.99 at 1 cm). And the object region reaches 3 cm below
the initial soles, the floor term's slab from there to 4 cm above them
(``ObjectRegion.below_soles``): on these cases the person's floor lies −3 to +3.5 cm from the
initial body's soles, and sit_stand-3-02's stool, 2.9 cm lower, had lost its foot disc. Own
shapes (IoU / Chamfer cm): box 0.821 / 1.41, cylinder 0.865 / 1.11, ball 0.955 / 0.44, table on
legs 0.622 / 1.14, chair 0.646 / 0.97; MPJPE 7–22 mm; stage A 75–110 s. Unseen, before → after
(IoU; **misses**): sit_stand-3-02 **0.426** → 0.636, push_pull-3-01 0.750 / **4.08 cm** →
0.825 / 2.81, push_pull-13-03 **0.527** → 0.648, lean_on-11-00 **0.580** → 0.600,
reach_low-17-01 **0.562** / **88 mm** → **0.595** / **48 mm**, reach_high-3-00 **0.540** →
**0.550**, reach_high-13-01 **0.505** → **0.526**, lean_on-7-00 0.654 → **0.506**,
sit_stand-7-01 0.605 → **0.567**, turn_in_place-7-02 0.727 → **0.561**, turn_in_place-3-03
0.608 → 0.625, kneel-11-01 0.844 → 0.883, walk_straight-11-02 0.650 → 0.685, sit_stand-17-03
0.772 → 0.773, walk_curved-17-00 0.813 → 0.855, crouch-13-00 0.728 / 2.59 → 0.783 / 2.17,
pick_up_carry-13-02 0.846 → 0.834, pick_up_carry-17-02 0.815 → 0.830. Misses 7 → 6 of the
18. The three new ones are not the floor (their objects
stand 0.4–1.3 cm above the soles): the field's grid moves with the region's bottom, and thin
parts a cell or two thick come out differently for it — lean_on-7-00 0.645 with the region at
the soles, the table on legs 0.729 / 0.622 / 0.581 at 0 / 3 / 6 cm below, the stool 0.444 /
0.636 / 0.599. At this budget a thin part's IoU near 0.6 moves ±0.07 with such details.

What the shelves need (reach_high-13-01 / -3-00; these runs had the region 6 cm below the
soles: 0.500 / 0.516): their 3 cm panels and boards are a soft fog about 5 cm across at half
its peak, σ 40–80 /m at the peak — the steps stop making a part denser once it is nearly
opaque. Not kept, one run each: object renders with 96 or 144 samples per ray (a 2.5 or 1.6 cm
step instead of 4.5 cm) 0.545 / 0.538 and 0.548 / 0.570 at 1.6–2.2× stage A's time; density
scale 90 ramped from 10: 0.556 / 0.547 (200: 0.492 on the first); 96² object renders 0.435;
the object field's learning rate 2.5e-2: 0.506 / 0.540; 64 samples in the composite and its
oracle with 96 in the object renders: 0.483 / 0.575; the peel at 0.6 or 0.7 of the local
maximum instead of 0.5, re-extracted: 0.543 / 0.522 on the first and worse on a second field.
More steps do condense them: 250 steps 0.570 / 0.566, 400 steps 0.612 / 0.567 (stage A 147 and
224 s against 80); the GPU presets run 2,000–4,000.

Stage B's polish (2026-12-06, later; ``FitSchedule.polish_rounds``): after the detail phase the
limb search runs again from the fitted body, in both limb orders, each followed by the pose and
detail phases, the lowest total kept, and again from it while a round lowers the total (at most
four rounds). The search's own limb search places the limbs about a torso that is only rigidly
aligned; on a body bent far over, its pelvis stayed 3–6 cm off and the gradient could not bring
knees, feet or a hand back from 10–60 cm. Measured by refitting stage B alone on the anchors
that stage A trained (mesh given; the family's crouch, kneel, lean_on, reach_low, sit_stand,
step_onto and walk_straight cases of seed 0, and reach_low-17-01 / crouch-11-03 with their
generated objects), fit seeds 0, 1 and 2, one thread, two processes at a time; MPJPE mm
before → after:

| case | before (seeds 0/1/2) | after | stage B seconds, before → after |
|---|---|---|---|
| crouch-0-03 | 17.2 / **67.4** / 18.4 | 17.2 / 24.2 / 14.9 | 15.2 → 17.7 |
| crouch-0-20 | 16.4 / 13.9 / 14.6 | 13.0 / 16.0 / 12.8 | 9.7 → 16.4 |
| kneel-0-07 | 9.4 / 11.2 / 11.3 | 9.4 / 11.2 / 10.8 | 8.3 → 13.1 |
| kneel-0-22 | 7.7 / 8.1 / 9.5 | 10.0 / 9.1 / 9.7 | 9.5 → 19.0 |
| lean_on-0-11 | 13.8 / 23.0 / 13.8 | 11.0 / 12.2 / 15.3 | 9.5 → 17.9 |
| reach_low-0-02 | **154.8** / 29.8 / **57.0** | 18.0 / 25.3 / 17.4 | 9.0 → 25.0 |
| reach_low-0-16 | 34.0 / **40.1** / 28.1 | 18.8 / 19.8 / 19.9 | 9.3 → 20.2 |
| sit_stand-0-00 | 19.2 / 16.6 / 22.9 | 18.2 / 18.4 / 18.5 | 9.6 → 18.6 |
| step_onto-0-04 | 11.3 / 8.0 / 10.3 | 12.0 / 10.2 / 10.7 | 8.9 → 19.5 |
| walk_straight-0-09 | 14.0 / 13.9 / 13.3 | 14.8 / 14.4 / 14.9 | 8.7 → 17.4 |
| reach_low-17-01 (generated object) | 31.2 / 28.0 / **99.1** | 15.4 / 18.0 / 16.8 | 9.9 → 29.2 |
| crouch-11-03 (generated object) | 23.0 / 33.5 / 20.5 | 22.0 / 25.3 / 20.5 | 9.5 → 17.5 |

Five of the 36 fits missed 40 mm before (worst 154.8 mm), none after (worst 25.3 mm). Stage B
takes about twice as long (one search and polish against one search); stage A's 100–300 s
dominate a case. crouch-0-03, the case of the "fold of the legs" above, now fits on the seed
that folded them. Tried and not kept: the two best start postures instead of one through the
search (the same fits), a sixth, squatting start posture (never picked), and a penalty on leg
bones closer than 5 cm to each other (the crossed thighs of one fit stopped at the gap instead
of uncrossing: 31 → 72 mm on one seed, 99 → 97 on another).

Eight cases nobody had run (``make_case_family.py --only anchor --count 4``, seeds 31 and 37;
mesh given, seed 0, with the polish; four benches and a test run on the two cores, so stage A
took 270–730 s), mm / cm / dB: crouch-37-01 15.45 / 0.22 / 34.23, kneel-37-00 10.49 / 0.15 /
31.61, lean_on-31-03 14.30 / 0.47 / 32.96, lean_on-37-03 10.35 / 0.60 / 30.83, reach_high-31-02
9.19 / 0.25 / 30.63, sit_stand-31-01 18.53 / 0.36 / 32.82, sit_stand-37-02 9.88 / 0.35 / 34.07,
turn_in_place-31-00 12.46 / 0.49 / 32.85: all meet the targets. None of them bends low; stage B
refitted on four of them without the polish (seeds 0–2) was within 4 mm of these too.

``--generate-object`` with the object cut at the floor the person stands on
(``anchor/object_floor.py``; 2026-12-06, seed 0, one thread, two cases at a time on this 2-core
VM). The six unseen misses, IoU before → after: turn_in_place-7-02 **0.561** → 0.629,
reach_low-17-01 **0.595** → 0.630, sit_stand-7-01 **0.567** → **0.579**, lean_on-7-00
**0.505** → **0.526**, reach_high-3-00 **0.550** → **0.547**, reach_high-13-01 **0.526** →
**0.529**. Own shapes: table on legs 0.622 → 0.700, chair 0.646 → 0.646, box 0.821 → 0.821,
cylinder 0.865 → 0.865, ball 0.955 → 0.957. The stools' foot discs had reached the region's
bottom, 3.3–3.6 cm under the floor; the person's floor read from the human field lay 0–2 cm
under the true one on these cases (its 30 % quantile; 0.1 and 0.5 were 0.8–2.6 cm under and
1.1 cm over to 1.1 cm under). Tried first, not kept (one run each, IoU on the six): a
distortion loss on the object-only renders (Mip-NeRF 360's, weights 1 and 10: within ±0.01 on
the shelves, the table and the stool) and object views down to −30° or −20° elevation to see
the boards' undersides (+0.01 to +0.05 and −0.01 to −0.02 on three: the run-to-run spread).
Fitted straight to the known object's occupancy (600 steps), the object field and this
extraction reach IoU 0.81 on reach_high-13-01's shelf and 0.78 on sit_stand-7-01's stool:
the representation is not what limits the thin parts at 150 SDS steps.

``--generate-object`` at 300 SDS steps and a 128-point lattice (``ORACLE_OBJECT``; before: 150
steps, 96 points; 2026-12-07, seed 0, one thread, two cases at a time on this 2-core VM). The
four unseen misses of the day before, IoU before → after: reach_high-3-00 **0.546** → 0.636,
reach_high-13-01 **0.533** → 0.641, lean_on-7-00 **0.531** → 0.758, sit_stand-7-01 **0.579** →
0.663. All twenty unseen cases (seeds 3, 7, 11, 13, 17) and the five shape cases, IoU / Chamfer
cm / MPJPE mm / PSNR dB / stage A s: reach_high-3-00 0.636 / 1.07 / 16.4 / 26.5 / 210,
reach_high-7-03 0.688 / 0.97 / 13.0 / 28.2 / 149, reach_high-13-01 0.641 / 0.99 / 6.5 / 29.5 /
203, lean_on-7-00 0.758 / 0.89 / 7.6 / 30.9 / 147, lean_on-11-00 0.792 / 0.78 / 18.2 / 31.1 /
142, sit_stand-3-02 0.743 / 0.62 / 13.3 / 36.1 / 151, sit_stand-7-01 0.663 / 0.62 / 8.9 / 35.4 /
161, sit_stand-17-03 0.833 / 1.29 / 22.0 / 35.6 / 166, turn_in_place-3-03 0.735 / 0.45 / 10.3 /
35.7 / 156, turn_in_place-7-02 0.719 / 0.60 / 6.6 / 34.0 / 158, kneel-11-01 0.852 / 0.94 / 11.2
/ 34.4 / 146, walk_straight-11-02 0.704 / 0.52 / 9.5 / 35.0 / 152, walk_curved-17-00 0.941 /
0.65 / 9.4 / 33.8 / 192, crouch-11-03 0.808 / 2.04 / 9.3 / 33.5 / 148, crouch-13-00 0.860 / 1.37
/ 6.8 / 34.5 / 157, pick_up_carry-13-02 0.897 / 0.51 / 8.1 / 33.8 / 212, pick_up_carry-17-02
0.893 / 0.52 / 10.5 / 35.9 / 155, push_pull-13-03 0.725 / 0.71 / 20.9 / 30.5 / 162,
reach_low-17-01 0.687 / 0.73 / 11.6 / 33.8 / 171, **push_pull-3-01 0.807 / 3.16** / 7.6 /
33.8 / 160; ball 0.959 / 0.40 / 5.4 / 34.7 / 155, table on legs 0.752 / 0.99 / 6.6 / 32.1 /
163, chair 0.681 / 0.93 / 7.5 / 33.3 / 161, cylinder 0.906 / 0.88 / 10.1 / 34.6 / 159, box
0.898 / 0.89 / 11.6 / 35.1 / 189.
One of twenty-five misses: push_pull-3-01's box, by its Chamfer (2.56 cm at 96 points). The
surface level that the axis silhouettes pick rises on finer lattices (4.95 at 96 points, 9.8 at
128) and leaves out a side of σ ≈ 5–9 /m that the silhouettes do not see. Other noise seeds,
the closest cases: seed 1, push_pull-3-01 3.53 cm (a miss), reach_high-3-00 0.653,
reach_high-13-01 0.660; seed 2, reach_high-3-00 0.628 and sit_stand-7-01 **0.526** (a miss;
0.539 at 96 points: two rings of fog around the stool's post and a thicker seat). The same trained
fields re-extracted at 96 / 112 / 128 points: the shelves 0.598 / 0.638 / 0.636 (3-00), 0.601 /
0.634 / 0.688 (7-03), 0.630 / – / 0.641 (13-01). With the mesh given, sit_on_box's stage A took
254 s against 189 s generated: with a mesh, stage A searches the object's placement (three
times) and runs 150 SDS steps; generating it, 300 joint steps and the extraction, no search.

The surface level is the lowest of the levels whose solids match the axis silhouettes within
the tolerance, not their geometric middle (``objects.solid.silhouette_level``; 2026-12-07,
later). Re-extracting the twenty-five trained fields above (seed 0), IoU / Chamfer cm before →
after: **push_pull-3-01 0.807 / 3.16** → 0.832 / 2.72 (level 9.8 → 7.3), crouch-11-03 0.808 /
2.04 → 0.823 / 1.89, crouch-13-00 0.860 / 1.37 → 0.871 / 1.30, pick_up_carry-13-02 0.897 →
0.901, pick_up_carry-17-02 0.893 → 0.902, push_pull-13-03 0.725 → 0.715, reach_low-17-01 0.687
→ 0.681, turn_in_place-7-02 0.719 → 0.726, reach_high-7-03 0.688 → 0.684, box 0.898 / 0.89 →
0.910 / 0.81, cylinder 0.906 / 0.88 → 0.908 / 0.84; the other fourteen within ±0.002 (nine of
them kept their level). End to end at other noise seeds (one thread, two cases at a time):

| case | seed 1: IoU / Chamfer cm / MPJPE mm / PSNR dB | seed 2 |
|---|---|---|
| box | 0.885 / 0.85 / 11.7 / 35.0 | 0.881 / 1.00 / 6.8 / 36.2 |
| cylinder | 0.930 / 0.65 / 8.8 / 33.9 | 0.927 / 0.71 / 7.8 / 35.2 |
| table on legs | 0.698 / 1.18 / 6.4 / 30.2 | 0.690 / 1.12 / 8.1 / 32.2 |
| chair | 0.666 / 1.00 / 9.2 / 33.6 | 0.765 / 0.78 / 8.1 / 35.6 |
| ball | 0.905 / 0.64 / 6.4 / 34.6 | 0.929 / 0.53 / 6.5 / 35.1 |
| push_pull-3-01 | **0.798 / 3.53** / 8.1 / 33.4 | 0.832 / 2.70 / 8.2 / 34.0 |
| reach_high-3-00 | 0.655 / 1.03 / 14.9 / 27.4 | 0.626 / 1.12 / 12.4 / 28.1 |
| reach_high-13-01 | 0.644 / 1.05 / 10.1 / 30.0 | – |
| sit_stand-7-01 | – | **0.526** / 1.38 / 9.5 / 32.1 |

The five shape cases meet the targets at all three seeds (worst: chair IoU 0.666, table Chamfer
1.18 cm, MPJPE 11.7 mm); stage A 126–275 s. The two misses have the same figures as before the
change. At seed 1 the large box's field has no wall (σ < 2 /m) along parts of two sides 15–50
cm up: no level finds what the prior has not made solid. Tried, not kept: 450 SDS steps (stage
A 290–400 s with three processes on the two cores): push_pull-3-01 seed 1 3.53 → 2.28 cm but
seed 0 2.72 → **3.19**, reach_high-3-00 0.636 → 0.653 at seed 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import torch

from anchorhoi.body import BodyModel
from anchorhoi.oracles.anchor_oracle import OracleAnchorConfig, run_oracle_anchor, with_iterations
from anchorhoi.oracles.family import draw_family, write_anchor
from anchorhoi.oracles.family_table import ANCHOR_TARGETS, Target, kind_table

TABLE_FIGURES = ("mpjpe_mm", "obj_trans_err_cm", "obj_rot_err_deg", "psnr_db", "seconds")
OBJECT_TARGETS = {"mpjpe_mm": Target(40.0), "obj_chamfer_cm": Target(3.0),
                  "obj_iou": Target(0.6, higher_is_better=True),
                  "psnr_db": ANCHOR_TARGETS["psnr_db"]}
"""Issue 12's acceptance of a generated object: the body ≤ 40 mm, Chamfer ≤ 3 cm, IoU ≥ 0.6;
and the anchor's ≥ 22 dB (which also makes the table's worst PSNR its lowest)."""
OBJECT_FIGURES = ("mpjpe_mm", "obj_chamfer_cm", "obj_iou", "obj_trans_err_cm", "psnr_db",
                  "stage_a_seconds", "seconds")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*", type=Path, help="case folders")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--random", type=int, default=0, metavar="N",
                    help="also run N cases drawn from the case family")
    ap.add_argument("--family-seed", type=int, default=None,
                    help="the drawn family's seed (default: --seed)")
    ap.add_argument("--keep", type=Path, default=None,
                    help="write the drawn cases into this folder (default: a temp folder)")
    ap.add_argument("--iterations", type=int, default=None,
                    help="SDS steps (default: the oracle config's)")
    ap.add_argument("--rounds", type=int, default=None, help="A/B alternations (default 1)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--generate-object", action="store_true",
                    help="give the stages no mesh: stage A generates the object (adds "
                         "obj_chamfer_cm and obj_iou)")
    ap.add_argument("--out", type=Path, default=None,
                    help="keep each case's stage outputs in OUT/<case> (default: a temp folder)")
    args = ap.parse_args(argv)
    if not args.cases and args.random <= 0:
        ap.error("give case folders or --random N")
    torch.set_num_threads(args.threads)
    config = OracleAnchorConfig()
    if args.iterations is not None:
        config = with_iterations(config, args.iterations)
    if args.generate_object:
        config = dataclasses.replace(config, generate_object=True)
    if args.rounds is not None:
        config = dataclasses.replace(config, rounds=args.rounds)
    body = BodyModel()
    rows = []
    with tempfile.TemporaryDirectory() as drawn_tmp:
        folders = list(args.cases)
        if args.random > 0:
            family_seed = args.seed if args.family_seed is None else args.family_seed
            drawn = draw_family(BodyModel(dtype=torch.float64), args.random, family_seed,
                                anchor=True)
            folders += [write_anchor(c, args.keep or Path(drawn_tmp)) for c in drawn]
        for folder in folders:
            with tempfile.TemporaryDirectory() as tmp:
                out = (args.out / folder.name) if args.out else Path(tmp)
                report = run_oracle_anchor(folder, body=body, config=config, out_dir=out,
                                           generator=torch.Generator().manual_seed(args.seed))
            rows.append(report.figures() | {"threads": args.threads})
            print(json.dumps(rows[-1]), flush=True)
    if args.generate_object:
        print(kind_table(rows, OBJECT_TARGETS, OBJECT_FIGURES), file=sys.stderr, flush=True)
    else:
        print(kind_table(rows, ANCHOR_TARGETS, TABLE_FIGURES), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
