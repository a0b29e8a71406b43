"""What every optimising backend shares: a decision built from repeated `solve` calls.

A backend says how to find the best plan by one metric, under the task's limits, leaving
some capabilities out (`solve`). From that, `SolvingPlanner.plan` builds the whole
decision the same way for every backend: satisfied / infeasible with the reason / the
plan, its alternatives (the best plan without each chosen capability) and its binding
constraints (the best plan without limits).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import nullcontext
from contextvars import copy_context
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ido.errors import PlanningError
from ido.planner import progress
from ido.planner.bounds import landmarks, plan_floor
from ido.planner.collector import held_off

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor
from ido.planner.explain import (
    alternative_why,
    binding_limits,
    broken,
    constraint_reports,
    fits,
    keeping,
    present,
)
from ido.planner.grounding import Grounded, goal_reachable, ground
from ido.planner.infeasible import infeasible
from ido.planner.order import waits
from ido.planner.tables import Table
from ido.planner.types import (
    Action,
    Alternative,
    Limits,
    Metric,
    Plan,
    PlanResult,
    PlanShape,
    Step,
    Task,
    units,
)

FLOOR_SLACK = 1e-9
"""Relative float error a sum of landmark shares may carry above the whole it bounds."""


@dataclass(frozen=True, eq=False)
class Question:
    """What one solve asks: the best plan of `task` (grounded as `g`) by `metric`, in at
    most `length` steps, leaving out the capabilities named in `without`; with `under`,
    only a plan whose metric is below it (see `SolvingPlanner.solve`)."""

    task: Task
    g: Grounded
    length: int
    metric: Metric = "score"
    without: frozenset[str] = frozenset()
    under: float = math.inf

    def same(self, other: Question) -> bool:
        """Whether `other` asks this: the same task and grounding (the objects, not equal
        copies), the same length, metric, capabilities left out and ceiling."""
        asked = (self.length, self.metric, self.without, self.under)
        if asked != (other.length, other.metric, other.without, other.under):
            return False
        return self.task is other.task and self.g is other.g


@dataclass(frozen=True)
class Solution:
    """A best plan found by `solve`, whether its optimality is proven, and the horizon."""

    plan: Plan
    optimal: bool
    horizon: int


class SolvingPlanner(ABC):
    """A planner that finds best plans by `solve`; `plan` turns solves into a decision."""

    name: str
    threads: int = 1
    ceiling_round: int = 1
    """How many of the alternatives' solves share one ceiling (see `_alternatives`); no more
    than this many run side by side, whatever `threads` allows."""

    @abstractmethod
    def parameters(self, task: Task) -> dict[str, Any]:
        """Settings that make a decision on `task` reproducible, recorded with it."""

    def solve(
        self,
        task: Task,
        grounded: Grounded | None = None,
        metric: Metric = "score",
        without: frozenset[str] = frozenset(),
        near: Plan | None = None,
        under: float = math.inf,
    ) -> Solution | None:
        """The best plan by `metric` under the task's limits, or None if there is none.

        `grounded` must come from `ground()` of a task with the same state, goal and
        actions (limits and weights may differ); `without` names capabilities to leave out.
        `near`: a plan of the same task with them, which a backend may adapt into a first
        plan without them (the alternatives pass the chosen plan). `under`: only a plan
        whose metric, in the whole millionths the backends minimise (`objective` for the
        score), is below it is wanted; the answer is then None when there is none, and a
        backend may stop looking sooner (a best plan at or above it may still come back).
        """
        grounded = grounded or ground(task)
        if grounded.unreachable_goal:
            return None
        if without and not goal_reachable(grounded, usable(grounded, without)):
            return None  # what is left cannot reach the goal even ignoring what it undoes
        asked = Question(task, grounded, horizon(task, grounded), metric, without, under)
        found = self._solve(asked, near)
        if found is None:
            return None
        return replace(found, plan=ordered(grounded, found.plan))

    @abstractmethod
    def _solve(self, asked: Question, near: Plan | None = None) -> Solution | None:
        """`solve` on a grounded task whose goal is reachable."""

    def prepare_alternatives(self, task: Task, grounded: Grounded, names: list[str]) -> None:
        """Hook run before the alternatives' solves (each leaves out one of `names`)."""
        return

    def plan(self, task: Task) -> PlanResult:
        with held_off():  # (grounding's tables and the solves' models hold no cycles)
            return self._plan(task)

    def _plan(self, task: Task) -> PlanResult:
        grounded = ground(task)
        errors = grounded.errors
        if all(holds_now(t) for t in grounded.goal):
            return PlanResult(
                "satisfied",
                plan=Plan(()),
                rejections=grounded.rejections,
                condition_errors=errors,
                solver=self.parameters(task),
            )
        free, best, slack = None, None, frozenset[str]()
        if not grounded.unreachable_goal:
            # The best plan without limits is needed anyway (to tell which limit binds);
            # when it keeps within the limits it is also the best plan with them. Else the
            # best plan within the limits it breaks comes next: when that keeps within the
            # others too, it is the best plan, and none of the others binds (lifting one
            # leaves a plan between the two), which spares a solve per such limit.
            free = self.solve(replace(task, limits=Limits()), grounded)
            if free is not None and fits(task.limits, free.plan):
                best = free
            elif free is not None:
                over = broken(task.limits, free.plan)
                within = self.solve(replace(task, limits=keeping(task.limits, over)), grounded)
                if within is not None and fits(task.limits, within.plan):
                    best, slack = within, present(task.limits) - over
                elif within is not None:
                    best = self.solve(task, grounded)
        if best is None:
            why = infeasible(task, grounded, self)
            return PlanResult(
                "infeasible",
                rejections=grounded.rejections,
                reason=why.reason,
                blocking=why.blocking,
                conflict=why.conflict,
                other_conflicts=why.other_conflicts,
                condition_errors=errors,
                ways=why.ways,
                solver=self.parameters(task),
            )
        alternatives, unsettled = self._alternatives(task, grounded, best)
        solver: dict[str, object] = {**self.parameters(task), "horizon": best.horizon}
        if unsettled:
            solver["alternatives_unsettled"] = unsettled
        return PlanResult(
            "planned",
            plan=best.plan,
            alternatives=alternatives,
            rejections=grounded.rejections,
            constraints=constraint_reports(
                task,
                best.plan,
                binding_limits(task, grounded, self, best.plan, free.plan if free else None, slack),
            ),
            proven_optimal=best.optimal,
            condition_errors=errors,
            solver=solver,
        )

    def _alternatives(
        self, task: Task, grounded: Grounded, best: Solution
    ) -> tuple[tuple[Alternative, ...], list[str]]:
        """Up to `task.alternatives` best plans without one of `best`'s capabilities, and a
        line for each solve that gave up (`without <name>: <why>`): an alternative the
        planner cannot settle within its budget is left out, and the plan stands.

        They rank by the score the solvers minimise (whole millionths per step), and a tie
        goes to the alternative solved first (cheapest floor first, then plan order)."""
        if task.alternatives <= 0:
            return (), []
        names = list(dict.fromkeys(best.plan.capabilities))
        self.prepare_alternatives(task, grounded, names)
        found: dict[PlanShape, Plan] = {}  # one plan listed in two orders is one plan
        gave_up: dict[str, str] = {}

        def without(name: str, under: float) -> Solution | None:
            try:
                # which candidate this is, of how many at most (the list may settle sooner)
                with progress.adding(without=[name], candidate=[place[name], len(pending)]):
                    return self.solve(
                        task, grounded, without=frozenset({name}), near=best.plan, under=under
                    )
            except PlanningError as exc:
                gave_up[name] = str(exc)
                return None

        def rank(plan: Plan) -> int:
            return objective(task, grounded, plan)

        # No plan without a capability scores below `bound` of it: the landmark floor of
        # what is left, and the plan's own score when that is proven optimal. Candidates are
        # solved lowest floor first; once enough plans are found and the next bound reaches
        # the last one kept, the rest cannot make the list (at best they tie, and a tie goes
        # to the one solved first). On a task where many alternatives tie with the plan (a
        # driver or a gripper for another), that ends the search after a few solves. The
        # solves are independent; backends that release the GIL (CP-SAT) run them side by
        # side, a batch at a time, and a batch's answers are taken in order up to where one
        # at a time would have stopped: what a solve past that point found, or gave up on,
        # is dropped, so the outcome does not depend on threads.
        floors = _floors(task, grounded, names) if len(names) > task.alternatives else {}
        least = rank(best.plan) if best.optimal else -math.inf
        bound = {n: _at_least(floors[n], least) for n in floors}

        def last_kept() -> float:
            """The score a plan must beat to make the list as it stands (inf while short)."""
            if len(found) < task.alternatives:
                return math.inf
            return sorted(rank(p) for p in found.values())[task.alternatives - 1]

        def enough(name: str) -> bool:
            """Whether the plans found settle the list before `name` is solved."""
            return bool(bound) and bound[name] >= last_kept()

        # Nor can a plan scoring at or above the last one kept, found later, make the list:
        # each solve is asked only for plans below it (`under`), so a search stops once
        # its frontier reaches that score. What one solve finds can lower the next one's
        # ceiling, so solves share one: `ceiling_round` of them at a time, a number of the
        # backend and not of its threads.
        # A capability with no plan without it (an infinite floor, or, with no floors worked
        # out, the goal out of reach without it, which `solve` would find first) is no
        # candidate at all: it is neither solved nor counted in "candidate 2 of 5".
        def possible(name: str) -> bool:
            if name in floors:
                return floors[name] < math.inf
            return goal_reachable(grounded, usable(grounded, frozenset({name})))

        pending = sorted(filter(possible, names), key=lambda n: floors.get(n, 0.0))
        place = {name: at for at, name in enumerate(pending, start=1)}
        each = max(1, self.ceiling_round)
        workers = max(1, min(self.threads, each)) if len(names) > 1 else 1

        def in_order(pool: ThreadPoolExecutor | None) -> Iterator[tuple[str, Solution | None]]:
            """Each candidate and its answer, in order, until the list is settled: a round
            of `each` solves shares the ceiling the list had as the round began; on a pool,
            up to `workers` of a round's solves at a time, each in a copy of this thread's
            context (its listener too)."""
            for first in range(0, len(pending), each):
                round_ = pending[first : first + each]
                under = last_kept()
                for start in range(0, len(round_), workers):
                    batch = round_[start : start + workers]
                    if enough(batch[0]):
                        return
                    futures = (
                        [pool.submit(copy_context().run, without, n, under) for n in batch]
                        if pool
                        else []
                    )
                    for at, name in enumerate(batch):
                        if enough(name):
                            return  # what a solve past here found, or gave up on, is dropped
                        yield name, futures[at].result() if futures else without(name, under)

        solved: list[str] = []
        # Imported here: one solve, `--alternatives 0`, needs no threads (nor their import).
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) if workers > 1 else nullcontext() as pool:
            for name, other in in_order(pool):
                solved.append(name)
                if other is not None and other.plan.shape != best.plan.shape:
                    found.setdefault(other.plan.shape, other.plan)
        # Stable: among equal scores, the order in which they were found.
        ranked = sorted(found.values(), key=rank)
        alternatives = tuple(
            Alternative(
                p,
                p.score - best.plan.score,
                alternative_why(best.plan, p, task.weights, task.actions),
            )
            for p in ranked[: task.alternatives]
        )
        unsettled = [n for n in names if n in gave_up and n in solved]
        return alternatives, [f"without {n}: {gave_up[n]}" for n in unsettled]


def horizon(task: Task, g: Grounded) -> int:
    """No optimal plan is longer than the grounded horizon, so unless max_steps cuts it
    shorter, optimal within this many steps is optimal outright."""
    return min(task.max_steps, g.horizon)


def ordered(g: Grounded, plan: Plan) -> Plan:
    """`plan` with, per step, the earlier steps it must wait for (see `ido.planner.order`)."""
    prints = g.footprints
    return replace(plan, after=waits([prints[g.position[s.capability]] for s in plan.steps]))


def _floors(task: Task, g: Grounded, names: list[str]) -> dict[str, float]:
    """Per capability, a lower bound on the score of any plan without it, in the whole
    millionths the solvers minimise (`objective`): the cheapest shares of the landmarks of
    what is left (`ido.planner.bounds`); -inf when scores can be negative (the bound needs
    them not to be), inf when no plan is left."""
    scores = [float(units(measure(task, action, "score"))) for action in g.actions]
    out: dict[str, float] = {}
    for name in names:
        allowed = usable(g, frozenset({name}))
        if min((scores[a] for a in allowed), default=0.0) < 0:
            out[name] = -math.inf
            continue
        marks = landmarks(g, allowed)
        out[name] = math.inf if marks is None else plan_floor(scores, marks)
    return out


def _at_least(floor: float, least: float) -> float:
    """The larger of two lower bounds on a whole number: `floor`, a sum of shares that
    float division may leave a hair above the whole it bounds, rounded up past that hair."""
    if math.isfinite(floor):
        floor = math.ceil(floor - FLOOR_SLACK * (1.0 + abs(floor)))
    return max(floor, least)


def objective(task: Task, g: Grounded, plan: Plan) -> int:
    """The plan's score as the solvers minimise it: each step's in whole millionths."""
    actions = g.actions
    return sum(units(measure(task, actions[g.position[s.capability]], "score")) for s in plan.steps)


def usable(g: Grounded, without: frozenset[str]) -> frozenset[int]:
    """Actions a solve leaving out `without` may need: no dominated one unless its dominator
    is left out."""
    return frozenset(
        a
        for a, action in enumerate(g.actions)
        if action.name not in without and (g.dominator[a] is None or g.dominator[a] in without)
    )


def measure(task: Task, action: Action, metric: Metric) -> float:
    """The action's contribution to `metric`: its score, cost, latency or risk."""
    if metric == "score":
        return task.weights.score(action)
    if metric == "cost":
        return action.cost
    if metric == "latency":
        return action.latency
    return action.risk


def plan_total(plan: Plan, metric: Metric) -> float:
    """The plan's `metric`, summed from its steps as `measure` counts each action."""
    if metric == "score":
        return plan.score
    if metric == "cost":
        return plan.cost
    if metric == "latency":
        return plan.work
    return sum(-math.log(s.reliability) for s in plan.steps)


def breaks_limits(task: Task, g: Grounded, plan: Plan) -> bool:
    """Whether `plan` breaks one of the task's limits as the search judges them: its cost,
    elapsed time (the critical path, its steps ordered by what they share) and risk (the
    sum of -log reliability) summed in floats, each over its limit by more than 1e-9."""
    limits = task.limits
    least = limits.min_success_probability
    elapsed = None if limits.deadline is None else ordered(g, plan).latency
    checks = (
        (limits.max_cost, plan.cost),
        (limits.deadline, elapsed),
        (None if least is None else -math.log(max(least, 1e-300)), plan_total(plan, "risk")),
    )
    return any(
        limit is not None and total is not None and total > limit + 1e-9 for limit, total in checks
    )


def step_of(task: Task, action: Action) -> Step:
    return Step(
        capability=action.name,
        provider=action.provider,
        cost=action.cost,
        latency=action.latency,
        reliability=action.reliability,
        score=task.weights.score(action),
    )


def holds_now(table: Table) -> bool:
    """Whether `table` holds in the start state (every fluent at its value 0)."""
    zero = tuple(0 for _ in table.fluents)
    return zero in table.true_rows
