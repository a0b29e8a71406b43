"""The decide step: a pure function from intent, catalog, snapshot and history to a Decision."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ido.approvals import PLAN
from ido.conditions import compile_condition
from ido.health import Belief, Evidence, believe
from ido.journal.records import model_calls
from ido.loading.catalog import Catalog
from ido.model import Capability, Intent, Rule, format_duration
from ido.plan_rules import (
    PlanCheck,
    best_admissible,
    binding_within_rules,
    checked_ways,
    rejected_within,
)
from ido.planner import Planner
from ido.planner.denials import UNBOUND, secret_rule
from ido.planner.llm_spending import left_after_calls
from ido.planner.types import Action, Denied, Limits, Plan, PlanResult, Rejection, Task, Weights
from ido.policy import (
    FAIL_CLOSED,
    RuleHit,
    capability_view,
    evaluate,
    plan_view,
    rulebook,
)
from ido.state import digest, get_path, has_path

ATTEMPTS_RULE = "limits.max_attempts"


@dataclass(frozen=True)
class History:
    """What the run has seen so far: failed attempts, health evidence, spend and time.

    `now` is the clock reading the evidence is seen from; `spent` and `elapsed` are the
    run's actual cost and time so far, which the budget and the deadline must cover too.
    """

    failures: Mapping[str, int] = field(default_factory=dict)
    evidence: Mapping[str, Evidence] = field(default_factory=dict)
    now: float = 0.0
    spent: float = 0.0
    elapsed: float = 0.0
    done: tuple[str, ...] = ()
    """The capabilities of the steps the run has completed, in order (plan rules see them)."""
    model_call_cost: float = 0.0
    """What the run's last paid model call cost (see `Task.model_call_cost`)."""
    model_call_seconds: float = 0.0
    """How long the run's last model call took (see `Task.model_call_seconds`)."""
    unbound: frozenset[str] = frozenset()
    """Capabilities the run cannot perform: they have no `run` binding, and the run's
    steps are performed for real (a scenario's simulated world needs none)."""
    unresolved: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Capabilities the run cannot call, and why: each binding names an environment
    variable, (NAME, "not set" or "empty"), that the process performing it lacks."""


@dataclass(frozen=True)
class Decision:
    """One planning step of the loop, as recorded."""

    number: int
    trigger: str
    planner: str
    snapshot_digest: str
    observed: Mapping[str, Any]
    result: PlanResult
    beliefs: Mapping[str, Belief]
    approvals: tuple[tuple[str, str, str], ...]
    policy_errors: tuple[str, ...]
    policy: tuple[RuleHit, ...] = ()
    """The rule evaluations that mattered (see `ido.policy.RuleHit.id`)."""
    spent: float = 0.0
    elapsed: float = 0.0
    """What the run had spent and how long it had taken: the plan had the rest of the limits."""
    approved: Mapping[str, Any] | None = None
    """On resuming after an approval, the check of the approved plan (`ido.approved_plan`):
    the decision it was made by, whether it still holds, and why; None for any other."""
    rules_read: Mapping[str, Any] = field(default_factory=dict)
    """The facts the deny and require_approval rules that fired read, beside `observed`:
    the amount a payout was stopped for, which the goal and preconditions do not read."""

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "trigger": self.trigger,
            "planner": self.planner,
            "snapshot_digest": self.snapshot_digest,
            "observed": dict(self.observed),
            "result": self.result.to_json(),
            "beliefs": {name: b.to_json() for name, b in self.beliefs.items()},
            "approvals": [list(a) for a in self.approvals],
            "policy_errors": list(self.policy_errors),
            "policy": [hit.to_json() for hit in self.policy],
            "spent": self.spent,
            "elapsed": self.elapsed,
            **({"approved": dict(self.approved)} if self.approved is not None else {}),
            **({"rules_read": dict(self.rules_read)} if self.rules_read else {}),
        }


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
    )
    return task, hits_all, errors, beliefs


def observed_facts(task: Task, result: PlanResult, state: Mapping[str, Any]) -> dict[str, Any]:
    """The facts the goal and the relevant capabilities' preconditions read, with their values."""
    irrelevant = {r.capability for r in result.rejections if r.reason == "irrelevant"}
    relevant = [a for a in task.actions if a.name not in irrelevant]
    paths: set[str] = set()
    for source in task.goal + tuple(r for a in relevant for r in a.requires):
        read = compile_condition(source).state_paths
        paths.update(read or ())
    return {p: get_path(state, p) for p in sorted(paths) if has_path(state, p)}


def _rules_read(
    hits: Sequence[RuleHit], state: Mapping[str, Any], observed: Mapping[str, Any]
) -> dict[str, Any]:
    """The facts the deny and require_approval rules that fired read (`RuleHit.reads`),
    those `observed` does not hold already, with their values."""
    paths = {p for h in hits if h.effect in ("deny", "require_approval") for p in h.reads}
    return {p: get_path(state, p) for p in sorted(paths - set(observed)) if has_path(state, p)}


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


def recorded_decision(
    task: Task,
    result: PlanResult,
    state: Mapping[str, Any],
    history: History,
    *,
    number: int,
    trigger: str,
    planner: str,
    hits: list[RuleHit],
    plan_hits: list[RuleHit],
    errors: list[str],
    beliefs: Mapping[str, Belief],
) -> Decision:
    """The Decision that records `result`, planned from `task` for `state`: the rule hits
    that mattered (`hits` on steps, an approval only of a step the plan has, then
    `plan_hits` on the whole plan), the approvals they ask, and the limits the run had
    used. Deciding and the approved-plan check (`ido.approved_plan`) both record so."""
    chosen = set(result.plan.capabilities) if result.plan else set()
    mattered = [h for h in hits if h.effect != "require_approval" or h.subject in chosen]
    approvals = tuple(
        (h.ref, h.subject, h.message) for h in mattered if h.effect == "require_approval"
    ) + tuple((h.ref, PLAN, h.message) for h in plan_hits if h.effect == "require_approval")
    return Decision(
        number=number,
        trigger=trigger,
        planner=planner,
        snapshot_digest=digest(state),
        observed=(observed := observed_facts(task, result, state)),
        result=result,
        beliefs=beliefs,
        approvals=approvals,
        policy_errors=tuple(dict.fromkeys(errors)),
        policy=tuple(mattered + plan_hits),
        rules_read=_rules_read(mattered + plan_hits, state, observed),
        spent=history.spent,
        elapsed=history.elapsed,
    )
