"""CEL conditions: compiled once at load time, evaluated without ever raising."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from cel_expr_python import cel

from ido.conditions._limits import _check_literals, _check_patterns, _env, _iteration_problem
from ido.conditions._messages import (
    DURATION_UNITS,
    ConditionError,
    _conversion_hint,
    _readable,
    _short,
)
from ido.conditions._named import named_values
from ido.conditions._nulls import (
    KeyListed,
    NullRead,
    keys_listed,
    mentions_nullable,
    null_tests,
    nullable,
    set_meant,
    unguarded,
)
from ido.conditions._reading import VARIABLES, Key, _blank_literals, _reads, _state_paths
from ido.conditions._tree import tree
from ido.conditions._types import Each, Record, Shape, type_problem
from ido.conditions._unset import missing_tested_map, unset_fact
from ido.state import excerpt, reach_into

__all__ = [
    "DURATION_UNITS",
    "VARIABLES",
    "Condition",
    "ConditionError",
    "Each",
    "Key",
    "KeyListed",
    "NullRead",
    "Record",
    "Shape",
    "Verdict",
    "all_hold",
    "compile_condition",
    "missing_tested_map",
    "named_values",
    "nullable",
    "type_problem",
    "unguarded",
    "unset_fact",
]


@dataclass(frozen=True)
class Verdict:
    """The outcome of evaluating a condition: held or not, and the error if evaluation failed."""

    holds: bool
    error: str | None = None


_TRUE, _FALSE = Verdict(True), Verdict(False)


_BOOL = cel.Type.BOOL
_SCALARS = (cel.Type.STRING, cel.Type.INT, cel.Type.UINT, cel.Type.DOUBLE)


# One fact's path or its negation, of at most 16 names after `state` and 1,000 characters:
# CEL's parser stops at a depth of 32 (31 names, 30 negated) and at 100,000 characters.
_FACT = re.compile(r"!?state(?:\.[A-Za-z_][A-Za-z0-9_]*){1,16}")
_FACT_LENGTH = 1_000
# Words CEL's lexer reads as literals or operators, never as a field's name.
_NOT_NAMES = frozenset({"in", "true", "false", "null"})


_STATE_ONLY = frozenset({"state"})


def _just_a_fact(source: str) -> bool:
    """Whether `source` is one fact's path or its negation, `state.a.b` or `!state.a.b`,
    that CEL always compiles (to dyn, or to bool): it is compiled when first evaluated.
    The planner reads such conditions without CEL, and catalogs imported from PDDL hold
    thousands (about 20 µs each to compile)."""
    return (
        len(source) <= _FACT_LENGTH
        and _FACT.fullmatch(source) is not None
        and _NOT_NAMES.isdisjoint(source.lstrip("!").split("."))
    )


def _compiled(source: str) -> tuple[Any, Any]:
    """The compiled expression of `source`, checked, and its tree if it was decoded to
    check it (else None): the checks after the load's read the same tree, not their own."""
    try:
        expr = _env().compile(source)
    except RuntimeError as exc:
        raise _readable(str(exc), source) from None
    result = expr.return_type().name()
    if result not in ("bool", "dyn", "BOOL", "DYN"):
        raise ConditionError(f"condition must be a bool, but it is of type {result.lower()}", None)
    too_costly = _iteration_problem(source)
    if too_costly is not None:
        raise ConditionError(too_costly, None)
    _check_literals(source)
    checked = tree(expr) if "matches" in source else None
    _check_patterns(source, checked)
    return set_meant(_env(), expr, source, checked)


class Condition:
    """A compiled CEL expression of type bool (or dyn, checked when evaluated). A fact's
    path or its negation is compiled when first evaluated (`_just_a_fact`)."""

    __slots__ = ("_checked", "_expr", "keys", "source", "state_paths", "variables")

    def __init__(self, source: str) -> None:
        self.source = source
        self.state_paths: tuple[str, ...] | None
        self.variables: frozenset[str]
        self.keys: tuple[Key, ...]
        if _just_a_fact(source):  # (no literal, no macro, one path: what it reads is known)
            self._expr: Any = None
            self._checked: Any = None
            self.state_paths = (source.lstrip("!").removeprefix("state."),)
            self.variables, self.keys = _STATE_ONLY, ()
            return
        self._expr, self._checked = _compiled(source)
        code = _blank_literals(source)  # (what each reads is read without its literals)
        self.state_paths = _state_paths(code)
        self.variables, self.keys = _reads(code)

    def evaluate(self, variables: Mapping[str, Any], excerpt: bool = False) -> Verdict:
        """Evaluate against the given variables; a CEL error yields `holds=False` with the error.
        `excerpt`: `state` holds what the condition reads already (the planner's tables
        build it so), and is not cut down to it again."""
        # Only the variables it reads (`_reads` errs towards more): CEL converts each.
        data = {name: variables.get(name, {}) for name in self.variables}
        if self.state_paths is not None and "state" in data and not excerpt:
            data["state"] = _projected(data["state"], self.state_paths)
        if self._expr is None:
            self._expr, self._checked = _compiled(self.source)
        try:
            value = self._expr.eval(data=data)
        except (RuntimeError, TypeError, ValueError, OverflowError) as exc:
            return Verdict(False, f"cannot evaluate: {exc}")
        kind = value.type()
        if kind == _BOOL:
            return _TRUE if value.value() else _FALSE
        name = kind.name().lower()
        if name == "error":
            return Verdict(False, _conversion_hint(_short(str(value.value()))))
        if kind not in _SCALARS:
            # cel-expr-python 0.1.3 drops a reference to None each time it converts a null
            # (a few thousand conversions abort the interpreter): a null, or a list or map
            # that may hold one, is described, never converted.
            return Verdict(False, f"evaluated to a {name}, not a bool")
        return Verdict(False, f"evaluated to {value.value()!r} ({name}), not a bool")

    def unguarded(self) -> list[NullRead]:
        """Its reads of keys that may be null that fail when they are, with no guard."""
        return unguarded(self._tree()) if self._reads_nullable() else []

    def keys_listed(self) -> list[KeyListed]:
        """Its `'k' in P` of a key that may be null, always true (`_nulls.keys_listed`)."""
        return keys_listed(self._tree(), self.source) if self._reads_nullable() else []

    def null_tests(self) -> frozenset[str]:
        """The keys that may be null whose `has()` it tests (`_nulls.null_tests`)."""
        return null_tests(self._tree()) if self._reads_nullable() else frozenset()

    def _reads_nullable(self) -> bool:
        # (a fact's path, compiled when first evaluated, reads state only)
        return self._expr is not None and mentions_nullable(self.source)

    def _tree(self) -> Any:
        """Its checked tree, decoded once (`_compiled` may have): each check reads it."""
        if self._checked is None:
            self._checked = tree(self._expr)
        return self._checked

    def __repr__(self) -> str:
        return f"Condition({self.source!r})"


@cache
def compile_condition(source: str) -> Condition:
    """Compile (and cache) a condition; raises ConditionError with CEL's reason."""
    return Condition(source)


def all_hold(sources: Iterable[str], state: Any) -> bool:
    """Whether every condition of `sources` (a goal) holds in `state`."""
    return all(compile_condition(source).evaluate({"state": state}).holds for source in sources)


def _projected(state: Any, paths: tuple[str, ...]) -> Any:
    """The part of `state` that `paths` read, shaped as in `state`: a fact the condition
    does not read, which CEL may not be able to convert (a date, an integer past 64 bits),
    must not change its verdict, and a large state is not converted whole for one number.
    Each path is followed as far as the state goes; where it stops (a missing key, a value
    that is no mapping), what is there is kept, so the condition fails as it would have.
    (The planner's tables cut their rows' states down alike, from each path's reach worked
    out once, and say so: `excerpt=True`.)"""
    if not isinstance(state, Mapping):
        return state
    return excerpt(paths, [reach_into(state, path) for path in paths])
