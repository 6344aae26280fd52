"""The quality table: the tables in ``job/presets.py``'s docstring say what the rows set (so
the documentation cannot drift from the code), every GPU preset's budget fits a 24 GB card, the
preset names are the protocol's, and bad rows are refused."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from anchorhoi.job import presets as job_presets
from anchorhoi.job.memory import anchor_vram_gib, video_vram_gib
from anchorhoi.job.presets import PRESETS, JobPreset, job_preset
from anchorhoi.portable.protocol import PRESET_NAMES


def doc_rows(header: str) -> dict[str, list[str]]:
    """The rows of the docstring table whose header line starts with ``header``, by preset."""
    lines = job_presets.__doc__.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def test_the_anchor_table_says_what_the_rows_set():
    rows = doc_rows("| preset | where | SDS steps")
    assert set(rows) == set(PRESETS)
    for name, p in PRESETS.items():
        n, cells = p.anchor.nerf, rows[name]
        assert cells[1] == f"{n.iterations} × {p.anchor.rounds}"
        assert cells[2] == f"{n.resolution}²"
        assert cells[3] == str(n.sampler.num_samples)
        assert cells[4] == str(n.views_per_step)
        enc = n.human_field.encoding
        assert cells[5] == f"{enc.levels} levels, 2^{enc.log2_hashmap_size}"
        if p.gpu:  # the stated budget is the computed one, rounded
            assert cells[6] == f"≈ {round(anchor_vram_gib(p.anchor))} GiB"


def test_the_motion_table_says_what_the_rows_set():
    rows = doc_rows("| preset | frames @ fps")
    assert set(rows) == set(PRESETS)
    for name, p in PRESETS.items():
        cells, s = rows[name], p.motion.schedule
        assert cells[0] == f"{p.frames} @ {p.fps:g}"
        assert cells[1] == f"{p.video.width}×{p.video.height}"
        assert cells[3] == str(p.video.sampling.steps)
        assert cells[5] == f"{s.root_iterations}/{s.pose_iterations}/{s.contact_iterations}"
        if p.video.expected_vram_gb is not None:
            assert cells[6] == f"≈ {p.video.expected_vram_gb:g} GiB"
            computed = video_vram_gib(p, frames=p.frames, fps=p.fps)
            assert p.video.expected_vram_gb == pytest.approx(computed, abs=0.05)


def test_gpu_presets_fit_one_card_and_search_the_object():
    for p in PRESETS.values():
        assert p.gpu == (p.video.expected_vram_gb is not None)
        if p.gpu:
            assert anchor_vram_gib(p.anchor) < 22.0 and p.video.expected_vram_gb < 22.0
            assert p.anchor.nerf.object_search is not None
        else:  # the CPU pipeline check: one round, no search, a small grid
            assert p.anchor.rounds == 1 and p.anchor.nerf.object_search is None


def test_the_rows_are_the_protocols_presets():
    assert tuple(PRESETS) == PRESET_NAMES
    for name, p in PRESETS.items():
        assert p.name == name
        assert p.video.width % 32 == 0 and p.video.height % 32 == 0
        assert p.motion.schedule.pose_iterations > 0 and p.frames >= 2
    # a better preset never gets fewer SDS steps, frames or video steps than a cheaper one
    ordered = [PRESETS[n] for n in PRESET_NAMES]
    for cheap, dear in itertools.pairwise(ordered):
        assert cheap.anchor.nerf.iterations <= dear.anchor.nerf.iterations
        assert cheap.frames <= dear.frames
        assert cheap.video.sampling.steps <= dear.video.sampling.steps


def test_unknown_preset_and_bad_rows():
    with pytest.raises(ValueError, match="unknown preset 'ultra'; choose one of tiny, draft"):
        job_preset("ultra")
    tiny = PRESETS["tiny"]
    with pytest.raises(ValueError, match="at least 2 frames"):
        JobPreset(name="tiny", gpu=False, frames=1, fps=12.0, anchor=tiny.anchor,
                  video=tiny.video, keypoints=tiny.keypoints, motion=tiny.motion)
    with pytest.raises(ValueError, match="multiples of 32"):
        dataclasses.replace(tiny.video, width=250)
