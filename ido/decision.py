"""What a decision reads of the run (`History`) and what it records (`Decision`): the plan
worked out, the rule hits that mattered, the approvals they ask and the facts they read
(`recorded_decision`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ido.approvals import PLAN
from ido.conditions import compile_condition
from ido.health import Belief, Evidence
from ido.planner.types import PlanResult, Task
from ido.policy import RuleHit
from ido.state import digest, get_path, has_path


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
