"""Capability rules in a snapshot: the variables they read (`intent_view`, `health_view`,
each capability's `belief`), those that fire for a capability (`capability_hits`), and
those that hold a step or an undoing back as it starts (`guards_now`). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ido.conditions import compile_condition
from ido.decision import History
from ido.health import Belief, believe
from ido.loading.catalog import Catalog
from ido.model import Capability, Intent, Rule
from ido.policy import FAIL_CLOSED, RuleHit, capability_view, evaluate, rulebook
from ido.state import get_path


def belief(capability: Capability, history: History, state: Mapping[str, Any]) -> Belief:
    """Reliability and latency believed for a capability (see `ido.health`)."""
    spec = capability.spec
    health = get_path(state, f"health.{spec.provider}")
    return believe(
        spec.reliability,
        spec.latency,
        history.evidence.get(capability.name),
        history.now,
        health if isinstance(health, Mapping) else None,
    )


def intent_view(intent: Intent) -> dict[str, Any]:
    return {"name": intent.name, **intent.spec.model_dump(mode="json", exclude={"given"})}


def health_view(
    catalog: Catalog, history: History, state: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Belief]]:
    """The `health` variable rules see (per capability: believed reliability and latency,
    failures in this run), and the beliefs that differ from what was declared."""
    view: dict[str, Any] = {}
    changed: dict[str, Belief] = {}
    for name, capability in sorted(catalog.capabilities.items()):
        believed = belief(capability, history, state)
        if believed.why:
            changed[name] = believed
        view[name] = {
            "reliability": believed.reliability,
            "latency": believed.latency,
            "failures": history.failures.get(name, 0),
        }
    return view, changed


def capability_hits(
    rules: Iterable[tuple[str, Rule]],
    state: Mapping[str, Any],
    intent: Mapping[str, Any],
    capability: Capability,
    health: Mapping[str, Any],
) -> tuple[list[RuleHit], list[str]]:
    """The capability rules that fire for `capability` in this snapshot (`intent`: its
    `intent_view`; `health`: the `health_view`), and the errors evaluating them. A decision
    and a step about to start both ask this: built apart, a rule could read a variable
    one of them lacks, and the step be stopped by a rule its plan was made under."""
    variables = {
        "state": state,
        "intent": intent,
        "capability": capability_view(capability),
        "health": health,
    }
    return evaluate(rules, variables, capability.name)


def guards_now(
    intent: Intent, catalog: Catalog, name: str, state: Mapping[str, Any], history: History
) -> list[RuleHit]:
    """The `deny` and `require_approval` rules that fire for capability `name` in this
    snapshot (failing closed as in a decision): a step about to start is held to the rules
    as they stand then, not only as they stood when its plan was made (a booking went ahead
    after an observer reported the trip cancelled, under a rule denying bookings of
    cancelled trips), and a compensation is held to them too (`undo_stopped_by`)."""
    book = rulebook(intent, catalog.policies).capability_rules
    rules = [(s, r) for s, r in book if r.effect in FAIL_CLOSED]
    if not rules:
        return []
    # Beliefs of every capability, only for rules that read them: once per step started.
    read = any("health" in compile_condition(r.when).variables for _, r in rules)
    health = health_view(catalog, history, state)[0] if read else {}
    capability = catalog.capabilities[name]
    hits, _ = capability_hits(rules, state, intent_view(intent), capability, health)
    return hits


def denied_now(name: str, hits: Sequence[RuleHit]) -> str | None:
    """Why capability `name` may not start now, when a `deny` rule of `hits` (`guards_now`)
    fires for it; None when none does."""
    for hit in hits:
        if hit.effect == "deny":
            return f"{name} now denied by {hit.ref}: {hit.message}"
    return None


def undo_stopped_by(
    intent: Intent,
    catalog: Catalog,
    name: str,
    state: Mapping[str, Any],
    history: History,
) -> RuleHit | None:
    """The rule that keeps compensation `name` from running, if one does: a `deny`, else a
    `require_approval`, as it would fire for that capability in a decision now. Undoing is
    no decision, but it is a call all the same: a policy that forbids a capability (or
    asks a person first) governs it when it undoes a step too."""
    hits = guards_now(intent, catalog, name, state, history)
    return next((h for effect in FAIL_CLOSED for h in hits if h.effect == effect), None)
