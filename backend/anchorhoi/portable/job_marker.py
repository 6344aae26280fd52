"""The mark of an AnchorHOI job folder: a small file written when the folder is created.

A job only ever writes into, and removes files from, a folder that carries this mark (or an
empty one, which it marks first), so pointing ``--out`` at a folder of the user's by mistake
cannot delete or overwrite the user's files. The add-on marks the job folders it creates, the
backend the ones it creates; both read the mark through this module.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .arrays import write_text_atomic

JOB_MARKER = ".anchorhoi-job"
"""File name of the mark, at the job folder's root."""

IGNORED_ENTRIES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
"""Entries a file browser leaves behind: a folder holding only these counts as empty."""


def is_job_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder with the job mark (a regular file, not a link)."""
    mark = Path(path) / JOB_MARKER
    return mark.is_file() and not mark.is_symlink()


def is_empty_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder holding nothing (or only :data:`IGNORED_ENTRIES`)."""
    with os.scandir(Path(path)) as entries:
        return all(e.name in IGNORED_ENTRIES for e in entries)


def mark_job_folder(path: str | os.PathLike, creator: str) -> Path:
    """Write the mark into the folder ``path`` (created by ``creator``: "backend" or "add-on");
    returns the mark's path. Raises ``OSError`` when it cannot be written."""
    mark = Path(path) / JOB_MARKER
    write_text_atomic(mark, json.dumps({"anchorhoi_job": 1, "creator": creator,
                                        "created": time.time()}) + "\n")
    return mark
