"""Pydantic's errors as the user's YAML shows them: paths without pydantic's union tags, and
of a field that takes one of several shapes, only the errors of the shape written.

A field typed `Duration | Spread` given `{min: 2s, max: 1s}` fails both ways: as a duration
("a duration is a string with a unit") and as a spread ("min must not be more than max").
Only the second is about what the user wrote, and pydantic's locations carry the tags that
tell the two apart (`function-before[parse_duration(), float]`, `function-after[_ordered(),
Spread]`), which are no part of the user's path.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from ido.yamlsrc import FieldPath

_MODEL_TAG = re.compile(r"(?:^|[\s,\[])[A-Z]\w*\]?$")
"""A union member's tag naming a model (`Spread`, `function-after[_ordered(), Spread]`),
not a scalar (`constrained-str`, `function-before[parse_duration(), float]`)."""


def user_errors(errors: Sequence[Any], data: Any) -> list[tuple[FieldPath, Any]]:
    """Each error with its path in `data` (tags dropped), less the errors of union members
    of another shape than the value written: a mapping is a model's to judge, a scalar a
    scalar's (all are kept when none is of the written shape)."""
    placed = [(*_place(tuple(error["loc"]), data), error) for error in errors]
    members: dict[FieldPath, set[str]] = defaultdict(set)
    for path, tag, _, _ in placed:
        if tag is not None:
            members[path].add(tag)
    kept: list[tuple[FieldPath, Any]] = []
    for path, tag, user, error in placed:
        if tag is not None and len(members[path]) > 1:
            wanted = isinstance(_at(data, path), dict)
            fitting = [t for t in members[path] if bool(_MODEL_TAG.search(t)) == wanted]
            if fitting and tag not in fitting:
                continue
        kept.append((user, error))
    return kept


def _place(loc: FieldPath, data: Any) -> tuple[FieldPath, str | None, FieldPath]:
    """The path up to the first union tag, that tag (None: no union on the way), and the
    whole path with every tag dropped. A step is the user's when `data` has it there, or
    when it is the last (a missing or unknown key)."""
    user: list[str | int] = []
    first: tuple[FieldPath, str] | None = None
    here = data
    for n, step in enumerate(loc):
        found = _has(here, step)
        if not found and (n < len(loc) - 1 or _is_tag(step)):
            if first is None:
                first = (tuple(user), str(step))
            continue
        here = here[step] if found else None
        user.append(step)
    if first is None:
        return tuple(user), None, tuple(user)
    return first[0], first[1], tuple(user)


def _has(data: Any, step: str | int) -> bool:
    if isinstance(data, dict):
        return step in data
    return isinstance(data, list) and isinstance(step, int) and 0 <= step < len(data)


def _is_tag(step: str | int) -> bool:
    """A last step that is pydantic's, not a key: a union member's or validator's tag."""
    return isinstance(step, str) and (
        step.startswith(("function-", "lax-", "constrained-")) or bool(_MODEL_TAG.search(step))
    )


def _at(data: Any, path: FieldPath) -> Any:
    for step in path:
        data = data[step]
    return data
