"""A few thousand mutated protocol lines, requests and result files (truncations, type swaps,
deep nesting, huge numbers, NaN): each is either accepted or answered with a documented error
(``ProtocolError``, a ``JobError`` with a protocol code and exit 2, ``MotionFileError``,
``PlacementError``) — never another exception — and nothing outside the job folder changes."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from addon.plan.placement import PlacementError, placement_for
from anchorhoi.job.errors import JobError
from anchorhoi.job.ownership import accept_before_loading
from anchorhoi.job.request import request_from_json
from anchorhoi.portable import protocol as P
from anchorhoi.portable import result_v1
from anchorhoi.portable.arrays import MotionFileError
from anchorhoi.portable.motion import MotionClip
from tests.helpers.fuzz import mutate as _mutate


def test_protocol_lines_and_requests(tmp_path, monkeypatch):
    rng = random.Random(14)
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    work = tmp_path / "a" / "b" / "c"  # relative job folders ("../../etc") land under a/
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    base = {"prompt": "a person sits down on the chair", "preset": "tiny", "frames": 12,
            "fps": 12.0, "seed": 1, "device": "cpu", "models": {}, "object": None,
            "object_name": "Chair"}
    answered = accepted = 0
    for i in range(2000):
        request = dict(base, job_dir=str(work / "jobs" / f"j{i % 7}"))
        if i % 2:
            line = _mutate(rng, {"type": "generate", "protocol": 1, "request": request})
        else:
            text = _mutate(rng, request)
            inner = json.loads(text) if _is_json(text) else text
            line = json.dumps({"type": "generate", "protocol": 1, "request": inner})
        try:
            msg = P.decode(line)
            accept_before_loading(request_from_json(msg.get("request")))
            accepted += 1
        except P.ProtocolError:
            answered += 1
        except JobError as exc:
            assert exc.code in P.ERROR_CODES and exc.exit_code == P.EXIT_BAD_REQUEST, exc.code
            answered += 1
    assert answered > 500 and accepted > 50
    assert outside.read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "outside.txt"]


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


@pytest.fixture(scope="module")
def result_files(tmp_path_factory):
    from anchorhoi.body import BodyModel, BodyModelConfig
    from tests.helpers.motions import make_motion, make_object

    body = BodyModel(BodyModelConfig())
    motion = make_motion(6, seed=1)
    folder = tmp_path_factory.mktemp("result")
    result_v1.write_result(folder, MotionClip(motion=motion, rig=body.rig(motion.betas),
                                              obj=make_object(6)))
    doc = json.loads((folder / "result.json").read_text())
    doc["object"]["to_user"] = np.eye(4).tolist()
    return doc, (folder / "motion.npz").read_bytes()


def test_result_files(tmp_path, result_files):
    doc, npz = result_files
    rng = random.Random(41)
    imported = refused = 0
    for i in range(600):
        folder = tmp_path / f"r{i}"
        folder.mkdir()
        text = _mutate(rng, doc) if i % 3 else json.dumps(doc)
        data = npz if i % 3 else npz[:rng.randint(0, len(npz))]
        (folder / "result.json").write_text(text)
        (folder / "motion.npz").write_bytes(data)
        try:
            clip, loaded = result_v1.read_result(folder)
            placement_for(loaded, clip, unit_scale=rng.choice([1.0, 0.01, 0, -1, "x", None]))
            imported += 1
        except (MotionFileError, PlacementError):
            refused += 1
    assert refused > 300 and imported > 10
