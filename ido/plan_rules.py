"""Plan rules: the best plan that no rule about the plan as a whole denies. Pure.

A plan rule (one whose condition reads `plan`) is arbitrary CEL over what a plan adds up
to, so it cannot be handed to the solver as a constraint. Instead the planner's best plan
is checked; when a plan rule denies it, the search goes on best-first over the plans
left when one more of a denied plan's capabilities is left out (each branch is a
planning task with those capabilities denied by the rule that denied the plan). The
first plan popped that no rule denies is the best such plan: leaving capabilities out
never makes a plan cheaper. This finds every plan a rule denies for what it contains or
adds up to (cost, steps, providers); a rule that denies plans for what they lack would
be missed, and the documentation says to put such a step in the goal instead.

At most `MAX_PLANS` plans are tried; when that is reached, the best plan found that no
rule denies is used and flagged "not proven optimal", or the decision says none was found.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ido import plan_ways
from ido.errors import PlanningError
from ido.model import Rule
from ido.plan_ways import DeniedWhy, denied_why, told
from ido.planner import Planner
from ido.planner.grounding import ground, over_limit
from ido.planner.limit_words import METRICS
from ido.planner.solving import SolvingPlanner, plan_total
from ido.planner.types import Denied, Plan, PlanResult, Task
from ido.policy import RuleHit, evaluate

MAX_PLANS = 16


@dataclass
class PlanCheck:
    """Plan rules, how to build the variables they read for a plan, and what they found."""

    rules: tuple[tuple[str, Rule], ...]
    variables: Callable[[Plan], Mapping[str, Any]]
    subject: str
    """What plan hits are about, followed by the plan's steps."""
    errors: list[str] = field(default_factory=list)

    def __call__(self, plan: Plan) -> list[RuleHit]:
        subject = f"{self.subject} {' → '.join(plan.capabilities)}"
        hits, errors = evaluate(self.rules, self.variables(plan), subject)
        self.errors.extend(errors)
        return hits

    def allows(self, plan: Plan) -> bool:
        """Whether no plan rule denies `plan`."""
        return not _denials(self(plan))


def _denials(hits: list[RuleHit]) -> list[RuleHit]:
    return [h for h in hits if h.effect == "deny"]


@dataclass(order=True)
class _Node:
    score: float
    order: int
    without: dict[str, RuleHit] = field(compare=False)
    result: PlanResult = field(compare=False)
    hits: list[RuleHit] = field(compare=False)

    @property
    def plan(self) -> Plan:
        assert self.result.plan is not None
        return self.result.plan


def best_admissible(
    task: Task, result: PlanResult, planner: Planner, check: PlanCheck, *, why: bool = True
) -> tuple[Task, PlanResult, list[RuleHit]]:
    """The task and result to record, and the plan rule evaluations that mattered (see
    `_admissible`)."""
    return _admissible(task, result, planner, check, why)[:3]


def binding_within_rules(
    task: Task, result: PlanResult, planner: Planner, check: PlanCheck, *, every: bool = False
) -> PlanResult:
    """`result` (the best plan the rules allow for `task`) with a limit called binding only
    if the plan rules let it keep a better plan out: the planner calls a limit binding when
    lifting it admits a better plan, which the plan rules may deny all the same (then the
    limit changed nothing). `every`: check every limit, not only those the planner called
    binding; it judged them without the capabilities the search left out, which the limit
    alone may keep out of a better plan the rules allow."""
    assert result.plan is not None
    planner = _solver(planner)
    reports = []
    for report in result.constraints:
        if report.binding or every:
            lifted = replace(task.limits, **{report.name: None})
            probe = replace(task, limits=lifted, alternatives=0)
            found = planner.plan(probe)
            if found.plan is not None and found.plan.steps:
                found = _admissible(probe, found, planner, check, False)[1]
            better = found.plan is not None and found.plan.score < result.plan.score - 1e-9
            report = replace(report, binding=better)
        reports.append(report)
    return replace(result, constraints=tuple(reports))


def _admissible(
    task: Task, result: PlanResult, planner: Planner, check: PlanCheck, why: bool
) -> tuple[Task, PlanResult, list[RuleHit], bool]:
    """The task and result to record, and the plan rule evaluations that mattered.

    `result` is the planner's answer to `task`, with a plan. When no plan rule denies it,
    it stands (with the rules that fired on it, e.g. `require_approval`). When the rules
    deny every plan, and the limits or deny rules left some branch with no plan, the
    conflict and the ways out take them in too (`plan_ways.denied_why`), unless `why` is
    False (a search that only asks whether a plan exists). Last, whether the search was
    complete: False when it stopped at `MAX_PLANS`.
    """
    assert result.plan is not None
    first = check(result.plan)
    if not _denials(first):
        return task, _without_denied_alternatives(result, check), first, True
    # A model planner's proposal was denied: the search goes on with its solver (asking the
    # model for every plan tried would multiply calls), and the decision keeps the record
    # of what the model was asked.
    model = result.solver.get("llm")
    planner = _solver(planner)
    probe = replace(task, alternatives=0)
    frontier = [_Node(result.plan.score, 0, {}, result, first)]
    seen: set[frozenset[str]] = {frozenset()}
    mattered: list[RuleHit] = []
    blocked: list[PlanResult] = []  # branches the limits or deny rules left with no plan
    tried, complete = 1, True
    while frontier:
        node = heapq.heappop(frontier)
        denials = _denials(node.hits)
        if not denials:
            # Solved again with the alternatives asked for; a deterministic planner finds
            # the same plan (should one not, the plan found first stands, alone).
            final_task = _leaving_out(task, node.without)
            final = planner.plan(final_task)
            if final.plan is None or final.plan.capabilities != node.plan.capabilities:
                final_task, final = _leaving_out(probe, node.without), node.result
            final = _without_denied_alternatives(final, check)
            if not complete:
                final = replace(final, proven_optimal=False)
            return (
                final_task,
                _keeping(final, model, _denials(first)),
                mattered + node.hits,
                complete,
            )
        mattered.extend(denials)
        for name in dict.fromkeys(node.plan.capabilities):
            without = {**node.without, name: denials[0]}
            if frozenset(without) in seen:
                continue
            if tried >= MAX_PLANS:
                complete = False
                break
            seen.add(frozenset(without))
            tried += 1
            found = planner.plan(_leaving_out(probe, without))
            if found.plan is not None and found.plan.steps:
                hits = check(found.plan)
                heapq.heappush(frontier, _Node(found.plan.score, tried, without, found, hits))
            elif found.status == "infeasible":
                blocked.append(found)
    found_why = None
    denying = (f"{s}/{r.id}" for s, r in check.rules if r.effect == "deny")
    rules = tuple(dict.fromkeys([*(h.ref for h in mattered), *denying]))  # fired first
    if blocked and complete and why:
        found_why = denied_why(task, rules, _allowed_by(planner, check), _least_by(planner, check))
    denied = _all_denied(task, result, mattered, rules, tried, complete, found_why)
    return task, _keeping(denied, model, _denials(first)), mattered, complete


def checked_ways(task: Task, result: PlanResult, planner: Planner, check: PlanCheck) -> PlanResult:
    """`result`, infeasible, with its ways out checked against the plan rules
    (`plan_ways.checked_ways`)."""
    planner = _solver(planner)

    def fired(plan: Plan) -> str | None:
        denials = _denials(check(plan))
        return denials[0].ref if denials else None

    allowed, least = _allowed_by(planner, check), _least_by(planner, check)
    return plan_ways.checked_ways(task, result, allowed, least, fired)


def _solver(planner: Planner) -> Planner:
    """The planner that searches under the plan rules: a model planner's solver (asking
    the model for every plan tried would multiply calls), any other planner itself."""
    solver: Planner = getattr(planner, "rules_solver", planner)
    return solver


def _allowed_by(planner: Planner, check: PlanCheck) -> plan_ways.Allowed:
    """The best plan for a task that `check`'s plan rules but those `lifted` allow, found
    as `best_admissible` finds it."""

    def allowed(task: Task, lifted: frozenset[str]) -> Plan | None:
        task = replace(task, alternatives=0)  # (the search re-solves its plan with them)
        some = check
        if lifted:
            kept = tuple((s, r) for s, r in check.rules if f"{s}/{r.id}" not in lifted)
            some = PlanCheck(kept, check.variables, check.subject)
        found = planner.plan(task)
        if found.plan is not None and found.plan.steps and some.rules:
            _, found, _, complete = _admissible(task, found, planner, some, False)
            if found.plan is None and not complete:
                raise plan_ways.GaveUp
        return found.plan

    return allowed


def _least_by(planner: Planner, check: PlanCheck) -> plan_ways.Least:
    """The plan for a task that `check`'s plan rules allow that needs least of a limit,
    found as `best_admissible` finds the best: best-first by the limit's own measure over
    the plans left when one more capability of a denied plan is left out (leaving out never
    makes the least any less). None when the rules allow none or when `planner` is no
    `SolvingPlanner` (it cannot solve by one measure); `GaveUp` after `MAX_PLANS` plans."""

    def least(task: Task, limit: str) -> Plan | None:
        if not isinstance(planner, SolvingPlanner):
            return None
        metric, grounded = METRICS[limit], ground(task)
        frontier: list[tuple[float, int, frozenset[str], Plan]] = []
        tried = 0

        def push(without: frozenset[str]) -> None:
            nonlocal tried
            tried += 1
            try:
                found = planner.solve(task, grounded, metric, without)
            except PlanningError:
                return
            if found is not None and found.plan.steps:
                measure = _measure(limit, found.plan)
                heapq.heappush(frontier, (measure, tried, without, found.plan))

        push(frozenset())
        seen = {frozenset[str]()}
        while frontier:
            _, _, without, plan = heapq.heappop(frontier)
            if not _denials(check(plan)):
                return plan
            for name in dict.fromkeys(plan.capabilities):
                if without | {name} in seen:
                    continue
                if tried >= MAX_PLANS:
                    raise plan_ways.GaveUp
                seen.add(without | {name})
                push(without | {name})
        return None

    return least


def _measure(limit: str, plan: Plan) -> float:
    """What `plan` needs of `limit`: its cost, its elapsed time (the critical path, not
    the summed latency `plan_total` counts), or its risk."""
    return plan.latency if limit == "deadline" else plan_total(plan, METRICS[limit])


def _keeping(
    result: PlanResult, model: Mapping[str, Any] | None, denials: Sequence[RuleHit]
) -> PlanResult:
    """`result` with the model's record, saying whose plan a plan rule overruled: the
    model's, or, when the model's plan was never taken (a failed call, no valid proposal,
    no model), the fallback solver's; and which rule (`denials`: those that denied it),
    which `ido run`'s line left to find in `ido explain`'s policy decisions."""
    if not model:
        return result
    by = "; ".join(dict.fromkeys(f"{hit.ref}: {hit.message}" for hit in denials))
    which = f" ({by})" if by else ""
    if model.get("fallback"):
        overruled = f"a plan rule denied the solver's best plan{which}, so the solver chose another"
    else:
        overruled = f"a plan rule denied that plan{which}, so the solver chose"
    verdict = f"{model.get('verdict')}; {overruled}"
    record = {**model, "verdict": verdict, "fallback": model.get("fallback") or "cpsat"}
    return replace(result, solver={**result.solver, "llm": record})


def _leaving_out(task: Task, without: Mapping[str, RuleHit]) -> Task:
    """`task` with the capabilities of `without` denied by the plan rule that rules them out."""
    if not without:
        return task
    denied = tuple(
        Denied(
            action,
            without[action.name].ref,
            f"left out: every plan that uses it and would score better within the limits "
            f"is denied by a plan rule ({without[action.name].message})",
        )
        for action in task.actions
        if action.name in without
    )
    rest = tuple(a for a in task.actions if a.name not in without)
    return replace(task, actions=rest, denied=task.denied + denied)


def rejected_within(planned: Task, task: Task, result: PlanResult) -> PlanResult:
    """`result`, the best plan the rules allow, found for `task` (`planned` with capabilities
    the search left out), with its rejections told against `planned`: a capability that
    only their absence makes unreachable or irrelevant is rejected for a limit it breaks
    alone, else said to be so once they are left out."""
    kept = {a.name: a for a in task.actions}
    gone = [a.name for a in planned.actions if a.name not in kept]
    if not gone:
        return result
    before = {(r.capability, r.reason) for r in ground(planned).rejections}
    once = f"once {', '.join(gone)} {'is' if len(gone) == 1 else 'are'} left out"
    told = []
    for r in result.rejections:
        if r.reason in ("unreachable", "irrelevant") and (r.capability, r.reason) not in before:
            over = over_limit(kept[r.capability], task.limits) if r.capability in kept else None
            r = over or replace(r, detail=f"{r.detail}, {once}")
        told.append(r)
    return replace(result, rejections=tuple(told))


def _without_denied_alternatives(result: PlanResult, check: PlanCheck) -> PlanResult:
    if not result.alternatives:
        return result
    kept = tuple(a for a in result.alternatives if not _denials(check(a.plan)))
    return replace(result, alternatives=kept)


def _all_denied(
    task: Task,
    result: PlanResult,
    mattered: list[RuleHit],
    plan_rules: tuple[str, ...],
    tried: int,
    complete: bool,
    why: DeniedWhy | None,
) -> PlanResult:
    """No plan the plan rules allow: the best plan and the rule that denied it; with `why`,
    the minimal conflict and the ways out, limits and deny rules in. `plan_rules`: the
    deny plan rules, those that fired first."""
    assert result.plan is not None
    rules = tuple(dict.fromkeys(h.ref for h in mattered))
    best = mattered[0]
    steps = " → ".join(result.plan.capabilities)
    reason = (
        f"every plan is denied by a plan rule: the best, {steps} (cost "
        f"{result.plan.cost:.2f}), by {best.ref}: {best.message}"
    )
    blocking, conflict = rules, rules
    if why is not None:
        blocking, conflict = why.blocking, why.conflict
        ways = told(task, why)
        if set(conflict) - set(plan_rules):  # the limits or deny rules stand in the way too
            reason = (
                f"no plan the plan rules allow keeps within the limits and rules: the best "
                f"plan, {steps} (cost {result.plan.cost:.2f}), is denied by {best.ref}: "
                f"{best.message.rstrip('.')}; "
                f"{ways or 'no one limit or rule lifted alone lets one through'}"
            )
        elif ways:
            reason = f"{reason.rstrip('.')}; {ways}"
    if not complete:  # whether any plan gets through is not known: no conflict is either
        reason = (
            f"the {tried} best plans are all denied by plan rules ({', '.join(rules)}); "
            f"the best, {steps}, by {best.ref}: {best.message.rstrip('.')}. ido stopped looking "
            "there"
        )
        conflict = ()
    return replace(
        result,
        status="infeasible",
        plan=None,
        alternatives=(),
        constraints=(),
        reason=reason,
        blocking=blocking,
        conflict=conflict,
        conflict_untested=why.untested if why is not None else (),
        other_conflicts=(),  # the limits' and rules' alone: plan rules' conflicts differ
    )
