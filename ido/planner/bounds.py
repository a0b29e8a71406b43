"""Lower bounds from landmarks, to leave out of a solve the actions no optimal plan can use.

A *landmark* is a fact value every plan must reach: a goal value that does not hold yet, or
a value every achiever of another landmark needs before it runs. So every plan contains an
achiever of each landmark. With nonnegative costs, uniform cost partitioning (each action's
cost shared equally among the landmarks it achieves) turns that into a lower bound on the
cost of any plan that contains a given action: its own cost plus, for every landmark it
does not achieve, the cheapest share among that landmark's achievers.

An action whose bound is over a limit (`max_cost`, or the risk `min_success_probability`
allows) is in no plan within the limits; one whose bound on the objective is over the
score of a plan already found is in no optimal plan. Leaving them out keeps every optimal
plan, so the solve on what is left is as optimal as the solve on everything, and smaller.
The bound on the objective is sharpened with each additive limit (Lagrangian relaxation):
for any λ ≥ 0, a plan within `max_cost` B has score ≥ score + λ·cost − λ·B, so the landmark
bound of the weighted sum, less λ·B, bounds the score too, and the best of several λ
bounds it best.

Pure functions of a grounded task.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

from ido.planner.grounding import Grounded, required

Landmarks = tuple[frozenset[int], ...]
"""Per fact landmark, the actions (indices into `Grounded.actions`) that achieve it."""

TOLERANCE = 1e-4


def landmarks(g: Grounded, allowed: Iterable[int]) -> Landmarks | None:
    """The achiever sets of the fact landmarks among `allowed` actions; None when one has no
    achiever left (no plan exists with these actions, which the solver will say)."""
    usable = sorted(allowed)
    writers: dict[tuple[int, int], list[int]] = {}
    for a in usable:
        for effect in g.eff[a]:
            writers.setdefault(effect, []).append(a)
    wanted = g.needs
    found: dict[tuple[int, int], frozenset[int]] = {}
    todo = sorted({fact for table in g.goal for fact in required(table).items() if fact[1] != 0})
    while todo:
        fact = todo.pop()
        if fact in found:
            continue
        achievers = writers.get(fact, [])
        if not achievers:
            return None
        found[fact] = frozenset(achievers)
        shared = frozenset.intersection(*(wanted[a] for a in achievers))
        todo.extend(sorted(shared - set(found)))
    return tuple(found[fact] for fact in sorted(found))


def lower_bounds(
    costs: Sequence[float],
    marks: Landmarks,
    actions: Iterable[int],
    achieves: Mapping[int, Sequence[int]] | None = None,
) -> dict[int, float]:
    """Per action in `actions`, a lower bound on the summed `costs` of any plan containing
    it (uniform cost partitioning over the landmarks; costs must be nonnegative).
    `achieves`: per action, the landmarks it achieves (`achieved`), when already known."""
    cheapest = _cheapest_shares(costs, marks)
    total = sum(cheapest)
    achieves = achieved(marks) if achieves is None else achieves
    shared: dict[tuple[int, ...], float] = {}  # per set of landmarks achieved: their shares
    out: dict[int, float] = {}
    for a in actions:
        ms = tuple(achieves.get(a, ()))
        part = shared.get(ms)
        if part is None:
            part = shared[ms] = sum(cheapest[m] for m in ms)
        out[a] = costs[a] + total - part
    return out


def achieved(marks: Landmarks) -> dict[int, list[int]]:
    """Per action that achieves some landmark, the indices of those it achieves."""
    out: dict[int, list[int]] = {}
    for m, achievers in enumerate(marks):
        for a in achievers:
            out.setdefault(a, []).append(m)
    return out


def plan_floor(costs: Sequence[float], marks: Landmarks) -> float:
    """A lower bound on the summed `costs` of any plan (nonnegative costs): per landmark,
    the cheapest share of its achievers (uniform cost partitioning)."""
    return sum(_cheapest_shares(costs, marks))


def _cheapest_shares(costs: Sequence[float], marks: Landmarks) -> list[float]:
    """Per landmark, the least share of an achiever's cost, each action's cost split
    equally among the landmarks it achieves."""
    shares: dict[int, int] = {}
    for achievers in marks:
        for a in achievers:
            shares[a] = shares.get(a, 0) + 1
    return [min(costs[a] / shares[a] for a in achievers) for achievers in marks]


def over(bounds: dict[int, float], limit: float) -> frozenset[int]:
    """The actions whose bound is over `limit` by more than any rounding could make up
    (the solver sums costs scaled to whole numbers)."""
    slack = TOLERANCE * (1.0 + abs(limit))
    return frozenset(a for a, bound in bounds.items() if bound > limit + slack)


def prunable(
    g: Grounded,
    allowed: frozenset[int],
    marks: Landmarks,
    metrics: Iterable[tuple[Callable[[int], float], float]],
) -> frozenset[int]:
    """The `allowed` actions that some (cost of an action, most a plan may total) rules out."""
    out: set[int] = set()
    achieves = achieved(marks)
    for cost_of, limit in metrics:
        costs = [cost_of(a) if a in allowed else math.inf for a in range(len(g.actions))]
        if min((costs[a] for a in allowed), default=0.0) < 0:
            continue  # the bound needs nonnegative costs
        out |= over(lower_bounds(costs, marks, allowed, achieves), limit)
    return frozenset(out)


LAMBDAS = (0.1, 0.3, 1.0, 3.0, 10.0)  # multiples of the objective's scale over the limit's


def beyond(
    g: Grounded,
    allowed: frozenset[int],
    marks: Landmarks,
    objective: Callable[[int], float],
    upper: float,
    limits: Sequence[tuple[Callable[[int], float], float]] = (),
) -> frozenset[int]:
    """The `allowed` actions in no plan within the `limits` (additive: cost of an action,
    most a plan may total) whose objective is at most `upper`."""
    bounds = objective_bounds(g, allowed, marks, objective, limits)
    return frozenset() if bounds is None else over(bounds, upper)


def objective_bounds(
    g: Grounded,
    allowed: frozenset[int],
    marks: Landmarks,
    objective: Callable[[int], float],
    limits: Sequence[tuple[Callable[[int], float], float]] = (),
) -> dict[int, float] | None:
    """Per `allowed` action, a lower bound on the objective of any plan within the `limits`
    that contains it; None when some objective is negative (the bounds need it not to be).

    The best of 1 + 5 × len(limits) landmark bounds (`lower_bounds`, the same sums in the
    same order, so the same numbers), worked out as lists over the actions; actions that
    achieve the same landmarks share the sum of those landmarks' shares."""
    ids = list(allowed)
    n = len(ids)
    base = [objective(a) for a in ids]
    if min(base, default=0.0) < 0:
        return None
    achieves = achieved(marks)
    # Achievers outside `allowed` cost nothing, as actions outside it do in `lower_bounds`.
    outside = sorted({a for achievers in marks for a in achievers} - allowed)
    ids += outside
    base += [0.0] * len(outside)
    where = {a: i for i, a in enumerate(ids)}
    shares = [len(achieves.get(a, ())) for a in ids]
    members = [[where[a] for a in achievers] for achievers in marks]
    landmarks_of = [tuple(achieves.get(a, ())) for a in ids]
    distinct = set(landmarks_of)

    def bounds_of(costs: list[float]) -> list[float]:
        cheapest = [min(costs[i] / shares[i] for i in m) for m in members]
        total = sum(cheapest)
        shared = {ms: sum(cheapest[m] for m in ms) for ms in distinct}
        return [c + total - shared[ms] for c, ms in zip(costs, landmarks_of)]

    best = bounds_of(base)
    floor = sum(min(base[i] for i in m) for m in members)
    for cost_of, limit in limits:
        extra = [cost_of(a) for a in ids[:n]]
        if min(extra, default=0.0) < 0:
            continue
        extra += [0.0] * len(outside)
        spread = sum(min(extra[i] for i in m) for m in members)
        scale = floor / max(spread, limit, 1e-9)
        for factor in LAMBDAS:
            weight = factor * scale
            cut = weight * limit
            mixed = [b + weight * e for b, e in zip(base, extra)]
            best = list(map(max, best, [bound - cut for bound in bounds_of(mixed)]))
    return dict(zip(ids[:n], best))
