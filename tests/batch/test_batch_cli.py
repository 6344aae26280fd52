"""``anchorhoi batch``'s refusals before any job runs (an unreachable ``--ray``, no Ray, bad
requests, bad options) and the pieces around the runner: the cluster's capacity, the shared
storage warning, the progress bar. No Ray instance is started here."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from anchorhoi.batch.cluster import capacity, filesystem_type, job_resources, storage_note
from anchorhoi.batch.progress import BatchBar, Counts
from anchorhoi.cli.batch import batch
from anchorhoi.cli.main import _parser

ROOT = Path(__file__).resolve().parents[2]


def _requests(tmp_path: Path) -> Path:
    reqs = tmp_path / "reqs.jsonl"
    reqs.write_text(json.dumps({"prompt": "a person sits on the box", "preset": "tiny"}) + "\n")
    return reqs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_ray_address_is_a_clear_error_and_touches_no_folder(tmp_path):
    out = tmp_path / "out"
    env = {"PYTHONPATH": str(ROOT / "backend"), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "anchorhoi", "batch", str(_requests(tmp_path)),
                           "--out", str(out), "--ray", f"127.0.0.1:{_free_port()}"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2
    assert "error BAD_REQUEST: Cannot reach the Ray cluster at 127.0.0.1:" in proc.stderr
    assert "ray start --head" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_without_ray_the_command_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    args = _parser().parse_args(["batch", str(_requests(tmp_path)), "--out",
                                 str(tmp_path / "out")])
    assert batch(args) == 2
    err = capsys.readouterr().err
    assert "needs Ray" in err and 'pip install -e ".[batch]"' in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flags, words", [(["--max-parallel", "0"], "--max-parallel"),
                                          (["--retries", "-1"], "cannot be negative"),
                                          (["--ray", "head:port"], "is not an address")])
def test_bad_options_are_refused(tmp_path, capsys, flags, words):
    args = _parser().parse_args(["batch", str(_requests(tmp_path)), "--out",
                                 str(tmp_path / "out"), *flags])
    assert batch(args) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_bad_request_line_refuses_the_batch_before_ray(tmp_path, capsys):
    reqs = tmp_path / "reqs.jsonl"
    reqs.write_text('{"prompt": "fine", "preset": "tiny"}\n{"prompt": "", "preset": "tiny"}\n')
    args = _parser().parse_args(["batch", str(reqs), "--out", str(tmp_path / "out"),
                                 "--ray", "127.0.0.1:1"])
    assert batch(args) == 2
    err = capsys.readouterr().err
    assert "line 2: BAD_PROMPT: The prompt is empty." in err and "Cannot reach" not in err


def test_capacity_is_what_the_scarcest_resource_allows():
    gib = 1024 ** 3
    cpu_job = job_resources(False, 1.5, 1.0)
    assert cpu_job == {"num_cpus": 1.0, "num_gpus": 0.0, "memory": float(int(1.5 * gib))}
    assert capacity({"CPU": 2.0, "memory": 14.0 * gib}, cpu_job) == 2
    assert capacity({"CPU": 8.0, "memory": 4.0 * gib}, cpu_job) == 2  # memory-bound
    gpu_job = job_resources(True, 20.0, 1.0)
    assert capacity({"CPU": 64.0, "GPU": 4.0, "memory": 500.0 * gib}, gpu_job) == 4
    assert capacity({"CPU": 64.0, "memory": 500.0 * gib}, gpu_job) == 0  # no GPU
    assert capacity({"CPU": 64.0, "GPU": 4.0, "memory": 500.0 * gib},
                    job_resources(True, 20.0, 2.0)) == 2


def test_the_batch_folder_must_be_shared_on_a_cluster_of_several_nodes(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/sda1 / ext4 rw 0 0\nserver:/export /mnt/shared nfs4 rw 0 0\n"
                      "tmpfs /tmp tmpfs rw 0 0\n")
    assert filesystem_type(Path("/mnt/shared/batch"), mounts) == "nfs4"
    assert filesystem_type(Path("/mnt/sharedness"), mounts) == "ext4"
    assert filesystem_type(Path("/tmp/x"), mounts) == "tmpfs"
    one, two = [{"Alive": True}], [{"Alive": True}, {"Alive": True}, {"Alive": False}]
    note = storage_note(Path("/tmp/batch"), two)
    assert note is not None and "under a temporary folder" in note and "has 2 nodes" in note
    note = storage_note(Path("/tmp/batch"), one)
    assert note is not None and "fine only while every job runs on this machine" in note
    assert storage_note(Path("/"), one) is not None  # a local disk (or one not read here)


def test_the_progress_bar_counts_and_estimates(tmp_path):
    stream = io.StringIO()  # not a terminal: plain lines when the counts change
    bar = BatchBar(stream, clock=lambda: 0.0)
    bar.show(Counts(total=4, running=2))
    bar.show(Counts(total=4, running=2))  # unchanged: no new line
    bar.job_ended("done    a in 60 s", 60.0)
    bar.show(Counts(total=4, done=1, running=2))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "batch [........................] 0/4: 0 done, 0 failed, 2 running"
    assert lines[1] == "done    a in 60 s"
    assert lines[2].endswith("1/4: 1 done, 0 failed, 2 running ETA 1:30")  # 3 × 60 s / 2
    assert len(lines) == 3
