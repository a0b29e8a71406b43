"""The CP-SAT planner: a layered finite-domain encoding solved by OR-Tools, deterministically."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from ortools.sat.python import cp_model

from ido.planner.explain import alternative_why, constraint_reports, infeasible
from ido.planner.grounding import Grounded, Table, ground
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
            alternatives=self._alternatives(task, best.plan),
            rejections=grounded.rejections,
            constraints=constraint_reports(task, best.plan, self._unconstrained(task)),
            proven_optimal=best.optimal,
            condition_errors=errors,
            solver={**self.parameters, "horizon": best.horizon, "time_limit": task.time_limit},
        )

    def solve(
        self, task: Task, grounded: Grounded | None = None, metric: Metric = "score"
    ) -> Solution | None:
        """The best plan by `metric` under the task's limits, or None if there is none."""
        grounded = grounded or ground(task)
        if grounded.unreachable_goal:
            return None
        # Optimal plans rarely repeat a capability, so try a horizon of one step per
        # capability first; only if that is infeasible pay for the full max_steps.
        short = min(task.max_steps, max(1, len(grounded.actions)))
        for horizon in dict.fromkeys((short, task.max_steps)):
            found = self._solve_at(task, grounded, horizon, metric)
            if found is not None:
                return found
        return None

    def _solve_at(self, task: Task, g: Grounded, horizon: int, metric: Metric) -> Solution | None:
        model = cp_model.CpModel()
        T = horizon
        x = {
            (t, a): model.new_bool_var(f"x{t}_{a}")
            for a in range(len(g.actions))
            for t in range(g.earliest[a], T)
        }
        acting = []
        for t in range(T):
            here = [x[t, a] for a in range(len(g.actions)) if (t, a) in x]
            busy = model.new_bool_var(f"busy{t}")
            model.add(sum(here) == busy)
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
                any_w = [
                    x[t, a]
                    for d in range(len(fluent.values))
                    for a in writers.get((f, d), [])
                    if (t, a) in x
                ]
                for d in range(len(fluent.values)):
                    w_d = [x[t, a] for a in writers.get((f, d), []) if (t, a) in x]
                    now, nxt = v[t, f, d], v[t + 1, f, d]
                    if not any_w:
                        model.add(nxt == now)
                        continue
                    model.add(nxt >= sum(w_d))
                    model.add(nxt >= now - sum(any_w))
                    model.add(nxt <= sum(w_d) + now)
                    model.add(nxt <= sum(w_d) + 1 - sum(any_w))
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
        metrics = {
            "score": [_i(task.weights.score(a)) for a in g.actions],
            "cost": [_i(a.cost) for a in g.actions],
            "latency": [_i(a.latency) for a in g.actions],
            "risk": [_i(a.risk) for a in g.actions],
        }

        def total(name: str) -> cp_model.LinearExprT:
            return sum(metrics[name][a] * var for (_, a), var in x.items())

        limits = task.limits
        if limits.max_cost is not None:
            model.add(total("cost") <= _i(limits.max_cost))
        if limits.deadline is not None:
            model.add(total("latency") <= _i(limits.deadline))
        if limits.min_success_probability is not None:
            model.add(total("risk") <= _i(-math.log(limits.min_success_probability)))
        # Ties on the metric go to the shorter plan: no zero-cost detours.
        model.minimize(total(metric) * (T + 1) + sum(acting))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = self.workers
        solver.parameters.random_seed = self.seed
        solver.parameters.max_time_in_seconds = task.time_limit
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        steps = []
        for t in range(T):
            for a in range(len(g.actions)):
                if (t, a) in x and solver.boolean_value(x[t, a]):
                    steps.append(_step(task, g, a))
        return Solution(Plan(tuple(steps)), status == cp_model.OPTIMAL, T)

    def _alternatives(self, task: Task, best: Plan) -> tuple[Alternative, ...]:
        if task.alternatives <= 0:
            return ()
        found: dict[tuple[str, ...], Plan] = {}
        for name in dict.fromkeys(best.capabilities):
            rest = tuple(a for a in task.actions if a.name != name)
            other = self.solve(replace(task, actions=rest))
            if other is not None and other.plan.capabilities != best.capabilities:
                found.setdefault(other.plan.capabilities, other.plan)
        ranked = sorted(found.values(), key=lambda p: (p.score, p.capabilities))
        return tuple(
            Alternative(p, p.score - best.score, alternative_why(best, p))
            for p in ranked[: task.alternatives]
        )

    def _unconstrained(self, task: Task) -> Plan | None:
        if task.limits == Limits():
            return None
        found = self.solve(replace(task, limits=Limits()))
        return found.plan if found else None


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
