"""The job folder: request, resolved config, one sub-folder per stage, state, log, result.

Layout::

    JOB/request.json          the request (GenerateRequest.to_json)
    JOB/config.json           the fully resolved configuration of every stage
    JOB/state.json            completed stages: fingerprint, wall time, peak memory
    JOB/input/                the object as given (copied), so a job is self-contained
    JOB/<stage>/              each stage's outputs (anchor, video, keypoints, motion)
    JOB/result.json, motion.npz   the result v1 (result.json written last)
    JOB/log.txt               the backend's log of every run on this folder

A stage counts as complete only when ``state.json`` lists it with the fingerprint of its current
inputs; every file is written atomically, so a cancelled or killed run leaves finished stages
intact and at worst an unlisted, partly filled stage folder that the next run clears.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..portable.arrays import write_text_atomic

STATE_VERSION = 1


def _lock(fh) -> None:
    """An exclusive, non-blocking lock on an open file (``OSError`` if it is held)."""
    if sys.platform == "win32":  # no fcntl there
        import msvcrt

        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)


def fingerprint(*parts: Any) -> str:
    """A stable hash of JSON-able ``parts`` (sorted keys)."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:20]


@dataclass(frozen=True)
class JobFolder:
    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    def create(self) -> JobFolder:
        """Create and mark the folder, or take it when it is a job folder already (or empty);
        a folder of someone else's is refused untouched (``ownership.claim_job_folder``)."""
        from .ownership import claim_job_folder

        claim_job_folder(self.root)
        return self

    def stage_dir(self, name: str) -> Path:
        return self.root / name

    @property
    def log_path(self) -> Path:
        return self.root / "log.txt"

    @property
    def state_path(self) -> Path:
        return self.root / "state.json"

    @contextlib.contextmanager
    def exclusive(self):
        """Hold the folder's lock for one run (``JOB_BUSY`` if another run holds it). The OS
        drops the lock when the process ends, however it ends."""
        from .errors import JobError

        fh = open(self.root / ".lock", "a+")  # noqa: SIM115 - held open for the whole run
        try:
            try:
                _lock(fh)
            except OSError:
                raise JobError("JOB_BUSY", f"The job folder {self.root} is being used by "
                               "another run.") from None
            fh.seek(0)
            fh.truncate()
            fh.write(json.dumps({"pid": os.getpid(), "started": time.time()}) + "\n")
            fh.flush()
            yield self
        finally:
            fh.close()

    # -- state -------------------------------------------------------------------------------

    def read_state(self) -> dict[str, Any]:
        """Completed stages; an unreadable or foreign state file counts as none completed."""
        try:
            doc = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(doc, dict) or doc.get("version") != STATE_VERSION:
            return {}
        stages = doc.get("stages")
        return stages if isinstance(stages, dict) else {}

    def write_state(self, stages: dict[str, Any]) -> None:
        write_text_atomic(self.state_path, json.dumps(
            {"version": STATE_VERSION, "stages": stages}, indent=2) + "\n")

    def is_complete(self, name: str, fp: str) -> bool:
        entry = self.read_state().get(name)
        return isinstance(entry, dict) and entry.get("fingerprint") == fp \
            and self.stage_dir(name).is_dir()

    def mark_complete(self, name: str, fp: str, record: dict[str, Any]) -> None:
        stages = self.read_state()
        stages[name] = {"fingerprint": fp, **record}
        self.write_state(stages)

    def forget_from(self, names: list[str], declared: dict[str, tuple[str, ...]] | None = None
                    ) -> None:
        """Drop ``names`` from the state and clear their folders (their inputs changed) of the
        files each stage wrote: its ``declared`` file names and those its state entry lists;
        files the job did not write stay."""
        from .ownership import remove_own_files

        stages = self.read_state()
        written = {n: (stages.get(n) or {}).get("files") or [] for n in names}
        for name in names:
            stages.pop(name, None)
        self.write_state(stages)
        for name in names:
            own = [str(f) for f in written[name]] + list((declared or {}).get(name, ()))
            left = remove_own_files(self.stage_dir(name), own)
            if left:
                logging.getLogger(__name__).warning(
                    "kept %d file(s) in %s that the job did not write: %s", len(left),
                    self.stage_dir(name), ", ".join(left[:5]))

    def write_json(self, name: str, doc: Any) -> Path:
        path = self.root / name
        write_text_atomic(path, json.dumps(doc, indent=2, default=str) + "\n")
        return path


class JobLog:
    """Attach a ``log.txt`` handler on the root logger for the job's duration."""

    FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

    def __init__(self, folder: JobFolder, level: int = logging.INFO):
        self.handler = logging.FileHandler(folder.log_path, encoding="utf-8")
        self.handler.setFormatter(logging.Formatter(self.FORMAT))
        self.handler.setLevel(level)

    def __enter__(self) -> JobLog:
        logging.getLogger().addHandler(self.handler)
        return self

    def __exit__(self, *exc) -> None:
        logging.getLogger().removeHandler(self.handler)
        self.handler.close()
