"""JSON with limits: a protocol line or a ``result.json`` nested too deeply or too long is
refused with a ``ValueError`` that says which limit, instead of a ``RecursionError`` (which
kills the thread that parses it) or unbounded memory."""

from __future__ import annotations

import json
from collections.abc import Iterable
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
    crossed, or the JSON error.

    The C decoder parses first (a line nested past Python's recursion limit raises
    ``RecursionError`` there, caught here, within microseconds), then the parsed value's depth
    is checked without recursion: on the few-field messages of the protocol that costs little
    next to the parse, where a character-by-character scan of the text cost 3× the parse."""
    if len(text) > max_chars:
        raise JSONLimitError(f"{len(text)} characters, over the limit of {max_chars}")
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONLimitError(f"nested more than {max_depth} levels deep") from None
    except json.JSONDecodeError as exc:
        raise JSONLimitError(str(exc), over_limit=False) from None
    if _deeper_than(value, max_depth):
        raise JSONLimitError(f"nested more than {max_depth} levels deep")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects in ``value`` nest more than ``limit`` levels (iterative)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return False
