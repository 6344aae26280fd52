"""nerfacc's CUDA build outside the job: stale locks, the dense fallback with one warning, and
the occupancy grid's refresh (chunked, seeded) — which is pure torch, so it runs on the CPU."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import pytest
import torch

from anchorhoi.nerf import nerfacc_build
from anchorhoi.nerf.cameras import SceneBox
from anchorhoi.nerf.samplers import (
    DenseStratifiedSampler,
    OccupancyGridConfig,
    OccupancyGridSampler,
    SamplerConfig,
    make_sampler,
)


@pytest.fixture
def build_dir(tmp_path, monkeypatch):
    """torch's extension root in tmp_path: nerfacc's build folder as torch would place it."""
    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "torch_extensions"))
    folder = nerfacc_build.build_directory()
    assert folder == tmp_path / "torch_extensions" / "nerfacc_cuda" and folder.is_dir()
    return folder


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def claim(folder, pid: int) -> None:
    (folder / nerfacc_build.LOCK).touch()
    (folder / nerfacc_build.OWNER).write_text(f'{{"pid": {pid}, "started": 0}}')


def test_a_lock_left_by_a_killed_build_is_cleared_and_reported(build_dir, caplog):
    claim(build_dir, dead_pid())
    with caplog.at_level(logging.WARNING, logger="anchorhoi.nerf.nerfacc_build"):
        cleared = nerfacc_build.clear_stale_lock(build_dir)
    assert cleared == build_dir / "lock" and not cleared.exists()
    assert not (build_dir / nerfacc_build.OWNER).exists()
    assert [r.getMessage() for r in caplog.records] == [
        f"removed a stale nerfacc build lock left by an interrupted build: {cleared}"]


def test_a_lock_held_by_a_running_build_is_kept(build_dir):
    claim(build_dir, os.getpid())
    assert nerfacc_build.clear_stale_lock(build_dir) is None
    assert (build_dir / "lock").exists()


def test_an_unclaimed_lock_is_stale_only_when_old(build_dir):
    lock = build_dir / "lock"
    lock.touch()
    now = time.time()
    assert nerfacc_build.stale_lock(build_dir, now=now) is None
    old = now - nerfacc_build.STALE_AFTER_S - 60
    os.utime(lock, (old, old))
    assert nerfacc_build.clear_stale_lock(build_dir, now=now) == lock and not lock.exists()


def fallback_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "anchorhoi.nerf.samplers" and r.levelno == logging.WARNING]


@pytest.mark.skipif(nerfacc_build.prebuilt(), reason="nerfacc installed with compiled CUDA ops")
def test_a_job_without_a_finished_build_uses_the_dense_sampler_with_one_warning(build_dir,
                                                                              caplog):
    # what a failed or interrupted build leaves: sources and objects, no library, a stale lock
    (build_dir / "build.ninja").write_text("rule cc\n")
    (build_dir / "ops.cuda.o").write_bytes(b"\0")
    claim(build_dir, dead_pid())
    start = time.perf_counter()
    with caplog.at_level(logging.WARNING):
        sampler = make_sampler(SamplerConfig(kind="auto"), "cuda", seed=3)
    assert isinstance(sampler, DenseStratifiedSampler)
    assert time.perf_counter() - start < 5  # neither a build nor a wait on the lock
    assert not (build_dir / "lock").exists()
    (warning,) = fallback_warnings(caplog)
    assert "not built on this machine; run 'anchorhoi doctor'" in warning
    assert "dense stratified sampler" in warning
    with pytest.raises(RuntimeError, match="anchorhoi doctor"):
        make_sampler(SamplerConfig(kind="occupancy_grid"), "cuda")


@pytest.mark.skipif(nerfacc_build.prebuilt(), reason="nerfacc installed with compiled CUDA ops")
def test_a_job_never_waits_on_a_build_in_progress(build_dir, caplog):
    claim(build_dir, os.getpid())  # a live doctor is building
    with caplog.at_level(logging.WARNING):
        assert isinstance(make_sampler(SamplerConfig(), "cuda"), DenseStratifiedSampler)
    (warning,) = fallback_warnings(caplog)
    assert "being built by another process" in warning
    assert (build_dir / "lock").exists()


@pytest.mark.skipif(torch.version.cuda is not None, reason="a CUDA build of torch")
def test_the_doctor_does_not_try_a_build_on_a_cpu_torch(build_dir):
    report = nerfacc_build.build()
    assert not report.ready and "CPU build" in report.detail
    assert list(build_dir.iterdir()) == []


# --- the occupancy grid's refresh ----------------------------------------------------------

BOX = SceneBox()


def ball(calls: list[int]):
    centre = torch.tensor([0.1, 0.0, -0.1])

    def density(x: torch.Tensor) -> torch.Tensor:
        calls.append(len(x))
        return 50.0 * ((x - centre).norm(dim=-1) < 0.4).to(x.dtype)
    return density


def refreshed(seed: int, chunk: int, steps: int = 3, warmup: int = 1) -> tuple[torch.Tensor,
                                                                                 list[int]]:
    cfg = OccupancyGridConfig(resolution=16, update_every=1, warmup_steps=warmup,
                              refresh_chunk=chunk)
    grid = OccupancyGridSampler(cfg, box=BOX, device="cpu", seed=seed)
    calls: list[int] = []
    for step in range(steps):
        grid.update(step, ball(calls))
    return grid.estimator.occs.clone(), calls


def test_the_warm_up_refresh_evaluates_the_grid_in_chunks():
    occs, calls = refreshed(seed=0, chunk=1000, steps=1)
    assert max(calls) <= 1000 and sum(calls) == 16 ** 3
    whole, one_call = refreshed(seed=0, chunk=16 ** 3, steps=1)
    assert one_call == [16 ** 3] and torch.equal(occs, whole)
    assert bool((occs > 0).any()) and bool((occs == 0).any())


def test_the_refresh_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, _ = refreshed(seed=7, chunk=500)
    assert torch.equal(torch.get_rng_state(), before)
    b, _ = refreshed(seed=7, chunk=500)
    c, _ = refreshed(seed=8, chunk=500)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)  # past the warm-up the refresh samples random cells
