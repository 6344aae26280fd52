"""Known-answer checks of the stages, beside each other and outside the stage packages.

- ``anchor_scene``: known posed bodies with placed objects (the anchor cases) and oracle image
  priors whose data are renders of them; ``anchor_oracle``: stages A and B run against them
  and scored (``bench/oracle_anchor.py``);
- ``motion_case``: known motions with their object and camera; ``motion_oracle``: stage E run
  on their own noisy, occluded keypoints and scored (``bench/oracle_motion.py``);
- ``anchor_authoring``, ``motion_authoring``: the tools the case files were written with
  (``bench/make_anchor_cases.py``, ``bench/make_motion_cases.py``).

This package imports the stage packages, as the job does; no stage package imports it. The
oracle image prior itself is a prior (``anchorhoi.priors.oracle``).
"""
