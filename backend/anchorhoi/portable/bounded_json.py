"""JSON with limits: a protocol line or a ``result.json`` nested too deeply or too long is
refused with a ``ValueError`` that says which limit, instead of a ``RecursionError`` (which
kills the thread that parses it) or unbounded memory."""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects accepted (the formats need 4)."""
MAX_JSON_CHARS = 1 << 20
"""Longest JSON text accepted (characters): a protocol line, a ``result.json`` (1 MiB)."""


class JSONLimitError(ValueError):
    """JSON text over one of the limits (depth, length: ``over_limit``) or not JSON at all."""

    def __init__(self, message: str, *, over_limit: bool = True):
        super().__init__(message)
        self.over_limit = over_limit


def loads_bounded(text: str, *, max_depth: int = MAX_JSON_DEPTH,
                  max_chars: int = MAX_JSON_CHARS) -> Any:
    """``json.loads(text)`` within the limits; raises :class:`JSONLimitError` naming the limit
    crossed, or the JSON error."""
    if len(text) > max_chars:
        raise JSONLimitError(f"{len(text)} characters, over the limit of {max_chars}")
    if _bracket_depth(text, stop_above=max_depth) > max_depth:
        raise JSONLimitError(f"nested more than {max_depth} levels deep")
    try:
        return json.loads(text)
    except RecursionError:  # not reached after the depth check; kept as a last guard
        raise JSONLimitError(f"nested more than {max_depth} levels deep") from None
    except json.JSONDecodeError as exc:
        raise JSONLimitError(str(exc), over_limit=False) from None


def _bracket_depth(text: str, stop_above: int) -> int:
    """An upper bound of the nesting depth of ``text``: brackets counted outside strings (the
    escapes of a string never end it early)."""
    depth = deepest = 0
    in_string = escaped = False
    if "[" not in text and "{" not in text:
        return 0
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > stop_above:  # over the limit: no need to scan further
                return deepest
        elif ch in "]}":
            depth -= 1
    return deepest
