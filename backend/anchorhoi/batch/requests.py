"""The requests of a batch: a JSON-lines or CSV file, one ``generate`` request a line.

Every line is read and validated (the same checks as ``generate``: ``job/request.validate``,
and the job folder's ownership, read only) before anything runs; the problems of all lines are
reported together, each with its line number, and nothing is written.

Fields of a line: ``prompt`` (required), ``object`` (a mesh path, relative to the requests
file's folder or absolute), ``object_prompt`` (the words of the object to generate when no mesh
is given), ``object_name``, ``preset``, ``seed``, ``frames``, ``fps``,
``image_model``, ``video_model``, ``detector`` and ``id`` (the job folder's name under
``--out``; default: the line number and a slug of the prompt). A CSV file has a header row
with these names; an empty cell is a field left out. Blank lines (and, in JSON lines, lines
starting with ``#``) are skipped.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..job.errors import JobError
from ..job.request import GenerateRequest, validate
from ..portable.job_marker import is_empty_folder, is_job_folder
from ..portable.protocol import DEFAULT_PRESET, Device

FIELDS: dict[str, tuple[type, ...]] = {
    "prompt": (str,), "object": (str,), "object_prompt": (str,), "object_name": (str,),
    "preset": (str,),
    "seed": (int,), "frames": (int,), "fps": (int, float), "image_model": (str,),
    "video_model": (str,), "detector": (str,), "id": (str,)}
"""The fields a request line may carry, with their JSON types."""

MAX_ID_CHARS = 64
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
"""A job id: letters, digits, ``.``, ``_``, ``-``; not starting with a dot (no hidden or
``..`` folders), no separators: safe as a folder name on every system."""

SLUG_CHARS = 40
MAX_REQUEST_BYTES = 64 * 1024
MAX_REQUESTS = 100_000
SHOWN_PROBLEMS = 20
"""How many bad lines the refusal lists (then "and N more")."""


@dataclass(frozen=True, kw_only=True)
class BatchJob:
    """One request of a batch."""

    id: str
    """The job folder's name under the batch folder."""
    line: int
    """Its line in the requests file (1-based; a CSV's header is line 1)."""
    request: GenerateRequest
    """The validated request; its ``job_dir`` is ``DIR/<id>``."""


@dataclass(frozen=True, kw_only=True)
class BatchDefaults:
    """What the command line gives every request of the batch."""

    device: Device = "auto"
    """``auto`` | ``cuda`` | ``cpu`` for every job."""
    smplx_dir: Path | None = None
    """Folder of the official SMPL-X files on every node (None: the procedural body)."""
    cache_dir: Path | None = None
    """Model cache folder on every node (None: each node's default)."""


def read_requests(path: Path, out_dir: Path, defaults: BatchDefaults = BatchDefaults()
                  ) -> list[BatchJob]:
    """Every request of ``path`` as a job under ``out_dir``; ``JobError`` (``BAD_REQUEST``)
    naming every bad line when any line is bad. Reads only."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise JobError("BAD_REQUEST", f"Cannot read the requests file {path}: {exc}.",
                       "Give a JSON-lines (.jsonl) or CSV (.csv) file, UTF-8, one request a "
                       "line.") from None
    jobs: list[BatchJob] = []
    problems: list[str] = []
    ids: dict[str, int] = {}
    for line, fields in _records(path, text, problems):
        try:
            job = _job(line, fields, path.parent, Path(out_dir), defaults)
        except JobError as exc:
            problems.append(f"line {line}: {exc.code}: {exc.message}")
            continue
        key = job.id.lower()  # one folder on a case-insensitive file system
        if key in ids:
            problems.append(f"line {line}: id {job.id!r} is already used by line {ids[key]}")
            continue
        ids[key] = line
        jobs.append(job)
    if len(jobs) + len(problems) > MAX_REQUESTS:
        problems.append(f"more than {MAX_REQUESTS} requests; split the file")
    if problems:
        shown = problems[:SHOWN_PROBLEMS]
        more = len(problems) - len(shown)
        raise JobError("BAD_REQUEST", f"{path}: {len(problems)} bad request line(s), nothing "
                       "was run:\n  " + "\n  ".join(shown)
                       + (f"\n  … and {more} more" if more else ""),
                       "Fix those lines (fields: " + ", ".join(FIELDS) + ") and run the "
                       "command again.")
    if not jobs:
        raise JobError("BAD_REQUEST", f"{path} holds no requests.",
                       'Write one request a line, e.g. {"prompt": "a person sits on the '
                       'chair", "object": "chair.obj", "preset": "tiny"}.')
    return jobs


def _records(path: Path, text: str, problems: list[str]
             ) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, fields)`` of each request; unreadable lines go to ``problems``."""
    if path.suffix.lower() == ".csv":
        yield from _csv_records(text, problems)
        return
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if len(line) > MAX_REQUEST_BYTES:
            problems.append(f"line {number}: longer than {MAX_REQUEST_BYTES} characters")
            continue
        try:
            fields = json.loads(line)
        except ValueError as exc:
            problems.append(f"line {number}: not JSON ({exc})")
            continue
        if not isinstance(fields, dict):
            problems.append(f"line {number}: not a JSON object")
            continue
        yield number, fields


def _csv_records(text: str, problems: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    for row in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            unknown = [h for h in header if h not in FIELDS]
            if unknown:
                problems.append(f"line {number}: unknown column(s) {unknown}; the header names "
                                "the fields: " + ", ".join(FIELDS))
                return
            continue
        if len(row) > len(header):
            problems.append(f"line {number}: {len(row)} cells for {len(header)} columns")
            continue
        fields: dict[str, Any] = {}
        for name, cell in zip(header, row):
            if cell.strip():
                fields[name] = _typed(name, cell.strip())
        yield number, fields


def _typed(name: str, cell: str) -> Any:
    """A CSV cell as its field's JSON type (left as text when it does not parse: the field
    check then names it)."""
    kinds = FIELDS[name]
    try:
        if int in kinds and float not in kinds:
            return int(cell)
        if float in kinds:
            return float(cell)
    except ValueError:
        return cell
    return cell


def _job(line: int, fields: dict[str, Any], base: Path, out_dir: Path,
         defaults: BatchDefaults) -> BatchJob:
    for name, value in fields.items():
        if name not in FIELDS:
            raise JobError("BAD_REQUEST", f"unknown field {name!r} (fields: "
                           + ", ".join(FIELDS) + ")")
        if isinstance(value, bool) or not isinstance(value, FIELDS[name]):
            raise JobError("BAD_REQUEST", f"field {name!r} must be "
                           f"{' or '.join(k.__name__ for k in FIELDS[name])}, got {value!r}")
    if "prompt" not in fields:
        raise JobError("BAD_PROMPT", "no prompt")
    job_id = fields.get("id") or default_id(line, fields["prompt"])
    if len(job_id) > MAX_ID_CHARS or not ID_PATTERN.fullmatch(job_id):
        raise JobError("BAD_REQUEST", f"id {job_id!r} is not a safe folder name (letters, "
                       f"digits, '.', '_', '-', at most {MAX_ID_CHARS}, not starting with '.')")
    obj = fields.get("object")
    models = {role: fields[f"{role}_model"] for role in ("image", "video")
              if fields.get(f"{role}_model")}
    if fields.get("detector"):
        models["detector"] = fields["detector"]
    request = validate(GenerateRequest(
        prompt=fields["prompt"], job_dir=out_dir / job_id,
        object=(base / Path(obj).expanduser()) if obj else None,
        object_prompt=fields.get("object_prompt"),
        object_name=fields.get("object_name"), preset=fields.get("preset", DEFAULT_PRESET),
        frames=fields.get("frames"), fps=fields.get("fps"), seed=fields.get("seed", 0),
        device=defaults.device, models=models, smplx_dir=defaults.smplx_dir,
        cache_dir=defaults.cache_dir))
    _check_folder(request.job_dir)
    return BatchJob(id=job_id, line=line, request=request)


def default_id(line: int, prompt: str) -> str:
    """``<line>-<slug of the prompt>``, e.g. ``003-a-person-sits-on-the-chair``."""
    slug = re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")[:SLUG_CHARS].rstrip("-")
    return f"{line:03d}-{slug}" if slug else f"{line:03d}"


def _check_folder(root: Path) -> None:
    """The job folder's ownership, read only: a file, or a non-empty folder that is not a
    job's, is refused (``run_job`` would refuse it too, after Ray started)."""
    try:
        if root.exists() and not root.is_dir():
            raise JobError("BAD_OUT", f"{root} is a file, not a job folder")
        if root.is_dir() and not is_job_folder(root) and not is_empty_folder(root):
            raise JobError("BAD_REQUEST", f"{root} holds files that are not an AnchorHOI job; "
                           "give this request another id")
    except OSError as exc:
        raise JobError("BAD_OUT", f"cannot look at {root}: {exc}") from None
