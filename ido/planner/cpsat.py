"""The CP-SAT planner: a layered finite-domain encoding solved by OR-Tools, deterministically."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from ortools.sat.python import cp_model

from ido.planner.explain import alternative_why, constraint_reports, infeasible
from ido.planner.grounding import Grounded, Table, ground, over_limit
from ido.planner.types import Alternative, Limits, Plan, PlanResult, Step, Task

SCALE = 1_000_000
Metric = Literal["score", "cost", "latency", "risk"]


@dataclass(frozen=True)
class Solution:
    plan: Plan
    optimal: bool
    horizon: int


class CpSatPlanner:
    """Minimises the weighted objective over plans of at most `max_steps` sequential steps.

    One worker and a fixed seed make the search deterministic: same task, same plan.
    """

    name = "cpsat"

    def __init__(self, *, seed: int = 0, workers: int = 1) -> None:
        self.seed = seed
        self.workers = workers
        self._last: _Encoding | None = None

    @property
    def parameters(self) -> dict[str, object]:
        return {"backend": "ortools-cp-sat", "random_seed": self.seed, "num_workers": self.workers}

    def plan(self, task: Task) -> PlanResult:
        grounded = ground(task)
        errors = grounded.errors
        if all(_holds_now(t) for t in grounded.goal):
            return PlanResult(
                "satisfied",
                plan=Plan(()),
                rejections=grounded.rejections,
                condition_errors=errors,
                solver=self.parameters,
            )
        best = self.solve(task, grounded) if not grounded.unreachable_goal else None
        if best is None:
            reason, blocking = infeasible(task, grounded, self)
            return PlanResult(
                "infeasible",
                rejections=grounded.rejections,
                reason=reason,
                blocking=blocking,
                condition_errors=errors,
                solver=self.parameters,
            )
        return PlanResult(
            "planned",
            plan=best.plan,
            alternatives=self._alternatives(task, grounded, best.plan),
            rejections=grounded.rejections,
            constraints=constraint_reports(task, best.plan, self._unconstrained(task, grounded)),
            proven_optimal=best.optimal,
            condition_errors=errors,
            solver={
                **self.parameters,
                "horizon": best.horizon,
                "deterministic_time_limit": task.time_limit,
            },
        )

    def solve(
        self,
        task: Task,
        grounded: Grounded | None = None,
        metric: Metric = "score",
        without: frozenset[str] = frozenset(),
    ) -> Solution | None:
        """The best plan by `metric` under the task's limits, or None if there is none.

        `grounded` must come from `ground()` of a task with the same state, goal and
        actions (limits and weights may differ); `without` names capabilities to leave out.
        """
        grounded = grounded or ground(task)
        if grounded.unreachable_goal:
            return None
        # No optimal plan is longer than the grounded horizon, so unless max_steps cuts it
        # shorter, optimal at this horizon is optimal outright.
        horizon = min(task.max_steps, grounded.horizon)
        return self._solve_at(task, grounded, horizon, metric, without)

    def _solve_at(
        self, task: Task, g: Grounded, horizon: int, metric: Metric, without: frozenset[str]
    ) -> Solution | None:
        encoding = self._encoding(g, horizon)
        banned = {
            a
            for a, action in enumerate(g.actions)
            if action.name in without
            or (g.dominator[a] is not None and g.dominator[a] not in without)
            or over_limit(action, task.limits) is not None
        }
        model = encoding.model.clone()
        x = {key: model.get_bool_var_from_proto_index(i) for key, i in encoding.x.items()}
        for (_, a), var in x.items():
            if a in banned:
                model.add(var == 0)
        scores = {
            "score": [_i(task.weights.score(a)) for a in g.actions],
            "cost": [_i(a.cost) for a in g.actions],
            "latency": [_i(a.latency) for a in g.actions],
            "risk": [_i(a.risk) for a in g.actions],
        }
        chosen = [(key, var) for key, var in x.items() if key[1] not in banned]
        variables = [var for _, var in chosen]

        def total(name: str) -> cp_model.LinearExprT:
            return cp_model.LinearExpr.weighted_sum(
                variables, [scores[name][a] for (_, a), _ in chosen]
            )

        limits = task.limits
        if limits.max_cost is not None:
            model.add(total("cost") <= _i(limits.max_cost))
        if limits.deadline is not None:
            model.add(total("latency") <= _i(limits.deadline))
        if limits.min_success_probability is not None:
            model.add(total("risk") <= _i(-math.log(limits.min_success_probability)))
        # Ties on the metric go to the shorter plan: no zero-cost detours.
        steps_taken = cp_model.LinearExpr.sum(variables)
        model.minimize(total(metric) * (horizon + 1) + steps_taken)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = self.workers
        solver.parameters.random_seed = self.seed
        # Deterministic time, not wall-clock: a search cut short stops at the same point on
        # every machine, so even a plan that is not proven optimal replays exactly.
        solver.parameters.max_deterministic_time = task.time_limit
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        taken = sorted(key for key, var in chosen if solver.boolean_value(var))
        steps = tuple(_step(task, g, a) for _, a in taken)
        return Solution(Plan(steps), status == cp_model.OPTIMAL, horizon)

    def _encoding(self, g: Grounded, horizon: int) -> _Encoding:
        """The encoding of `g` at `horizon`, reused by the solves of one decision."""
        last = self._last
        if last is None or last.grounded is not g or last.horizon != horizon:
            last = self._last = _Encoding(g, horizon)
        return last

    def _alternatives(self, task: Task, grounded: Grounded, best: Plan) -> tuple[Alternative, ...]:
        if task.alternatives <= 0:
            return ()
        found: dict[tuple[str, ...], Plan] = {}
        for name in dict.fromkeys(best.capabilities):
            other = self.solve(task, grounded, without=frozenset({name}))
            if other is not None and other.plan.capabilities != best.capabilities:
                found.setdefault(other.plan.capabilities, other.plan)
        ranked = sorted(found.values(), key=lambda p: (p.score, p.capabilities))
        return tuple(
            Alternative(p, p.score - best.score, alternative_why(best, p))
            for p in ranked[: task.alternatives]
        )

    def _unconstrained(self, task: Task, grounded: Grounded) -> Plan | None:
        if task.limits == Limits():
            return None
        found = self.solve(replace(task, limits=Limits()), grounded)
        return found.plan if found else None


class _Encoding:
    """Plans of at most `horizon` sequential steps as a CP-SAT model, without limits or objective.

    `x[t, a]`: action `a` is step `t`. `v[t, f, d]`: fact `f` has its `d`-th value before
    step `t`. At most one action per step, steps without an action only at the end, frame
    axioms (a fact changes only when a step writes it), preconditions and the goal as
    clauses from the grounded truth tables. Built once per decision and cloned per solve.
    """

    def __init__(self, g: Grounded, horizon: int) -> None:
        self.grounded = g
        self.horizon = T = horizon
        model = self.model = cp_model.CpModel()
        x = {
            (t, a): model.new_bool_var(f"x{t}_{a}")
            for a in range(len(g.actions))
            for t in range(g.earliest[a], T)
        }
        acting = []
        for t in range(T):
            here = [x[t, a] for a in range(len(g.actions)) if (t, a) in x]
            busy = model.new_bool_var(f"busy{t}")
            model.add_exactly_one([*here, busy.Not()])
            acting.append(busy)
        for t in range(T - 1):
            model.add_implication(acting[t + 1], acting[t])
        v = {
            (t, f, d): model.new_bool_var(f"v{t}_{f}_{d}")
            for t in range(T + 1)
            for f, fluent in enumerate(g.fluents)
            for d in range(len(fluent.values))
        }
        for f, fluent in enumerate(g.fluents):
            for t in range(T + 1):
                model.add_exactly_one(v[t, f, d] for d in range(len(fluent.values)))
            model.add(v[0, f, 0] == 1)
        writers: dict[tuple[int, int], list[int]] = {}
        for a, effects in enumerate(g.eff):
            for f, d in effects:
                writers.setdefault((f, d), []).append(a)
        for t in range(T):
            for f, fluent in enumerate(g.fluents):
                by_value = [
                    [a for a in writers.get((f, d), []) if (t, a) in x]
                    for d in range(len(fluent.values))
                ]
                any_w = [x[t, a] for acts in by_value for a in acts]
                # Frame axioms as clauses: a written value holds next (exactly-one clears the
                # others), a value appears only when written or already there, and stays
                # unless some step writes the fact.
                for d, acts in enumerate(by_value):
                    now, nxt = v[t, f, d], v[t + 1, f, d]
                    if not any_w:
                        model.add(nxt == now)
                        continue
                    w_d = [x[t, a] for a in acts]
                    for w in w_d:
                        model.add_implication(w, nxt)
                    model.add_bool_or([now.Not(), nxt, *any_w])
                    model.add_bool_or([nxt.Not(), now, *w_d])
            for a, tables in enumerate(g.pre):
                if (t, a) not in x:
                    continue
                for table in tables:
                    for row in table.false_rows:
                        model.add_bool_or(
                            [x[t, a].Not()] + [v[t, f, d].Not() for f, d in zip(table.fluents, row)]
                        )
        for table in g.goal:
            for row in table.false_rows:
                model.add_bool_or([v[T, f, d].Not() for f, d in zip(table.fluents, row)])
        self.x = {key: var.index for key, var in x.items()}


def _holds_now(table: Table) -> bool:
    zero = tuple(0 for _ in table.fluents)
    return zero in table.true_rows


def _i(value: float) -> int:
    return round(value * SCALE)


def _step(task: Task, g: Grounded, a: int) -> Step:
    action = g.actions[a]
    return Step(
        capability=action.name,
        provider=action.provider,
        cost=action.cost,
        latency=action.latency,
        reliability=action.reliability,
        score=task.weights.score(action),
    )
