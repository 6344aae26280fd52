"""Job folders under the jobs folder, as the add-on sees them (bpy-free).

The add-on creates one folder per generation, ``<jobs>/<YYYYmmdd-HHMMSS>-<prompt words>``, and
writes ``input/job.json`` there before the backend starts: the request it sent, the scene's unit
scale at export, the picked object's name, and later the outcome (``status``, ``message``). The
backend fills the folder with its stages, ``log.txt`` and finally ``result.json``.

The history lists those folders newest first; a folder with ``result.json`` is finished
whatever ``job.json`` says. Deleting a job removes its folder, and only a folder that is a
direct child of the jobs folder and holds ``input/job.json`` or ``result.json``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..portable import result_v1
from ..portable.arrays import write_text_atomic
from ..portable.job_marker import mark_job_folder

JOB_JSON = "input/job.json"
RESULT_JSON = result_v1.RESULT_JSON
STATUSES = ("running", "finished", "failed", "cancelled", "incomplete")


@dataclass(frozen=True, kw_only=True)
class JobEntry:
    path: Path
    prompt: str
    created: str  # "2026-12-01 21:04"
    status: str  # one of STATUSES
    message: str = ""
    has_result: bool = False

    @property
    def name(self) -> str:
        return self.path.name


def slug(prompt: str, max_words: int = 5) -> str:
    words = re.findall(r"[a-z0-9]+", prompt.lower())
    return "-".join(words[:max_words])[:40].strip("-") or "job"


def new_job_dir(jobs_root: str | os.PathLike, prompt: str, now: float | None = None) -> Path:
    """Create and return a fresh, unique job folder, marked as a job folder (the backend
    writes only into marked or empty folders)."""
    root = Path(jobs_root)
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    base = f"{stamp}-{slug(prompt)}"
    for i in range(1000):
        path = root / (base if i == 0 else f"{base}-{i + 1}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        mark_job_folder(path, "add-on")
        return path
    raise OSError(f"cannot create a new job folder under {root}")


def write_job_info(job_dir: str | os.PathLike, info: dict[str, Any]) -> None:
    path = Path(job_dir) / JOB_JSON
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(info, indent=2, ensure_ascii=False) + "\n")


def read_job_info(job_dir: str | os.PathLike) -> dict[str, Any]:
    """``input/job.json`` (empty dict when missing or unreadable)."""
    try:
        doc = json.loads((Path(job_dir) / JOB_JSON).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def update_status(job_dir: str | os.PathLike, status: str, message: str = "") -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown job status {status!r}")
    info = read_job_info(job_dir)
    info.update(status=status, message=message, ended=time.time())
    write_job_info(job_dir, info)


def read_entry(job_dir: Path) -> JobEntry | None:
    info = read_job_info(job_dir)
    has_result = (job_dir / RESULT_JSON).is_file()
    if not info and not has_result:
        return None
    prompt = str((info.get("request") or {}).get("prompt", ""))
    if not prompt and has_result:
        try:
            prompt = str(json.loads((job_dir / RESULT_JSON).read_text("utf-8")).get("prompt", ""))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            prompt = ""
    created = info.get("created")
    if not isinstance(created, (int, float)):
        created = job_dir.stat().st_mtime
    status = "finished" if has_result else str(info.get("status", "incomplete"))
    if status not in STATUSES:
        status = "incomplete"
    return JobEntry(path=job_dir, prompt=prompt, status=status,
                    created=time.strftime("%Y-%m-%d %H:%M", time.localtime(created)),
                    message=str(info.get("message", "")) if not has_result else "",
                    has_result=has_result)


def list_jobs(jobs_root: str | os.PathLike, limit: int | None = None) -> list[JobEntry]:
    """The job folders under ``jobs_root``, newest first (folder names start with the time);
    at most ``limit`` of them (the panel redraws often: only those are read)."""
    root = Path(jobs_root)
    if not root.is_dir():
        return []
    entries: list[JobEntry] = []
    for child in sorted(root.iterdir(), key=lambda p: p.name, reverse=True):
        if limit is not None and len(entries) >= limit:
            break
        if child.is_dir() and not child.name.startswith("."):
            entry = read_entry(child)
            if entry is not None:
                entries.append(entry)
    return entries


def count_folders(jobs_root: str | os.PathLike) -> int:
    root = Path(jobs_root)
    return sum(1 for p in root.iterdir() if p.is_dir()) if root.is_dir() else 0


def delete_job(jobs_root: str | os.PathLike, job_dir: str | os.PathLike) -> None:
    """Remove one job folder; refuses anything that is not a job folder of ``jobs_root``."""
    root, path = Path(jobs_root).resolve(), Path(job_dir).resolve()
    if path.parent != root:
        raise ValueError(f"{path} is not a job folder of {root}; nothing was deleted")
    if not ((path / JOB_JSON).is_file() or (path / RESULT_JSON).is_file()):
        raise ValueError(f"{path} does not look like a job folder (no {JOB_JSON} or "
                         f"{RESULT_JSON}); nothing was deleted")
    shutil.rmtree(path)
