"""Fuzzing through the real entry points: damaged object meshes through ``run_job``; mutated
requests through ``anchorhoi generate`` and ``anchorhoi serve`` as subprocesses; mutated result
files through the add-on's import operator in a separate Blender (``bpy``) process.

Every input is accepted or answered with a documented error: no traceback reaches the user,
exit codes are the documented ones (2 refused; 3 for the accepted ones, which are cancelled at
once), and nothing outside the job folders changes (a sibling folder is compared byte for
byte, and so are the user's own mesh files)."""

from __future__ import annotations

import json
import os
import random
import shlex
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from anchorhoi.job.errors import Cancelled, JobError
from anchorhoi.job.request import GenerateRequest
from anchorhoi.portable import protocol as P
from anchorhoi.portable import result_v1
from anchorhoi.portable.motion import MotionClip
from tests.helpers.fuzz import ODD_VALUES, mutate, mutated_meshes, snapshot
from tests.helpers.serve_process import ROOT, backend_env

PROMPT = "a person sits down on the box"


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """``(work, outside, before)``: the working folder (the cwd, three levels deep so relative
    job folders like ``../../etc`` stay inside ``tmp_path/a``), a sibling folder that must not
    change, and its snapshot."""
    outside = tmp_path / "outside"
    (outside / "motion").mkdir(parents=True)
    (outside / "motion" / "take1.bvh").write_bytes(os.urandom(256))
    (outside / "result.json").write_text('{"mine": true}\n')
    work = tmp_path / "a" / "b" / "c"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    return work, outside, snapshot(outside)


class _CancelOnAccept:
    """A reporter that cancels the job once it is accepted (the mesh is loaded by then)."""

    def __init__(self):
        self.cancel = threading.Event()
        self.types: list[str] = []

    def emit(self, type_: str, **data) -> bool:
        self.types.append(type_)
        if type_ == "accepted":
            self.cancel.set()
        return True


@pytest.mark.slow
def test_damaged_meshes_through_the_job(sandbox, tmp_path):
    from anchorhoi.job.pipeline import run_job
    from anchorhoi.objects.inside import simplify_for_field
    from anchorhoi.objects.mesh_io import load_object_mesh

    work, outside, before = sandbox
    meshes = mutated_meshes(random.Random(14), tmp_path / "a", 60)
    originals = {p: p.read_bytes() for p in meshes}
    codes: dict[str, int] = {}
    for i, mesh in enumerate(meshes):
        reporter = _CancelOnAccept()
        request = GenerateRequest(prompt=PROMPT, job_dir=work / "jobs" / f"m{i}", object=mesh,
                                  preset="tiny", device="cpu", cache_dir=tmp_path / "cache")
        try:
            run_job(request, reporter, reporter.cancel)
        except Cancelled:  # accepted: the mesh loaded, and the simplifier takes it too
            assert "accepted" in reporter.types
            assert 4 <= len(simplify_for_field(load_object_mesh(mesh), 2000).faces) <= 2000
            codes["accepted"] = codes.get("accepted", 0) + 1
        except JobError as exc:
            assert exc.code == "BAD_MESH" and exc.exit_code == P.EXIT_BAD_REQUEST, \
                (mesh.name, exc.code, exc.message)
            assert "Traceback" not in exc.message and exc.hint
            codes[exc.code] = codes.get(exc.code, 0) + 1
    assert codes.get("BAD_MESH", 0) >= 25 and codes.get("accepted", 0) >= 3, codes
    assert {p: p.read_bytes() for p in meshes} == originals  # the user's files as they were
    assert snapshot(outside) == before


# --- requests through the CLI and serve, as processes ------------------------------------------

def _argv(rng: random.Random, work: Path, mesh: Path) -> list[str]:
    # (an argument cannot hold a NUL: the system refuses it before the backend starts)
    values = [str(v).replace("\x00", "") for v in ODD_VALUES]
    values += ["12", "0", "-3", "nan", "1e400", str(mesh), str(work / "nowhere.obj"), "\u202e",
               "--"]
    args = {"prompt": PROMPT, "--out": str(work / "jobs" / f"g{rng.randrange(5)}"),
            "--preset": "tiny", "--device": "cpu", "--frames": "12", "--fps": "12"}
    for key in rng.sample(["prompt", "--out", "--preset", "--device", "--frames", "--fps",
                           "--seed", "--object", "--image-model", "--smplx-dir"],
                          rng.randint(1, 3)):
        args[key] = rng.choice(values)
    argv = [args.pop("prompt")]
    for key, value in args.items():
        argv += [key, value]
    if rng.random() < 0.1:
        argv.insert(rng.randrange(len(argv) + 1), rng.choice(["--bogus", "-x", "--out"]))
    return argv


def _request_line(rng: random.Random, work: Path, mesh: Path) -> bytes:
    request = {"prompt": PROMPT, "job_dir": str(work / "jobs" / f"s{rng.randrange(5)}"),
               "preset": "tiny", "device": "cpu", "frames": 12, "fps": 12.0,
               "object": str(mesh) if rng.random() < 0.3 else None}
    if rng.random() < 0.5:
        line = mutate(rng, {"type": "generate", "protocol": 1, "request": request})
    else:
        inner = mutate(rng, request)
        try:
            inner_doc = json.loads(inner)
        except (ValueError, RecursionError):
            inner_doc = inner
        line = json.dumps({"type": "generate", "protocol": 1, "request": inner_doc})
    return line.replace("\n", " ").encode("utf-8", "surrogatepass") + b"\n"


def _run_cli(argv: list[str], env: dict, cwd: Path) -> tuple[int, str]:
    proc = subprocess.Popen([sys.executable, "-m", "anchorhoi", "generate", *argv], cwd=cwd,
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=4.0)  # a refusal comes well before this
    except subprocess.TimeoutExpired:  # accepted: the job is running; cancel it
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    return proc.returncode, (out + err).decode("utf-8", "replace")


def _run_serve(line: bytes, env: dict, cwd: Path) -> tuple[int, str]:
    proc = subprocess.Popen([sys.executable, "-m", "anchorhoi", "serve"], cwd=cwd, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    hello = proc.stdout.readline()  # started (a signal before that is the system's to answer)
    proc.stdin.write(line)
    proc.stdin.flush()
    try:
        out, err = proc.communicate(timeout=2.0)
        out = hello + out
    except subprocess.TimeoutExpired:  # accepted (communicate closed stdin: a cancel too)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        out = hello + out
    messages = [P.decode(raw) for raw in out.decode("utf-8").splitlines()]
    assert messages[0].type == "hello" and messages[-1].type in ("error", "cancelled"), messages
    assert sum(m.type in ("result", "error", "cancelled") for m in messages) == 1
    for m in messages:
        if m.type == "error":
            assert m.get("code") in P.ERROR_CODES and m.get("code") != "INTERNAL", m.data
    return proc.returncode, out.decode("utf-8") + err.decode("utf-8", "replace")


@pytest.mark.slow
def test_mutated_requests_through_generate_and_serve_processes(sandbox, tmp_path):
    work, outside, before = sandbox
    rng = random.Random(1414)
    mesh = mutated_meshes(random.Random(3), tmp_path / "a", 17)[0]
    mesh_bytes = mesh.read_bytes()
    env = backend_env(tmp_path / "cache")
    jobs = [("generate", _argv(rng, work, mesh)) for _ in range(100)]
    jobs += [("serve", _request_line(rng, work, mesh)) for _ in range(100)]

    def run(job):
        kind, arg = job
        return kind, arg, *(_run_cli(arg, env, work) if kind == "generate"
                            else _run_serve(arg, env, work))

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(run, jobs))
    seen: dict[int, int] = {}
    for kind, arg, code, text in outcomes:
        shown = shlex.join(arg) if kind == "generate" else arg[:200]
        assert code in (P.EXIT_BAD_REQUEST, P.EXIT_CANCELLED), (kind, shown, code, text[-2000:])
        assert "Traceback" not in text, (kind, shown, text[-2000:])
        seen[code] = seen.get(code, 0) + 1
    assert seen.get(P.EXIT_BAD_REQUEST, 0) > 90 and seen.get(P.EXIT_CANCELLED, 0) >= 5, seen
    assert snapshot(outside) == before and mesh.read_bytes() == mesh_bytes


# --- result files through Blender's import operator --------------------------------------------

IMPORTER = textwrap.dedent("""
    import json, sys, traceback
    import bpy
    sys.path.insert(0, {tests!r})
    from helpers.blender_scene import snapshot
    bpy.ops.extensions.package_install_files(filepath={zip!r}, repo="user_default",
                                             enable_on_install=True)
    outcomes = []
    for path in json.loads(open({listing!r}).read()):
        bpy.ops.wm.read_homefile(use_empty=True)
        bpy.ops.mesh.primitive_cube_add()
        before = snapshot(bpy)
        try:
            bpy.ops.anchorhoi.import_motion(filepath=path)
            outcomes.append(["imported", ""])
        except RuntimeError as exc:  # the operator's error report
            same = snapshot(bpy) == before
            outcomes.append(["refused" if same else "changed", str(exc)])
        except BaseException:
            outcomes.append(["crashed", traceback.format_exc()])
    print("OUTCOMES " + json.dumps(outcomes))
""")


@pytest.mark.slow
@pytest.mark.blender
def test_mutated_results_through_the_blender_importer(tmp_path, extension_zip):
    from anchorhoi.body import BodyModel, BodyModelConfig
    from tests.helpers.motions import make_motion, make_object

    body = BodyModel(BodyModelConfig())
    motion = make_motion(6, seed=1)
    good = tmp_path / "good"
    result_v1.write_result(good, MotionClip(motion=motion, rig=body.rig(motion.betas),
                                            obj=make_object(6)))
    doc = json.loads((good / "result.json").read_text())
    doc["object"]["to_user"] = np.eye(4).tolist()
    npz = (good / "motion.npz").read_bytes()
    rng = random.Random(4114)
    paths = []
    for i in range(160):
        folder = tmp_path / "results" / f"r{i}"
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(mutate(rng, doc) if i % 4 else json.dumps(doc))
        data = bytearray(npz)
        if i % 4 == 1:
            data = data[:rng.randrange(len(data))]
        elif i % 4 == 2:
            for _ in range(rng.randint(1, 30)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        (folder / "motion.npz").write_bytes(bytes(data))
        paths.append(str(folder / ("motion.npz" if i % 8 == 3 else "result.json")))
    listing = tmp_path / "paths.json"
    listing.write_text(json.dumps(paths))
    outside = tmp_path / "results"
    before = snapshot(outside)
    script = IMPORTER.format(tests=str(ROOT / "tests"), zip=str(extension_zip),
                             listing=str(listing))
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "user"),
               PYTHONPATH=str(ROOT / "backend"))
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("OUTCOMES "))
    outcomes = json.loads(line[len("OUTCOMES "):])
    kinds = [k for k, _ in outcomes]
    assert len(outcomes) == len(paths) and "crashed" not in kinds and "changed" not in kinds, \
        [o for o in outcomes if o[0] in ("crashed", "changed")][:3]
    assert all("Traceback" not in text for _, text in outcomes)
    assert kinds.count("refused") > 60 and kinds.count("imported") > 20, kinds
    assert snapshot(outside) == before  # reading a result never writes beside it
    assert time.monotonic() - t0 < 300
