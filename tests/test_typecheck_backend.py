"""The backend's public functions carry types mypy accepts: ``mypy backend/anchorhoi`` with the
configuration in pyproject.toml reports no error (the add-on has its own check in
``tests/addon/test_typecheck.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mypy_accepts_the_backend(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy_cache"),
         "backend/anchorhoi"],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"mypy backend/anchorhoi failed:\n{proc.stdout}{proc.stderr}"
    assert "Success: no issues found" in proc.stdout
