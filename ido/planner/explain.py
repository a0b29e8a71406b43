"""Words for plans: why an alternative lost, which constraint binds, what blocks a goal."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Protocol

from ido.planner.grounding import Grounded, ground
from ido.planner.types import ConstraintReport, Limits, Plan, Task

_LIMIT_NAMES = {
    "max_cost": "cost",
    "deadline": "latency",
    "min_success_probability": "risk",
}


class _Solver(Protocol):
    def solve(self, task: Task, grounded: Grounded | None = ..., metric: Any = ...) -> Any: ...


def alternative_why(best: Plan, other: Plan) -> str:
    """`+0.50 cost, +1.2s latency: charge-adyen-eu instead of charge-stripe-eu`."""
    gone = [c for c in best.capabilities if c not in other.capabilities]
    new = [c for c in other.capabilities if c not in best.capabilities]
    if new and gone:
        swap = f"{', '.join(new)} instead of {', '.join(gone)}"
    elif new:
        swap = f"adds {', '.join(new)}"
    else:
        swap = f"drops {', '.join(gone)}"
    deltas = []
    if abs(other.cost - best.cost) > 1e-9:
        deltas.append(f"{other.cost - best.cost:+.2f} cost")
    if abs(other.latency - best.latency) > 1e-9:
        deltas.append(f"{other.latency - best.latency:+.3g}s latency")
    dp = other.success_probability - best.success_probability
    if abs(dp) > 1e-9:
        deltas.append(f"{dp:+.4f} success probability")
    if not deltas:
        deltas.append(f"{other.score - best.score:+.2f} score from policy prefer/avoid weights")
    return f"{', '.join(deltas)}: {swap}"


def constraint_reports(
    task: Task, plan: Plan, unconstrained: Plan | None
) -> tuple[ConstraintReport, ...]:
    """Limit, value and slack of each constraint; binding when it kept a better plan out."""
    better = unconstrained is not None and unconstrained.score < plan.score - 1e-9
    reports = []
    for name, limit, value, slack in _measure(task.limits, plan):
        breaks = False
        if better and unconstrained is not None:
            breaks = any(
                n == name and s < -1e-9 for n, _, _, s in _measure(task.limits, unconstrained)
            )
        reports.append(ConstraintReport(name, limit, value, slack, breaks))
    return tuple(reports)


def fits(limits: Limits, plan: Plan) -> bool:
    """True when `plan` keeps within every limit (to the same tolerance reports use)."""
    return all(slack >= -1e-9 for _, _, _, slack in _measure(limits, plan))


def _measure(limits: Limits, plan: Plan) -> list[tuple[str, float, float, float]]:
    out = []
    if limits.max_cost is not None:
        out.append(("max_cost", limits.max_cost, plan.cost, limits.max_cost - plan.cost))
    if limits.deadline is not None:
        out.append(("deadline", limits.deadline, plan.latency, limits.deadline - plan.latency))
    if limits.min_success_probability is not None:
        p = plan.success_probability
        out.append(
            (
                "min_success_probability",
                limits.min_success_probability,
                p,
                p - limits.min_success_probability,
            )
        )
    return out


def infeasible(task: Task, grounded: Grounded, solver: _Solver) -> tuple[str, tuple[str, ...]]:
    """Why no plan exists, in words, and the names of the constraints or rules in the way."""
    if grounded.unreachable_goal:
        return _unreachable(task, grounded)
    if solver.solve(replace(task, limits=Limits()), grounded) is None:
        if grounded.horizon > task.max_steps:
            return (
                f"no plan of at most {task.max_steps} steps reaches the goal; "
                "raise limits.max_steps",
                ("limits.max_steps",),
            )
        goals = ", ".join(f"'{g}'" for g in task.goal)
        return (
            f"no order of the usable capabilities reaches {goals}: each way there undoes "
            "or rules out a step it needs",
            task.goal,
        )
    return _over_limits(task, grounded, solver)


def _unreachable(task: Task, grounded: Grounded) -> tuple[str, tuple[str, ...]]:
    goals = ", ".join(f"'{g}'" for g in grounded.unreachable_goal)
    if task.denied:
        widened = ground(replace(task, actions=task.actions + tuple(d.action for d in task.denied)))
        if not widened.unreachable_goal:
            used = {a.name for a in widened.actions}
            rules = [d for d in task.denied if d.action.name in used] or list(task.denied)
            by_rule: dict[str, list[str]] = {}
            for d in rules:
                by_rule.setdefault(d.rule, []).append(d.action.name)
            parts = [f"{rule} denies {', '.join(names)}" for rule, names in by_rule.items()]
            return (
                f"no plan reaches {goals}: every way there is denied by policy: "
                + "; ".join(parts),
                tuple(by_rule),
            )
    out = [r for r in grounded.rejections if r.reason == "unreachable"]
    hint = ""
    if out:
        hint = "; capabilities that never become usable: " + "; ".join(
            f"{r.capability} ({r.detail})" for r in out[:5]
        )
    return (f"no capability can make {goals} true{hint}", tuple(grounded.unreachable_goal))


def _over_limits(task: Task, grounded: Grounded, solver: _Solver) -> tuple[str, tuple[str, ...]]:
    limits = task.limits
    messages: list[str] = []
    blocking: list[str] = []
    for name, metric in _LIMIT_NAMES.items():
        limit = getattr(limits, name)
        if limit is None:
            continue
        others = replace(limits, **{name: None})
        found = solver.solve(replace(task, limits=others), grounded, metric)
        if found is None:
            continue
        plan: Plan = found.plan
        blocking.append(name)
        steps = " + ".join(f"{s.capability} {_fmt(metric, s)}" for s in plan.steps)
        if name == "max_cost":
            messages.append(
                f"no plan within max_cost {limit:.2f}: the cheapest plan costs "
                f"{plan.cost:.2f} ({steps}); raise max_cost to {plan.cost:.2f}"
            )
        elif name == "deadline":
            path = " → ".join(
                f"{plan.steps[i].capability} {plan.steps[i].latency:g}s" for i in plan.critical_path
            )
            alongside = len(plan.steps) - len(plan.critical_path)
            beside = (
                f", with {alongside} more step{'s' * (alongside > 1)} alongside"
                if alongside
                else ""
            )
            messages.append(
                f"no plan within deadline {limit:g}s: the fastest plan takes "
                f"{plan.latency:g}s on its critical path ({path}{beside}); "
                f"raise deadline to {math.ceil(plan.latency)}s"
            )
        else:
            digits = _decimals(limit)
            messages.append(
                f"no plan with success probability ≥ {limit:.{digits}f}: the most reliable plan "
                f"reaches {plan.success_probability:.{digits}f} ({steps})"
            )
    if not messages:
        present = [n for n in _LIMIT_NAMES if getattr(limits, n) is not None]
        return (
            f"no plan meets {_and(present)} together, and relaxing any one of them alone is "
            "not enough; relax two or more",
            tuple(present),
        )
    return "; ".join(messages), tuple(blocking)


def _decimals(probability: float) -> int:
    """Decimals that show `probability` as written: 3 for 0.99, 4 for 0.9999."""
    return max(3, len(f"{probability:.10g}".partition(".")[2]))


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _fmt(metric: str, step: Any) -> str:
    if metric == "cost":
        return f"{step.cost:.2f}"
    if metric == "latency":
        return f"{step.latency:g}s"
    return f"{step.reliability:.3f}"
