"""The backend as a child process, seen from the add-on (bpy-free; tested with plain pytest).

``BackendProcess`` starts ``[interpreter, "-m", "anchorhoi", "serve"]`` (an argument list, no
shell), and never blocks its caller:

- a reader thread turns each stdout line into a :class:`protocol.Message` (or a
  :class:`Garbage` record for a line that is not one) and puts it on a queue; end of stdout
  puts :data:`EOF`;
- stderr goes straight to a file (the OS writes it, so no pipe can fill up and stall the
  backend); :meth:`stderr_tail` reads its end for error messages;
- :meth:`read` drains the queue without waiting, :meth:`send` writes one protocol line to
  stdin, :meth:`returncode` polls for the exit.

Nothing here knows about jobs or stages: that is :mod:`.job_state`.
"""

from __future__ import annotations

import enum
import os
import queue
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from ..portable import protocol


class EndOfOutput(enum.Enum):
    EOF = "EOF"


EOF: Literal[EndOfOutput.EOF] = EndOfOutput.EOF
"""Put on the queue once stdout is closed (the backend exited or closed it)."""

STDERR_TAIL_BYTES = 4000


class BackendStartError(RuntimeError):
    """The backend could not be started; the message says what to fix."""


@dataclass(frozen=True)
class Garbage:
    """A stdout line that is not a protocol message (a stray print in the backend)."""

    text: str
    problem: str


Item = protocol.Message | Garbage | Literal[EndOfOutput.EOF]
"""What the reader thread queues: one per stdout line, then ``EOF``."""


def backend_command(interpreter: str) -> list[str]:
    """The argument list that starts the backend's protocol server."""
    return [interpreter, "-m", "anchorhoi", "serve"]


def check_interpreter(interpreter: str) -> str:
    """The interpreter's absolute path, or ``BackendStartError`` saying what is wrong."""
    if not interpreter or not interpreter.strip():
        raise BackendStartError(
            "No backend interpreter is set: in Edit › Preferences › Add-ons › AnchorHOI, set "
            "'Backend Python' to the python of an environment with the anchorhoi backend, or "
            "use 'Set Up Backend'.")
    path = Path(os.path.expanduser(interpreter.strip()))
    if not path.is_file():
        raise BackendStartError(
            f"The backend interpreter {str(path)!r} does not exist: fix 'Backend Python' in the "
            "add-on preferences (it is the python executable of the backend's environment, "
            "e.g. .../venv/bin/python).")
    if not os.access(path, os.X_OK):
        raise BackendStartError(
            f"The backend interpreter {str(path)!r} is not executable: point 'Backend Python' "
            "at the python executable itself, not at a folder or script.")
    return str(path.absolute())


class BackendProcess:
    """One running backend. Create with :meth:`start`; all methods return immediately."""

    def __init__(self, popen: subprocess.Popen[bytes], stderr_path: Path):
        if popen.stdin is None or popen.stdout is None:
            raise ValueError("the backend must be started with pipes for stdin and stdout")
        self._popen = popen
        self._stdin: IO[bytes] = popen.stdin
        self._stdout: IO[bytes] = popen.stdout
        self.stderr_path = stderr_path
        self.pid = popen.pid
        self._queue: queue.SimpleQueue[Item] = queue.SimpleQueue()
        self._stdin_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read_stdout, name=f"anchorhoi-{popen.pid}",
                                        daemon=True)
        self._reader.start()

    @classmethod
    def start(cls, argv: list[str], *, stderr_path: str | os.PathLike,
              env: dict[str, str] | None = None, cwd: str | os.PathLike | None = None
              ) -> BackendProcess:
        stderr_path = Path(stderr_path)
        stderr_path.parent.mkdir(parents=True, exist_ok=True)
        environment = dict(os.environ if env is None else env)
        environment["PYTHONUNBUFFERED"] = "1"  # protocol lines arrive when they are written
        environment.setdefault("PYTHONIOENCODING", "utf-8")
        with open(stderr_path, "ab") as err:
            try:
                popen = subprocess.Popen(
                    argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                    cwd=None if cwd is None else str(cwd), env=environment, bufsize=-1,
                    start_new_session=True)  # a Ctrl+C in Blender's terminal is not the backend's
            except FileNotFoundError as exc:
                raise BackendStartError(
                    f"Cannot start the backend: {argv[0]!r} was not found ({exc.strerror}). "
                    "Fix 'Backend Python' in the add-on preferences.") from None
            except PermissionError as exc:
                raise BackendStartError(
                    f"Cannot start the backend: {argv[0]!r} is not executable "
                    f"({exc.strerror}). Fix 'Backend Python' in the add-on preferences.") from None
            except OSError as exc:
                raise BackendStartError(f"Cannot start the backend {argv[0]!r}: {exc}") from None
        return cls(popen, stderr_path)

    # -- reading -------------------------------------------------------------------------

    def _read_stdout(self) -> None:
        try:
            for raw in iter(self._stdout.readline, b""):
                if not raw.strip():
                    continue
                try:
                    self._queue.put(protocol.decode(raw))
                except protocol.ProtocolError as exc:
                    text = raw.decode("utf-8", "replace").strip()
                    self._queue.put(Garbage(text=text[:200], problem=str(exc)))
        except (OSError, ValueError):  # the pipe was closed under us (kill, shutdown)
            pass
        finally:
            self._queue.put(EOF)

    def read(self, max_items: int = 200) -> list[Item]:
        """Everything the reader has queued so far (messages, ``Garbage``, ``EOF``), at most
        ``max_items``; never waits."""
        items: list[Item] = []
        while len(items) < max_items:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return items

    def wait_item(self, timeout: float) -> Item | None:
        """The next queued item, waiting at most ``timeout`` seconds (None if none came).
        For synchronous callers (background mode) that would otherwise busy-wait."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def stderr_tail(self, max_bytes: int = STDERR_TAIL_BYTES) -> str:
        """The last lines the backend wrote to stderr (its log and any traceback)."""
        try:
            with open(self.stderr_path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - max_bytes))
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return ""
        if size > max_bytes and "\n" in text:
            text = text.split("\n", 1)[1]
        return text.strip()

    # -- writing and lifetime ------------------------------------------------------------

    def send(self, type_: str, **data) -> bool:
        """Write one protocol line to the backend's stdin; False if the backend is gone."""
        line = protocol.encode(type_, **data).encode("utf-8")
        with self._stdin_lock:
            try:
                self._stdin.write(line)
                self._stdin.flush()
                return True
            except (BrokenPipeError, OSError, ValueError):
                return False

    def returncode(self) -> int | None:
        """The exit code (negative: killed by that signal), or None while it runs."""
        return self._popen.poll()

    def terminate(self) -> None:
        """SIGTERM (the backend should stop at once)."""
        if self._popen.poll() is None:
            try:
                self._popen.terminate()
            except OSError:
                pass

    def kill(self) -> None:
        if self._popen.poll() is None:
            try:
                self._popen.kill()
            except OSError:
                pass

    def close(self) -> None:
        """Release the pipes once the process has exited (kills it if it has not)."""
        self.kill()
        try:
            self._popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for pipe in (self._stdin, self._stdout):
            try:
                pipe.close()
            except OSError:
                pass


def describe_exit(code: int) -> str:
    """``'exit code 1'`` or ``'killed by SIGKILL'``."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
