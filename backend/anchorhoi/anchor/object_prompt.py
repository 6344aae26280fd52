"""The object's own words, taken from the interaction prompt when the user gives none.

``object_phrase`` picks the first noun phrase after the subject that names a thing rather than
a person or a body part: it starts at a determiner (``a``, ``an``, ``the``, ``some``, ``his``,
``her``, ``their``, ``its``, ``one``, ``this``, ``that``) and runs to the next preposition,
conjunction, verb-like ``-ing`` word or punctuation:

    "a person sits down on a wooden stool"          → "a wooden stool"
    "a man lifts the heavy box over his head"        → "the heavy box"
    "a woman kicks a ball with her right foot"       → "a ball"
    "a person waves"                                 → None (nothing to generate)

It is a plain word rule, not a parser: the user's ``object_prompt`` overrides it, and a prompt
with no nameable object raises :class:`NoObjectError`, which says so.

``lifts_object`` says whether the prompt holds the object off the floor (the object field's
floor-contact term is then off).
"""

from __future__ import annotations

import re


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


DETERMINERS = _set("a an the some his her their its one this that")
"""Words that open a noun phrase."""
PERSON_WORDS = _set("""person people man men woman women boy boys girl girls child children
kid kids someone somebody human player athlete dancer worker guy lady he she they""")
"""Head nouns of the subject: a phrase ending in one of these names the person."""
BODY_WORDS = _set("""head hand hands arm arms leg legs foot feet knee knees shoulder shoulders
back chest hip hips lap body face finger fingers toe toes elbow elbows side waist neck""")
"""Body parts: a phrase naming one is not the object."""
STOP_WORDS = _set("""with on onto in into at over under above below behind beside near
next to from off up down and or while then but as towards toward across through by for of
using""")
"""Words that end the object's phrase."""
LIFT_WORDS = _set("""lift lifts lifting lifted hold holds holding held carry carries carrying
carried raise raises raising raised throw throws throwing threw toss tosses tossing catch
catches catching caught overhead juggle juggles juggling""")
"""Verbs and adverbs that keep the object off the floor."""


class NoObjectError(ValueError):
    """The prompt names no object and the user gave neither a mesh nor an object prompt."""

    hint = ("Name the object in the prompt (e.g. 'a person sits on a wooden stool'), set an "
            "object prompt (--object-prompt), or give a mesh (--object).")


def _words(prompt: str) -> list[str]:
    return re.findall(r"[a-z0-9'-]+|[.,;:!?]", prompt.lower())


def object_phrase(prompt: str) -> str | None:
    """The noun phrase naming the object in ``prompt`` (see the module docstring), or None."""
    words = _words(prompt)
    i = 0
    while i < len(words):
        if words[i] not in DETERMINERS:
            i += 1
            continue
        phrase = []
        j = i + 1
        while j < len(words) and words[j] not in STOP_WORDS | DETERMINERS \
                and not words[j].endswith("ing") and re.fullmatch(r"[a-z0-9'-]+", words[j]):
            phrase.append(words[j])
            j += 1
        # the first word after a subject's determiner may be its verb ("a person sits"): a
        # phrase naming the person ends at the person word
        cut = next((k for k, w in enumerate(phrase) if w in PERSON_WORDS), None)
        if cut is None and phrase and phrase[-1] not in BODY_WORDS:
            return " ".join([words[i], *phrase])
        i = j if cut is None else i + 1
    return None


def lifts_object(prompt: str) -> bool:
    """Whether ``prompt`` holds the object off the floor (lift, hold, carry, throw …)."""
    return any(w in LIFT_WORDS for w in _words(prompt))


def resolve_object_prompt(prompt: str, object_prompt: str | None) -> str:
    """``object_prompt`` when given (stripped), else :func:`object_phrase` of ``prompt``;
    :class:`NoObjectError` when neither names an object."""
    if object_prompt is not None and object_prompt.strip():
        return object_prompt.strip()
    found = object_phrase(prompt)
    if found is None:
        raise NoObjectError(f"The prompt {prompt!r} names no object to generate. "
                            + NoObjectError.hint)
    return found
