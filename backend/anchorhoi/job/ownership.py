"""What a job may touch: a folder it marked as its own, and inside it only the files it wrote.

- :func:`claim_job_folder` creates the job folder (or takes an empty one) and marks it
  (``portable/job_marker.py``); a non-empty folder without the mark is refused with
  ``BAD_REQUEST`` before anything is written, so the user's files stay byte for byte as they
  were. A path that is a file or cannot be created is ``BAD_OUT``, a full drive ``DISK_FULL``.
- :func:`own_dir` is a sub-folder of the job (a stage's, ``input/``), refused with ``BAD_OUT``
  when it is a link or leads out of the job folder.
- :func:`remove_own_files` clears a stage folder of the files that stage wrote (its declared
  files, the ones recorded when it completed, the temporary files of its atomic writes) and
  leaves anything else where it is.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..portable.job_marker import is_empty_folder, is_job_folder, mark_job_folder
from .errors import DISK_FULL_ERRNOS, JobError
from .request import GenerateRequest, validate

FOREIGN_LISTED = 3
"""How many of a refused folder's entries the message names."""


def os_error(exc: OSError, what: str, path: Path) -> JobError:
    """The ``JobError`` for ``exc`` raised while doing ``what`` at ``path``: ``DISK_FULL`` for a
    full drive, else ``BAD_OUT`` with a hint naming the nearest folder that exists."""
    if exc.errno in DISK_FULL_ERRNOS:
        return JobError("DISK_FULL", f"The drive is full: cannot {what} {path}.",
                        f"Free some space on the drive holding {nearest_existing(path)}, then "
                        "run the same request again (finished stages are kept).")
    reason = exc.strerror or type(exc).__name__
    return JobError("BAD_OUT", f"Cannot {what} {path}: {reason}.",
                    f"The nearest folder that exists is {nearest_existing(path)}: check that you "
                    "may write there, or choose another job folder (--out, or Jobs Folder in "
                    "the add-on's preferences).")


def nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists."""
    path = Path(os.path.abspath(path))
    while path.parent != path:
        try:
            if path.exists():
                break
        except (OSError, ValueError):  # a name too long, a NUL: certainly not there
            pass
        path = path.parent
    return path


def claim_job_folder(root: Path) -> None:
    """Create ``root`` and mark it as a job folder, or accept it when it is one already (or
    empty); raises ``JobError`` (``BAD_REQUEST``, ``BAD_OUT``, ``DISK_FULL``) without writing
    anything otherwise."""
    try:
        _claim(root)
    except OSError as exc:  # a name too long, a loop of links, no permission to look
        raise os_error(exc, "use the job folder", root) from None
    except ValueError:  # a NUL character in the path
        raise JobError("BAD_OUT", f"The job folder {str(root)!r} is not a valid path.",
                       "Choose a folder name without control characters (--out, or Jobs Folder "
                       "in the add-on's preferences).") from None


def _claim(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise JobError("BAD_OUT", f"The job folder {root} is a file, not a folder.",
                       f"Give a folder for the job (--out): a new one in {root.parent} is "
                       "created for you; the file is left as it is.")
    if root.is_dir():
        if is_job_folder(root):
            return
        try:
            empty = is_empty_folder(root)
        except OSError as exc:
            raise os_error(exc, "read the folder", root) from None
        if not empty:
            names = sorted(p.name for p in root.iterdir())
            shown = ", ".join(names[:FOREIGN_LISTED]) + (", …" if len(names) > FOREIGN_LISTED
                                                          else "")
            raise JobError("BAD_REQUEST", f"{root} already holds files that are not an AnchorHOI "
                           f"job ({shown}); a job never writes into a folder it did not create.",
                           "Choose a new or empty folder for the job (--out; it is created), or "
                           "an earlier job folder to resume it. Nothing in the folder was "
                           "changed.")
    try:
        root.mkdir(parents=True, exist_ok=True)
        mark_job_folder(root, "backend")
    except OSError as exc:
        raise os_error(exc, "create the job folder", root) from None


def accept_before_loading(request: GenerateRequest) -> GenerateRequest:
    """Every check a request can fail without a model or torch: the fields, then the job
    folder (created and marked). Light to import, so a refusal comes in well under a second;
    ``run_job`` repeats both, harmlessly."""
    request = validate(request)
    claim_job_folder(Path(request.job_dir))
    return request


def own_dir(root: Path, name: str) -> Path:
    """The sub-folder ``name`` of the job folder ``root`` (created); ``BAD_OUT`` when it is a
    link or anything but a folder inside the job folder."""
    path = root / name
    if path.is_symlink() or (path.exists() and not path.is_dir()) or \
            (path.exists() and path.resolve().parent != root.resolve()):
        raise JobError("BAD_OUT", f"{path} is a link or a file, not a folder of the job: the job "
                       "writes only inside its own folder.",
                       f"Remove or rename {path}, or start a new job folder.")
    try:
        path.mkdir(exist_ok=True)
    except OSError as exc:
        raise os_error(exc, "create the folder", path) from None
    return path


def listing(folder: Path) -> set[str]:
    """Names of the files directly in ``folder`` (none when it does not exist)."""
    if not folder.is_dir() or folder.is_symlink():
        return set()
    return {p.name for p in folder.iterdir() if p.is_file() or p.is_symlink()}


def remove_own_files(folder: Path, names: Iterable[str]) -> list[str]:
    """Remove ``names`` and the atomic writes' temporary files of them (``.NAME.*.tmp``) from
    ``folder``, then the folder if nothing else is in it; returns the names of what is left
    (files the job did not write). A link is never followed."""
    if folder.is_symlink():
        raise JobError("BAD_OUT", f"{folder} is a link, not a folder of the job: the job writes "
                       "only inside its own folder.",
                       f"Remove or rename {folder}, or start a new job folder.")
    if not folder.is_dir():
        return []
    own = {n for n in names if n and "/" not in n and "\\" not in n and n not in (".", "..")}
    for entry in folder.iterdir():
        tmp_of = _temporary_of(entry.name)
        if (entry.name in own or tmp_of in own) and not entry.is_dir():
            entry.unlink(missing_ok=True)
    left = sorted(p.name for p in folder.iterdir())
    if not left:
        folder.rmdir()
    return left


def _temporary_of(name: str) -> str | None:
    """``NAME`` of an atomic write's temporary file ``.NAME.<pid>.tmp``, else None."""
    if not (name.startswith(".") and name.endswith(".tmp")):
        return None
    stem = name[1:-4]
    base, _, pid = stem.rpartition(".")
    return base if pid.isdigit() and base else None
