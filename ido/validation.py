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
from collections import abc, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from ido.yamlsrc import FieldPath

_MODEL_TAG = re.compile(r"(?:^|[\s,\[])[A-Z]\w*\]?$")
"""A union member's tag naming a model (`Spread`, `function-after[_ordered(), Spread]`),
not a scalar (`constrained-str`, `function-before[parse_duration(), float]`)."""


def user_errors(errors: Sequence[Any], data: Any) -> list[tuple[FieldPath, Any]]:
    """Each error with its path in `data` (tags dropped), less the errors of union members
    of another shape than the value written: a mapping is a model's to judge, a scalar a
    scalar's (all are kept when none is of the written shape)."""
    placed = [(_place(tuple(error["loc"]), data), error) for error in errors]
    members: dict[FieldPath, set[str]] = defaultdict(set)
    for place, _ in placed:
        if place.tag is not None:
            members[place.union].add(place.tag)
    kept: list[tuple[FieldPath, Any]] = []
    for place, error in placed:
        if place.tag is not None and len(members[place.union]) > 1:
            wanted = isinstance(place.written, dict)
            fitting = [t for t in members[place.union] if bool(_MODEL_TAG.search(t)) == wanted]
            if fitting and place.tag not in fitting:
                continue
        kept.append((place.user, error))
    return kept


@dataclass(frozen=True)
class _Place:
    user: FieldPath
    """The error's path in the data, every tag dropped."""
    union: FieldPath = ()
    """The path up to the first union member's tag."""
    tag: str | None = None
    """That tag (None: no union on the way)."""
    written: Any = None
    """What the data holds at `union`."""


def _place(loc: FieldPath, data: Any) -> _Place:
    """Where an error is in `data`. A step is the user's when `data` has it there (a key
    that is not text, such as `null` or `1.5`, is matched by its text), and when it is not
    one of pydantic's tags (a missing or unknown key)."""
    user: list[str | int] = []
    first: tuple[FieldPath, str, Any] | None = None
    here = data
    for step in loc:
        found, value, shown = _child(here, step)
        if not found and _is_tag(step):
            if first is None:
                first = (tuple(user), str(step), here)
            continue
        here = value
        user.append(shown)
    if first is None:
        return _Place(tuple(user))
    return _Place(tuple(user), *first)


_NOTHING = object()


def _child(data: Any, step: str | int) -> tuple[bool, Any, str | int]:
    """Whether `data` holds `step`, what it holds there, and the step as shown."""
    if isinstance(data, list):
        if isinstance(step, int) and 0 <= step < len(data):
            return True, data[step], step
        return False, None, step
    if not isinstance(data, dict):
        return False, None, step
    if isinstance(step, str) and step in data:
        return True, data[step], step
    text = str(step)  # pydantic's text of a key that is not text: `None`, `1.5`, a repr
    key = next((k for k in data if k == step or text in (str(k), repr(k))), _NOTHING)
    if key is _NOTHING:
        return False, None, step
    return True, data[key], key if isinstance(key, str) else str(key)


_TYPE_TAGS = (
    *("function-", "lax-", "constrained-", "json-or-python", "nullable", "tagged-union"),
    *("is-instance", "literal", "list[", "dict[", "set[", "tuple[", "union["),
)


def _is_tag(step: str | int) -> bool:
    """A step that is pydantic's, not the data's: a union member's or validator's tag."""
    return isinstance(step, str) and (
        step.startswith(_TYPE_TAGS)
        or step in ("str", "int", "float", "bool", "none", "bytes")
        or bool(_MODEL_TAG.search(step))
    )


def keys_at(model: type[BaseModel], path: FieldPath) -> tuple[str, ...]:
    """The keys the models at `path` in a resource of `model` take, as written (aliases),
    sorted; none when no model is there (a free mapping such as `effects`). What an
    unknown key is likely a typo of is among them."""
    here: list[Any] = [model]
    for step in path:
        here = [inner for kind in here for inner in _inside(kind, step)]
    return tuple(
        sorted(
            {
                field.alias or name
                for kind in here
                for model_type in _members(kind)
                for name, field in model_type.model_fields.items()
            }
        )
    )


def _members(kind: Any) -> list[type[BaseModel]]:
    """The models `kind` may be: itself, or the models of its union or annotation."""
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return [kind]
    if get_origin(kind) in (Annotated, Union, UnionType):
        return [m for arg in get_args(kind) for m in _members(arg)]
    return []


def _inside(kind: Any, step: str | int) -> list[Any]:
    """The types found at `step` inside a value of type `kind`."""
    origin, args = get_origin(kind), get_args(kind)
    if origin is Annotated:
        return _inside(args[0], step)
    if origin in (Union, UnionType):
        return [inner for arg in args for inner in _inside(arg, step)]
    if isinstance(kind, type) and issubclass(kind, BaseModel) and isinstance(step, str):
        return [
            field.annotation
            for name, field in kind.model_fields.items()
            if step in (name, field.alias)
        ]
    if origin in (list, tuple, Sequence, abc.Sequence) and isinstance(step, int) and args:
        return [args[0]]
    if origin in (dict, Mapping, abc.Mapping) and isinstance(step, str) and len(args) == 2:
        return [args[1]]
    return []
