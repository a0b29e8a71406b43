"""Warn of a goal reading a fact that nothing the catalog knows of ever sets."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ido.conditions import ConditionError, compile_condition
from ido.errors import Problem
from ido.loading.catalog import Catalog, intent_specs, problem_at
from ido.model import Resource
from ido.state import (
    apply_effects,
    close_world,
    flatten,
    from_json,
    get_path,
    has_path,
    overlaps,
    sorted_json,
)
from ido.text import did_you_mean
from ido.yamlsrc import FieldPath


def check_goals(catalog: Catalog) -> Iterable[tuple[Resource, FieldPath, str]]:
    """Each goal of an intent (in intents/ or inline in a scenario) that reads a fact no
    capability sets (an effect, or under an `output`) and the intent does not give, with
    what to say: reading it fails, so a goal that needs it never holds, and only `ido
    plan` told (`state.coffee.redy`, a typo of `coffee.ready`). An intent that lists
    observers is passed over: they may report any fact."""
    effects = {path for c in catalog.capabilities.values() for path in c.spec.effects}
    outputs = {c.spec.output for c in catalog.capabilities.values() if c.spec.output}
    for resource, spec, where in intent_specs(catalog):
        if spec.observers:
            continue
        known = effects | set(flatten(spec.given))  # (leaves: `order` holds no `order.x`)
        for i, text in enumerate(spec.goal):
            for fact in _unset(text, known, outputs):
                guess = did_you_mean(fact, known)
                hint = f"; {guess}" if guess else ""
                said = (
                    f"the goal reads {fact}, which no capability sets and the intent does not"
                    f" give{hint}"
                )
                yield resource, (*where, "goal", i), said
            wrong = _not_a_bool(text, catalog, spec.given) or _never_evaluates(text, catalog, spec)
            if wrong is not None:
                yield resource, (*where, "goal", i), wrong


_FACT_GOAL = re.compile(r"!?state\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")


def _not_a_bool(text: str, catalog: Catalog, given: Mapping[str, Any]) -> str | None:
    """What to say of a goal that is one fact (`state.coffee.ready`, or its negation) which
    every capability setting it sets to something else than a bool (`"true"`, quoted, is
    text), and the intent does not give as a bool: it never holds, and `ido plan` said only
    that no capability can make it true."""
    match = _FACT_GOAL.fullmatch(text.strip())
    if match is None:
        return None
    fact = match.group(1)
    setters = [
        (c.name, c.spec.effects[fact])
        for c in catalog.capabilities.values()
        if fact in c.spec.effects
    ]
    if not setters or any(isinstance(v, bool) for _, v in setters):
        return None
    if isinstance(get_path(given, fact), bool):
        return None
    name, value = setters[0]
    return (
        f"the goal needs {fact} to be true or false, but {name} sets it to {value!r}, not a"
        " bool: write the effect as true, without quotes"
    )


MOST_COMBINATIONS = 64
"""The most combinations of the values a goal's facts may take that `_never_evaluates` tries."""


def _never_evaluates(text: str, catalog: Catalog, spec: Any) -> str | None:
    """What to say of a goal that fails to evaluate on every value its facts can take (what
    the intent gives, what capabilities set): `state.order.amount > '100'` compares a
    number with text, so it never holds, and each decision of a run recorded the error. A
    fact not set yet is no such value (the goal does not hold yet); none set at all is
    warned of as unset. Goals of an intent with observers are not judged (they may report
    anything)."""
    try:
        condition = compile_condition(text)
    except ConditionError:  # told where it stands
        return None
    paths = condition.state_paths
    if paths is None or condition.variables != {"state"}:
        return None
    values: dict[str, list[Any]] = {}
    for capability in catalog.capabilities.values():
        for fact, value in capability.spec.effects.items():
            if any(overlaps(fact, p) for p in paths):
                values.setdefault(fact, []).append(value)
    booleans = [
        f
        for c in catalog.capabilities.values()
        for f, v in c.spec.effects.items()
        if isinstance(v, bool)
    ]
    now = close_world(spec.given, booleans)
    # Each fact as it is now (None), or set to each value a capability sets it to.
    choices: list[list[str | None]] = [
        [None, *dict.fromkeys(map(sorted_json, vs))] for vs in values.values()
    ]
    if math.prod(len(c) for c in choices) > MOST_COMBINATIONS:
        return None
    first = None
    for row in itertools.product(*choices):
        state = apply_effects(
            now, {f: from_json(v) for f, v in zip(values, row, strict=True) if v is not None}
        )
        if not all(has_path(state, p) for p in paths):
            continue  # not set yet: the goal does not hold, and that is no error
        verdict = condition.evaluate({"state": state})
        if verdict.error is None:
            return None
        first = first or verdict.error
    if first is None:
        return None
    return (
        f"the goal cannot be evaluated on any value its facts may take, so it never holds: {first}"
    )


def goal_warnings(catalog: Catalog, base: Path) -> list[Problem]:
    """`check_goals` as problems at their file, line and field."""
    return [problem_at(catalog, r, path, said, base) for r, path, said in check_goals(catalog)]


def _unset(text: str, known: set[str], outputs: set[str]) -> list[str]:
    """The facts `text` reads that neither `known` holds (itself, a fact inside it or one
    it is inside) nor an output path holds. `known`: facts set or given, as leaves: a
    mapping above them holds no other fact."""
    try:
        paths = compile_condition(text).state_paths
    except ConditionError:  # told where it stands
        return []
    if paths is None:  # reads the state whole: no telling
        return []
    return [
        path
        for path in paths
        if not any(overlaps(path, k) for k in known)
        and not any(path == o or path.startswith(o + ".") for o in outputs)
    ]
