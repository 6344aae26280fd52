"""``anchorhoi generate``: one job in the terminal, with a progress bar on stderr.

Ctrl-C or SIGTERM stops at once during the set-up, else at the next step boundary or
``CANCEL_GRACE_S`` after it where a step is longer (``cancelling.py``): exit code 3, finished
stages stay in the job folder and the same command resumes after them; a second Ctrl-C aborts
at once. Errors print their code, message and hint — the traceback goes to the job's
``log.txt`` only.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from ..job.errors import Cancelled, classify
from ..job.ownership import accept_before_loading
from ..job.reporting import TerminalReporter
from ..job.request import GenerateRequest
from ..portable.protocol import EXIT_CANCELLED, EXIT_OK
from .cancelling import CancelRequest, Watchdog, relayed_signals


def default_job_dir() -> Path:
    return Path.cwd() / "anchorhoi-jobs" / time.strftime("%Y%m%d-%H%M%S")


def request_from_args(args) -> GenerateRequest:
    models = {k: v for k, v in (("image", args.image_model), ("video", args.video_model),
                                ("detector", args.detector)) if v}
    return GenerateRequest(prompt=args.prompt, job_dir=args.out or default_job_dir(),
                           object=args.object, object_name=args.object_name,
                           object_prompt=args.object_prompt,
                           preset=args.preset, frames=args.frames, fps=args.fps,
                           seed=args.seed, device=args.device, models=models,
                           smplx_dir=args.smplx_dir, cache_dir=args.cache_dir)


class CtrlC:
    """The SIGINT handler: the first Ctrl-C cancels (at the next step), the second aborts.

    It counts its own calls: the signal relay may already have set ``cancel`` for this same
    first Ctrl-C before Python runs the handler, so ``cancel.is_set()`` cannot tell a first
    Ctrl-C from a second (it made a single Ctrl-C abort whenever the relay won)."""

    def __init__(self, cancel: CancelRequest):
        self.cancel = cancel
        self.presses = 0

    def __call__(self, *_) -> None:
        self.presses += 1
        if self.presses > 1:
            raise KeyboardInterrupt
        self.cancel.set()
        sys.stderr.write("\nstopping at the next step (Ctrl-C again to abort now)\n")


def run_in_terminal(request: GenerateRequest, reporter: TerminalReporter | None = None) -> int:
    """Run ``request`` with a terminal reporter and Ctrl-C or SIGTERM as cancel (call from the
    main thread); returns the exit code."""
    reporter = reporter or TerminalReporter(sys.stderr)
    cancel = CancelRequest()
    on_sigint = CtrlC(cancel)

    try:
        with relayed_signals(cancel, {signal.SIGINT: on_sigint,
                                      signal.SIGTERM: lambda *_: cancel.set()}):
            accept_before_loading(request)  # a refusal answers at once, before torch is imported
            watched = Watchdog(cancel, reporter, request.job_dir).start()
            from ..job.pipeline import run_job

            outcome = run_job(request, watched, cancel)
    except Cancelled:
        reporter.emit("cancelled", job=str(request.job_dir))
        return EXIT_CANCELLED
    except KeyboardInterrupt:
        sys.stderr.write("aborted\n")
        return EXIT_CANCELLED
    except BaseException as exc:
        err = classify(exc)
        log = Path(request.job_dir) / "log.txt"
        # the hint names a log only where there is one (a refused folder has none)
        shown = str(log) if log.is_file() and not log.is_symlink() else None
        reporter.emit("error", code=err.code, message=err.message, hint=err.hint,
                      log=shown)
        return err.exit_code
    total = sum(t.get("seconds", 0.0) for t in outcome.timings.values())
    reporter.emit("result", job=str(request.job_dir), result=str(outcome.result_json),
                  timings=outcome.timings)
    sys.stderr.write(f"{len(outcome.timings)} stages in {total:.1f} s"
                     + (f" (resumed after {', '.join(outcome.resumed)})" if outcome.resumed
                        else "") + "\n")
    return EXIT_OK


def generate(args) -> int:
    return run_in_terminal(request_from_args(args))
