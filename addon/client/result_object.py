"""Where a result's object came from, as the panel says it (bpy-free): generated from its words
or the user's own mesh (``result.json``'s ``object``; see ``docs/result-format.md``)."""

from __future__ import annotations

from typing import Any

from ..portable.names import clean_name, printable


def object_line(doc: dict[str, Any]) -> str | None:
    """One line for a read ``result.json``; None when the result has no object."""
    obj = doc.get("object")
    if not isinstance(obj, dict):
        return None
    generated = obj.get("generated")
    if isinstance(generated, dict) and isinstance(generated.get("prompt"), str):
        return f"Object: generated from '{printable(generated['prompt'])}'"
    name = clean_name(obj.get("name"), "Object")
    if obj.get("source"):
        return f"Object: your mesh '{name}'"
    return f"Object: the default box ('{name}', a job from before generated objects)"


def generating_line(object_prompt: str, picked: bool) -> str:
    """What the next job's object will be, shown under the panel's Object field."""
    if picked:
        return "Object: your mesh"
    words = " ".join(object_prompt.split())
    return f"Object: generated from '{words}'" if words else \
        "Object: generated from the prompt's object"
