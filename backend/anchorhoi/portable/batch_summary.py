"""The batch summary ``DIR/batch.json``: what ``anchorhoi batch`` ran, one entry per job.

Written by ``anchorhoi.batch.records`` (the backend); read there and by the Blender add-on's
``import_batch`` (which cannot import the backend), so the format and its reader live here,
numpy-free, standard library only. The format is documented in ``docs/batch.md``::

    {"schema": "anchorhoi.batch", "version": "1.0",
     "jobs": [{"id", "prompt", "folder", "status", "error_code", "error_message", "attempts",
               "stage_seconds", "peak_rss_mb", "peak_vram_mb", "quality", "resumed_stages",
               "problems"}, ...]}

The reader checks the schema, the major version and, per job, the four keys a reader acts on
(``id``, ``folder``, ``status``, ``prompt``); a job's ``folder`` must stay inside the batch
folder (relative, no ``..``), so a hand-edited file cannot point a reader elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

from .bounded_json import JSONLimitError, loads_bounded

BATCH_SCHEMA = "anchorhoi.batch"
BATCH_VERSION = (1, 0)
BATCH_JSON = "batch.json"
BATCH_CSV = "batch.csv"
JOB_STATUSES = ("done", "failed", "cancelled", "pending", "running")
"""A job's status in the summary: finished with a result, refused or crashed (``error_code``
says which), cancelled by the user, not started yet, being run."""
MAX_BATCH_JSON_BYTES = 64 << 20
"""Largest ``batch.json`` read (64 MiB: tens of thousands of jobs of about 2 kB each)."""
MAX_BATCH_JSON_DEPTH = 8
"""Deepest nesting read (the format needs 5: jobs, job, quality, plausibility, figure)."""


class BatchFileError(ValueError):
    """A ``batch.json`` that is missing, unreadable or not a batch summary; the message names
    the file and the problem."""

    def __init__(self, path: str | os.PathLike, message: str):
        super().__init__(f"{path}: {message}")
        self.path = Path(path)


def read_batch_json(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The jobs of a ``batch.json``, each a dict with at least a string ``id``, ``prompt``,
    a safe relative ``folder`` and a ``status`` of :data:`JOB_STATUSES`; raises
    :class:`BatchFileError` before returning anything when the file or one job is not."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BATCH_JSON_BYTES:
            raise BatchFileError(path, f"over {MAX_BATCH_JSON_BYTES >> 20} MiB: not a "
                                 "batch summary written by AnchorHOI")
        doc = loads_bounded(path.read_text(encoding="utf-8"), max_depth=MAX_BATCH_JSON_DEPTH,
                            max_chars=MAX_BATCH_JSON_BYTES)
    except FileNotFoundError:
        raise BatchFileError(path, "not found") from None
    except (OSError, UnicodeDecodeError, JSONLimitError) as exc:
        raise BatchFileError(path, f"not valid JSON (truncated or corrupt?): {exc}") from None
    if not isinstance(doc, dict) or doc.get("schema") != BATCH_SCHEMA:
        raise BatchFileError(path, f"not an AnchorHOI batch summary (schema must be "
                             f"{BATCH_SCHEMA!r})")
    version = str(doc.get("version", ""))
    if version.split(".")[0] != str(BATCH_VERSION[0]):
        raise BatchFileError(path, f"batch summary version {version!r} is not supported (this "
                             f"version reads {BATCH_VERSION[0]}.x); update AnchorHOI")
    jobs = doc.get("jobs")
    if not isinstance(jobs, list):
        raise BatchFileError(path, "'jobs' must be a list")
    for index, job in enumerate(jobs):
        problem = _job_problem(job)
        if problem:
            raise BatchFileError(path, f"job {index + 1}: {problem}")
    return jobs


def _job_problem(job: Any) -> str | None:
    if not isinstance(job, dict):
        return "not an object"
    for key in ("id", "prompt", "folder", "status"):
        if not isinstance(job.get(key), str):
            return f"'{key}' must be a string"
    if job["status"] not in JOB_STATUSES:
        return f"status {job['status']!r} is not one of {', '.join(JOB_STATUSES)}"
    if not is_safe_folder(job["folder"]):
        return f"folder {job['folder']!r} must be a plain path inside the batch folder"
    return None


def is_safe_folder(folder: str) -> bool:
    """Whether ``folder`` names a place inside the batch folder: relative, forward slashes,
    no ``..``, not empty."""
    if not folder or "\\" in folder or "\0" in folder:
        return False
    parts = PurePosixPath(folder).parts
    return bool(parts) and not PurePosixPath(folder).is_absolute() \
        and all(p not in ("..", ".") for p in parts) and ":" not in parts[0]
