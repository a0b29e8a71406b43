"""The A* search's records (`ido.planner.astar`): one path to a state (`Label`), what the
search knows of a state (`Reached`), a timed path's clocks after a step (`tick`), a
frontier entry's tie-break as one int (`tie_break`), and a task's limits as bounds on the
sums a path carries (`bounds_of`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from ido.planner.earliest import ready_from
from ido.planner.order import Footprint
from ido.planner.types import Task

Trail = tuple[()] | tuple["Trail", int]
"""A path's steps, last first: () for none, else (the trail before, the last step). A step
adds one pair and shares the rest, where a tuple of every step would copy them all, on every
successor (`steps`)."""


def steps(trail: Trail) -> list[int]:
    """The steps of `trail`, first first."""
    found = []
    while trail:
        trail, a = trail
        found.append(a)
    found.reverse()
    return found


class Label(NamedTuple):
    """One path to a state: its metric, length and the sums the limits bound."""

    metric: float
    steps: int
    sums: tuple[float, float, float]  # cost, latency (the critical path when timed), risk
    path: Trail
    clock: tuple[float, ...] = ()
    """When timed: per fact, when its last write ends, then when its last use ends."""

    def beats(self, other: Label, limited: tuple[int, ...]) -> bool:
        """Whether this path is as good as `other` on the metric, the steps, the sums at
        `limited` (their indices) and every clock."""
        if self.metric > other.metric or self.steps > other.steps:
            return False
        mine, theirs = self.sums, other.sums
        if any(mine[i] > theirs[i] for i in limited):
            return False
        return not self.clock or all(m <= t for m, t in zip(self.clock, other.clock))


class Reached:
    """A state some path reaches: the cuts (a bit each) every path found to it has hit,
    the goal values it misses (a bit each) and its goal-value bound (`Remaining`, raised to
    the whole unit; 0 where the goal holds), whether the goal holds, and the paths kept to
    it (none beats another)."""

    __slots__ = ("base", "goal", "hit", "kept", "loss", "missing", "own", "raw")

    def __init__(self, hit: int, missing: int, base: float, goal: bool, kept: list[Label]) -> None:
        self.hit = hit
        self.missing = missing
        self.base = base
        self.goal = goal
        self.kept = kept
        self.own = 0.0
        """A bound of the state's own, whole, whatever the path: its own LM-cut once worked
        out, until then the best that the states expanded into it left (`StateCuts`)."""
        self.raw = 0.0
        """The state's own LM-cut, not rounded, once worked out (`loss` is then set)."""
        self.loss: dict[int, float] | None = None
        """Per step from the state, what it takes off `raw` for the state it leads to."""


COUNT_BITS = 32
ORDER_BITS = 40
"""The bits of a path's steps and of its order found in a `tie_break`: no search holds
2**32 steps in a path nor pushes 2**40 entries (each is an object in memory)."""
MOST_COUNT = (1 << COUNT_BITS) - 1


def tie_break(at_least: float, count: int, order: int) -> int:
    """The frontier's order among paths of equal metric plus estimate, as one int that
    orders as `(at_least, -count, order)` does: the fewest steps at the end first (a whole
    number, though it may be a float), then the longest path so far, then the first found.
    heapq compares one int in one step where it compared three fields one after the other
    (`ido.planner.astar` pushes it inline, in its innermost loop)."""
    return (int(at_least) << COUNT_BITS | MOST_COUNT - count) << ORDER_BITS | order


def tick(
    clock: tuple[float, ...], used: Footprint, waits_on: Sequence[int], latency: float
) -> tuple[tuple[float, ...], float]:
    """The clocks after a step that starts once every step it interferes with has ended
    (`waits_on`: the clocks it waits for, `AStarSearch.waits_on`)."""
    n = len(clock) // 2
    end = ready_from(clock, waits_on) + latency
    new = list(clock)
    for f in used.writes:
        new[f] = end
    for f in used.touches():
        new[n + f] = max(new[n + f], end)
    return tuple(new), end


def bounds_of(task: Task) -> tuple[float, float, float]:
    limits = task.limits
    least = limits.min_success_probability
    return (
        math.inf if limits.max_cost is None else limits.max_cost,
        math.inf if limits.deadline is None else limits.deadline,
        math.inf if least is None else -math.log(least),
    )
