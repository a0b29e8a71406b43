"""Words for plans: why an alternative lost, which constraint binds (what blocks a goal:
`ido.planner.infeasible`)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

from ido.errors import PlanningError
from ido.model.durations import format_duration
from ido.planner.grounding import Grounded
from ido.planner.limit_words import METRICS
from ido.planner.types import Action, ConstraintReport, Limits, Plan, Task, Weights


class _Solver(Protocol):
    def solve(self, task: Task, grounded: Grounded | None = ..., metric: Any = ...) -> Any: ...


def alternative_why(
    best: Plan,
    other: Plan,
    weights: Weights | None = None,
    actions: Sequence[Action] = (),
) -> str:
    """`+0.50 cost, +1.2s latency: charge-adyen-eu instead of charge-stripe-eu`.

    With the intent's `weights`, what the score difference holds beyond what cost, step
    latency and risk weigh (policy `prefer`/`avoid` weights) is named too, and, when the
    score weighs latency, the change in summed step latency where it differs from the
    change in elapsed time (`-1s latency (+1s summed step latency)`). With the task's
    `actions`, so are the approvals one plan needs and the other does not (`+0.01
    approval: ship needs finance/large`), which `weights.approval` weighs."""
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
    elapsed, work = other.latency - best.latency, other.work - best.work
    if abs(elapsed) > 1e-9:
        deltas.append(f"{_seconds(elapsed)} latency")
        if weights is not None and weights.latency and abs(work - elapsed) > 1e-9:
            # The score weighs each step's own latency, not the critical path: say both.
            deltas[-1] += f" ({_seconds(work)} summed step latency)"
    elif abs(work) > 1e-9:
        # The same elapsed time, but a score weighs each step's own latency.
        deltas.append(f"{_seconds(work)} summed step latency")
    dp = other.success_probability - best.success_probability
    if abs(dp) > 1e-9:
        deltas.append(f"{dp:+.4f} success probability")
    tie = abs(other.score - best.score) <= 1e-9
    asked = approvals_why(best, other, weights, actions)
    deltas += [asked] if asked else []
    bias = _bias(best, other, weights, actions)
    if not deltas and tie:
        deltas.append("same score (a tie)")
    elif not deltas:  # cost, latency and reliability all equal: only policy bias is left
        deltas.append(f"{other.score - best.score:+.2f} score from policy prefer/avoid weights")
    elif abs(bias) >= 0.005:  # said where it shows at two decimals
        deltas.append(f"{bias:+.2f} score from policy prefer/avoid weights")
    elif len(deltas) == 1 and deltas[0].endswith("summed step latency") and not tie:
        # Only step latency differs, which the score may not weigh: say the score too.
        deltas.append(f"{other.score - best.score:+.2f} score")
    return f"{', '.join(deltas)}: {swap}"


def _seconds(delta: float) -> str:
    """`+0.412s`, `-1.5s`: a change in seconds to three significant digits; from 1,000 s on,
    to the second as a duration is written (`+11600s`, `+4h`), never with an exponent
    (`+1.16e+04s`)."""
    if abs(delta) < 999.5:
        return f"{delta:+.3g}s"
    return ("+" if delta > 0 else "-") + format_duration(round(abs(delta)))


def _asked(plan: Plan, actions: Sequence[Action]) -> Counter[tuple[str, str]]:
    """The approvals `plan`'s steps stop for, as (capability, rule), counted per step."""
    rules = {a.name: a.approvals for a in actions}
    return Counter((s.capability, rule) for s in plan.steps for rule in rules.get(s.capability, ()))


def approvals_why(
    best: Plan, other: Plan, weights: Weights | None, actions: Sequence[Action]
) -> str:
    """What `other` scores more (or less) than `best` for the approvals one needs and the
    other does not: `+0.01 approval: ship needs finance/large`; empty when they need the
    same, or approvals weigh nothing."""
    if weights is None or not weights.approval:
        return ""
    mine, theirs = _asked(best, actions), _asked(other, actions)
    if mine.total() == theirs.total():  # (one approval for another weighs the same)
        return ""
    moved = sorted(k for k in mine.keys() | theirs.keys() if mine[k] != theirs[k])
    delta = weights.approval * (theirs.total() - mine.total())
    said = ", ".join(f"{name} needs {rule}" for name, rule in moved)
    return f"{delta:+.2f} approval: {said}"


def _bias(
    best: Plan, other: Plan, weights: Weights | None, actions: Sequence[Action] = ()
) -> float:
    """What the score difference holds beyond the weighted cost, step latency, risk and
    approvals: the policy weights (0 without `weights`)."""
    if weights is None:
        return 0.0

    def weighed(plan: Plan) -> float:
        risk = sum(-math.log(s.reliability) for s in plan.steps if s.reliability > 0)
        asked = weights.approval * _asked(plan, actions).total()
        return weights.cost * plan.cost + weights.latency * plan.work + weights.risk * risk + asked

    return (other.score - best.score) - (weighed(other) - weighed(best))


def constraint_reports(
    task: Task, plan: Plan, binding: frozenset[str] = frozenset()
) -> tuple[ConstraintReport, ...]:
    """Limit, value and slack of each constraint; binding when named in `binding` (see
    `binding_limits`)."""
    return tuple(
        ConstraintReport(name, limit, value, slack, name in binding)
        for name, limit, value, slack in _measure(task.limits, plan)
    )


def binding_limits(
    task: Task,
    grounded: Grounded,
    solver: _Solver,
    plan: Plan,
    free: Plan | None,
    slack: frozenset[str] = frozenset(),
) -> frozenset[str]:
    """The limits that each keep a better plan out: with that limit alone lifted and the
    others kept, the best plan scores better than `plan` (the best plan within them all).

    `free`, the best plan with no limits, settles most of them without a solve: when it
    scores no better than `plan`, no limit binds; when it keeps within every limit but
    one, it is the best plan with that one lifted. `slack` names limits known not to
    bind (the caller found `plan` best within the other limits alone). A solve that gives
    up claims nothing."""
    if free is None or free.score >= plan.score - 1e-9:
        return frozenset()
    out = []
    for name in sorted(present(task.limits) - slack):
        rest = replace(task.limits, **{name: None})
        relaxed: Plan | None = free
        if not fits(rest, free):
            try:
                found = solver.solve(replace(task, limits=rest), grounded)
            except PlanningError:
                continue
            relaxed = None if found is None else found.plan
        if relaxed is not None and relaxed.score < plan.score - 1e-9:
            out.append(name)
    return frozenset(out)


def present(limits: Limits) -> frozenset[str]:
    """The limits set, by name."""
    return frozenset(name for name in METRICS if getattr(limits, name) is not None)


def broken(limits: Limits, plan: Plan) -> frozenset[str]:
    """The limits `plan` breaks (to the tolerance `fits` uses), by name."""
    return frozenset(
        name for name, limit, _, slack in _measure(limits, plan) if _over(name, limit, slack)
    )


def keeping(limits: Limits, names: frozenset[str]) -> Limits:
    """`limits` with only those `names` set."""
    return replace(limits, **dict.fromkeys(present(limits) - names))


def fits(limits: Limits, plan: Plan) -> bool:
    """True when `plan` keeps within every limit (to the same tolerance reports use)."""
    return not any(_over(name, limit, slack) for name, limit, _, slack in _measure(limits, plan))


def _over(name: str, limit: float, slack: float) -> bool:
    """Whether `slack` breaks the limit: by more than 1e-9, for a probability 1e-9 of it
    (an absolute tolerance would let a limit of 1e-9 or less admit any plan)."""
    return slack < -1e-9 * (limit if name == "min_success_probability" else 1.0)


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
