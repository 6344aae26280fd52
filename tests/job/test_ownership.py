"""A job owns only what it wrote: a folder of the user's is refused untouched (before torch is
imported), an unusable ``--out`` gets its own code, a stage folder is cleared of the stage's
files only, and a stage folder that is a link leading out is refused."""

from __future__ import annotations

import errno
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from anchorhoi.job.errors import JobError, classify
from anchorhoi.job.folder import JobFolder
from anchorhoi.job.ownership import claim_job_folder, own_dir, remove_own_files
from anchorhoi.portable import protocol as P
from anchorhoi.portable.job_marker import JOB_MARKER, is_job_folder
from tests.helpers.serve_process import Serve, backend_env, request


def _users_folder(root: Path) -> Path:
    """The folder of the issue's report: two media files and two JSON files of the user's."""
    for rel, data in (("motion/take1.bvh", b"HIERARCHY\nROOT Hips\n"),
                      ("video/holiday.mp4", bytes(range(256)) * 64),
                      ("result.json", b'{"mine": true}\n'), ("config.json", b'{"keep": 1}\n')):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            if p.is_file() else "dir" for p in sorted(root.rglob("*"))}


def _generate(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, float, bool]:
    """``anchorhoi generate`` in a fresh interpreter: the result, its wall time and whether torch
    was imported."""
    code = ("import sys\nfrom anchorhoi.cli.main import main\nrc = main(sys.argv[1:])\n"
            "sys.stdout.write('torch' if 'torch' in sys.modules else 'no torch')\nsys.exit(rc)")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code, "generate", "a person sits down on the "
                           "chair", "--preset", "tiny", "--device", "cpu", *args],
                          capture_output=True, text=True, env=backend_env(tmp_path / "cache"),
                          timeout=120)
    return proc, time.monotonic() - start, proc.stdout == "torch"


def test_generate_refuses_a_users_folder_untouched_and_at_once(tmp_path):
    users = _users_folder(tmp_path / "mine")
    before = _snapshot(users)
    proc, seconds, torch_loaded = _generate(tmp_path, "--out", str(users))
    assert proc.returncode == P.EXIT_BAD_REQUEST
    assert "error BAD_REQUEST:" in proc.stderr and "not an AnchorHOI job" in proc.stderr
    assert "config.json, motion, result.json" in proc.stderr and "Traceback" not in proc.stderr
    assert _snapshot(users) == before  # byte for byte, and nothing added
    assert not torch_loaded and seconds < 5.0  # measured ≈ 0.1 s; the old code took 6-8 s


def test_serve_refuses_a_users_folder_untouched(tmp_path):
    users = _users_folder(tmp_path / "mine")
    before = _snapshot(users)
    serve = Serve(tmp_path / "cache", tmp_path / "stderr.txt")
    try:
        assert serve.next(timeout=60).type == "hello"
        sent = time.monotonic()
        serve.send("generate", protocol=P.PROTOCOL_VERSION, request=request(users))
        err = serve.next(timeout=60)
        answered = time.monotonic() - sent
        assert (err.type, err.get("code"), err.get("log")) == ("error", "BAD_REQUEST", None)
        assert serve.wait() == P.EXIT_BAD_REQUEST
    finally:
        if serve.proc.poll() is None:
            serve.proc.kill()
    assert _snapshot(users) == before
    assert answered < 5.0  # no torch import before the answer


@pytest.mark.parametrize("args, code", [(("--frames", "-3"), "BAD_REQUEST"),
                                         (("--fps", "0"), "BAD_REQUEST"),
                                         (("--object", "chair.fbx"), "BAD_MESH")])
def test_a_request_rejected_by_validation_is_answered_before_torch(tmp_path, args, code):
    """Issue 14's row: every validation refusal took 6-8 s and 500 MB (torch came first)."""
    proc, seconds, torch_loaded = _generate(tmp_path, "--out", str(tmp_path / "job"), *args)
    assert proc.returncode == P.EXIT_BAD_REQUEST and f"error {code}:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not torch_loaded and seconds < 5.0
    assert not (tmp_path / "job").exists()


@pytest.mark.parametrize("case", ["a file", "under a file"])
def test_an_unusable_out_gets_bad_out_with_a_hint_naming_a_folder_that_exists(tmp_path, case):
    existing = tmp_path / "notes.txt"
    existing.write_text("mine\n")
    out = existing if case == "a file" else existing / "job"
    proc, _, torch_loaded = _generate(tmp_path, "--out", str(out))
    assert proc.returncode == P.EXIT_BAD_REQUEST and "error BAD_OUT:" in proc.stderr
    assert "Traceback" not in proc.stderr and not torch_loaded
    hint = proc.stderr.split("hint: ", 1)[1]
    assert str(tmp_path) in hint and "log.txt" not in proc.stderr
    assert existing.read_text() == "mine\n"


def test_a_full_disk_is_disk_full_exit_2(tmp_path, monkeypatch):
    def no_space(*_args, **_kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("anchorhoi.job.ownership.mark_job_folder", no_space)
    with pytest.raises(JobError) as info:
        claim_job_folder(tmp_path / "job")
    assert info.value.code == "DISK_FULL" and info.value.exit_code == P.EXIT_BAD_REQUEST
    assert str(tmp_path) in info.value.hint
    # the same for a full drive in the middle of a stage
    err = classify(OSError(errno.ENOSPC, "No space left on device", "x.npz"))
    assert err.code == "DISK_FULL" and err.exit_code == P.EXIT_BAD_REQUEST


def test_new_empty_and_marked_folders_are_taken(tmp_path):
    claim_job_folder(tmp_path / "new" / "job")
    assert is_job_folder(tmp_path / "new" / "job")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / ".DS_Store").write_bytes(b"\0")
    claim_job_folder(tmp_path / "empty")
    assert is_job_folder(tmp_path / "empty")
    marked = JobFolder(tmp_path / "empty").create()  # a job folder of ours: resumed
    marked.write_json("request.json", {"prompt": "x"})
    claim_job_folder(marked.root)
    mark = json.loads((marked.root / JOB_MARKER).read_text())
    assert mark["creator"] == "backend"


def test_the_addons_job_folder_is_marked_and_taken_by_the_backend(tmp_path):
    from addon.client import job_history

    job = job_history.new_job_dir(tmp_path / "jobs", "a person sits down on the chair")
    job_history.write_job_info(job, {"request": {}})
    (job / "input" / "chair.obj").write_text("v 0 0 0\n")
    assert is_job_folder(job)
    claim_job_folder(job)
    assert [e.path for e in job_history.list_jobs(tmp_path / "jobs")] == [job]


def test_clearing_a_stage_removes_its_files_only(tmp_path):
    job = JobFolder(tmp_path / "job").create()
    video = own_dir(job.root, "video")
    for name in ("frames.npz", "preview.gif", ".frames.npz.4242.tmp", "extra.png"):
        (video / name).write_bytes(b"ours")
    (video / "holiday.mp4").write_bytes(b"the user's")
    job.mark_complete("video", "f", {"seconds": 1.0, "files": ["extra.png"]})
    job.forget_from(["video"], {"video": ("frames.npz", "preview.gif", "camera.json")})
    assert sorted(p.name for p in video.iterdir()) == ["holiday.mp4"]
    assert (video / "holiday.mp4").read_bytes() == b"the user's"
    assert "video" not in job.read_state()
    # a folder left with nothing in it is removed
    assert remove_own_files(video, ["holiday.mp4"]) == [] and not video.exists()


def test_a_stage_folder_that_links_out_is_refused(tmp_path):
    job = JobFolder(tmp_path / "job").create()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "frames.npz").write_bytes(b"not the job's")
    (job.root / "video").symlink_to(outside, target_is_directory=True)
    with pytest.raises(JobError) as info:
        own_dir(job.root, "video")
    assert info.value.code == "BAD_OUT" and info.value.exit_code == P.EXIT_BAD_REQUEST
    with pytest.raises(JobError):
        job.forget_from(["video"], {"video": ("frames.npz",)})
    assert (outside / "frames.npz").read_bytes() == b"not the job's"
    (job.root / "input").write_text("a file where a folder belongs")
    with pytest.raises(JobError, match="not a folder of the job"):
        own_dir(job.root, "input")


def test_atomic_writes_fsync_the_folder_after_the_rename(tmp_path, monkeypatch):
    import os

    from anchorhoi.portable import arrays

    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(os.path.realpath(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)

    monkeypatch.setattr(arrays.os, "fsync", fsync)
    arrays.write_text_atomic(tmp_path / "state.json", "{}\n")
    assert synced == [str(tmp_path / f".state.json.{os.getpid()}.tmp"), str(tmp_path)]


@pytest.mark.parametrize("name", ["x" * 5000, "a\x00b"])
def test_a_path_the_system_cannot_use_is_bad_out(tmp_path, name):
    with pytest.raises(JobError) as info:
        claim_job_folder(tmp_path / name)
    assert info.value.code == "BAD_OUT" and info.value.exit_code == P.EXIT_BAD_REQUEST
    assert sorted(tmp_path.iterdir()) == []
