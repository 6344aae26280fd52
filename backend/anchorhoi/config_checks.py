"""Checks a config dataclass's ``__post_init__`` runs: choices from the types, ranges by name.

``check_choices(self)``: every ``Literal`` field against its choices, which come from the field's
annotation (``typing.get_args``), so they are written once, in the type. Checked are fields
annotated ``Literal[...]`` (or an alias of one), ``Literal[...] | None`` (None allowed too) and
``tuple[Literal[...], ...]`` (every item); other fields are left to the config's own checks.
A value matches a choice of its type only (``True`` is not the choice ``1``, nor ``1.0``).

``check_at_least(self, least, names)`` and ``check_positive(self, names)``: numeric fields by
name. Each error names the class, the field, the rule and the value.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal


def check_choices(config: Any) -> None:
    """Raise ``ValueError`` naming the field, the value and the choices if a ``Literal``-typed
    field of the dataclass instance ``config`` holds anything else."""
    cls = type(config)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(config):
        annotation = hints[f.name]
        value = getattr(config, f.name)
        choices = literal_choices(annotation)
        if choices is not None:
            if not _is_choice(value, choices):
                raise ValueError(f"{cls.__name__}.{f.name} must be one of "
                                 f"{_listed(choices)}; got {value!r}")
            continue
        items = _tuple_item_choices(annotation)
        if items is not None:
            if not isinstance(value, tuple | list):
                raise ValueError(f"{cls.__name__}.{f.name} must be a tuple of "
                                 f"{_listed(items)}; got {value!r}")
            for item in value:
                if not _is_choice(item, items):
                    raise ValueError(f"{cls.__name__}.{f.name}: each item must be one of "
                                     f"{_listed(items)}; got {item!r} in {value!r}")


def check_at_least(config: Any, least: float, names: tuple[str, ...]) -> None:
    """Raise ``ValueError`` if one of the fields ``names`` of ``config`` is below ``least``."""
    for name in names:
        value = getattr(config, name)
        if value < least:
            raise ValueError(f"{type(config).__name__}.{name} must be ≥ {least}; got {value!r}")


def check_positive(config: Any, names: tuple[str, ...]) -> None:
    """Raise ``ValueError`` unless each of the fields ``names`` of ``config`` is > 0."""
    for name in names:
        value = getattr(config, name)
        if not value > 0:
            raise ValueError(f"{type(config).__name__}.{name} must be > 0; got {value!r}")


def literal_choices(annotation: Any) -> tuple[Any, ...] | None:
    """The values ``annotation`` allows when it is a ``Literal`` or a union of ``Literal``s and
    ``None``; None for any other annotation."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for member in typing.get_args(annotation):
            if member is type(None):
                out.append(None)
            elif typing.get_origin(member) is Literal:
                out.extend(typing.get_args(member))
            else:
                return None
        return tuple(out) if any(x is not None for x in out) else None
    return None


def _tuple_item_choices(annotation: Any) -> tuple[Any, ...] | None:
    """For ``tuple[Literal[...], ...]``: the items' choices; else None."""
    if typing.get_origin(annotation) is not tuple:
        return None
    args = typing.get_args(annotation)
    if len(args) != 2 or args[1] is not Ellipsis:
        return None
    return literal_choices(args[0])


def _is_choice(value: Any, choices: tuple[Any, ...]) -> bool:
    return any(value is None if c is None else (
        isinstance(value, type(c)) and isinstance(value, bool) == isinstance(c, bool)
        and value == c) for c in choices)


def _listed(choices: tuple[Any, ...]) -> str:
    return ", ".join(repr(c) for c in choices)
