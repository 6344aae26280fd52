"""The batch folder's summary kept current while the batch runs: ``batch.json``,
``batch.csv`` (``records.py``) and ``contact_sheet.png`` (``contact_sheet.py``), rewritten
atomically whenever a job starts or ends."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from .contact_sheet import write_contact_sheet
from .records import JobRecord, record_from_job, write_summary
from .runner import JobState

log = logging.getLogger(__name__)


def record_of(state: JobState, out_dir: Path) -> JobRecord:
    """The record of one job as the runner left it."""
    return record_from_job(state.job.request.job_dir, id=state.job.id,
                           prompt=state.job.request.prompt, status=state.status,
                           error=state.error, attempts=state.attempts, batch_dir=out_dir)


class Summary:
    """Writes the summary files of ``states`` into ``out_dir``; thread-safe."""

    def __init__(self, out_dir: Path, states: Sequence[JobState]):
        self.out_dir = Path(out_dir)
        self.states = list(states)
        self._lock = threading.Lock()

    def write(self, *, sheet: bool = True) -> list[JobRecord]:
        """Both summary files, and the contact sheet when ``sheet``; returns the records."""
        with self._lock:
            records = [record_of(s, self.out_dir) for s in self.states]
            write_summary(self.out_dir, records)
            if sheet:
                write_contact_sheet(self.out_dir, records)
            return records

    def on_change(self, state: JobState) -> None:
        """The runner's listener: the contact sheet only changes when a job ends."""
        self.write(sheet=state.status not in ("running", "pending"))
