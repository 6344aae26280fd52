"""``anchorhoi batch`` on a real local Ray (one start for the module), tiny jobs on the CPU.

One batch of three requests — a broken mesh, and two good ones, one of whose workers is killed
with SIGKILL right after its first stage finished — then the same command again, then a batch
cancelled with SIGINT. The command runs in this process (its Ray connection is the module's);
the workers are Ray's processes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from anchorhoi.cli.batch import batch
from anchorhoi.cli.main import _parser
from anchorhoi.portable.batch_summary import read_batch_json

pytestmark = pytest.mark.slow

pytest.importorskip("mediapipe")
pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parents[2]
FRAMES = 6
TINY = {"preset": "tiny", "frames": FRAMES, "fps": 6}


@pytest.fixture(scope="module")
def ray_here():
    """A Ray instance on the loopback, its session in a short private folder."""
    saved = os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # before ray is imported
    import ray

    temp = tempfile.mkdtemp(prefix="ahb", dir="/tmp")
    ray.init(include_dashboard=False, num_cpus=2, _node_ip_address="127.0.0.1",
             log_to_driver=False, logging_level="WARNING", _temp_dir=temp)
    try:
        yield ray
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
        if saved is None:
            os.environ.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
        else:
            os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = saved


def _command(reqs: Path, out: Path, cache: Path, *extra: str) -> int:
    args = _parser().parse_args(["batch", str(reqs), "--out", str(out), "--cache-dir",
                                 str(cache), "--device", "cpu", *extra])
    return batch(args)


def _kill_after_first_stage(job: Path, killed: list) -> None:
    """SIGKILL the process running ``job`` as soon as its anchor stage is complete."""
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        try:
            stages = json.loads((job / "state.json").read_text())["stages"]
        except (OSError, ValueError, KeyError):
            stages = {}
        if "anchor" in stages:
            pid = json.loads((job / ".lock").read_text())["pid"]
            if pid != os.getpid():
                os.kill(pid, signal.SIGKILL)
                killed.append((pid, sorted(stages)))
            return
        time.sleep(0.05)


@pytest.fixture(scope="module")
def first_batch(ray_here, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch")
    (tmp / "broken.obj").write_text("v 0 0 0\nv 1 0 0\nnot a mesh at all\n")
    reqs = tmp / "reqs.jsonl"
    reqs.write_text("\n".join(json.dumps(r) for r in [
        {"prompt": "a person lifts the crate", "object": "broken.obj", "id": "broken", **TINY},
        {"prompt": "a person sits on the box", "id": "sit", **TINY},
        {"prompt": "a person pushes the box", "seed": 1, **TINY}]) + "\n")
    out, cache = tmp / "out", tmp / "cache"
    killed: list = []
    killer = threading.Thread(target=_kill_after_first_stage, args=(out / "sit", killed),
                              daemon=True)
    killer.start()
    code = _command(reqs, out, cache)
    killer.join(timeout=1)
    return tmp, reqs, out, cache, code, killed


def _jobs(out: Path) -> dict[str, dict]:
    return {j["id"]: j for j in read_batch_json(out / "batch.json")}


def test_two_results_and_one_bad_mesh_record_and_a_non_zero_exit(first_batch):
    _tmp, _reqs, out, _cache, code, _killed = first_batch
    assert code == 2  # a request that cannot run (not a crash)
    jobs = _jobs(out)
    assert set(jobs) == {"broken", "sit", "003-a-person-pushes-the-box"}
    broken = jobs["broken"]
    assert (broken["status"], broken["error_code"], broken["attempts"]) == ("failed",
                                                                            "BAD_MESH", 1)
    assert "broken.obj" in broken["error_message"]
    for name in ("sit", "003-a-person-pushes-the-box"):
        job = jobs[name]
        assert job["status"] == "done" and job["error_code"] is None
        assert set(job["stage_seconds"]) == {"anchor", "video", "keypoints", "motion"}
        assert job["peak_rss_mb"] > 100
        assert job["quality"]["frames"] == FRAMES
        assert (out / name / "result.json").is_file()
    assert (out / "batch.csv").read_text().count("\n") == 4
    assert (out / "contact_sheet.png").stat().st_size > 1000


def test_a_killed_worker_is_retried_and_resumes_after_its_finished_stages(first_batch):
    _tmp, _reqs, out, _cache, _code, killed = first_batch
    assert len(killed) == 1
    pid, done_when_killed = killed[0]
    assert "anchor" in done_when_killed and "motion" not in done_when_killed
    sit = _jobs(out)["sit"]
    assert sit["status"] == "done" and sit["attempts"] == 2
    timings = json.loads((out / "sit" / "result.json").read_text())["timings"]
    assert timings["anchor"]["resumed"] is True  # not recomputed by the second attempt
    assert "resumed" not in timings["motion"]
    assert set(sit["resumed_stages"]) == set(done_when_killed)
    assert json.loads((out / "sit" / ".lock").read_text())["pid"] != pid
    assert "anchor" in sit["stage_seconds"]


def test_the_same_command_again_recomputes_nothing(first_batch, ray_here):
    """Run as a separate driver that joins the module's Ray with ``--ray ADDRESS``."""
    _tmp, reqs, out, cache, _code, _killed = first_batch
    address = ray_here.get_runtime_context().gcs_address
    before = {p: p.stat().st_mtime_ns for p in out.glob("*/*.json")}
    env = dict(os.environ, PYTHONPATH=str(ROOT / "backend"), HF_HUB_OFFLINE="1",
               OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "anchorhoi", "batch", str(reqs), "--out",
                           str(out), "--cache-dir", str(cache), "--device", "cpu", "--ray",
                           address], capture_output=True, text=True, timeout=900, env=env)
    err = proc.stderr
    assert proc.returncode == 2, err
    assert "2 of 3 jobs already hold their result: skipped" in err
    assert f"1 job(s) to run, 1 at once, on {address}" in err
    assert f"warning: the batch folder {out} is " in err  # a temporary or local folder
    assert "failed broken (line 1): BAD_MESH" in err  # named at the end
    after = {p: p.stat().st_mtime_ns for p in out.glob("*/*.json")}
    unchanged = [p for p in before if p.parent.name != "broken"]
    assert unchanged and all(after[p] == before[p] for p in unchanged)
    jobs = _jobs(out)
    assert jobs["sit"]["status"] == "done" and jobs["broken"]["error_code"] == "BAD_MESH"
    assert jobs["sit"]["attempts"] == 2  # the starts it took, carried from the first run


def _interrupt_when_started(job: Path) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if (job / "request.json").is_file():
            os.kill(os.getpid(), signal.SIGINT)
            return
        time.sleep(0.05)


def test_ctrl_c_stops_the_running_job_and_keeps_the_rest_pending(first_batch, capsys):
    """The running job stops at its next step, or is ended by Ray when a long step (a model
    loading on a busy machine) outlasts the grace time; either way it is ``cancelled``."""
    tmp, _reqs, _out, cache, _code, _killed = first_batch
    reqs = tmp / "two.jsonl"
    reqs.write_text("\n".join(json.dumps({"prompt": p, "id": i, **TINY})
                              for p, i in [("a person waves at the box", "wave"),
                                           ("a person jumps onto the box", "jump")]) + "\n")
    out = tmp / "cancelled"
    threading.Thread(target=_interrupt_when_started, args=(out / "wave",), daemon=True).start()
    code = _command(reqs, out, cache, "--max-parallel", "1")
    err = capsys.readouterr().err
    assert code == 3 and "run the same command again to resume" in err
    jobs = _jobs(out)
    assert jobs["wave"]["status"] == "cancelled" and jobs["jump"]["status"] == "pending"
    assert not (out / "wave" / "result.json").exists()
    assert (out / "wave" / "request.json").is_file()  # its folder stays, to resume
    assert not (out / "jump").exists()
