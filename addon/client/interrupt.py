"""Ctrl+C while a generation runs synchronously (EXEC: scripts, background mode)."""

from __future__ import annotations

import signal
import threading


class CtrlCRequestsCancel:
    """While an EXEC job runs: Ctrl+C (SIGINT) asks for a cancel instead of raising
    KeyboardInterrupt at an arbitrary point. Only where Python handles SIGINT itself (``bpy``
    as a module); in the Blender binary Blender owns the signal, and a Blender that quits closes
    the backend's stdin, which the backend takes as a cancel."""

    def __enter__(self) -> CtrlCRequestsCancel:
        self.pressed = False
        self._old = None
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._old = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def _on_sigint(self, signum, frame) -> None:
        self.pressed = True

    def __exit__(self, *exc) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
