"""Warn of a goal reading a fact that nothing the catalog knows of ever sets."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ido.conditions import ConditionError, compile_condition
from ido.errors import Problem
from ido.loading.catalog import Catalog, intent_specs, problem_at
from ido.model import Resource
from ido.state import flatten, get_path, overlaps
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
            wrong = _not_a_bool(text, catalog, spec.given)
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
