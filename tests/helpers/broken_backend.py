"""Test-only stand-ins for a misbehaving backend (stdlib only): how the add-on copes with one.

    python broken_backend.py MODE [ignored args such as -m anchorhoi serve]

Modes:
    garbage_only   prints non-protocol lines and exits 1 (a wrong interpreter, a crash banner)
    mismatch       a hello with protocol 99, then waits for stdin to close
    garbage_mixed  a proper run with garbage lines in between; the result is a copy of the
                   folder named by $FAKE_RESULT_TEMPLATE
    sigkill        starts a stage, sends progress, then SIGKILLs itself
    silent         prints nothing and sleeps (hello time-out)
    ignore_cancel  runs a stage forever and ignores cancel (escalation to SIGTERM)
    error          answers the request with a BAD_MESH error and exit code 2
    honours_cancel runs a stage until a cancel line, then 'cancelled' and exit code 3
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path


def fake_interpreter(folder: Path, mode: str) -> Path:
    """An executable that the add-on can use as its 'backend interpreter': it ignores the
    ``-m anchorhoi serve`` arguments and runs this script in ``mode``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"python-{mode}"
    script = Path(__file__).resolve()
    path.write_text(f"#!/bin/sh\nexec {sys.executable!s} {script!s} {mode} \"$@\"\n")
    path.chmod(0o755)
    return path


def send(type_, **data):
    sys.stdout.write(json.dumps({"type": type_, **data}) + "\n")
    sys.stdout.flush()


def garbage(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def read_request():
    line = sys.stdin.readline()
    msg = json.loads(line)
    assert msg["type"] == "generate", msg
    return msg["request"]


def main(mode: str) -> int:
    if mode == "garbage_only":
        garbage("Traceback? no: this is not the anchorhoi backend")
        garbage("{not json")
        garbage('{"json": "but no type"}')
        return 1
    if mode == "silent":
        time.sleep(60)
        return 0
    if mode == "mismatch":
        send("hello", protocol=99, backend="9.9.9", pid=os.getpid())
        sys.stdin.read()
        return 2
    garbage("Loading weights... (a library printing to stdout)")
    send("hello", protocol=1, backend="test", pid=os.getpid())
    request = read_request()
    job = Path(request["job_dir"])
    stages = ["anchor_nerf", "fit", "video", "keypoints", "motion"]
    send("accepted", job=str(job), stages=stages, resumed=[], notes=["a note from the backend"],
         object_prompt=None if request.get("object") else "a wooden crate")
    if mode == "error":
        send("error", code="BAD_MESH", message="the object mesh has no faces",
             hint="pick a mesh object with faces", log=None)
        return 2
    send("stage", stage="anchor_nerf", index=0, count=5, label="Anchor NeRF")
    if mode == "sigkill":
        for step in range(3):
            send("progress", stage="anchor_nerf", step=step, total=100, eta_s=10.0, losses={})
            time.sleep(0.05)
        sys.stderr.write("about to be killed\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "ignore_cancel":
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for step in range(10**6):
            send("progress", stage="anchor_nerf", step=step, total=10**6, eta_s=None, losses={})
            time.sleep(0.05)
    if mode == "honours_cancel":
        import threading

        cancel = threading.Event()
        threading.Thread(target=lambda: (sys.stdin.readline(), cancel.set()), daemon=True).start()
        (job / "anchor").mkdir()
        step = 0
        while not cancel.is_set():
            send("progress", stage="anchor_nerf", step=step, total=10**6, eta_s=None, losses={})
            step += 1
            time.sleep(0.05)
        send("cancelled", job=str(job))
        return 3
    if mode == "garbage_mixed":
        garbage("step 1 of something")
        for i, stage in enumerate(stages):
            send("stage", stage=stage, index=i, count=5, label=stage.title())
            garbage(f"{stage}: a stray print")
            send("progress", stage=stage, step=1, total=1, eta_s=0.0, losses={"sds": 0.5})
        template = Path(os.environ["FAKE_RESULT_TEMPLATE"])
        for f in template.iterdir():
            shutil.copy(f, job / f.name)
        send("result", job=str(job), result=str(job / "result.json"), timings={})
        return 0
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
