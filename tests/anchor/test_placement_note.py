"""The object search's note travels with the stage's output: saved, read back (an output
written before notes existed reads back without one) and handed on."""

from __future__ import annotations

import numpy as np

from anchorhoi.anchor.output import KEY_POSE_FILE, AnchorOutput
from anchorhoi.body.pose import KeyPose


def _output(note: str) -> AnchorOutput:
    pose = KeyPose(root_orient=np.zeros(3), pose_body=np.zeros(63), pose_hand=np.zeros(90),
                   trans=np.zeros(3), betas=np.zeros(10))
    return AnchorOutput(key_pose=pose, object_placement=np.eye(4),
                        contact_vertices=np.array([3, 4]), max_penetration=0.0,
                        placement_note=note)


def test_the_note_is_saved_read_back_and_handed_on(tmp_path):
    note = "object placement ambiguous: check anchor_turntable.png"
    out = _output(note)
    out.save(tmp_path)
    assert AnchorOutput.load(tmp_path).placement_note == note
    assert out.hand_off().placement_note == note


def test_an_output_without_the_key_reads_back_without_a_note(tmp_path):
    _output("").save(tmp_path)
    path = tmp_path / KEY_POSE_FILE
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if k != "placement_note"}
    np.savez(path, **arrays)
    assert AnchorOutput.load(tmp_path).placement_note == ""
