"""A cancel is answered within about 2 s at every point of a job holding a 1 M-face object —
the set-up (mesh read, models, torch's import) and each stage, the 4D motion included — by
``serve`` on a protocol ``cancel`` line and by ``generate`` on SIGTERM: the ``cancelled``
answer comes, the exit code is 3, and the finished stages are kept (the next run resumes
after them). Before, the object's simplification (≈10 s for 1 M faces) and the distance grid
ran without a cancel check, and ``generate`` died on SIGTERM without an answer.

The real latencies are measured by ``bench/big_mesh.py``; the bound here is generous for a
loaded machine."""

from __future__ import annotations

import json
import signal
import threading

import pytest

from anchorhoi.oracles.fine_mesh import write_fine_box
from anchorhoi.portable import protocol as P
from tests.helpers.cancel_runs import POINTS, cancel_everywhere

ANSWER_BOUND_S = 4.0
"""The issue's 2 s plus room for a loaded 2-core machine (the bench reports the real figure)."""


@pytest.fixture(scope="module")
def big_mesh(tmp_path_factory):
    return write_fine_box(tmp_path_factory.mktemp("mesh") / "box_1m.ply", 1_000_000)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["serve", "generate"])
def test_a_cancel_is_answered_within_the_bound_everywhere(mode, big_mesh, tmp_path):
    job = tmp_path / "job"
    timings = cancel_everywhere(mode, job, big_mesh, tmp_path / "cache")
    assert [t.point for t in timings] == list(POINTS)
    for t in timings:
        assert t.exit_code == P.EXIT_CANCELLED, (t.point, t.output)
        assert t.answer_s < ANSWER_BOUND_S and t.exit_s < ANSWER_BOUND_S + 1.0, t
        assert "Traceback" not in t.output
    # each run finished the stage before the one it was cancelled in, and kept it
    stages = json.loads((job / "state.json").read_text())["stages"]
    assert set(stages) >= {"anchor", "video", "keypoints"} and "motion" not in stages
    assert not (job / "result.json").exists()


def test_a_signal_reaches_cancel_while_the_main_thread_is_in_a_long_call():
    """Python runs signal handlers between bytecodes of the main thread only; the relay sets
    ``cancel`` while the main thread is still inside one long C call (a sort releasing the
    GIL, as the mesh reading and the model loads do)."""
    import os
    import time

    import numpy as np

    from anchorhoi.cli.cancelling import relayed_signals

    cancel, seen_at = threading.Event(), []
    threading.Thread(target=lambda: seen_at.append(cancel.wait(30) and time.monotonic()),
                     daemon=True).start()
    values = np.random.default_rng(0).random(20_000_000)
    with relayed_signals(cancel, {signal.SIGUSR1: lambda *_: None}):
        threading.Timer(0.1, os.kill, args=(os.getpid(), signal.SIGUSR1)).start()
        np.sort(values)  # ≈ 2 s in C; the Python handler runs only after it
        sorted_at = time.monotonic()
        time.sleep(0.2)
    assert seen_at and seen_at[0] < sorted_at
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL  # restored after the block


def test_a_cancel_during_the_set_up_is_answered_by_the_thread_that_saw_it(monkeypatch):
    """During the set-up (no stage begun) the cancel is answered at once in the thread that sets
    it — no watchdog thread, no grace; once a stage
    runs, the job gets the grace time to stop at a step boundary."""
    import io

    from anchorhoi.cli import cancelling as S
    from anchorhoi.job.reporting import ProtocolReporter

    exits: list[tuple[int, str]] = []
    monkeypatch.setattr(S.os, "_exit", lambda code: exits.append(
        (code, threading.current_thread().name)))
    monkeypatch.setattr(S, "CANCEL_GRACE_S", 30.0)  # the set-up must not wait for it
    out, cancel = io.StringIO(), S.CancelRequest()
    watched = S.Watchdog(cancel, ProtocolReporter(out), "/j").start()
    watched.emit("accepted", job="/j", stages=[], resumed=[], device="cpu", notes=[])
    relay = threading.Thread(target=cancel.set, name="relay")
    relay.start()
    relay.join()
    assert exits[0] == (P.EXIT_CANCELLED, "relay") and cancel.set_at is not None
    assert [json.loads(line) for line in out.getvalue().splitlines()][-1] == {
        "type": "cancelled", "job": "/j", "forced": True}
    exits.clear()  # in a stage: nothing at once, the job answers within the grace itself
    out, cancel = io.StringIO(), S.CancelRequest()
    watched = S.Watchdog(cancel, ProtocolReporter(out), "/j").start()
    watched.emit("stage", stage="anchor", index=0, count=4, label="x")
    cancel.set()
    assert exits == [] and not watched.closed
    watched.emit("cancelled", job="/j")
    assert exits == [] and watched.closed


def test_sigterm_before_the_request_ends_serve_with_cancelled(tmp_path):
    from tests.helpers.serve_process import Serve

    serve = Serve(tmp_path / "cache", tmp_path / "stderr.txt")
    assert serve.next(timeout=60).type == "hello"
    serve.proc.send_signal(signal.SIGTERM)  # while it waits for a request on stdin
    end = serve.next(timeout=10)
    assert end is not None and end.type == "cancelled" and end.get("job") is None
    assert serve.next(timeout=10) is None and serve.wait(10) == P.EXIT_CANCELLED


def test_one_ctrl_c_cancels_and_a_second_aborts_whoever_saw_the_first():
    """The signal relay may set ``cancel`` for a first Ctrl-C before Python runs the SIGINT
    handler: that first Ctrl-C must still cancel at the next step, not abort."""
    from anchorhoi.cli.cancelling import CancelRequest
    from anchorhoi.cli.generate import CtrlC

    for relay_first in (True, False):
        cancel = CancelRequest()
        on_sigint = CtrlC(cancel)
        if relay_first:
            cancel.set()
        on_sigint(signal.SIGINT, None)
        assert cancel.is_set()
        with pytest.raises(KeyboardInterrupt):
            on_sigint(signal.SIGINT, None)
