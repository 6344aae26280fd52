"""``python bench/gpu_smoke.py`` on a machine without CUDA: one skip line per case, exit 0."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device runs the real smoke test")
def test_gpu_smoke_skips_with_a_clear_line_without_cuda():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_smoke.py")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["case"] for line in lines] == ["job", "prior_step", "sdedit_offload",
                                                "video_step"]
    for line in lines:
        assert line["status"] == "skip"
        assert line["reason"].endswith("this smoke test needs a CUDA GPU")
