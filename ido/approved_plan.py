"""Resuming after an approval: check the approved plan in the fresh observation, not decide anew.

A person approved one plan. Deciding again after the wait could pick another (a model asked
again, beliefs aged, a preference moved), which then asked again or ran unapproved. The
approved plan runs as approved while it can still work; only when it cannot is it planned
again, and the decision says what changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ido.approval_asking import SPEC_PARTS, plan_digest, spec_digests, specced
from ido.approvals import PLAN, THE_PLAN, UNKNOWN_RULE
from ido.capability_rules import health_view
from ido.conditions import all_hold
from ido.decide import decide, plan_check
from ido.decision import Decision, History, recorded_decision
from ido.journal.records import STARTS, Event
from ido.loading.catalog import Catalog
from ido.model import Intent
from ido.model.durations import durations_against
from ido.planner import Planner
from ido.planner.limit_words import probability_against, written_amount, written_probability
from ido.planner.simulate import check_plan, needless_steps, undone_steps
from ido.planner.solving import step_of
from ido.planner.types import Plan, PlanResult, Rejection, Task
from ido.planning_task import build_task


def approved_plan(events: Sequence[Event]) -> dict[str, Any] | None:
    """The plan a run waited for a person's approval of: its last decision's, when that
    decision asked for approval and no step started since (`{"decision": N, "plan": plan as
    recorded}`); None when the run waits on something else (a step whose outcome is
    unknown, a compensation). A run interrupted before the approved plan's first step goes
    on with it too: its last decision asked, or it was a check that found the plan held
    (then the decision approved is the one that check named)."""
    at = next((i for i in range(len(events) - 1, -1, -1) if events[i].kind == "decided"), None)
    if at is None:
        return None
    data = events[at].data
    plan = (data.get("result") or {}).get("plan")
    if not plan or not plan.get("steps"):
        return None
    since = events[at + 1 :]
    if any(e.kind in STARTS for e in since):
        return None
    check = data.get("approved") or {}
    number = data["number"]
    specs = data.get("capability_digests")  # (none in decisions recorded before them)
    keyed = specs if specced(events) else None  # what its requests' digests cover
    found = {"plan": plan, "asked": asked_of(events, plan, keyed), "specs": specs}
    if any(_asking(e) and e.data.get("decision") == number for e in since):
        return {"decision": number, **found}
    if check.get("holds"):  # the check found it held: still that approval's plan
        return {"decision": check["decision"], **found}
    return None


def _asking(event: Event) -> bool:
    """Whether `event` asked a person to approve a plan (not ido's own request about a step
    whose outcome is unknown)."""
    return event.kind == "approval_required" and event.data.get("rule") != UNKNOWN_RULE


def asked_of(
    events: Sequence[Event],
    plan: Mapping[str, Any],
    specs: Mapping[str, Mapping[str, str]] | None,
) -> list[list[str]]:
    """What the run asked approval for of `plan` (as recorded, its steps performing
    `specs`), by any decision that made it: each request's [rule, capability or `PLAN`].
    A rule that asks of it now and was not asked then has no verdict: the plan goes on to
    ask it."""
    digest_ = plan_digest(plan, specs)
    asked = {
        (str(e.data["rule"]), str(e.data["capability"]))
        for e in events
        if _asking(e) and e.data.get("plan") == digest_
    }
    return [list(a) for a in sorted(asked)]


def _denials(task: Task, names: Sequence[str]) -> list[str]:
    """Why the plan's steps may not run now: a rule denies one, or the run cannot call it."""
    denied = {d.action.name: d for d in task.denied}
    return [
        f"{name} is now denied by {denied[name].rule}: {denied[name].message}"
        for name in dict.fromkeys(names)
        if name in denied
    ]


def _respecified(
    catalog: Catalog, names: Sequence[str], specs: Mapping[str, Mapping[str, str]] | None
) -> list[str]:
    """What the plan's steps perform that is not what was approved (empty when nothing
    moved): `ship's binding changed since the approval` (a shell command swapped in, say).
    `specs`: as the approved decision recorded them; None, recorded before they were."""
    said = []
    for name in dict.fromkeys(names):
        then = (specs or {}).get(name)
        if then is None:
            continue
        now = spec_digests(catalog.capabilities[name])
        moved = [part for part in SPEC_PARTS if then.get(part) != now[part]]
        if moved:
            said.append(f"{name}'s {' and '.join(moved)} changed since the approval")
    return said


def _unworkable(task: Task, plan: Plan, state: Mapping[str, Any]) -> list[str]:
    """Why the plan, its steps all allowed, cannot work now (empty when it can): the goal
    holds already, a step's requirement does not hold, a limit left is exceeded; else a step
    would change nothing (it would be performed for real all the same: an order paid twice).
    Not called for a plan with a denied step: every step after it would fail to be told too,
    burying the one reason (a step denied is not an available capability)."""
    problems = []
    if all_hold(task.goal, state):
        problems.append("the goal already holds")  # nothing is left to do
    problems += check_plan(task, plan)
    return problems or needless_steps(task, plan) or undone_steps(task, plan)


def joined(reasons: Sequence[str]) -> str:
    """Reasons in one line, `; ` between them; a rule's message ending in a full stop does
    not leave `off.; ` behind."""
    return "; ".join(r.rstrip().removesuffix(".") for r in reasons)


def _within(task: Task, plan: Plan) -> str:
    """The limits left the plan is within, in words: `cost 0.80 within the 5.00 left of
    max_cost; latency 1.8s within the 29.99s left of the deadline; success 0.9702 ≥
    min_success_probability 0.9000`."""
    limits, said = task.limits, []
    if limits.max_cost is not None:
        cost, left = written_amount(plan.cost), written_amount(limits.max_cost)
        said.append(f"cost {cost} within the {left} left of max_cost")
    if limits.deadline is not None:
        took, left = durations_against(plan.latency, limits.deadline)
        said.append(f"latency {took} within the {left} left of the deadline")
    least = limits.min_success_probability
    if least is not None:
        reached = probability_against(plan.success_probability, least)
        said.append(f"success {reached} ≥ min_success_probability {written_probability(least, 4)}")
    return "; ".join(said)


def _uncovered(
    recorded: Mapping[str, Any],
    plan: Plan,
    approvals: Sequence[tuple[str, str, str]],
    asked: Sequence[Sequence[str]] | None,
) -> str:
    """What the approval given does not cover of the plan as it stands now (empty when it
    covers it all): its cost moved (an approval is of the plan at its cost, `plan_digest`),
    or a rule asks that was not asked then. The plan goes on to ask the person again, so
    the run must not say it goes on as approved. `asked`: None when unknown (not checked)."""
    said = []
    if plan_digest(recorded) != plan_digest(plan.to_json()):
        before = written_amount(float(recorded.get("cost", 0.0)))
        said.append(f"its cost moved {before} → {written_amount(plan.cost)}")
    if asked is not None:
        then = {(str(rule), str(about)) for rule, about in asked}
        new = dict.fromkeys(
            f"{rule} now asks about {THE_PLAN if about == PLAN else about}"
            for rule, about, _ in approvals
            if (rule, about) not in then
        )
        said += list(new)
    return "; ".join(said)


def check_approved(
    intent: Intent,
    catalog: Catalog,
    state: Mapping[str, Any],
    history: History,
    approved: Mapping[str, Any],
    planner: str,
    *,
    number: int,
    trigger: str,
) -> tuple[Decision | None, dict[str, Any]]:
    """Whether the approved plan still holds in this snapshot: every step's requirements
    hold (or earlier steps of the plan bring them about), each step still changes what the
    goal needs (else it would be performed for real for nothing: an order paid twice), no
    rule denies a step or the plan, and the budget, deadline and success probability left
    (with beliefs as they stand now) admit it. Returns the decision that goes on with it
    (None when it no longer holds) and the check's record, which says why."""
    record: dict[str, Any] = {"decision": approved["decision"], "holds": False}
    recorded = approved["plan"]
    names = [str(s["capability"]) for s in recorded["steps"]]
    gone = [n for n in dict.fromkeys(names) if n not in catalog.capabilities]
    if gone:
        record["why"] = f"{', '.join(gone)} no longer in the catalog"
        return None, record
    moved = _respecified(catalog, names, approved.get("specs"))
    if moved:
        record["why"] = joined(moved)
        return None, record
    seen = health_view(catalog, history, state)
    task, hits, errors, beliefs = build_task(intent, catalog, state, history, 0, seen=seen)
    actions = {a.name: a for a in task.actions} | {d.action.name: d.action for d in task.denied}
    after = tuple(tuple(int(i) for i in w) for w in recorded.get("after") or ())
    plan = Plan(tuple(step_of(task, actions[n]) for n in names), after or None)
    problems = _denials(task, names) or _unworkable(task, plan, state)
    check = plan_check(intent, catalog, state, history, seen[0])
    plan_hits = check(plan) if check.rules else []
    errors += check.errors
    problems += [
        f"plan rule {h.ref} now denies it: {h.message}" for h in plan_hits if h.effect == "deny"
    ]
    if problems:
        record["why"] = joined(problems)
        return None, record
    within = _within(task, plan)
    record.update(
        holds=True,
        why="every step's requirements hold or come from earlier steps, each step is still "
        "needed, no rule denies it" + (f"; {within}" if within else ""),
    )
    denials = tuple(Rejection(d.action.name, "denied", d.message, rule=d.rule) for d in task.denied)
    solver: dict[str, Any] = {"approved": approved["decision"]}
    result = PlanResult(
        "planned", plan=plan, rejections=denials, proven_optimal=False, solver=solver
    )
    decision = recorded_decision(
        task,
        result,
        state,
        history,
        number=number,
        trigger=trigger,
        planner=planner,
        hits=hits,
        plan_hits=plan_hits,
        errors=errors,
        beliefs=beliefs,
    )
    uncovered = _uncovered(recorded, plan, decision.approvals, approved.get("asked"))
    if uncovered:  # it still works, but not as the person approved it: they are asked
        record["asked"] = uncovered
    return replace(decision, result=result, approved=record), record


def decide_approved(
    intent: Intent,
    catalog: Catalog,
    state: Mapping[str, Any],
    history: History,
    planner: Planner,
    approved: Mapping[str, Any] | None,
    *,
    number: int,
    trigger: str,
) -> Decision:
    """The decision made on resuming after an approval: the approved plan, as approved, while
    it still holds (`check_approved`: no planner, no model is asked); else a new decision, as
    any, whose record names what changed. No plan `approved`: a decision as any (`decide`)."""
    if approved is None:
        return decide(intent, catalog, state, history, planner, number=number, trigger=trigger)
    held, record = check_approved(
        intent, catalog, state, history, approved, planner.name, number=number, trigger=trigger
    )
    if held is not None:
        return held
    again = decide(intent, catalog, state, history, planner, number=number, trigger=trigger)
    return replace(again, approved=record)
