"""``anchorhoi batch REQUESTS --out DIR``: many requests, one job folder each, run over Ray.

Order: read and validate every request (nothing written on a refusal) → try the ``--ray``
address (seconds) → load the job stack, skip the jobs whose folders hold their result, size
each job's ask → start or join Ray → run (``batch/runner.py``) with a progress bar on stderr,
``DIR/batch.json``, ``batch.csv`` and ``contact_sheet.png`` kept current.

Exit code: 0 when every job has its result; 3 after a cancel (Ctrl-C or SIGTERM: running jobs
stop at their next step and keep their finished stages; the same command resumes); else 1 when
a job crashed, 2 when jobs could not run as asked — the failed jobs are named on stderr.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from ..batch.cluster import RaySettings, capacity, check_reachable, import_ray, ray_session
from ..batch.progress import BatchBar, Counts
from ..batch.requests import BatchDefaults, read_requests
from ..job.errors import JobError
from ..portable.protocol import EXIT_BAD_REQUEST, EXIT_CANCELLED, EXIT_CRASH, EXIT_OK
from .cancelling import relayed_signals

log = logging.getLogger(__name__)

SHOWN_FAILURES = 10
"""Failed jobs named one by one at the end (then "and N more")."""


def add_parser(sub: Any) -> None:
    """The ``batch`` sub-command's arguments."""
    b = sub.add_parser("batch", help="run many requests (JSON lines or CSV) over Ray, one job "
                       "folder each")
    b.add_argument("requests", type=Path, metavar="REQUESTS",
                   help="a .jsonl file (one JSON object a line) or a .csv file with a header: "
                   "prompt, object, preset, seed, frames, fps, image_model, video_model, id")
    b.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="the batch folder: DIR/<id> per job, DIR/batch.json, batch.csv, "
                   "contact_sheet.png; run again to resume")
    b.add_argument("--max-parallel", type=int, metavar="N",
                   help="jobs at once (default: as many as the machine's or cluster's CPUs, "
                   "GPUs and memory hold)")
    b.add_argument("--ray", metavar="ADDRESS",
                   help="join a running Ray cluster (host:port or auto) instead of starting "
                   "Ray on this machine; DIR must be shared storage")
    b.add_argument("--gpus-per-job", type=float, default=1.0, metavar="G",
                   help="GPUs each job of a GPU preset asks for (default: 1)")
    b.add_argument("--retries", type=int, default=2, metavar="R",
                   help="times a crashed job, or one whose worker was lost, is started again "
                   "(default: 2)")
    b.add_argument("--device", default="auto", choices=("auto", "cuda", "cpu"))
    b.add_argument("--smplx-dir", type=Path, help="folder with the official SMPL-X .npz files "
                   "(the same path on every node)")
    b.add_argument("--cache-dir", type=Path, help="model cache folder (the same path on every "
                   "node)")


def batch(args: Any) -> int:
    """Run the command; returns the exit code."""
    bar = BatchBar(sys.stderr)
    try:
        return _batch(args, bar)
    except JobError as err:
        bar.close()
        sys.stderr.write(f"error {err.code}: {err.message}\n  hint: {err.hint}\n")
        return err.exit_code
    except KeyboardInterrupt:  # before the jobs started (Ray starting, the job stack loading)
        bar.close()
        sys.stderr.write("aborted before any job started\n")
        return EXIT_CANCELLED


def _batch(args: Any, bar: BatchBar) -> int:
    if args.max_parallel is not None and args.max_parallel < 1:
        raise JobError("BAD_REQUEST", f"--max-parallel must be at least 1, got "
                       f"{args.max_parallel}.")
    if args.retries < 0 or args.gpus_per_job < 0:
        raise JobError("BAD_REQUEST", "--retries and --gpus-per-job cannot be negative.")
    out_dir = Path(args.out).expanduser().absolute()
    jobs = read_requests(args.requests, out_dir, BatchDefaults(
        device=args.device, smplx_dir=args.smplx_dir, cache_dir=args.cache_dir))
    settings = RaySettings(address=args.ray)
    import_ray()  # says how to install it, before anything loads
    if settings.address is not None:
        check_reachable(settings.address)
    from ..batch.plan import job_ask
    from ..batch.runner import BatchRun, JobState, RunnerOptions
    from ..batch.summary import Summary
    from ..job.pipeline import is_finished

    states = [JobState(job=job, ask=job_ask(job.request, args.gpus_per_job)) for job in jobs]
    earlier = _earlier_attempts(out_dir)
    for state in states:
        if is_finished(state.job.request):  # its record keeps the starts it took then
            state.status, state.attempts = "done", earlier.get(state.job.id, 0)
    skipped = sum(s.status == "done" for s in states)
    if skipped:
        bar.note(f"{skipped} of {len(states)} jobs already hold their result: skipped")
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = Summary(out_dir, states)
    summary.write()
    if skipped == len(states):
        return _finish(states, bar, out_dir, cancelled=False)
    cancel = threading.Event()
    presses: list[int] = []  # not cancel.is_set(): the signal relay sets it at the first one

    def on_sigint(*_: Any) -> None:
        presses.append(1)
        if len(presses) > 1:
            raise KeyboardInterrupt
        cancel.set()
        bar.note("stopping the running jobs at their next step (Ctrl-C again to abort now)")

    with ray_session(settings) as ray:
        _storage_warning(ray, settings, out_dir, bar)
        ask = min((s.ask for s in states if s.status == "pending"),
                  key=lambda a: (a["num_gpus"], a["memory"]))
        fits = capacity(ray.cluster_resources(), ask)
        if fits < 1 and args.max_parallel is None:
            raise JobError("NO_GPU", f"The Ray cluster cannot hold one job: each asks for "
                           f"{_ask(ask)} and the cluster has "
                           f"{_ask_total(ray.cluster_resources())}.",
                           "Add GPU workers to the cluster, lower --gpus-per-job, or use the "
                           "'tiny' preset on CPUs.")
        options = RunnerOptions(max_parallel=args.max_parallel or fits, retries=args.retries)
        bar.note(f"batch: {len(states) - skipped} job(s) to run, "
                 f"{min(options.max_parallel, len(states) - skipped)} at once, "
                 f"on {'Ray on this machine' if settings.address is None else settings.address}")

        def tick() -> None:
            bar.show(_counts(states))

        def changed(state: JobState) -> None:
            summary.on_change(state)
            _announce(state, bar)
            tick()

        run = BatchRun(ray, states, options, on_change=changed, on_tick=tick)
        try:
            with relayed_signals(cancel, {signal.SIGINT: on_sigint,
                                          signal.SIGTERM: lambda *_: cancel.set()}):
                run.run(cancel)
        except KeyboardInterrupt:
            bar.note("aborted: the running jobs are ended now (their finished stages stay)")
            cancel.set()
            run.abort()
        summary.write()
    return _finish(states, bar, out_dir, cancelled=cancel.is_set())


def _earlier_attempts(out_dir: Path) -> dict[str, int]:
    """Each job's attempts in the batch folder's summary of an earlier run (none: empty)."""
    from ..batch.records import read_summary

    try:
        return {r.id: r.attempts for r in read_summary(out_dir)}
    except (OSError, ValueError):
        return {}


def _counts(states: list[Any]) -> Counts:
    by = [s.status for s in states]
    return Counts(total=len(states), done=by.count("done"), failed=by.count("failed"),
                  running=by.count("running"), cancelled=by.count("cancelled"))


def _announce(state: Any, bar: BatchBar) -> None:
    job = state.job
    if state.status == "done":
        resumed = state.answers[-1].resumed if state.answers else []
        bar.job_ended(f"done    {job.id} in {state.seconds:.0f} s (attempt {state.attempts}"
                      + (f", resumed after {', '.join(resumed)}" if resumed else "") + ")",
                      state.seconds)
    elif state.status == "failed" and state.error:
        bar.job_ended(f"failed  {job.id} (line {job.line}): {state.error[0]}: {state.error[1]}")
    elif state.status == "cancelled":
        bar.job_ended(f"cancelled {job.id}: finished stages kept")
    elif state.status == "pending" and state.attempts:
        lost = state.lost[-1] if state.lost else (state.answers[-1].message if state.answers
                                                  else "")
        bar.note(f"retry   {job.id} (attempt {state.attempts} ended: {lost})")


def _finish(states: list[Any], bar: BatchBar, out_dir: Path, *, cancelled: bool) -> int:
    bar.show(_counts(states), force=True)
    bar.close()
    failed = [s for s in states if s.status == "failed"]
    done = sum(s.status == "done" for s in states)
    left = len(states) - done - len(failed)
    lines = [f"{done} of {len(states)} jobs done, {len(failed)} failed"
             + (f", {left} not finished" if left else "") + f"; summary: {out_dir / 'batch.json'}"]
    for s in failed[:SHOWN_FAILURES]:
        lines.append(f"  failed {s.job.id} (line {s.job.line}): {s.error[0]}: {s.error[1]}")
    if len(failed) > SHOWN_FAILURES:
        lines.append(f"  … and {len(failed) - SHOWN_FAILURES} more (batch.csv lists them)")
    if cancelled:
        lines.append("cancelled: run the same command again to resume the rest")
    sys.stderr.write("\n".join(lines) + "\n")
    if cancelled:
        return EXIT_CANCELLED
    if failed:
        return EXIT_CRASH if any(s.exit_code == EXIT_CRASH for s in failed) else EXIT_BAD_REQUEST
    return EXIT_OK


def _storage_warning(ray: Any, settings: RaySettings, out_dir: Path, bar: BatchBar) -> None:
    if settings.address is None:
        return
    from ..batch.cluster import storage_note

    note = storage_note(out_dir, ray.nodes())
    if note:
        bar.note(f"warning: {note}")


def _ask(ask: dict[str, float]) -> str:
    return (f"{ask['num_cpus']:g} CPU, {ask['num_gpus']:g} GPU, "
            f"{ask['memory'] / 1024 ** 3:.1f} GiB")


def _ask_total(total: dict[str, float]) -> str:
    return (f"{total.get('CPU', 0):g} CPU, {total.get('GPU', 0):g} GPU, "
            f"{total.get('memory', 0) / 1024 ** 3:.1f} GiB")

