"""The panel's plausibility rows (``addon/client/quality_report.py``) from a result written by
the backend's own report and writer: one row per figure with its verdict, re-read only when
``result.json`` changes, nothing for a result without a report or a broken file."""

from __future__ import annotations

import json
import os

import numpy as np
from helpers.motions import make_motion

from addon.client.quality_report import LABELS, QualityCache, quality_rows
from anchorhoi.body import BodyModel
from anchorhoi.motion.plausibility import Figure, PlausibilityReport
from anchorhoi.portable.motion import MotionClip
from anchorhoi.portable.result_v1 import ResultInfo, write_result


def report() -> PlausibilityReport:
    return PlausibilityReport({
        "penetration_max_mm": Figure(4.2, "mm", 10.0),
        "skating_frames_share": Figure(0.25, "share", 0.1),
        "hand_contact_share": Figure(None, "share", 0.9, higher_is_better=True),
    })


def write(folder, quality):
    motion = make_motion(num_frames=6)
    clip = MotionClip(motion=motion, rig=BodyModel().rig(motion.betas))
    write_result(folder, clip, ResultInfo(quality=quality))
    return folder / "result.json"


def test_rows_show_each_figure_with_its_verdict(tmp_path):
    path = write(tmp_path, {"frames": 6, "plausibility": report().as_json()})
    rows = quality_rows(json.loads(path.read_text()))
    assert [r.label for r in rows] == [LABELS["penetration_max_mm"],
                                       LABELS["skating_frames_share"],
                                       LABELS["hand_contact_share"]]
    assert [r.status for r in rows] == ["pass", "warn", "n/a"]
    assert rows[0].value == "4.2 mm (≤ 10)"
    assert rows[1].value == "25 % (≤ 10 %)"
    assert rows[2].value == "—"


def test_the_cache_reads_again_only_when_the_file_changes(tmp_path):
    cache = QualityCache()
    assert cache.rows_for(str(tmp_path)) == []  # no result yet
    path = write(tmp_path, {"plausibility": report().as_json()})
    assert len(cache.rows_for(str(tmp_path))) == 3
    doc = json.loads(path.read_text())
    doc["quality"] = {"frames": 6}  # a result without a report: no rows
    path.write_text(json.dumps(doc))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert cache.rows_for(str(tmp_path)) == []
    path.write_text("{not json")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2 * 10**9))
    assert cache.rows_for(str(tmp_path)) == []


def test_unexpected_entries_are_skipped_not_fatal():
    doc = {"quality": {"plausibility": {"odd": 3, "floating_mm": {
        "value": float("nan"), "unit": "mm", "limit": 20.0, "status": "bogus"}}}}
    rows = quality_rows(doc)
    assert len(rows) == 1 and rows[0].status == "n/a" and rows[0].value == "—"
    assert np.isnan(doc["quality"]["plausibility"]["floating_mm"]["value"])


def test_the_object_line_says_where_the_object_came_from(tmp_path):
    from addon.client.result_object import generating_line, object_line

    generated = {"name": "a wooden stool", "source": "/j/anchor/object.glb",
                 "generated": {"prompt": "a wooden\x1b stool", "file": "anchor/object.glb"}}
    assert object_line({"object": generated}) == "Object: generated from 'a wooden stool'"
    mine = {"name": "Chair\n", "source": "/j/input/object.obj", "generated": None}
    assert object_line({"object": mine}) == "Object: your mesh 'Chair'"
    assert object_line({"object": {"name": "Object", "source": None}}).startswith(
        "Object: the default box")
    assert object_line({"object": None}) is None
    assert generating_line("", picked=False) == "Object: generated from the prompt's object"
    assert generating_line(" a  stool ", picked=False) == "Object: generated from 'a stool'"
    assert generating_line("a stool", picked=True) == "Object: your mesh"
    cache = QualityCache()
    path = write(tmp_path, {"plausibility": report().as_json()})
    doc = json.loads(path.read_text())
    doc["object"] = generated
    path.write_text(json.dumps(doc))
    assert cache.object_for(str(tmp_path)) == "Object: generated from 'a wooden stool'"
    assert len(cache.rows_for(str(tmp_path))) == 3
