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
from collections.abc import Callable, Iterable, Sequence

from ido.planner.grounding import Grounded
from ido.planner.tables import required

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
    costs: Sequence[float], marks: Landmarks, actions: Iterable[int]
) -> dict[int, float]:
    """Per action in `actions`, a lower bound on the summed `costs` of any plan containing
    it (uniform cost partitioning over the landmarks; costs must be nonnegative)."""
    part = _Partition(marks, actions)
    return dict(zip(part.actions, part.bounds([costs[a] for a in part.ids])))


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
    part = _Partition(marks, ())
    return sum(part.cheapest([costs[a] for a in part.ids]))


class _Partition:
    """Uniform cost partitioning over `marks` for some actions: each action's cost shared
    equally among the landmarks it achieves. Costs are given as lists by position in `ids`:
    the `actions` first, in their order, then the achievers not among them.

    Actions that achieve the same landmarks (rival providers) share one sum of those
    landmarks' shares, so a bound per action is a list operation, not a sum each."""

    def __init__(self, marks: Landmarks, actions: Iterable[int]) -> None:
        achieves = achieved(marks)
        self.actions = list(actions)
        self.ids = self.actions + sorted({a for m in marks for a in m} - set(self.actions))
        where = {a: i for i, a in enumerate(self.ids)}
        self.members = [[where[a] for a in achievers] for achievers in marks]
        self._shares = [len(achieves.get(a, ())) for a in self.ids]
        self._achieved = [tuple(achieves.get(a, ())) for a in self.ids]
        self._distinct = set(self._achieved)

    def cheapest(self, costs: Sequence[float]) -> list[float]:
        """Per landmark, the least share of an achiever's cost."""
        return [min(costs[i] / self._shares[i] for i in m) for m in self.members]

    def bounds(self, costs: Sequence[float]) -> list[float]:
        """Per position, the action's cost plus the cheapest share of every landmark it does
        not achieve: no plan containing it costs less."""
        cheapest = self.cheapest(costs)
        total = sum(cheapest)
        shared = {ms: sum(cheapest[m] for m in ms) for ms in self._distinct}
        return [c + total - shared[ms] for c, ms in zip(costs, self._achieved)]


def over(bounds: dict[int, float], limit: float) -> frozenset[int]:
    """The actions whose bound is over `limit` by more than any rounding could make up
    (the solver sums costs scaled to whole numbers)."""
    slack = TOLERANCE * (1.0 + abs(limit))
    return frozenset(a for a, bound in bounds.items() if bound > limit + slack)


def prunable(
    allowed: frozenset[int],
    marks: Landmarks,
    metrics: Iterable[tuple[Callable[[int], float], float]],
) -> frozenset[int]:
    """The `allowed` actions that some (cost of an action, most a plan may total) rules out."""
    out: set[int] = set()
    part = _Partition(marks, allowed)
    for cost_of, limit in metrics:
        costs = [cost_of(a) if a in allowed else math.inf for a in part.ids]
        if min(costs[: len(part.actions)], default=0.0) < 0:
            continue  # the bound needs nonnegative costs
        out |= over(dict(zip(part.actions, part.bounds(costs))), limit)
    return frozenset(out)


LAMBDAS = (0.1, 0.3, 1.0, 3.0, 10.0)  # multiples of the objective's scale over the limit's


def beyond(
    allowed: frozenset[int],
    marks: Landmarks,
    objective: Callable[[int], float],
    upper: float,
    limits: Sequence[tuple[Callable[[int], float], float]] = (),
) -> frozenset[int]:
    """The `allowed` actions in no plan within the `limits` (additive: cost of an action,
    most a plan may total) whose objective is at most `upper`."""
    bounds = objective_bounds(allowed, marks, objective, limits)
    return frozenset() if bounds is None else over(bounds, upper)


def objective_bounds(
    allowed: frozenset[int],
    marks: Landmarks,
    objective: Callable[[int], float],
    limits: Sequence[tuple[Callable[[int], float], float]] = (),
) -> dict[int, float] | None:
    """Per `allowed` action, a lower bound on the objective of any plan within the `limits`
    that contains it; None when some objective is negative (the bounds need it not to be).

    The best of 1 + 5 × len(limits) landmark bounds (`lower_bounds` of the objective, and
    of the objective plus λ × each limited cost, less λ × its limit)."""
    part = _Partition(marks, allowed)
    base = [objective(a) for a in part.actions]
    if min(base, default=0.0) < 0:
        return None
    # Achievers outside `allowed` cost nothing, as actions outside it do in `lower_bounds`.
    free = [0.0] * (len(part.ids) - len(part.actions))
    base += free
    best = part.bounds(base)
    floor = sum(min(base[i] for i in m) for m in part.members)
    for cost_of, limit in limits:
        extra = [cost_of(a) for a in part.actions]
        if min(extra, default=0.0) < 0:
            continue
        extra += free
        spread = sum(min(extra[i] for i in m) for m in part.members)
        scale = floor / max(spread, limit, 1e-9)
        for factor in LAMBDAS:
            weight = factor * scale
            cut = weight * limit
            mixed = [b + weight * e for b, e in zip(base, extra)]
            best = list(map(max, best, [bound - cut for bound in part.bounds(mixed)]))
    return dict(zip(part.actions, best))
