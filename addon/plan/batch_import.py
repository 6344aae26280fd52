"""Which jobs of a batch folder ``import_batch`` imports, and which it skips and why (bpy-free).

A batch folder (``anchorhoi batch REQUESTS --out DIR``) holds one job folder per request and
the summary ``DIR/batch.json`` (``portable/batch_summary.py``, docs/batch.md). With the
summary, its jobs are taken in its order: a ``done`` job with a ``result.json`` is imported,
every other job is skipped with its status (and error code and message when it failed).
Without one (a batch still running, or copied without it), every sub-folder that holds a
``result.json`` is a finished job named after its folder, in name order; a job folder without
one is skipped as not finished.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..portable.batch_summary import BATCH_JSON, BatchFileError, read_batch_json
from ..portable.job_marker import is_job_folder
from ..portable.result_v1 import RESULT_JSON

MAX_BATCH_JOBS = 10_000
"""Most job folders looked at in a batch folder without ``batch.json``."""


class BatchImportError(ValueError):
    """The batch folder cannot be imported; the message says what to pick instead."""


@dataclass(frozen=True)
class BatchJob:
    id: str
    """The job's id: the clip's name (rig and NLA strip)."""
    folder: Path
    """The job folder (holds ``result.json``)."""


@dataclass(frozen=True)
class BatchPlan:
    jobs: tuple[BatchJob, ...]
    """Finished jobs to import, in the batch's order."""
    skipped: tuple[tuple[str, str], ...]
    """``(id, reason)`` of every job not imported."""
    source: str
    """Where the list came from: ``batch.json`` or ``job folders``."""

    def skip(self, id: str, reason: str) -> BatchPlan:
        """This plan with ``id`` moved from the jobs to the skipped ones (its result does not
        read)."""
        return BatchPlan(tuple(j for j in self.jobs if j.id != id),
                         (*self.skipped, (id, reason)), self.source)


def plan_batch(directory: str | os.PathLike) -> BatchPlan:
    """The jobs of the batch folder ``directory`` to import and those to skip."""
    directory = Path(directory)
    if not directory.is_dir():
        raise BatchImportError(f"{directory} is not a folder: pick the batch folder given to "
                               "'anchorhoi batch --out' (the one holding batch.json)")
    if (directory / BATCH_JSON).exists():
        try:
            entries = read_batch_json(directory / BATCH_JSON)
        except BatchFileError as exc:
            raise BatchImportError(f"{exc}; remove it to import the job folders it lists "
                                   "without it") from None
        return _from_summary(directory, entries)
    return _from_folders(directory)


def _from_summary(directory: Path, entries: list[dict]) -> BatchPlan:
    jobs: list[BatchJob] = []
    skipped: list[tuple[str, str]] = []
    root = directory.resolve()
    for entry in entries:
        id, status = entry["id"], entry["status"]
        folder = directory / entry["folder"]
        if status != "done":
            skipped.append((id, _status_reason(entry)))
        elif not folder.resolve().is_relative_to(root):
            skipped.append((id, f"its folder {entry['folder']} leads outside the batch folder"))
        elif not (folder / RESULT_JSON).is_file():
            skipped.append((id, f"done, but {entry['folder']}/{RESULT_JSON} is missing"))
        elif any(j.id == id for j in jobs):
            skipped.append((id, "a second job with this id"))
        else:
            jobs.append(BatchJob(id, folder))
    return BatchPlan(tuple(jobs), tuple(skipped), BATCH_JSON)


def _status_reason(entry: dict) -> str:
    if entry["status"] != "failed":
        return {"pending": "not started", "running": "still running",
                "cancelled": "cancelled"}.get(entry["status"], entry["status"])
    code, message = entry.get("error_code"), entry.get("error_message")
    code = code if isinstance(code, str) and code else "no error code"
    return f"failed: {code}" + (f" ({message})" if isinstance(message, str) and message else "")


def _from_folders(directory: Path) -> BatchPlan:
    jobs: list[BatchJob] = []
    skipped: list[tuple[str, str]] = []
    folders = sorted((p for p in directory.iterdir() if p.is_dir() and not p.is_symlink()),
                     key=lambda p: p.name)
    if len(folders) > MAX_BATCH_JOBS:
        raise BatchImportError(f"{directory} has {len(folders)} sub-folders, over the "
                               f"{MAX_BATCH_JOBS} a batch import looks at: pick a batch folder")
    for folder in folders:
        if (folder / RESULT_JSON).is_file():
            jobs.append(BatchJob(folder.name, folder))
        elif is_job_folder(folder):
            skipped.append((folder.name, "not finished (no result.json)"))
    return BatchPlan(tuple(jobs), tuple(skipped), "job folders")


def summary_line(imported: list[str], plan: BatchPlan) -> str:
    """The operator's report: what was imported, what was skipped and why."""
    text = f"Imported {len(imported)} clip{'s' * (len(imported) != 1)} from {plan.source}"
    if imported:
        text += ": " + ", ".join(imported)
    if plan.skipped:
        text += f"; skipped {len(plan.skipped)}: " + "; ".join(
            f"{id} ({reason})" for id, reason in plan.skipped)
    return text
