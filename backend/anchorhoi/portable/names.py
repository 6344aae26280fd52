"""Names that reach files, clips and Blender objects: printable text only.

A prompt or an object name may carry control characters (a pasted terminal escape, a NUL, a
bidirectional override); none of them may reach a clip, a file or a Blender object name.
"""

from __future__ import annotations

import unicodedata

INVISIBLE = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                      "\u2028\u2029\ufeff")
"""Direction marks and overrides, line and paragraph separators, the byte-order mark."""


def printable(text: str) -> str:
    """``text`` with every control character (Unicode category Cc, and :data:`INVISIBLE`)
    turned into a space and runs of whitespace into one space, trimmed."""
    cleaned = "".join(" " if unicodedata.category(ch) == "Cc" or ch in INVISIBLE else ch
                      for ch in text)
    return " ".join(cleaned.split())


def clean_name(value: object, fallback: str, max_chars: int = 63) -> str:
    """A name for a clip, a file or a Blender object from ``value`` (a str; anything else, or
    nothing printable, gives ``fallback``), at most ``max_chars`` characters (Blender's
    limit is 63 bytes: the cut keeps whole UTF-8 characters)."""
    name = printable(value) if isinstance(value, str) else ""
    while len(name.encode("utf-8")) > max_chars:
        name = name[:-1]
    return name.rstrip() or fallback
