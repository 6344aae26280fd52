"""``anchorhoi serve``: one job over the process protocol (``portable/protocol.py``).

stdout is the protocol's alone: the original stdout descriptor is kept for protocol lines and
descriptor 1 is pointed at stderr, so whatever a library prints (Python or C) cannot corrupt it.
A ``cancel`` line, SIGTERM/SIGINT, or the end of stdin (the add-on went away) stop the job at
once during the set-up, else at the next step boundary or ``CANCEL_GRACE_S`` after the cancel
where a step is longer (``cancelling.py``).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

from .. import __version__
from ..job.errors import Cancelled, JobError
from ..job.reporting import ProtocolReporter
from ..portable.protocol import (
    EXIT_BAD_REQUEST,
    EXIT_CANCELLED,
    EXIT_CRASH,
    EXIT_OK,
    MAX_LINE_CHARS,
    PROTOCOL_VERSION,
    ProtocolError,
    decode,
)
from .cancelling import CancelRequest, Watchdog, relayed_signals

log = logging.getLogger(__name__)

def _protocol_stream():
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, "w", encoding="utf-8", buffering=1)


def serve(stdin=None) -> int:
    """Serve one job (call from the main thread); returns the exit code. SIGTERM/SIGINT are
    taken as a cancel from the start: before the request, the job stops at its first check."""
    stdin = stdin or sys.stdin
    reporter = ProtocolReporter(_protocol_stream())
    cancel = CancelRequest()
    waiting = [True]  # for the request: a signal then ends the wait at once

    def on_signal(*_):
        cancel.set()
        if waiting[0]:
            raise Cancelled()

    with relayed_signals(cancel, dict.fromkeys((signal.SIGTERM, signal.SIGINT), on_signal)):
        try:
            return _serve(stdin, reporter, cancel, waiting)
        except Cancelled:  # before any request: there is no job
            reporter.emit("cancelled", job=None)
            return EXIT_CANCELLED


def _serve(stdin, reporter: ProtocolReporter, cancel: threading.Event, waiting: list[bool]
           ) -> int:
    reporter.emit("hello", protocol=PROTOCOL_VERSION, backend=__version__, pid=os.getpid())
    try:
        line = read_line(stdin)
        waiting[0] = False
        if line is None:
            log.error("stdin closed before a generate request")
            return EXIT_BAD_REQUEST
        msg = decode(line)
        if msg.type != "generate":
            raise ProtocolError(f"expected a generate request, got {msg.type!r}")
    except ProtocolError as exc:
        _error(reporter, JobError("BAD_REQUEST", str(exc)), None)
        return EXIT_BAD_REQUEST
    if msg.get("protocol") != PROTOCOL_VERSION:
        _error(reporter, JobError("PROTOCOL_MISMATCH", f"The add-on speaks protocol "
                                  f"{msg.get('protocol')!r}, this backend {PROTOCOL_VERSION}."),
               None)
        return EXIT_BAD_REQUEST
    from ..job.ownership import accept_before_loading
    from ..job.request import request_from_json

    try:  # every refusal that needs no model comes before torch is imported
        request = accept_before_loading(request_from_json(msg.get("request")))
    except JobError as exc:
        _error(reporter, exc, None)
        return exc.exit_code

    threading.Thread(target=_read_commands, args=(stdin, cancel), daemon=True).start()
    watched = Watchdog(cancel, reporter, request.job_dir).start()
    try:
        from ..job.pipeline import run_job  # seconds (torch): the watchdog already watches

        outcome = run_job(request, watched, cancel)
    except Cancelled:
        reporter.emit("cancelled", job=str(request.job_dir))
        return EXIT_CANCELLED
    except JobError as exc:
        _error(reporter, exc, request.job_dir)
        return exc.exit_code
    except BaseException as exc:
        from ..job.errors import classify

        log.exception("backend crashed")
        _error(reporter, classify(exc), request.job_dir)
        return EXIT_CRASH
    reporter.emit("result", job=str(request.job_dir), result=str(outcome.result_json),
                  timings=outcome.timings, resumed=outcome.resumed)
    return EXIT_OK


def read_line(stdin) -> str | None:
    """The next line of ``stdin`` (None at its end), read at most ``MAX_LINE_CHARS`` at a time:
    a longer line is skipped to its end and raises ``ProtocolError``."""
    line = stdin.readline(MAX_LINE_CHARS + 1)
    if not line:
        return None
    if len(line) > MAX_LINE_CHARS and not line.endswith("\n"):
        while (rest := stdin.readline(MAX_LINE_CHARS)) and not rest.endswith("\n"):
            pass
        raise ProtocolError(f"a line over the limit of {MAX_LINE_CHARS} characters")
    return line


def _read_commands(stdin, cancel: threading.Event) -> None:
    """Read ``cancel`` lines until stdin ends (then cancel too: nobody is listening). Whatever
    a line holds, this thread keeps reading: a bad line is logged and skipped."""
    try:
        while (line := _next_line(stdin)) is not None:
            if not line.strip():
                continue
            try:
                msg = decode(line)
            except ProtocolError as exc:
                log.warning("ignored a bad line on stdin: %s", exc)
                continue
            if msg.type == "cancel":
                log.info("cancel requested")
                cancel.set()
    except Exception:  # an unreadable stdin: take it as the add-on gone
        log.exception("stdin could not be read")
    cancel.set()  # stdin closed: nobody is listening any more


def _next_line(stdin) -> str | None:
    """The next line, an over-long one answered with a log line and skipped."""
    while True:
        try:
            return read_line(stdin)
        except ProtocolError as exc:
            log.warning("ignored a bad line on stdin: %s", exc)


def _error(reporter: ProtocolReporter, exc: JobError, job_dir) -> None:
    log_path = None if job_dir is None else job_dir / "log.txt"
    reporter.emit("error", code=exc.code, message=exc.message, hint=exc.hint,
                  log=str(log_path) if log_path is not None and log_path.is_file() else None)
