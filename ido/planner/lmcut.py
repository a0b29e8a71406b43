"""LM-cut (Helmert and Domshlak, 2009): disjunctive action landmarks with costs, once.

Relax the task: a step only adds fluent values, never takes one away, and needs only the
values its preconditions fix. Then repeat: work out h^max (each value's cost is the dearest
value an achiever needs plus that achiever's cost); point every step at its dearest needed
value; the *goal zone* is the values from which the goal is reached by steps that cost
nothing any more; the *cut* is the steps that point at a value outside the goal zone and
write one inside it (`_cut`). Every plan, relaxed or not, contains a step of each cut. The
cheapest step of the cut pays for it: that cost is taken off every step of the cut, and
the loop goes on until the goal costs nothing.

Each step's costs over the cuts it is in sum to at most its cost, so for any plan the cuts
it has not hit yet cost no more than what it still pays: a lower bound for any path, from
the cuts of the state it started from (see `search`). `LmCut` prepares a task once for
the cuts of many states (`estimates.StateCuts`); it lowers h^max in place after each cut
(`_lowered`), where `lm_cut` works it out afresh. Pure functions of plain lists.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

ZERO = 1e-9
"""A cost this small counts as nothing (the costs are floats, reduced by subtraction)."""

Cut = tuple[float, tuple[int, ...]]
"""A landmark: its cost and the steps (indices) of which every plan contains one."""


def lm_cut(
    pre: Sequence[Sequence[int]],
    eff: Sequence[Sequence[int]],
    cost: Sequence[float],
    facts: int,
    init: Sequence[int],
    goal: Sequence[int],
) -> list[Cut] | None:
    """The cuts of a relaxed task whose facts are `0..facts-1`; None when the goal cannot
    be reached even relaxed (no plan exists). Costs must not be negative. h^max is worked
    out afresh after each cut (`LmCut.cuts` lowers it in place: as right, but it may point
    steps at other needs among equally dear ones, and so find other cuts)."""
    return LmCut(pre, eff, cost, facts, goal).cuts(init, afresh=True)


class LmCut:
    """LM-cut of one relaxed task prepared once, for the cuts from many initial states:
    which steps need and write each fact is worked out here, not per state."""

    def __init__(
        self,
        pre: Sequence[Sequence[int]],
        eff: Sequence[Sequence[int]],
        cost: Sequence[float],
        facts: int,
        goal: Sequence[int],
    ) -> None:
        self.facts = facts
        self.start, self.done = start, done = facts, facts + 1  # "the start", "the goal"
        self.n = len(pre)
        self.needs = needs = [sorted(set(p)) or [start] for p in pre]
        needs.append([start])  # step n: the start gives what holds at once
        needs.append(sorted(set(goal)) or [start])  # step n + 1: the goal is reached
        self.writes: list[Sequence[int]] = [list(e) for e in eff]
        self.writes += [[], [done]]
        writes = self.writes
        # A cost within ZERO of nothing is nothing from the start: the goal zone counts
        # such a step as free, and one left above 0 could then make a cut that pays
        # nothing, forever.
        self.cost = [0.0 if c <= ZERO else float(c) for c in cost] + [0.0, 0.0]
        self.used_by: list[list[int]] = [[] for _ in range(facts + 2)]
        used_by = self.used_by
        self.written_by: list[list[int]] = [[] for _ in range(facts + 2)]
        written_by = self.written_by
        for a, p in enumerate(needs):
            for fact in p:
                used_by[fact].append(a)
        for a, w in enumerate(writes):
            for fact in w:
                written_by[fact].append(a)

    def cuts(self, init: Sequence[int], afresh: bool = False) -> list[Cut] | None:
        """The cuts from the state where the facts `init` hold; None when the goal cannot
        be reached from it even relaxed. After each cut, h^max is lowered in place
        (`_lowered`), or with `afresh` worked out again from nothing."""
        n, start, done, written_by = self.n, self.start, self.done, self.written_by
        # Step n writes `init` for `_hmax` only: `written_by` leaves it out, as `_cut` would
        # never meet it there (see `_cut`).
        writes = self.writes
        writes[n] = init
        left = list(self.cost)
        cuts: list[Cut] = []
        needs, used_by = self.needs, self.used_by
        value, dearest = _hmax(needs, writes, left, used_by, self.facts + 2, start)
        if value[done] == math.inf:
            return None
        while value[done] > ZERO:
            cut = _cut(done, written_by, dearest, left)
            paid = min(map(left.__getitem__, cut))
            if paid <= ZERO:  # cannot happen with the costs above; never loop on it
                return cuts
            for a in cut:
                left[a] = 0.0 if left[a] - paid <= ZERO else left[a] - paid
            cuts.append((paid, tuple(sorted(cut))))  # (steps n and n + 1 cost nothing)
            if afresh:
                value, dearest = _hmax(needs, writes, left, used_by, self.facts + 2, start)
            else:
                _lowered(cut, needs, writes, left, used_by, value, dearest)
        return cuts


def _hmax(
    needs: Sequence[Sequence[int]],
    writes: Sequence[Sequence[int]],
    cost: Sequence[float],
    used_by: Sequence[Sequence[int]],
    facts: int,
    start: int,
) -> tuple[list[float], list[int]]:
    """h^max of every fact, and each reachable step's dearest needed fact (-1: none)."""
    value = [math.inf] * facts
    dearest = [-1] * len(needs)
    waiting = list(map(len, needs))
    value[start] = 0.0
    heap = [(0.0, start)]
    push, pop = heapq.heappush, heapq.heappop
    while heap:
        h, fact = pop(heap)
        if h > value[fact]:
            continue
        for a in used_by[fact]:
            waiting[a] -= 1
            if waiting[a]:
                continue
            dearest[a] = fact  # popped last, so no needed fact costs more
            reached = h + cost[a]
            for w in writes[a]:
                if reached < value[w]:
                    value[w] = reached
                    push(heap, (reached, w))
    return value, dearest


def _lowered(
    cut: set[int],
    needs: Sequence[Sequence[int]],
    writes: Sequence[Sequence[int]],
    cost: Sequence[float],
    used_by: Sequence[Sequence[int]],
    value: list[float],
    dearest: list[int],
) -> None:
    """`_hmax` again, in place, after the steps of `cut` got cheaper: values only fall, so
    only what those steps write, and what steps depending on those write, is looked at
    again (in order, cheapest first, as `_hmax` does). A step whose dearest needed fact got
    cheaper may now depend most on another of its needs: it is pointed at that one. Values
    not yet final are never below the final ones, so a step worked out from them is
    worked out again when its dearest need falls further."""
    heap: list[tuple[float, int]] = []
    get, push, pop = value.__getitem__, heapq.heappush, heapq.heappop
    for a in cut:  # a step before it in `cut` may have lowered one of its needs already
        wanted = needs[a]
        top = dearest[a] = wanted[0] if len(wanted) == 1 else max(wanted, key=get)
        reached = value[top] + cost[a]
        for w in writes[a]:
            if reached < value[w]:
                value[w] = reached
                push(heap, (reached, w))
    while heap:
        h, fact = pop(heap)
        if h > value[fact]:
            continue
        for a in used_by[fact]:
            if dearest[a] != fact:
                continue  # a need below its dearest got cheaper: the dearest still counts
            wanted = needs[a]
            if len(wanted) == 1:
                reached = h + cost[a]  # its one need is this fact
            else:  # `max(wanted, key=get)`, the first of the dearest, at half the time
                top = wanted[0]
                most = value[top]
                for need in wanted:
                    if value[need] > most:
                        top, most = need, value[need]
                dearest[a] = top
                reached = most + cost[a]
            for w in writes[a]:
                if reached < value[w]:
                    value[w] = reached
                    push(heap, (reached, w))


def _cut(
    done: int, written_by: Sequence[Sequence[int]], dearest: Sequence[int], cost: Sequence[float]
) -> set[int]:
    """The steps into the goal zone from a need outside it. The zone is the values from
    which the goal is reached through steps that cost nothing: walking back from the goal,
    a free step brings in its dearest need, and a step that costs more is kept aside, in
    the cut unless its need joins the zone later.

    Every relaxed plan's first step to write a value in the zone needs only values written
    before it, outside the zone, and cannot be free (the zone would take in its dearest
    need): the cut is a landmark. Helmert and Domshlak's cut is those of its steps whose
    need is reached from the start without passing through the zone. Finding those takes
    a walk over nearly every value, once per cut, where this looks only at the zone's
    writers; the two differ on about a fifth of driverlog p05's cuts, yet its search
    expands the same 610 states, at half the time.

    No value of the state the cuts are from is in the zone: the goal still costs more than
    nothing, and a value in the zone costs at least as much as the goal (the free step
    that brings in a need writes a value no dearer than it), where the state's cost
    nothing. So the step that gives them (step n) is never met here, and `written_by`
    leaves it out."""
    zone = {done}
    todo = [done]
    kept: list[int] = []
    while todo:
        fact = todo.pop()
        for a in written_by[fact]:
            source = dearest[a]
            if source < 0:
                continue  # not reached: in no relaxed plan
            if cost[a] > ZERO:
                kept.append(a)
            elif source not in zone:
                zone.add(source)
                todo.append(source)
    return {a for a in kept if dearest[a] not in zone}
