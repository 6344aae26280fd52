"""The vertex subset stage E computes its ground and penetration terms on."""

from __future__ import annotations

import numpy as np

from anchorhoi.body import BodyModel
from anchorhoi.motion.config import MotionSampling
from anchorhoi.motion.objective import TOE_JOINTS, _vertex_subset


def test_the_vertex_subset_reaches_the_tips_of_the_toes():
    """A foot pointed down at lift-off puts the tips of its toes lowest; the subset the ground
    term sees holds a vertex near each foot's frontmost one (without the toe vertices the
    nearest was 22–25 mm away, and step_onto-0-15's toes went 15 mm into the ground)."""
    body = BodyModel()
    rest = body.layer.v_template.detach().cpu().numpy()
    dominant = body.layer.lbs_weights.detach().cpu().numpy().argmax(1)
    ids, _ = _vertex_subset(rest, dominant, MotionSampling())
    for joint in TOE_JOINTS:
        foot = np.flatnonzero(dominant == joint)
        tip = rest[foot[rest[foot, 2].argmax()]]
        assert np.linalg.norm(rest[ids] - tip, axis=1).min() < 0.01
