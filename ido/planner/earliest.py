"""The earliest any plan can reach the goal: a floor on elapsed time.

Relax the task: a fact once true stays true, and a step needs only the facts its
preconditions fix. Each fact that does not hold yet waits for a step that makes it true,
and a step ends no earlier than its latency after both the time it may start at all and
the last of the facts it needs. The earliest end of the fastest such chain to each goal
fact (h_max, with latencies as costs) is no later than in any plan: every real plan makes
each of those facts true by such a chain, and waits at least as long.

CP-SAT posts it under its elapsed-time variable, from the start (`earliest_units`); the
search bounds each path by it, from the path's state and clocks (`Earliest.end`). Pure:
no solver is imported here.

The needs are the grounding's (`Grounded.needs`): the values other than a fluent's first
that a step's preconditions fix. From the start that is every need that does not hold; from
a later state, a need of a fluent's first value that no longer holds is left out, which
only lowers the bound.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence

from ido.planner.grounding import Grounded
from ido.planner.successors import fixed_values
from ido.planner.types import units

Fact = tuple[int, int]
"""A fluent and one of its values (indices)."""


class Earliest:
    """The earliest end of the goal with some actions of a grounding, from any state."""

    def __init__(self, g: Grounded, actions: Iterable[int], latency: Mapping[int, float]) -> None:
        self.actions = sorted(actions)
        self.latency = latency
        self.needs = {a: tuple(sorted(g.needs[a])) for a in self.actions}
        self.writes = {a: g.eff[a] for a in self.actions}
        self.goal = sorted(set(fixed_values(g.goal)))

    def end(self, holds: Callable[[Fact], bool], ready: Callable[[int], float]) -> float | None:
        """The earliest the goal can hold, when `holds` tells the facts that hold now and
        `ready` the earliest each action may start (0 from the start; from a path's clocks,
        once the steps it would wait for have ended); None when it cannot, even relaxed.
        Facts are made true in the order of their earliest times (Dijkstra's order, where
        a step's start is the latest of what it waits for)."""
        latency = self.latency
        waiting: dict[int, int] = {}
        needed_by: dict[Fact, list[int]] = {}
        queue: list[tuple[float, int]] = []
        for a in self.actions:
            missing = [fact for fact in self.needs[a] if not holds(fact)]
            if missing:
                waiting[a] = len(missing)
                for fact in missing:
                    needed_by.setdefault(fact, []).append(a)
            else:
                queue.append((ready(a) + latency[a], a))
        wanted = [fact for fact in self.goal if not holds(fact)]
        if not wanted:
            return 0.0
        heapq.heapify(queue)
        reached: dict[Fact, float] = {}
        left = len(wanted)
        goal = set(wanted)
        while queue and left:
            at, a = heapq.heappop(queue)
            for fact in self.writes[a]:
                if fact in reached or holds(fact):
                    continue
                reached[fact] = at
                left -= fact in goal
                for b in needed_by.get(fact, ()):
                    waiting[b] -= 1
                    if not waiting[b]:
                        heapq.heappush(queue, (max(ready(b), at) + latency[b], b))
        if left:
            return None
        return max(reached[fact] for fact in wanted)


def earliest_units(g: Grounded, allowed: Iterable[int]) -> int | None:
    """A lower bound on the critical path of any plan of `allowed` actions from the start,
    in the model's integer units (each latency rounded as CP-SAT rounds it); None when the
    goal is out of their reach, even relaxed."""
    usable = sorted(allowed)
    latency = {a: float(units(g.actions[a].latency)) for a in usable}
    end = Earliest(g, usable, latency).end(_initial, at_once)
    return None if end is None else round(end)


def _initial(fact: Fact) -> bool:
    return fact[1] == 0  # a fluent's value 0 is the one it starts with


def at_once(_: int) -> float:
    """Every step free to start at once (from the start, or to bound a path from its state
    alone)."""
    return 0.0


def ready_from(clock: Sequence[float], waits_on: Sequence[int]) -> float:
    """When a step may start at the soonest: once the steps it would wait for have ended,
    given a path's clocks and the clock indices the step waits on."""
    return max([0.0, *(clock[i] for i in waits_on)])
