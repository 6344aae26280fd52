"""Blender's *Allow Online Access* reaches the backend: off means no hub access, and a model
that would have to be downloaded is refused with a hint naming that setting."""

from __future__ import annotations

import os
import subprocess
import sys

from addon.client.generate_run import backend_env
from anchorhoi.portable import protocol as P
from tests.helpers.serve_process import backend_env as helper_env


def test_online_access_off_turns_hub_access_off():
    assert backend_env(False)["HF_HUB_OFFLINE"] == "1"
    assert backend_env(False)["ANCHORHOI_OFFLINE_BY"] == "blender"
    on = backend_env(True)
    assert on.get("HF_HUB_OFFLINE") == os.environ.get("HF_HUB_OFFLINE")
    assert "ANCHORHOI_OFFLINE_BY" not in on or "ANCHORHOI_OFFLINE_BY" in os.environ


def test_a_download_with_online_access_off_names_the_setting(tmp_path):
    env = {**helper_env(tmp_path / "cache"), **backend_env(False)}
    env["PYTHONPATH"] = helper_env(tmp_path / "cache")["PYTHONPATH"]
    env["ANCHORHOI_CACHE"] = str(tmp_path / "cache")
    proc = subprocess.run(
        [sys.executable, "-m", "anchorhoi", "generate", "a person sits down on the chair",
         "--device", "cpu", "--out", str(tmp_path / "job")],
        capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == P.EXIT_BAD_REQUEST and "error MODEL_NOT_FOUND" in proc.stderr
    assert "Turn on Allow Online Access (Blender Preferences › System › Network)" in proc.stderr
    assert "Traceback" not in proc.stderr
