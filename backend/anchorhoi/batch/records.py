"""One record per job of a batch, read from its job folder, and the batch's summary files.

``record_from_job`` reads a job folder's ``state.json`` (the stages that finished: wall time,
peak memory) and ``result.json`` (the stage timings of the run that published it, which stages
were resumed, ``quality``) through bounded readers; a file that is missing where it should be or
does not read gives a line in the record's ``problems``, never an exception.

``write_summary`` writes ``DIR/batch.json`` (every field of every record; the format and its
reader are in ``portable/batch_summary.py`` so the Blender add-on reads it too) and
``DIR/batch.csv`` (one row per job, flat columns for a spreadsheet), each atomically.
``read_summary`` reads ``batch.json`` back into records. Both formats: ``docs/batch.md``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..job.folder import STATE_VERSION
from ..portable.arrays import MotionFileError, write_text_atomic
from ..portable.batch_summary import (
    BATCH_CSV,
    BATCH_JSON,
    BATCH_SCHEMA,
    BATCH_VERSION,
    JOB_STATUSES,
    is_safe_folder,
    read_batch_json,
)
from ..portable.bounded_json import JSONLimitError, loads_bounded
from ..portable.result_v1 import RESULT_JSON, read_result_json

STATE_JSON = "state.json"
MAX_STATE_JSON_CHARS = 1 << 20
"""Longest ``state.json`` read (1 MiB; a real one has well under 2 kB)."""


@dataclass(frozen=True, kw_only=True)
class JobRecord:
    """What a batch knows about one of its jobs (one entry of ``batch.json``, one row of
    ``batch.csv``)."""

    id: str
    """The job's id: its folder's name under the batch folder, unique in the batch."""
    prompt: str
    """The request's prompt."""
    folder: str
    """The job folder, relative to the batch folder (forward slashes)."""
    status: str
    """One of ``JOB_STATUSES``: ``done``, ``failed``, ``cancelled``, ``pending``, ``running``."""
    error_code: str | None = None
    """The protocol's error code (``BAD_MESH``, ``INTERNAL``, …) when it failed, else None."""
    error_message: str | None = None
    """The error's one-line message when it failed, else None."""
    attempts: int = 1
    """How many times the job was started (retries after a crash or a lost worker count)."""
    stage_seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of each finished stage, in stage order (a resumed stage: its original run)."""
    peak_rss_mb: float | None = None
    """Highest host memory (resident set) over the finished stages, MB; None: none finished."""
    peak_vram_mb: float | None = None
    """Highest CUDA memory over the finished stages, MB; None on a CPU or none finished."""
    quality: dict[str, Any] = field(default_factory=dict)
    """``result.json``'s ``quality`` (stage E's figures and ``plausibility``); empty without
    a result. Non-finite figures are None."""
    resumed_stages: tuple[str, ...] = ()
    """Stages the publishing run loaded from an earlier run instead of computing."""
    problems: tuple[str, ...] = ()
    """What could not be read from the job folder, one sentence each (empty: nothing)."""

    def __post_init__(self) -> None:
        if self.status not in JOB_STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {', '.join(JOB_STATUSES)}")
        if not is_safe_folder(self.folder):
            raise ValueError(f"folder {self.folder!r} must be a relative path inside the batch "
                             "folder")

    def as_json(self) -> dict[str, Any]:
        """The record as an entry of ``batch.json`` (non-finite numbers as null)."""
        doc = asdict(self)
        doc["resumed_stages"] = list(self.resumed_stages)
        doc["problems"] = list(self.problems)
        return _finite(doc)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> JobRecord:
        """A record from an entry that ``read_batch_json`` accepted; fields of the wrong type
        fall back to their defaults."""
        return cls(id=doc["id"], prompt=doc["prompt"], folder=doc["folder"],
                   status=doc["status"], error_code=_str_or_none(doc.get("error_code")),
                   error_message=_str_or_none(doc.get("error_message")),
                   attempts=_int(doc.get("attempts"), 1),
                   stage_seconds=_numbers(doc.get("stage_seconds")),
                   peak_rss_mb=_number(doc.get("peak_rss_mb")),
                   peak_vram_mb=_number(doc.get("peak_vram_mb")),
                   quality=_dict(doc.get("quality")),
                   resumed_stages=_strings(doc.get("resumed_stages")),
                   problems=_strings(doc.get("problems")))


def record_from_job(job_dir: str | os.PathLike, *, id: str, prompt: str, status: str,
                    error: tuple[str, str] | None = None, attempts: int = 1,
                    batch_dir: str | os.PathLike | None = None) -> JobRecord:
    """The record of the job folder ``job_dir`` with the runner's ``status``, ``error``
    (``(code, message)``) and ``attempts``. ``folder`` is ``job_dir`` relative to
    ``batch_dir`` (default: its parent, the batch folder)."""
    job_dir = Path(job_dir)
    base = Path(batch_dir) if batch_dir is not None else job_dir.parent
    folder = os.path.relpath(job_dir, base).replace(os.sep, "/")
    problems: list[str] = []
    stages = _read_state(job_dir / STATE_JSON, required=status == "done", problems=problems)
    result = _read_result(job_dir, required=status == "done", problems=problems)
    timings = _dict(result.get("timings"))
    # the publishing run's timings name every stage; state.json's also those of a failed run
    stage_info = {**stages, **{k: v for k, v in timings.items() if isinstance(v, dict)}}
    seconds = {name: float(v["seconds"]) for name, v in stage_info.items()
               if _number(v.get("seconds")) is not None}
    quality = _dict(result.get("quality"))
    return JobRecord(
        id=id, prompt=prompt, folder=folder, status=status,
        error_code=error[0] if error else None, error_message=error[1] if error else None,
        attempts=attempts, stage_seconds=seconds,
        peak_rss_mb=_peak(stage_info.values(), "peak_rss_mb"),
        peak_vram_mb=_peak(stage_info.values(), "peak_vram_mb"),
        quality=_finite(quality),
        resumed_stages=tuple(n for n, v in timings.items()
                             if isinstance(v, dict) and v.get("resumed") is True),
        problems=tuple(problems))


def write_summary(out_dir: str | os.PathLike, records: Sequence[JobRecord]) -> tuple[Path, Path]:
    """Write ``out_dir/batch.json`` and ``out_dir/batch.csv`` for ``records`` (each file
    atomically); returns both paths."""
    out_dir = Path(out_dir)
    ids = [r.id for r in records]
    if len(set(ids)) != len(ids):
        raise ValueError("job ids must be unique in a batch: "
                         + ", ".join(sorted({i for i in ids if ids.count(i) > 1})))
    doc = {"schema": BATCH_SCHEMA, "version": f"{BATCH_VERSION[0]}.{BATCH_VERSION[1]}",
           "counts": {s: sum(r.status == s for r in records) for s in JOB_STATUSES},
           "jobs": [r.as_json() for r in records]}
    json_path, csv_path = out_dir / BATCH_JSON, out_dir / BATCH_CSV
    write_text_atomic(csv_path, summary_csv(records))
    write_text_atomic(json_path, json.dumps(doc, indent=1, allow_nan=False) + "\n")
    return json_path, csv_path


def read_summary(out_dir: str | os.PathLike) -> list[JobRecord]:
    """The records of ``out_dir/batch.json``; raises ``BatchFileError`` (a ``ValueError``
    naming the file and the problem) when it is missing or not a batch summary."""
    return [JobRecord.from_json(job) for job in read_batch_json(Path(out_dir) / BATCH_JSON)]


def summary_csv(records: Sequence[JobRecord]) -> str:
    """``batch.csv``'s text: the fixed columns, ``seconds_<stage>`` for every stage any job
    finished (in stage order), then every ``quality`` figure any job carries (``quality_<key>``;
    ``plausibility_<name>`` and ``plausibility_<name>_status``)."""
    stages = _union(r.stage_seconds for r in records)
    figures = _union(_flat_quality(r.quality) for r in records)
    columns = ["id", "prompt", "status", "error_code", "error_message", "attempts", "folder",
               *(f"seconds_{s}" for s in stages), "seconds_total", "peak_rss_mb",
               "peak_vram_mb", "resumed_stages", *figures, "problems"]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    for r in records:
        flat = _flat_quality(r.quality)
        writer.writerow([
            r.id, r.prompt, r.status, r.error_code or "", r.error_message or "", r.attempts,
            r.folder, *(_cell(r.stage_seconds.get(s)) for s in stages),
            _cell(sum(r.stage_seconds.values()) if r.stage_seconds else None),
            _cell(r.peak_rss_mb), _cell(r.peak_vram_mb), ";".join(r.resumed_stages),
            *(_cell(flat.get(f)) for f in figures), " ".join(r.problems)])
    return text.getvalue()


# -- reading a job folder ----------------------------------------------------------------------

def _read_state(path: Path, *, required: bool, problems: list[str]) -> dict[str, dict]:
    """``state.json``'s stages (those that finished); a missing file is a problem only when
    the job is done, an unreadable or foreign one always."""
    try:
        doc = loads_bounded(path.read_text(encoding="utf-8"), max_chars=MAX_STATE_JSON_CHARS)
    except FileNotFoundError:
        if required:
            problems.append("state.json is missing.")
        return {}
    except (OSError, UnicodeDecodeError, JSONLimitError) as exc:
        problems.append(f"state.json does not read: {exc}.")
        return {}
    stages = doc.get("stages") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or doc.get("version") != STATE_VERSION \
            or not isinstance(stages, dict):
        problems.append(f"state.json is not a job state of version {STATE_VERSION}.")
        return {}
    return {k: v for k, v in stages.items() if isinstance(v, dict)}


def _read_result(job_dir: Path, *, required: bool, problems: list[str]) -> dict[str, Any]:
    """``result.json`` (schema and version checked); a missing one is a problem only when the
    job is done."""
    path = job_dir / RESULT_JSON
    if not path.exists():
        if required:
            problems.append("result.json is missing.")
        return {}
    try:
        return read_result_json(path)
    except MotionFileError as exc:
        problems.append(f"result.json does not read: {exc}.")
        return {}


# -- values --------------------------------------------------------------------------------

def _number(value: Any) -> float | None:
    """``value`` as a finite float, else None (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _numbers(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        return {}
    return {k: n for k, v in value.items() if (n := _number(v)) is not None}


def _peak(entries: Iterable[dict], key: str) -> float | None:
    values = [n for e in entries if (n := _number(e.get(key))) is not None]
    return max(values) if values else None


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float turned into None (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _flat_quality(quality: dict[str, Any]) -> dict[str, Any]:
    """``quality`` as flat CSV columns: each scalar figure as ``quality_<key>``, each
    plausibility figure as ``plausibility_<name>`` (its value) and
    ``plausibility_<name>_status``."""
    flat: dict[str, Any] = {}
    for key, value in quality.items():
        if key == "plausibility" and isinstance(value, dict):
            for name, fig in value.items():
                if isinstance(fig, dict):
                    flat[f"plausibility_{name}"] = fig.get("value")
                    flat[f"plausibility_{name}_status"] = fig.get("status")
        elif value is None or isinstance(value, (int, float, str)):
            flat[f"quality_{key}"] = value
    return flat


def _union(dicts: Iterable[dict[str, Any]]) -> list[str]:
    """Every key of ``dicts``, in the order first seen."""
    keys: dict[str, None] = {}
    for d in dicts:
        keys.update(dict.fromkeys(d))
    return list(keys)


def _cell(value: Any) -> str:
    """A CSV cell: empty for None or a non-finite number, floats rounded to 4 decimals."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(round(value, 4)) if math.isfinite(value) else ""
    return str(value)
