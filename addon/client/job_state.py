"""One generation job as a state machine driven by :meth:`GenerateJob.tick` (bpy-free).

The modal operator calls ``tick()`` from a window-manager timer; the EXEC path calls it in a
loop. A tick never waits: it drains what the reader thread has queued (bounded by a time
budget), advances the state, and checks the process's exit and the time-outs.

States: ``starting`` (waiting for the backend's hello) → ``running`` (request sent, messages
arriving) → ``cancelling`` (cancel sent) → one of ``finished``, ``failed``, ``cancelled``.
After the terminal message the job still waits (without blocking) for the process to exit, so
the exit code is known; a backend that does not exit in time is terminated, then killed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..portable import protocol
from ..portable.names import printable
from .backend_process import EOF, BackendProcess, Garbage, Item, describe_exit


@dataclass(frozen=True, kw_only=True)
class JobTimeouts:
    hello_s: float = 120.0
    """From start to the hello line (the backend imports torch first)."""
    cancel_s: float = 5.0
    """From the cancel line to the exit; then SIGTERM."""
    exit_s: float = 10.0
    """From the terminal message (or end of stdout) to the exit; then SIGTERM."""
    term_s: float = 5.0
    """From SIGTERM to the exit; then SIGKILL (the backend treats SIGTERM as a cancel too, so
    a backend slow to reach a step boundary still gets to exit with code 3)."""
    tick_budget_s: float = 0.02
    """How long one tick may spend parsing queued messages."""


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """How a job ended, for the report and the panel."""

    status: str
    """"finished", "failed" or "cancelled"."""
    message: str
    """What happened, in a sentence."""
    hint: str = ""
    """What to do about it (empty when nothing needs doing)."""
    code: str | None = None
    """The protocol's error code of a failure (``protocol.ERROR_CODES``), else None."""
    exit_code: int | None = None
    """The backend's exit code (negative: killed by that signal)."""
    result_path: str | None = None
    """The ``result.json`` the backend reported, for a finished job."""

    def report_text(self) -> str:
        return self.message if not self.hint else f"{self.message} — {self.hint}"


@dataclass
class Progress:
    """What the panel shows; updated by ticks."""

    stage: str = ""
    label: str = ""
    index: int = 0
    count: int = 0
    step: int = 0
    total: int = 0
    eta_s: float | None = None
    losses: dict = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        """Overall progress in [0, 1]: finished stages plus the current stage's share."""
        if self.count <= 0:
            return 0.0
        within = self.step / self.total if self.total > 0 else 0.0
        return max(0.0, min(1.0, (self.index + min(within, 1.0)) / self.count))


class GenerateJob:
    """A started backend running one request. ``clock`` is injectable for tests."""

    def __init__(self, process: BackendProcess, request: dict, *,
                 timeouts: JobTimeouts = JobTimeouts(), clock=time.monotonic):
        self.process = process
        self.request = request
        self.timeouts = timeouts
        self.clock = clock
        self.state = "starting"
        self.started_at = clock()
        self._deadline = self.started_at + timeouts.hello_s
        self._escalated = 0  # 0: none, 1: SIGTERM sent, 2: SIGKILL sent
        self.progress = Progress()
        self.stages: list[str] = []
        self.resumed: list[str] = []
        self.object_prompt: str | None = None  # the words the backend generates the object from
        self.previews: list[tuple[str, str]] = []  # (stage, path), in arrival order
        self.garbage: list[Garbage] = []
        self.messages: list[str] = []  # human-readable notes for the log / report
        self.cancel_sent_at: float | None = None
        self.exited_at: float | None = None
        self.exit_code: int | None = None
        self.outcome: Outcome | None = None
        self._pending: Outcome | None = None  # terminal message seen, waiting for the exit
        self._eof = False
        self._waited: list[Item] = []  # items note_wait() took off the queue
        self._generate_sent = False
        self._drain_until: float | None = None  # after the exit, wait this long for EOF

    # -- public ----------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.outcome is not None

    @property
    def job_dir(self) -> str:
        return self.request["job_dir"]

    def cancel(self) -> None:
        """Ask the backend to stop at its next step boundary (idempotent)."""
        if self.done or self.cancel_sent_at is not None:
            return
        self.cancel_sent_at = self.clock()
        if self.state in ("starting", "running"):
            self.state = "cancelling"
        if not self.process.send("cancel"):
            self.messages.append("the backend's stdin is closed; stopping it")
        self._deadline = min(self._deadline, self.cancel_sent_at + self.timeouts.cancel_s)

    def tick(self) -> bool:
        """Advance without waiting; True once the job has ended (``outcome`` is set)."""
        if self.done:
            return True
        budget_end = time.perf_counter() + self.timeouts.tick_budget_s
        waited, self._waited = self._waited, []
        for item in waited:
            self._handle(item)
        while not self._eof and time.perf_counter() < budget_end:
            items = self.process.read(max_items=50)
            if not items:
                break
            for item in items:
                self._handle(item)
        self._check_exit()
        return self.done

    def note_wait(self, timeout: float) -> None:
        """For synchronous callers: wait until something is queued or ``timeout`` passes."""
        if self._eof or self.done:
            time.sleep(timeout)
            return
        item = self.process.wait_item(timeout)
        if item is not None:
            self._waited.append(item)  # handled by the next tick, like everything else

    # -- messages --------------------------------------------------------------------------

    def _handle(self, item: Item) -> None:
        if item is EOF:
            self._eof = True
            if self._pending is None:
                self._deadline = min(self._deadline, self.clock() + self.timeouts.exit_s)
            return
        if isinstance(item, Garbage):
            self.garbage.append(item)
            if len(self.garbage) <= 5:
                self.messages.append(f"ignored a line on the backend's stdout that is not a "
                                     f"protocol message: {item.text[:80]!r}")
            return
        msg: protocol.Message = item
        if self._pending is not None:
            return  # after the terminal message nothing more counts
        if self.state == "starting" and self.cancel_sent_at is None:
            self._on_hello(msg)
            return
        if msg.type == "hello":
            return  # only the first one counts (or none, once cancelled before it)
        handler = getattr(self, f"_on_{msg.type}", None)
        if handler is None:
            self.messages.append(f"ignored an unexpected {msg.type!r} message from the backend")
            return
        handler(msg)

    def _on_hello(self, msg: protocol.Message) -> None:
        try:
            protocol.check_hello(msg)
        except protocol.ProtocolError as exc:
            if msg.type != "hello":
                self._fail_now("INTERNAL", f"The backend did not start with a hello: {exc}",
                               "Check that 'Backend Python' is the backend's environment")
            else:
                self._fail_now("PROTOCOL_MISMATCH",
                               f"The backend speaks protocol {msg.get('protocol')!r}, the add-on "
                               f"{protocol.PROTOCOL_VERSION}",
                               protocol.ERROR_CODES["PROTOCOL_MISMATCH"])
            return
        if not self.process.send("generate", protocol=protocol.PROTOCOL_VERSION,
                                 request=self.request):
            self._fail_now("INTERNAL", "the backend closed its input right after the handshake",
                           "")
            return
        self._generate_sent = True
        self.state = "running"
        self._deadline = float("inf")

    def _on_accepted(self, msg: protocol.Message) -> None:
        self.stages = [str(s) for s in msg.get("stages") or []]
        self.resumed = [str(s) for s in msg.get("resumed") or []]
        words = msg.get("object_prompt")
        self.object_prompt = printable(words) if isinstance(words, str) else None
        self.progress.count = len(self.stages)
        notes = msg.get("notes")
        if isinstance(notes, list):  # the backend's warnings (e.g. a slow device for a preset)
            self.messages.extend(str(n) for n in notes[:5])
        if self.resumed:
            self.progress.index = len(self.resumed)
            self.messages.append(f"resuming: stages {', '.join(self.resumed)} are already done")

    def _on_stage(self, msg: protocol.Message) -> None:
        p = self.progress
        p.stage = str(msg.get("stage", ""))
        p.label = str(msg.get("label") or p.stage)
        count = _int(msg.get("count"), p.count)
        p.count = count if count > 0 else p.count
        if p.stage in self.stages:
            p.index = self.stages.index(p.stage)
        else:
            p.index = max(0, min(_int(msg.get("index"), p.index), max(p.count - 1, 0)))
        p.step, p.total, p.eta_s, p.losses = 0, 0, None, {}

    def _on_progress(self, msg: protocol.Message) -> None:
        p = self.progress
        if msg.get("stage") and msg.get("stage") != p.stage:
            p.stage = str(msg.get("stage"))
            p.label = p.label or p.stage
        p.step = _int(msg.get("step"), p.step)
        p.total = _int(msg.get("total"), p.total)
        eta = msg.get("eta_s")
        p.eta_s = float(eta) if isinstance(eta, (int, float)) and not isinstance(eta, bool) \
            else None
        losses = msg.get("losses")
        p.losses = losses if isinstance(losses, dict) else {}

    def _on_preview(self, msg: protocol.Message) -> None:
        path = msg.get("path")
        if isinstance(path, str) and path:
            self.previews.append((str(msg.get("stage", "")), path))

    def _on_result(self, msg: protocol.Message) -> None:
        path = msg.get("result") or str(Path(self.job_dir) / "result.json")
        self._finish_on_exit(Outcome(status="finished", message="The interaction is ready",
                                     result_path=str(path)))

    def _on_error(self, msg: protocol.Message) -> None:
        code = str(msg.get("code") or "INTERNAL")
        hint = str(msg.get("hint") or protocol.ERROR_CODES.get(code, ""))
        message = str(msg.get("message") or code)
        self._finish_on_exit(Outcome(status="failed", code=code, message=message, hint=hint))

    def _on_cancelled(self, msg: protocol.Message) -> None:
        done = ", ".join(self.resumed) if self.resumed else ""
        self._finish_on_exit(Outcome(
            status="cancelled", message="Cancelled; the finished stages are kept in the job "
            "folder" + (f" ({done} were resumed)" if done else ""),
            hint="Resume the job from the history to continue after them"))

    # -- ending ----------------------------------------------------------------------------

    def _finish_on_exit(self, outcome: Outcome) -> None:
        """The backend said how it ended: give it ``exit_s`` to exit (a cancel's deadline no
        longer applies, the backend did stop)."""
        self._pending = outcome
        if self._escalated == 0:
            self._deadline = self.clock() + self.timeouts.exit_s

    def _fail_now(self, code: str, message: str, hint: str) -> None:
        """A failure seen by the add-on (not reported by the backend): stop the backend."""
        self._pending = Outcome(status="failed", code=code, message=message, hint=hint)
        self.process.terminate()
        self._escalated = 1
        self._deadline = self.clock() + self.timeouts.term_s

    def _check_exit(self) -> None:
        code = self.process.returncode()
        now = self.clock()
        if code is None:
            if now >= self._deadline:
                self._escalate(now)
            return
        if not self._eof:  # exited: the next ticks drain the reader's last lines first
            if self._drain_until is None:
                self._drain_until = now + 1.0
            if now < self._drain_until:
                return
        self.exit_code = code
        self.exited_at = now
        self.process.close()
        self.outcome = self._final_outcome(code)
        self.state = self.outcome.status

    def _escalate(self, now: float) -> None:
        if self._escalated == 0:
            if self._pending is None:
                if self.state == "starting":
                    self._pending = Outcome(
                        status="failed", code="INTERNAL",
                        message=f"The backend sent no hello within {self.timeouts.hello_s:g} s",
                        hint="Check 'Backend Python' in the preferences; the backend's log "
                             f"is {self.process.stderr_path}")
                elif self.cancel_sent_at is not None:
                    self.messages.append(f"the backend did not stop within "
                                         f"{self.timeouts.cancel_s:g} s of the cancel; "
                                         "terminating it")
            self.process.terminate()
            self._escalated = 1
            self._deadline = now + self.timeouts.term_s
        elif self._escalated == 1:
            self.process.kill()
            self._escalated = 2
            self._deadline = float("inf")

    def _final_outcome(self, code: int) -> Outcome:
        pending = self._pending
        if self.cancel_sent_at is not None and self.state == "cancelling" and \
                not self._generate_sent:  # cancelled before the request went out
            return Outcome(status="cancelled", exit_code=code,
                           message="Cancelled before the backend started the job")
        if pending is not None:
            if pending.status == "finished" and code != protocol.EXIT_OK:
                return Outcome(status="failed", code="INTERNAL", exit_code=code,
                               message=f"The backend sent a result but then ended with "
                                       f"{describe_exit(code)}", hint=self._log_hint())
            return Outcome(**{**pending.__dict__, "exit_code": code})
        if self.cancel_sent_at is not None:
            return Outcome(status="cancelled", exit_code=code,
                           message=f"Cancelled (the backend ended with {describe_exit(code)})",
                           hint="The finished stages are kept in the job folder")
        tail = self.process.stderr_tail(600)
        said = f"; its last output: {tail.splitlines()[-1][:200]!r}" if tail else ""
        if self.state == "starting":
            garbage = (f"; it printed {self.garbage[0].text[:80]!r} instead of a protocol hello"
                       if self.garbage else "")
            return Outcome(status="failed", code="INTERNAL", exit_code=code,
                           message=f"The backend ended with {describe_exit(code)} before its "
                                   f"hello{garbage}{said}",
                           hint="Check that 'Backend Python' is the backend's environment "
                                "(run 'python -m anchorhoi doctor' with it)")
        return Outcome(status="failed", code="INTERNAL", exit_code=code,
                       message=f"The backend stopped unexpectedly ({describe_exit(code)}) "
                               f"without a result{said}", hint=self._log_hint())

    def _log_hint(self) -> str:
        return (f"The job folder keeps the finished stages; see {self.process.stderr_path} "
                "and the job's log.txt")


def _int(value, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value:
        return int(value)
    return default


def format_eta(seconds: float | None) -> str:
    """``'ETA 1 min 05 s'`` / ``'ETA 12 s'``; empty when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return ""
    s = int(round(seconds))
    if s >= 3600:
        return f"ETA {s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"ETA {s // 60} min {s % 60:02d} s"
    return f"ETA {s} s"


def progress_text(job: GenerateJob) -> str:
    """One line for the progress bar: stage label, step/total, ETA."""
    p = job.progress
    if job.state == "starting":
        return "Starting the backend…"
    if job.state == "cancelling":
        return "Cancelling…"
    if not p.stage:
        return "Waiting for the backend…"
    parts = [f"{p.index + 1}/{max(p.count, 1)} {p.label or p.stage}"]
    if p.total > 0:
        parts.append(f"{p.step}/{p.total}")
    eta = format_eta(p.eta_s)
    if eta:
        parts.append(eta)
    return " · ".join(parts)
