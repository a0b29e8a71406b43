"""The decide step: a pure function from intent, catalog, snapshot and history to a Decision."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ido.capability_rules import health_view, intent_view
from ido.decision import Decision, History, recorded_decision
from ido.journal.records import model_calls
from ido.loading.catalog import Catalog
from ido.model import Intent, format_duration
from ido.plan_rules import (
    PlanCheck,
    best_admissible,
    binding_within_rules,
    checked_ways,
    rejected_within,
)
from ido.planner import Planner
from ido.planner.llm_spending import left_after_calls
from ido.planner.types import Plan, PlanResult, Rejection
from ido.planning_task import build_task
from ido.policy import RuleHit, plan_view, rulebook


def _used(intent: Intent, history: History, result: PlanResult) -> str:
    """Why a limit is smaller than the intent says: the run, this decision's model calls
    included, has used part of it."""
    limits, blocking = intent.spec.constraints, result.blocking
    paid, took = model_calls(result.solver.get("llm"))
    spent, elapsed = history.spent + paid, history.elapsed + took
    notes = []
    if "max_cost" in blocking and limits.max_cost is not None and spent > 0:
        notes.append(f"the run has spent {spent:.2f} of max_cost {limits.max_cost:.2f}")
    if "deadline" in blocking and limits.deadline is not None and elapsed >= 0.001:
        notes.append(
            f"{format_duration(elapsed)} of the {format_duration(limits.deadline)} deadline "
            "have elapsed"
        )
    return f" ({'; '.join(notes)})" if notes else ""


def plan_check(
    intent: Intent,
    catalog: Catalog,
    state: Mapping[str, Any],
    history: History,
    health: Mapping[str, Any],
) -> PlanCheck:
    """The intent's plan rules, ready to be evaluated against any plan.

    A plan rule judges what the run will have done once the plan is carried out: the steps
    it has completed and the plan's, and what it has spent plus what the plan costs.
    """
    rules = rulebook(intent, catalog.policies).plan_rules
    view = intent_view(intent)

    def variables(plan: Plan) -> dict[str, Any]:
        names = history.done + plan.capabilities
        steps = [catalog.capabilities[n] for n in names if n in catalog.capabilities]
        aggregate = plan_view(
            steps,
            latency=plan.latency,
            success_probability=plan.success_probability,
            spent=history.spent,
            cost=history.spent + plan.cost,
        )
        return {"state": state, "intent": view, "plan": aggregate, "health": health}

    return PlanCheck(rules, variables, "plan")


def decide(
    intent: Intent,
    catalog: Catalog,
    state: Mapping[str, Any],
    history: History,
    planner: Planner,
    *,
    number: int,
    trigger: str,
    alternatives: int | None = None,
) -> Decision:
    """Plan from this snapshot and record why: same inputs, same Decision.

    `alternatives` is how many alternative plans to work out and record: by default, the
    intent's `limits.alternatives`.
    """
    seen = health_view(catalog, history, state)
    task, hits, errors, beliefs = build_task(
        intent, catalog, state, history, alternatives, seen=seen
    )
    check = plan_check(intent, catalog, state, history, seen[0])
    if check.rules:  # (a model choosing among plans is offered those the rules allow)
        task = replace(task, allows=check.allows)
    result = planner.plan(task)
    plan_hits: list[RuleHit] = []
    if check.rules:  # the search plans within what the model calls left, as they did
        task = left_after_calls(task, *model_calls(result.solver.get("llm")))
    if check.rules and result.plan is not None and result.plan.steps:
        planned = task
        task, result, plan_hits = best_admissible(task, result, planner, check)
        errors.extend(check.errors)
        left_out = len(task.actions) < len(planned.actions)
        if result.plan is not None and left_out:
            result = rejected_within(planned, task, result)
        if result.plan is not None and (left_out or any(c.binding for c in result.constraints)):
            result = binding_within_rules(planned, result, planner, check, every=left_out)
    elif check.rules and result.ways:  # infeasible: do the plan rules allow its ways out?
        result = checked_ways(task, result, planner, check)
        errors.extend(check.errors)
    denials = tuple(Rejection(d.action.name, "denied", d.message, rule=d.rule) for d in task.denied)
    result = replace(result, rejections=denials + result.rejections)
    if result.status == "infeasible" and result.reason is not None:
        result = replace(result, reason=result.reason + _used(intent, history, result))
    return recorded_decision(
        task,
        result,
        state,
        history,
        number=number,
        trigger=trigger,
        planner=planner.name,
        hits=hits,
        plan_hits=plan_hits,
        errors=errors,
        beliefs=beliefs,
    )
