"""docs/batch.md's table of what each preset asks per job repeats docs/memory.md's budgets
(which tests/job/test_memory.py recomputes from the code): the two must agree."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
PRESETS = ("tiny", "draft", "standard", "high")


def rows(path: Path, header_start: str) -> dict[str, list[str]]:
    """Preset → cells of the table whose header row starts with ``header_start``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    out = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        out[cells[0].strip("`")] = cells[1:]
    return out


def gib(cell: str) -> str | None:
    match = re.search(r"([\d.]+) GiB", cell)
    return match.group(1) if match else None


def test_batch_docs_state_the_memory_budgets_of_each_preset():
    memory = rows(DOCS / "memory.md", "| preset | VRAM, anchor")
    batch = rows(DOCS / "batch.md", "| preset | GPU memory per job")
    assert set(PRESETS) <= set(memory) and set(PRESETS) <= set(batch)
    for preset in PRESETS:
        job_vram, host = memory[preset][2], memory[preset][3]
        assert gib(batch[preset][0]) == gib(job_vram), preset
        assert gib(batch[preset][1]) == gib(host), preset
