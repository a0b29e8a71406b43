"""The planning Task a snapshot gives (`build_task`): each capability as the planner sees
it (`action_of`; one that failed waits `backoff` before it is called again), those left
out and why, and the limits the run has left. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ido.capability_rules import capability_hits, health_view, intent_view
from ido.decision import History
from ido.health import Belief
from ido.loading.catalog import Catalog
from ido.model import Capability, Intent
from ido.planner.denials import UNBOUND, secret_rule
from ido.planner.types import Action, Denied, Limits, Task, Weights
from ido.policy import RuleHit, rulebook

ATTEMPTS_RULE = "limits.max_attempts"

BACKOFF_DOUBLINGS = 5
"""The wait before a call again doubles per failure, up to 32 times `limits.backoff`."""


def backoff(intent: Intent, failed: int) -> float:
    """Seconds to wait before calling a capability that failed `failed` times in the run."""
    wait = intent.spec.limits.backoff
    return wait * 2 ** min(failed - 1, BACKOFF_DOUBLINGS) if failed and wait else 0.0


def action_of(
    capability: Capability,
    believed: Mapping[str, Any],
    bias: float = 0.0,
    bias_rules: tuple[str, ...] = (),
    approvals: tuple[str, ...] = (),
) -> Action:
    """The capability as the planner sees it, with the latency and reliability `believed`
    (its health view), the policy weight `bias` from `bias_rules`, and the
    `require_approval` rules that fire for it (`approvals`)."""
    return Action(
        name=capability.name,
        provider=capability.spec.provider,
        cost=capability.spec.cost,
        latency=float(believed["latency"]),
        reliability=float(believed["reliability"]),
        requires=tuple(capability.spec.requires),
        effects=tuple(capability.spec.effects.items()),
        bias=bias,
        bias_rules=bias_rules,
        approvals=approvals,
    )


def build_task(
    intent: Intent,
    catalog: Catalog,
    state: Mapping[str, Any],
    history: History,
    alternatives: int | None = None,
    *,
    seen: tuple[dict[str, Any], dict[str, Belief]] | None = None,
) -> tuple[Task, list[RuleHit], list[str], dict[str, Belief]]:
    """The planning Task for this snapshot, with rule hits, rule errors and beliefs used.
    `alternatives`: how many alternative plans to work out; by default, the intent's
    `limits.alternatives`.

    The limits are what remains: the budget less what the run has spent, the deadline less
    the time it has taken. A capability that has failed `limits.max_attempts` times in the
    run is left out, as if denied by the rule `limits.max_attempts`, and one the run cannot
    perform (`History.unbound`) as if denied by `spec.run`, or call for want of a secret
    (`History.unresolved`) as if denied by `${env:NAME}`. `seen`: the
    `health_view` of this snapshot, when the caller has it already.
    """
    book = rulebook(intent, catalog.policies)
    rules = book.capability_rules
    actions: list[Action] = []
    denied: list[Denied] = []
    hits_all: list[RuleHit] = []
    errors: list[str] = []
    health, beliefs = seen or health_view(catalog, history, state)
    view = intent_view(intent)
    max_attempts = intent.spec.limits.max_attempts
    for capability in sorted(catalog.capabilities.values(), key=lambda c: c.name):
        believed = health[capability.name]
        hits: list[RuleHit] = []
        if rules:  # (a catalog without policies has no view to build)
            hits, found = capability_hits(rules, state, view, capability, health)
            errors.extend(f"{capability.name}: {e}" for e in found)
            hits_all.extend(hits)
        if hits:
            bias = sum(h.weight for h in hits if h.effect == "avoid") - sum(
                h.weight for h in hits if h.effect == "prefer"
            )
            weighed = tuple(h.ref for h in hits if h.effect in ("avoid", "prefer"))
            asks = tuple(h.ref for h in hits if h.effect == "require_approval")
        else:  # (most capabilities of most catalogs: what the sums above make of no hits)
            bias, weighed, asks = 0, (), ()
        action = action_of(capability, believed, bias, weighed, asks)
        failed = history.failures.get(capability.name, 0)
        wait = backoff(intent, failed)
        if wait:  # a call again waits first: its step takes that much longer
            action = replace(action, latency=action.latency + wait)
        # Every rule that leaves it out: lifting one of several does not bring it back.
        denies = [h for h in hits if h.effect == "deny"] if hits else []
        why = [(h.ref, h.message) for h in denies]
        if capability.name in history.unbound:
            why.append((UNBOUND, "has no run binding: it can be planned (ido plan), not run"))
        if capability.name in history.unresolved:
            name, lacking = history.unresolved[capability.name]
            message = f"its binding names environment variable {name}, which is {lacking}"
            why.append((secret_rule(name), message))
        if failed >= max_attempts:
            message = f"failed {failed} time(s) in this run, the most limits.max_attempts allows"
            why.append((ATTEMPTS_RULE, message))
        if why:
            (rule, message), *more = why
            if more:
                message += " (also denied by " + ", ".join(r for r, _ in more) + ")"
            closed = tuple(h.ref for h in denies if h.error is not None)
            error = denies[0].error if denies else None  # (`rule` is the first's, if any)
            denied.append(Denied(action, rule, message, tuple(r for r, _ in more), closed, error))
        else:
            actions.append(action)
    spec = intent.spec
    budget, deadline = spec.constraints.max_cost, spec.constraints.deadline
    task = Task(
        state=state,
        goal=tuple(spec.goal),
        actions=tuple(actions),
        weights=Weights(
            spec.objective.cost,
            spec.objective.latency,
            spec.objective.risk,
            spec.objective.approval,
        ),
        limits=Limits(
            None if budget is None else max(0.0, budget - history.spent),
            None if deadline is None else max(0.0, deadline - history.elapsed),
            spec.constraints.min_success_probability,
        ),
        max_steps=spec.limits.max_steps,
        denied=tuple(denied),
        fixed=book.fixed,
        alternatives=spec.limits.alternatives if alternatives is None else alternatives,
        time_limit=spec.limits.solve_time,
        search_states=spec.limits.search_states,
        model_call_cost=history.model_call_cost,
        model_call_seconds=history.model_call_seconds,
        spent=history.spent,
        elapsed=history.elapsed,
        outputs=tuple(
            sorted({c.spec.output for c in catalog.capabilities.values() if c.spec.output})
        ),
    )
    return task, hits_all, errors, beliefs
