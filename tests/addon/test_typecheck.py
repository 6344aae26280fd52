"""The add-on type-checks against Blender's API stubs (fake-bpy-module): ``mypy addon`` with
the configuration in pyproject.toml reports no error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_mypy_accepts_the_addon(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy_cache"), "addon"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"mypy addon failed:\n{proc.stdout}{proc.stderr}"
    assert "Success: no issues found" in proc.stdout
