"""The conditions of a catalog checked: each compiles, reads what it may where it stands,
and the keys it reads exist; the names rules compare with, warned of when no capability
or intent has them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ido.conditions import (
    Condition,
    ConditionError,
    compile_condition,
    named_values,
    type_problem,
)
from ido.conditions._messages import _where, line_column
from ido.errors import Problem
from ido.loading.catalog import Catalog, problem_at
from ido.model import Resource
from ido.model.intent_spec import IntentSpec
from ido.policy import CAPABILITY_KEYS, PLAN_KEYS
from ido.rule_types import rule_shapes
from ido.text import did_you_mean, echoed
from ido.yamlsrc import FieldPath


def _conditions(catalog: Catalog) -> Iterable[tuple[Resource, FieldPath, str]]:
    for intent in catalog.intents.values():
        for i, text in enumerate(intent.spec.goal):
            yield intent, ("spec", "goal", i), text
        for i, rule in enumerate(intent.spec.rules):
            yield intent, ("spec", "rules", i, "when"), rule.when
    for capability in catalog.capabilities.values():
        for i, text in enumerate(capability.spec.requires):
            yield capability, ("spec", "requires", i), text
    for policy in catalog.policies.values():
        for i, rule in enumerate(policy.spec.rules):
            yield policy, ("spec", "rules", i, "when"), rule.when
    for scenario in catalog.scenarios.values():
        if not isinstance(scenario.spec.intent, str):
            for i, text in enumerate(scenario.spec.intent.goal):
                yield scenario, ("spec", "intent", "goal", i), text
            for i, rule in enumerate(scenario.spec.intent.rules):
                yield scenario, ("spec", "intent", "rules", i, "when"), rule.when


NAMES_TOLD = 5
"""Unknown names told per condition; one more warning counts the rest (a rule listing
8,000 names printed 8,000 warnings)."""


def check_names(catalog: Catalog, base: Path) -> list[Problem]:
    """What loads but looks wrong: rules comparing with a capability name, tag, provider or
    region no capability of the catalog has, or an intent name none has (`named_values`):
    a typo, `charge-stirpe` or a provider `equifx`, made a deny that never fired, without a
    word. Only warnings: a policy may govern capabilities another catalog holds. Worked out
    where they are shown (`ido validate`, `plan`, `run`, `resume`, `runner`), not on every
    load. A catalog without capabilities (a policy file checked alone) is not compared
    with."""
    if not catalog.capabilities:
        return []
    specs = [c.spec for c in catalog.capabilities.values()]
    known: dict[str, set[str]] = {  # (sets: a rule may list thousands of names)
        "capability": set(catalog.capabilities),
        "tag": {t for spec in specs for t in spec.tags},
        "provider": {spec.provider for spec in specs},
        "region": {spec.region for spec in specs if spec.region is not None},
        "intent": {
            *catalog.intents,
            *(s.name for s in catalog.scenarios.values() if not isinstance(s.spec.intent, str)),
        },  # a scenario's own intent is named after it
    }
    warnings = []
    for resource, path, text in _conditions(catalog):
        if "rules" not in path:
            continue
        unknown = [
            (kind, value, start)
            for kind, value, start in named_values(text)
            if value not in known[kind] and (kind != "intent" or known[kind])
        ]  # (no intent loaded, as when a policy is checked alone: no telling)
        for kind, value, start in unknown[:NAMES_TOLD]:
            guess = did_you_mean(value, known[kind])
            hint = f"; {guess}" if guess else ""
            if kind == "capability" and value in known["provider"]:  # (`health['stripe']`)
                hint = f"; '{value}' is a provider, and a rule names a capability here"
            said = {
                "capability": f"no capability is named '{value}'",
                "intent": f"no intent is named '{value}'",
            }.get(kind, f"no capability has the {kind} '{value}'")
            warnings.append(problem_at(catalog, resource, path, said + hint, base, start))
        if len(unknown) > NAMES_TOLD:
            more = len(unknown) - NAMES_TOLD
            said = f"and {more:,} more names no capability or intent of the catalog has"
            warnings.append(problem_at(catalog, resource, path, said, base))
    return warnings


_FAILING = {
    "deny": ("denies (fails closed)", "deny"),
    "require_approval": ("asks for approval (fails closed)", "ask"),
    "prefer": ("never applies", "prefer"),
    "avoid": ("never applies", "avoid"),
}


def _rule_conditions(catalog: Catalog) -> Iterator[tuple[Resource, FieldPath, Condition]]:
    """The rules' conditions, compiled; one that does not compile is left out here (the
    load's own checks tell it as an error)."""
    for resource, path, text in _conditions(catalog):
        if "rules" not in path:
            continue
        try:
            yield resource, path, compile_condition(text)
        except ConditionError:
            continue


def check_nulls(catalog: Catalog, base: Path) -> list[Problem]:
    """Rules that read a key that is null when not set (`intent.constraints.max_cost`,
    `capability.region`) where null fails (`> 1.0`, `.startsWith('eu')`), with no guard:
    `ido validate` said ok and the rule could not be evaluated for every intent or
    capability without it; and rules that test such a key with `in`, which is always true
    (`_keys_listed`). Only warnings: a catalog whose every intent sets it is right.
    An intent's own rule reading what that intent sets is not warned of."""
    warnings = []
    for resource, path, condition in _rule_conditions(catalog):
        reads = condition.unguarded()
        warnings += _keys_listed(catalog, resource, path, condition, base)
        rule = _rule_at(resource, path)
        told: set[str] = set()
        for read in reads:
            if read.path in told or _set_by_its_intent(resource, path, read.path):
                continue
            told.add(read.path)
            variable, _, key = read.path.partition(".")
            unset = (
                f"a capability has no {key}"
                if variable == "capability"
                else f"the intent sets no {key}"
            )
            does, verb = _FAILING.get(rule.effect, _FAILING["deny"])
            below, column = line_column(condition.source, read.offset)
            said = (
                f"{read.path} is null when {unset}, and {read.use} fails on null: this "
                f"{rule.effect} rule {does} then; guard it: has({read.path}) && …, or "
                f"!has({read.path}) || … to {verb} then ({_where(below, column)})"
            )
            warnings.append(problem_at(catalog, resource, path, said, base, read.offset))
    return warnings


def _keys_listed(
    catalog: Catalog, resource: Resource, path: FieldPath, condition: Condition, base: Path
) -> list[Problem]:
    """A warning for each `'max_cost' in intent.constraints` of the rule at `path`: always
    true, as the view holds the key, null when not set; a user who wrote it for "is set"
    got a guard that never guards."""
    warnings = []
    for listed in condition.keys_listed():
        if _set_by_its_intent(resource, path, listed.path):
            continue  # (it is set: true, and rightly)
        within, _, key = listed.path.rpartition(".")
        below, column = line_column(condition.source, listed.offset)
        said = (
            f"'{key}' in {within} is always true: {within} holds {key} always, null when "
            f"it is not set; to test whether it is set, write has({listed.path}) "
            f"({_where(below, column)})"
        )
        warnings.append(problem_at(catalog, resource, path, said, base, listed.offset))
    return warnings


def _set_by_its_intent(resource: Resource, path: FieldPath, read: str) -> bool:
    """Whether `read` (`intent.constraints.max_cost`) is set by the intent whose own rule
    reads it (in intents/, or a scenario's own intent): that intent is the only one it sees."""
    if not read.startswith("intent.") or path[:2] not in (("spec", "rules"), ("spec", "intent")):
        return False
    node: Any = resource.spec if path[1] == "rules" else getattr(resource.spec, "intent", None)
    for key in read.split(".")[1:]:
        node = getattr(node, key, None)
    return node is not None


def _check_conditions(catalog: Catalog, base: Path) -> list[Problem]:
    problems: list[Problem] = []
    for resource, path, text in _conditions(catalog):
        at = None  # where in the condition the problem is (`problem_at`), if known
        try:
            condition = compile_condition(text)
        except ConditionError as exc:
            message: str | None = f"{exc} in {echoed(text)}"
            at = _offset(text, exc)
        else:
            message = _scope_problem(resource, path, condition.variables)
            if message is None and "rules" in path:
                message, at = _unknown_key(condition)
            if message is None and "rules" in path and condition.variables - {"state"}:
                mistake = type_problem(text, rule_shapes())
                if mistake is not None:
                    message = f"{mistake} in {echoed(text)}"
                    at = _offset(text, mistake)
        if message is not None:
            problems.append(problem_at(catalog, resource, path, message, base, at))
    return problems


KEYS = {
    "capability": CAPABILITY_KEYS,
    "plan": PLAN_KEYS,
    "intent": ("name", *sorted(set(IntentSpec.model_fields) - {"given"})),
}
"""The keys of the variables whose keys are known in advance (`ido.capability_rules.intent_view`:
an intent's spec without `given`, and its name)."""


def _offset(text: str, error: ConditionError) -> int | None:
    """Where in `text` (0-based) the line and column `error` names are, if it names them
    (CEL's columns count characters from 1; a message without one, the line's start)."""
    if error.line is None:
        return None
    lines = text.split("\n")
    if not 1 <= error.line <= len(lines):
        return None
    start = sum(len(line) + 1 for line in lines[: error.line - 1])
    return start + min(max(0, (error.column or 1) - 1), len(lines[error.line - 1]))


def _unknown_key(condition: Condition) -> tuple[str | None, int | None]:
    """What a rule's condition reads of `capability`, `plan` or `intent` that they never
    have (`capability.provder`), if anything, and where in the condition it is: such a
    read fails every evaluation, so a deny or require_approval rule fired for everything
    and a prefer or avoid rule never."""
    for variable, key, start in condition.keys:
        known = KEYS[variable]
        if key not in known:
            guess = did_you_mean(key, known)
            hint = f"{guess} " if guess else ""
            message = f"{variable} has no key '{key}'; {hint}({variable} has {', '.join(known)})"
            return message, start
    return None, None


_STATE = frozenset({"state"})


def _scope_problem(resource: Resource, path: FieldPath, variables: frozenset[str]) -> str | None:
    """What is wrong with the variables a condition reads where it stands, if anything."""
    if "rules" not in path:
        if variables <= _STATE:  # (the usual case, told without a set and a list made)
            return None
        others = sorted(variables - _STATE)
        where = "a goal" if "goal" in path else "a requires condition"
        return (
            f"{where} reads state only, not {' or '.join(others)}, so it would never hold;"
            " a policy's rules read capability, intent, plan and health"
        )
    if {"plan", "capability"} <= variables:
        return (
            "a rule reads capability or plan, not both: a rule that reads plan is about the "
            "plan as a whole; write one rule for each"
        )
    rule = _rule_at(resource, path)
    if "plan" in variables and rule is not None and rule.effect in ("prefer", "avoid"):
        return (
            f"{rule.effect} weighs each step, so it cannot read plan; about a plan as a "
            "whole, use deny or require_approval"
        )
    return None


def _rule_at(resource: Resource, path: FieldPath) -> Any:
    """The rule whose `when` is at `path` in `resource`."""
    node: Any = resource
    for part in path[:-1]:
        node = node[part] if isinstance(part, int) else getattr(node, part)
    return node


_FIRES_ON_ALL = {
    "deny": "denies every capability",
    "require_approval": "asks approval for every capability",
    "prefer": "prefers every capability",
    "avoid": "avoids every capability",
}


def check_constant_rules(catalog: Catalog, base: Path) -> list[Problem]:
    """Rules whose condition reads no variable (`true`, `1 == 2`): the same verdict for
    every capability at every decision. An enforced `deny` of `true` froze every intent of
    every team without a word from `ido validate`; one that never holds never fires."""
    warnings = []
    for resource, path, condition in _rule_conditions(catalog):
        if condition.variables:
            continue
        verdict = condition.evaluate({})
        if verdict.error is not None:
            continue
        effect = _rule_at(resource, path).effect
        said = (
            f"reads no variable, so it always holds: this {effect} rule "
            f"{_FIRES_ON_ALL.get(effect, 'fires for every capability')} at every decision "
            "(name what it is about: capability, plan, state, intent or health)"
            if verdict.holds
            else f"reads no variable, so it never holds: this {effect} rule never fires"
        )
        warnings.append(problem_at(catalog, resource, path, said, base))
    return warnings
