"""Words for a plan against a limit: the limit as it stands, what a plan needs of it, and
the intent's value that admits the plan, rounded toward it past what both backends count."""

from __future__ import annotations

import math
from decimal import ROUND_FLOOR, Decimal, localcontext

from ido.planner.types import SCALE, Metric, Plan, Step, Task, units
from ido.run_words import durations_against, format_duration

METRICS: dict[str, Metric] = {
    "max_cost": "cost",
    "deadline": "latency",
    "min_success_probability": "risk",
}
"""The limits a plan's totals are held to, by name, and the metric each holds."""
LIMITS = tuple(METRICS)
BEST = {"max_cost": "cheapest", "deadline": "fastest", "min_success_probability": "most reliable"}
"""The plan that needs least of each limit."""


def within(task: Task, name: str, plan: Plan | None = None) -> str:
    """`within max_cost 2.40`, `with success probability ≥ 0.995`: the limit, as it stands
    for this decision (what is left of the intent's, mid-run); against `plan`'s time, a
    deadline reads apart from it (`durations_against`)."""
    limit = getattr(task.limits, name)
    if name == "max_cost":
        left = " (what is left of it)" if task.spent > 0 else ""
        return f"within max_cost {written_amount(limit)}{left}"
    if name == "deadline":
        left = " (what is left of it)" if task.elapsed >= 0.001 else ""
        shown = (
            format_duration(limit) if plan is None else durations_against(plan.latency, limit)[1]
        )
        return f"within deadline {shown}{left}"
    return f"with success probability ≥ {written_probability(limit)}"


def better_by(name: str, plan: Plan, than: Plan) -> bool:
    """Whether `plan` needs less of limit `name` than `than` does (past float noise): it
    costs less, takes less time on its critical path, or is likelier to succeed."""
    if name == "max_cost":
        return plan.cost < than.cost - 1e-9
    if name == "deadline":
        return plan.latency < than.latency - 1e-9
    return plan.success_probability > than.success_probability * (1 + 1e-9)


def needs(task: Task, name: str, plan: Plan) -> str:
    """`costs 2.504`, `takes 2.8s on its critical path`, `reaches 0.99499`."""
    if name == "max_cost":
        return f"costs {written_amount(plan.cost)}"
    if name == "deadline":
        limit = task.limits.deadline
        taken = (
            format_duration(plan.latency)
            if limit is None
            else durations_against(plan.latency, limit)[0]
        )
        return f"takes {taken} on its critical path"
    return f"reaches {_probability(task, plan.success_probability)}"


def way_out(task: Task, name: str, plan: Plan) -> str:
    """`raise max_cost to 3.60`: the intent's own value of the limit that admits `plan`
    (`admitting`), as what to do."""
    value = admitting(task, name, plan)
    if value is None:  # no intent may hold a least of 0
        return "no min_success_probability admits it: its success probability underflows to 0"
    verb = "lower" if name == "min_success_probability" else "raise"
    return f"{verb} {name} to {value}"


def limits_together(task: Task, names: list[str], plan: Plan) -> str:
    """`no plan the rules allow is within max_cost 3.00 and within deadline 4s: a → b costs
    3.95 and takes 5.2s on its critical path; relax max_cost and deadline together: max_cost
    3.95 and deadline 5.2s admit it`: the way out that relaxes several limits at once, each
    to the value that admits `plan` (`admitting`)."""
    values = [(name, admitting(task, name, plan)) for name in names]
    within_all = " and ".join(within(task, name, plan) for name in names)
    needed = " and ".join(needs(task, name, plan) for name in names)
    head = (
        f"no plan the rules allow is {within_all}: {' → '.join(plan.capabilities)} {needed}; "
        f"relax {' and '.join(names)} together"
    )
    if any(value is None for _, value in values):
        return head
    return f"{head}: {' and '.join(f'{name} {value}' for name, value in values)} admit it"


def admitting(task: Task, name: str, plan: Plan) -> str | None:
    """`3.60`: the intent's own value of the limit that admits `plan` (what the run has
    spent or taken added back), rounded toward it (a budget up, a least success probability
    down, a deadline up to the millisecond) past what either backend counts: CP-SAT sums
    each step's cost and risk in whole millionths, so the value as written admits the plan
    in both. None when no value does (a success probability that underflows to 0)."""
    if name == "max_cost":
        counted = sum(units(s.cost) for s in plan.steps) / SCALE
        return written_amount(_up(task.spent + max(plan.cost, counted)))
    if name == "deadline":
        needed = math.ceil((task.elapsed + plan.latency) * 1000 - 1e-6) / 1000
        return format_duration(needed)
    risk = sum(units(-math.log(s.reliability)) for s in plan.steps) / SCALE
    reached = min(plan.success_probability, math.exp(-risk))
    return _probability(task, reached) if reached > 0 else None


def _probability(task: Task, value: float) -> str:
    """`value` rounded down at a millionth, or at the limit's last decimal if that is
    finer (so that it reads apart from the limit), shown with its own decimals, three at
    least; when that rounds it to 0, to three significant digits."""
    places = max(6, _decimals(task.limits.min_success_probability or 0.9))
    down = _floor(value, places)
    return written_amount(down, 3, places) if down > 0 else _significant_down(value)


def _floor(value: float, places: int) -> float:
    """`value` as written (its shortest repr, so no float noise to forgive), rounded down
    at `places` decimals. Scaled as a float with an allowance for noise, it was lifted
    above itself: 2.9999995e-06 to 0.000003 (a way out the plan does not reach), 0.5 at
    16 places to 0.5000000000005, and past 308 places it overflowed."""
    with localcontext() as exact:
        exact.prec = 800  # room for a limit of hundreds of decimals
        step = Decimal(1).scaleb(-places)
        return float(Decimal(repr(value)).quantize(step, rounding=ROUND_FLOOR))


def _significant_down(value: float, digits: int = 3) -> str:
    """A small probability at `digits` significant digits (three unless told), rounded
    down, as Python writes it: 2.99e-06, 1e-09, 5e-324; "0" for nothing at all (a product
    that underflowed)."""
    if value <= 0:
        return "0"
    written = Decimal(repr(value))
    power = written.adjusted()
    step = Decimal(1).scaleb(1 - digits)
    mantissa = written.scaleb(-power).quantize(step, rounding=ROUND_FLOOR)
    return f"{mantissa.normalize():f}e{power:+03d}"


def _decimals(probability: float) -> int:
    """Decimals that show `probability` as written: 3 for 0.99, 4 for 0.9999, 7 for
    0.9999999, 10 for 1e-10."""
    exponent = Decimal(repr(probability)).normalize().as_tuple().exponent
    return max(3, -exponent if isinstance(exponent, int) else 0)


def written_probability(probability: float, least: int = 3) -> str:
    """A least success probability as written, `least` decimals at least: 0.990, 0.9999999;
    below a millionth, as Python writes it (1e-10)."""
    if 0 < probability < 1e-6:
        return repr(probability)  # as written: 1.2345678e-07, not 1.23457e-07
    return f"{probability:.{max(least, _decimals(probability))}f}"


def probability_against(value: float, limit: float) -> str:
    """A plan's success probability beside its least, `limit`: rounded down (so that it never
    reads over what it is) at four decimals, or more as it takes to read at or over a
    limit it reaches (up to the limit's own); under one it misses, at the limit's own. Below
    a millionth, to as many significant digits as that takes, three at least. Always at
    the limit's own decimals, 0.96 beside 1e-320 took 320 of them."""
    most = max(4, _decimals(limit))
    if 0 < value < 1e-6:
        digits = 3
        while digits < 17 and float(_significant_down(value, digits)) < limit <= value:
            digits += 1
        return _significant_down(value, digits)
    places = most if value < limit else 4
    while places < most and _floor(value, places) < limit:
        places += 1
    return written_amount(_floor(value, places), 4, places)


def shown_probability(value: float) -> str:
    """A reliability or success probability with three decimals, or as many more (up to
    twelve) as tell it apart from 1: 0.990, 0.9999995; below a thousandth, to three
    significant digits (1e-09), not 0.000."""
    if 0 < value < 1e-3:
        return _significant_down(value)  # never reads as more than it is
    places = 3
    while value < 1 and places < 12 and f"{value:.{places}f}" == f"{1:.{places}f}":
        places += 1
    return f"{value:.{places}f}"


def written_amount(value: float, least: int = 2, places: int = 6) -> str:
    """`value` with `least` decimals, or as many more (up to `places`) as it has; never in
    exponent notation (1.6e+06 for 1600000). By default a cost or a max_cost as the
    catalog's money: 2.50, 1.49392."""
    whole, _, fraction = f"{value:.{places}f}".rstrip("0").partition(".")
    return f"{whole}.{fraction.ljust(least, '0')}"


def _up(value: float) -> float:
    """`value` rounded up to the millionth `written_amount` shows (float noise below it ignored)."""
    return math.ceil(value * 1e6 - 1e-6) / 1e6


def step_measure(metric: str, step: Step) -> str:
    """`0.80`, `1.2s`, `0.999`: a step's cost, latency or reliability."""
    if metric == "cost":
        return written_amount(step.cost)
    if metric == "latency":
        return format_duration(step.latency)
    return shown_probability(step.reliability)
