"""Values the planner takes and returns: frozen, JSON-friendly, no behaviour beyond sums."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from ido.planner.order import critical_path, schedule

SCALE = 1_000_000
"""Units per 1.0 of a metric where plans are compared: both backends sum each step's
metric in whole millionths (`units`), so two plans within float noise of each other tie,
and the tie goes to the shorter plan in both; the ways out an explanation names are
rounded past the same count."""


Metric = Literal["score", "cost", "latency", "risk"]
"""What a solve minimises: the weighted score, or one measure of a plan's."""


def units(value: float) -> int:
    """`value` in whole millionths."""
    return round(value * SCALE)


@dataclass(frozen=True)
class Action:
    """A capability as the planner sees it: conditions, effects and the numbers that matter."""

    name: str
    provider: str
    cost: float
    latency: float
    reliability: float
    requires: tuple[str, ...] = ()
    effects: tuple[tuple[str, Any], ...] = ()
    bias: float = 0.0
    bias_rules: tuple[str, ...] = ()
    approvals: tuple[str, ...] = ()
    """The `require_approval` rules that fire for it: each a request its step stops for,
    which `Weights.approval` weighs."""

    @property
    def risk(self) -> float:
        return -math.log(self.reliability)


@dataclass(frozen=True)
class Weights:
    cost: float = 1.0
    latency: float = 0.0
    risk: float = 0.0
    approval: float = 0.0
    """Score per approval request a step stops for (the intent's `objective.approval`)."""

    def score(self, action: Action) -> float:
        """Weighted cost + latency + risk plus policy bias, never below zero, and then the
        weight of the approvals the step needs.

        A `prefer` rule can make a step free but not profitable: a negative score would
        reward plans for padding themselves with steps that change nothing. The approvals
        weigh after that floor: else a large `prefer` bonus meant for something else (a
        provider, say) cancelled them, and a plan that stops for a person tied with, or
        beat by name, an equally preferred one that does not.
        """
        weighed = max(
            0.0,
            self.cost * action.cost
            + self.latency * action.latency
            + self.risk * action.risk
            + action.bias,
        )
        return weighed + self.approval * len(action.approvals)


@dataclass(frozen=True)
class Limits:
    """Numeric constraints on a whole plan; None means unconstrained."""

    max_cost: float | None = None
    deadline: float | None = None
    min_success_probability: float | None = None


@dataclass(frozen=True)
class Denied:
    """A capability a policy rule removed before planning, kept to explain infeasibility."""

    action: Action
    rule: str
    message: str
    also: tuple[str, ...] = ()
    """Other rules that deny it too: it comes back only when every one of them is lifted."""
    unevaluated: tuple[str, ...] = ()
    """Those of its rules that could not be evaluated, and denied it failing closed."""
    error: str | None = None
    """Why `rule` could not be evaluated, when it denied it failing closed; else None."""

    @property
    def rules(self) -> tuple[str, ...]:
        return (self.rule, *self.also)


SOLVE_TIME = 10.0
"""CP-SAT's deterministic seconds per solve, by default (`limits.solve_time`)."""

ALTERNATIVES = 3
"""Alternative plans a decision works out and records, by default (`limits.alternatives`)."""

MOST_ALTERNATIVES = 20
"""The most alternative plans an intent may ask for (`limits.alternatives`)."""

SEARCH_STATES = 200_000
"""Expansions before the exact search gives up, by default (`limits.search_states`); for
CP-SAT's fallback too. (The IPC problem driverlog p02 needs about 51,000 expansions: 3.3 s
on a 2-core machine.)"""


@dataclass(frozen=True)
class Task:
    """One planning problem: where we are, where to go, with what, under which limits."""

    state: Mapping[str, Any]
    goal: tuple[str, ...]
    actions: tuple[Action, ...]
    weights: Weights = Weights()
    limits: Limits = Limits()
    max_steps: int = 20
    denied: tuple[Denied, ...] = ()
    fixed: frozenset[str] = frozenset()
    """The deny rules no way out may lift (`negotiable: false`), by id: a reason names them
    as what stands in the way, never as what to lift."""
    alternatives: int = ALTERNATIVES
    time_limit: float = SOLVE_TIME
    """CP-SAT's deterministic time limit per solve (`limits.solve_time`)."""
    search_states: int = SEARCH_STATES
    """Expansions the exact search may make per solve (`limits.search_states`)."""
    model_call_cost: float = 0.0
    """What the run's last paid model call cost: a model planner does not ask when the
    budget left would not pay for another like it."""
    model_call_seconds: float = 0.0
    """How long the run's last model call took (one from the cache took none): a model
    planner does not ask when the deadline left would not wait for another like it."""
    spent: float = 0.0
    elapsed: float = 0.0
    """What the run has spent and how long it has taken: `limits` holds what is left of the
    intent's budget and deadline, and the ways out name the intent's own values."""
    outputs: tuple[str, ...] = ()
    """Where capabilities write their results (`output`): a fact there is set by a step,
    though no plan can count on it, so one not set yet is no error (`Tabulator`)."""
    allows: Callable[[Plan], bool] | None = field(default=None, compare=False)
    """Whether the plan rules (rules about a plan as a whole) allow a plan; None: there are
    none. They cannot be handed to a solver, but a plan found can be judged: `hybrid`
    offers the model only the plans they allow."""


@dataclass(frozen=True)
class Step:
    capability: str
    provider: str
    cost: float
    latency: float
    reliability: float
    score: float


PlanShape = tuple[tuple[tuple[str, int], ...], frozenset[tuple[tuple[str, int], tuple[str, int]]]]
"""A plan's steps (capability, how many of it came before) and which waits for which."""


@dataclass(frozen=True)
class Plan:
    """Steps in an order that works, and per step the earlier steps it must wait for.

    `after` None means each step waits for the one before (a plain sequence). Steps that
    wait for nothing in common may run side by side, so the plan's `latency` is its
    critical path and `work` the sum of its steps' latencies.
    """

    steps: tuple[Step, ...]
    after: tuple[tuple[int, ...], ...] | None = None

    @property
    def waits(self) -> tuple[tuple[int, ...], ...]:
        if self.after is not None:
            return self.after
        return tuple(() if j == 0 else (j - 1,) for j in range(len(self.steps)))

    @property
    def cost(self) -> float:
        return sum(s.cost for s in self.steps)

    @property
    def latency(self) -> float:
        """Elapsed time with every step started as soon as the steps it waits for end."""
        lats = [s.latency for s in self.steps]
        starts = schedule(lats, self.waits)
        return max((b + lat for b, lat in zip(starts, lats)), default=0.0)

    @property
    def work(self) -> float:
        return sum(s.latency for s in self.steps)

    @property
    def critical_path(self) -> tuple[int, ...]:
        return critical_path([s.latency for s in self.steps], self.waits)

    @property
    def success_probability(self) -> float:
        return math.prod(s.reliability for s in self.steps)

    @property
    def score(self) -> float:
        return sum(s.score for s in self.steps)

    @property
    def capabilities(self) -> tuple[str, ...]:
        return tuple(s.capability for s in self.steps)

    @property
    def shape(self) -> PlanShape:
        """The plan whatever order it lists steps that may run side by side in: its steps,
        each named by its capability and how many steps of that capability come before it,
        and which of them waits for which. Two orders of one plan have the same shape: steps
        that interfere keep their order, so the waits are the same, and two steps of one
        capability that could swap places wait for the same steps."""
        seen: dict[str, int] = {}
        names = []
        for step in self.steps:
            times = seen.get(step.capability, 0)
            seen[step.capability] = times + 1
            names.append((step.capability, times))
        waits = frozenset(
            (names[j], names[i]) for j, before in enumerate(self.waits) for i in before
        )
        return tuple(sorted(names)), waits

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": [dict(vars(s)) for s in self.steps],  # flat: no deep asdict
            "cost": self.cost,
            "after": [list(a) for a in self.waits],
            "latency": self.latency,
            "work": self.work,
            "success_probability": self.success_probability,
            "score": self.score,
        }


RejectionReason = Literal[
    "denied",
    "unreachable",
    "irrelevant",
    "dominated",
    "over_budget",
    "over_deadline",
    "too_unreliable",
]


@dataclass(frozen=True)
class Rejection:
    """Why a capability could not be part of any plan."""

    capability: str
    reason: RejectionReason
    detail: str
    rule: str | None = None


@dataclass(frozen=True)
class Alternative:
    plan: Plan
    score_delta: float
    why: str


@dataclass(frozen=True)
class ConstraintReport:
    """A constraint's limit, the chosen plan's value, slack, and whether it bound the choice."""

    name: str
    limit: float
    value: float
    slack: float
    binding: bool


MOST_CONFLICTS = 4
"""How many minimal conflicts an infeasible task's reason names at most: each more costs a
solve per limit and rule, and a fifth tells little a fourth did not."""

Status = Literal["planned", "satisfied", "infeasible"]


class Way(NamedTuple):
    """A way out of an infeasible task that its reason names, for plan rules (which no
    solve sees) to check."""

    element: str
    """The limit or rule relaxed alone (or several, joined by `infeasible.TOGETHER`)."""
    plan: Plan
    """The plan it admits."""
    words: str
    """Its words in the reason."""
    max_steps: int = 0
    """A way out after "and then:" holds at this `limits.max_steps` (0: the task's own)."""
    kind: Literal["alone", "together", "limits together"] = "alone"
    """How it relaxes: one limit or rule `alone`; several `together`, in words that name no
    plan; or several limits in `limit_words.limits_together`'s words, which name the plan
    they admit (and are told again from another)."""


@dataclass(frozen=True)
class PlanResult:
    status: Status
    plan: Plan | None = None
    alternatives: tuple[Alternative, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    constraints: tuple[ConstraintReport, ...] = ()
    reason: str | None = None
    blocking: tuple[str, ...] = ()
    conflict: tuple[str, ...] = ()
    conflict_untested: tuple[str, ...] = ()
    """Members of `conflict` that could not be tested (a search for a plan without one
    gave up): with any, the conflict is not proven minimal."""
    other_conflicts: tuple[tuple[str, ...], ...] = ()
    """The minimal conflicts found beside `conflict` (a few at most): a way out the reason
    names relaxes a member of each. Recorded only when there are some, so that an older
    run replays alike."""
    proven_optimal: bool = True
    condition_errors: tuple[str, ...] = ()
    solver: Mapping[str, Any] = field(default_factory=dict)
    ways: tuple[Way, ...] = field(default=(), compare=False)
    """When infeasible: the ways out the reason names (`structural.Infeasibility.ways`); not
    recorded."""

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "plan": self.plan.to_json() if self.plan else None,
            "alternatives": [
                {"plan": a.plan.to_json(), "score_delta": a.score_delta, "why": a.why}
                for a in self.alternatives
            ],
            "rejections": [dict(vars(r)) for r in self.rejections],
            "constraints": [dict(vars(c)) for c in self.constraints],
            "reason": self.reason,
            "blocking": list(self.blocking),
            "conflict": list(self.conflict),
            "conflict_untested": list(self.conflict_untested),
            **(
                {"other_conflicts": [list(c) for c in self.other_conflicts]}
                if self.other_conflicts
                else {}
            ),
            "proven_optimal": self.proven_optimal,
            "condition_errors": list(self.condition_errors),
            "solver": dict(self.solver),
        }
