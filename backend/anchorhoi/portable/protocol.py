"""The process protocol between the Blender add-on and the backend (``anchorhoi serve``).

Pure Python (json only): the backend writes these messages, the add-on reads them; both import
this one module (the add-on through ``addon/portable``).

One JSON object per line, UTF-8, ``"type"`` first. The backend's stdout carries nothing else;
its logs go to stderr and the job's ``log.txt``.

backend → add-on (stdout)
    ``hello``     first line: ``protocol`` (int), ``backend`` version, ``pid``
    ``accepted``  the request passed validation: ``job`` (folder), ``stages`` (names, in order),
                  ``resumed`` (names of stages found complete and skipped)
    ``stage``     a stage starts: ``stage``, ``index``, ``count``, ``label``
    ``progress``  ``stage``, ``step``, ``total``, ``eta_s`` (or null), ``losses`` {name: float}
    ``preview``   ``stage``, ``path`` (an image file that is complete when announced)
    ``result``    ``job``, ``result`` (path of ``result.json``), ``timings`` {stage: seconds}
    ``error``     ``code`` (one of ``ERROR_CODES``), ``message``, ``hint``, ``log`` (path or null)
    ``cancelled`` the job stopped at a step boundary after a ``cancel``; ``job``

add-on → backend (stdin)
    ``generate``  after ``hello``: ``protocol`` (int) and ``request`` (see ``REQUEST_FIELDS``)
    ``cancel``    stop at the next step boundary (within a couple of seconds); exit code 3

Exit codes: ``EXIT_OK`` 0, ``EXIT_CRASH`` 1, ``EXIT_BAD_REQUEST`` 2, ``EXIT_CANCELLED`` 3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from .bounded_json import MAX_JSON_CHARS, MAX_JSON_DEPTH, JSONLimitError, loads_bounded

PROTOCOL_VERSION = 1

EXIT_OK = 0
EXIT_CRASH = 1
EXIT_BAD_REQUEST = 2
EXIT_CANCELLED = 3

ERROR_CODES = {
    "MODEL_NOT_FOUND": "A model is neither cached nor reachable: connect once to download it, "
                       "or set its id to a local folder in the preferences.",
    "CUDA_OOM": "The GPU ran out of memory: choose a smaller preset (standard → draft), close "
                "other GPU programs, or lower the frame count.",
    "NO_GPU": "No CUDA GPU is available: only the 'tiny' preset (a pipeline check) is practical "
              "on a CPU. Install a CUDA build of torch or run on a machine with a GPU.",
    "BAD_MESH": "The object mesh cannot be used: pick a mesh object with faces and a sensible "
                "size, or leave the object empty.",
    "BAD_PROMPT": "Describe the interaction in a short sentence, e.g. 'a person sits down on "
                  "the chair'.",
    "BAD_REQUEST": "The request is incomplete or malformed; see the message.",
    "NO_PERSON": "No person was found in the generated video: try another seed or a more "
                 "explicit prompt.",
    "JOB_BUSY": "Another run is using this job folder: wait for it to finish or cancel it, or "
                "start a new job.",
    "BAD_OUT": "The job folder cannot be used: choose a new folder (it is created) or an "
               "earlier job folder to resume it.",
    "DISK_FULL": "The drive is full: free some space, then run the same request again (finished "
                 "stages are kept).",
    "PROTOCOL_MISMATCH": "The add-on and the backend are different versions: update the backend "
                         "(or the add-on) so both speak the same protocol.",
    "INTERNAL": "An unexpected error: the job's log has the details.",
}
"""Error codes and the default hint a person can act on."""

MESSAGE_TYPES = ("hello", "accepted", "stage", "progress", "preview", "result", "error",
                 "cancelled", "generate", "cancel")

PresetName = Literal["tiny", "draft", "standard", "high"]
"""A quality preset: ``tiny`` (the CPU pipeline check), ``draft``, ``standard``, ``high`` (GPU)."""
PRESET_NAMES: tuple[PresetName, ...] = get_args(PresetName)
"""Values of a request's ``preset``."""
DEFAULT_PRESET: PresetName = "draft"
"""The preset of a request that names none."""
Device = Literal["auto", "cuda", "cpu"]
"""Where a job runs: ``auto`` picks CUDA when present."""
DEVICES: tuple[Device, ...] = get_args(Device)
"""Values of a request's ``device``."""
ModelRole = Literal["image", "video", "detector"]
"""What a model does in a job: the image prior (stage A), the video prior (C), the detector
(D)."""
MODEL_ROLES: tuple[ModelRole, ...] = get_args(ModelRole)
"""Keys of a request's ``models``."""
MAX_FRAMES = 1000
"""Most frames a request may ask for."""
MAX_LINE_CHARS = MAX_JSON_CHARS
"""Longest protocol line (characters, 1 MiB); a longer one is refused without parsing."""

REQUEST_FIELDS: dict[str, type | tuple[type, ...]] = {
    "prompt": str, "object": (str, type(None)), "object_name": (str, type(None)),
    "object_prompt": (str, type(None)),
    "preset": str, "frames": (int, type(None)), "fps": (int, float, type(None)), "seed": int,
    "device": str,
    "job_dir": str, "models": dict, "smplx_dir": (str, type(None)),
    "cache_dir": (str, type(None)),
}
"""Fields of a ``generate`` request and their JSON types; only ``prompt`` and ``job_dir`` are
required, the backend fills the rest from its defaults."""


class ProtocolError(ValueError):
    """A line that is not a protocol message (garbage, wrong shape, unknown type)."""


@dataclass(frozen=True)
class Message:
    type: str
    data: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def encode(type_: str, **data: Any) -> str:
    """One protocol line (with its newline). Non-finite floats become null."""
    if type_ not in MESSAGE_TYPES:
        raise ValueError(f"unknown message type {type_!r}")
    return json.dumps({"type": type_, **_finite(data)}, ensure_ascii=False,
                      allow_nan=False) + "\n"


def decode(line: str | bytes) -> Message:
    """Parse one line; raises ``ProtocolError`` with the offending text (shortened)."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"not UTF-8: {line[:80]!r}") from exc
    text = line.strip()
    try:
        obj = loads_bounded(text, max_depth=MAX_JSON_DEPTH, max_chars=MAX_LINE_CHARS)
    except JSONLimitError as exc:
        what = f"a protocol line {exc}" if exc.over_limit else "not a protocol line"
        raise ProtocolError(f"{what}: {_short(text)!r}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise ProtocolError(f"not a protocol message: {_short(text)!r}")
    if obj["type"] not in MESSAGE_TYPES:
        raise ProtocolError(f"unknown message type {obj['type']!r}")
    data = {k: v for k, v in obj.items() if k != "type"}
    return Message(obj["type"], data)


def check_hello(msg: Message) -> None:
    """Raise ``ProtocolError`` unless ``msg`` is a hello speaking ``PROTOCOL_VERSION``."""
    if msg.type != "hello":
        raise ProtocolError(f"expected a hello first, got {msg.type!r}")
    if msg.get("protocol") != PROTOCOL_VERSION:
        raise ProtocolError(
            f"PROTOCOL_MISMATCH: the backend speaks protocol {msg.get('protocol')!r}, the "
            f"add-on {PROTOCOL_VERSION}. {ERROR_CODES['PROTOCOL_MISMATCH']}")


def check_request(request: Any) -> list[str]:
    """Problems with a ``generate`` request's fields (empty: fine)."""
    if not isinstance(request, dict):
        return ["the request must be a JSON object"]
    problems = []
    for name in ("prompt", "job_dir"):
        if name not in request:
            problems.append(f"missing field {name!r}")
    for name, value in request.items():
        if name not in REQUEST_FIELDS:
            problems.append(f"unknown field {name!r}")
        elif not isinstance(value, REQUEST_FIELDS[name]) or isinstance(value, bool):
            problems.append(f"field {name!r} has the wrong type ({type(value).__name__})")
    return problems


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _short(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[:n] + "…"
