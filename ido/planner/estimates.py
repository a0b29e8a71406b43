"""The search's estimates: lower bounds on what a path to a state still pays to reach the
goal, in the metric's whole millionths (`ido.planner.search`).

Two bounds, of which the search takes the larger: per goal value still missing, the
cheapest share of a step that writes it (`Remaining`, admissible and consistent), and the
LM-cut landmarks of the start that no path found to the state has hit (`Cuts`, admissible
but path-dependent). A search may take a third (`StateCuts`): each state's own LM-cut,
and what it leaves the states after it (admissible, whatever the path). `whole` rounds a
bound up to the whole unit it bounds, and `steps_left` turns one into the fewest steps
that can pay it, for the search's tie-break.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ido.planner.bits import ones
from ido.planner.grounding import Grounded
from ido.planner.lmcut import LmCut, lm_cut
from ido.planner.successors import State, fixed_values


class Remaining:
    """A lower bound on what a path still pays to reach the goal, in the metric.

    Every goal value that does not hold yet must be written by some later step. Each step's
    weight is shared equally among the goal values it writes, and a missing value costs at
    least its cheapest share (uniform cost partitioning). A step pays at most its weight
    for the values it writes, so the bound is admissible and consistent. When the goal does
    not hold, at least one more step is needed: the bound is never below the cheapest step.
    """

    def __init__(
        self, g: Grounded, actions: Sequence[int], weight: dict[int, float], cheapest: float
    ) -> None:
        goals = sorted(set(fixed_values(g.goal)))  # a value two tables fix counts once
        self.goals = goals
        self.bits = [g.packing.bit(f, v) for f, v in goals]  # each goal value's in a state
        # Looked up by fact and by fluent, not scanned per action (actions × goals).
        index = {fact: i for i, fact in enumerate(goals)}
        wanted: dict[int, list[tuple[int, int]]] = {}
        for i, (f, v) in enumerate(goals):
            wanted.setdefault(f, []).append((i, v))
        shares = [math.inf] * len(goals)
        # Per action, the goal values whose fluent it writes: (their bit, the value wanted,
        # the value written), in the goals' order. Most actions touch none.
        self.touched: dict[int, list[tuple[int, int, int]]] = {}
        for a in actions:
            eff = g.eff[a]
            hits = sorted({index[fact] for fact in eff if fact in index})
            if hits:
                share = weight[a] / len(hits)
                for i in hits:
                    shares[i] = min(shares[i], share)
            touched = [(i, v, written) for f, written in eff for i, v in wanted.get(f, ())]
            touched.sort(key=lambda hit: hit[0])  # (stable: as written, within a goal)
            self.touched[a] = [(1 << i, v, written) for i, v, written in touched]
        self.shares = shares
        self.cheapest = cheapest
        self._cost: dict[int, float] = {}
        self.whole_bound: dict[int, float] = {}
        """`bound` of each set missed, where the goal does not hold, raised to the whole unit
        (`at_whole`): the search looks here first, and asks `bound_whole` only on a miss."""

    def __call__(self, state: State, reached: bool) -> float:
        return self.bound(self.missing(state), reached)

    def missing(self, state: State) -> int:
        """The goal values `state` misses, a bit each."""
        bits = self.bits
        return sum(1 << i for i, bit in enumerate(bits) if not state >> bit & 1)

    def after(self, missing: int, a: int) -> int:
        """The goal values missed after action `a`, given those missed before it."""
        for bit, wanted, written in self.touched[a]:
            missing = missing & ~bit if written == wanted else missing | bit
        return missing

    def bound(self, missing: int, reached: bool) -> float:
        """The bound, given the goal values missed. Their shares are added up once per set
        of them, in one order: a sum kept up step by step would drift (a share of 1e13
        units added and taken away again leaves the small ones off by more than a unit)."""
        if reached:
            return 0.0
        cost = self._cost.get(missing)
        if cost is None:
            cost = sum(s for i, s in enumerate(self.shares) if missing >> i & 1)
            self._cost[missing] = cost
        return max(cost, self.cheapest)

    def bound_whole(self, missing: int) -> float:
        """`bound(missing, False)` raised to the whole unit, remembered in `whole_bound`."""
        found = self.whole_bound[missing] = at_whole(self.bound(missing, False))
        return found


class Cuts:
    """LM-cut's landmarks of the start state (see `lmcut`), for a bound that follows paths.

    Every plan from the start contains a step of each cut, so what a path to a state has
    not hit yet, any way on from that state must: the cuts no known path to the state has
    hit cost no more than the cheapest way on (each step's costs over its cuts sum to at
    most its weight). States remember which cuts every path known to reach them has hit.
    """

    def __init__(self, g: Grounded, actions: Sequence[int], weight: dict[int, float]) -> None:
        index: dict[tuple[int, int], int] = {}
        pre = [[index.setdefault(f, len(index)) for f in sorted(g.needs[a])] for a in actions]
        eff = [[index.setdefault(f, len(index)) for f in g.eff[a] if f[1] != 0] for a in actions]
        goal = [
            index.setdefault(f, len(index)) for f in sorted(set(fixed_values(g.goal))) if f[1] != 0
        ]
        cuts = lm_cut(pre, eff, [weight[a] for a in actions], len(index), [], goal)
        self.reachable = cuts is not None
        self.costs = [paid for paid, _ in cuts or ()]
        self.mark = dict.fromkeys(actions, 0)
        for i, (_, steps) in enumerate(cuts or ()):
            for n in steps:
                self.mark[actions[n]] |= 1 << i
        self.whole_left: dict[int, float] = {}
        """`left` of each `hit` asked for so far, raised to the whole unit (`at_whole`): the
        search looks here first, and asks `left_whole` only for a `hit` not in it."""

    def left(self, hit: int) -> float:
        """What the cuts outside `hit` (a bit per cut) cost together: added in the cuts'
        order, as ever, so the same float whichever way they are found."""
        costs = self.costs
        return sum(costs[i] for i in ones(~hit & (1 << len(costs)) - 1))

    def left_whole(self, hit: int) -> float:
        """`left(hit)` raised to the whole unit, remembered in `whole_left`."""
        found = self.whole_left[hit] = at_whole(self.left(hit))
        return found


def whole(bound: float) -> float:
    """A bound on a sum of whole units, raised to the next whole unit: what is left to pay
    is whole, so it is still a bound, and paths that tie in whole units tie in the frontier
    too. The margin is above the bound's float error: a goal value's share is a weight
    divided by the values it writes, and a sum of such shares can be off by a few parts in
    1e16 of itself (at 1e13 units, more than 1e-3 of a unit).
    """
    return float(math.ceil(bound - 1e-3 - 1e-12 * abs(bound)))


def at_whole(bound: float) -> float:
    """`whole(bound)`, or inf for inf (no way on)."""
    return bound if bound == math.inf else whole(bound)


def steps_left(left: float, dearest: float, floored: bool) -> float:
    """The fewest steps that pay `left` (whole units) when none pays more than `dearest`."""
    return -(-left // dearest) if floored else 0.0


class StateCuts:
    """LM-cut of any state, worked out afresh (see `lmcut`): a bound of its own, with what
    each step from it takes off that bound for the state it leads to.

    Relaxed from the state, every plan from it contains a step of each of its cuts, and
    each step's costs over its cuts sum to at most its weight: the cuts' sum is a lower
    bound on any plan from the state. After step `a`, the cuts without `a` must still be
    hit by whatever way on follows (with `a` first, it is a plan from the state), so their
    sum, the bound less `a`'s `loss`, bounds the state `a` leads to. Both bounds hold
    whatever path reached the state: the search keeps the larger of those it knows.
    """

    def __init__(self, g: Grounded, actions: Sequence[int], weight: dict[int, float]) -> None:
        index: dict[tuple[int, int], int] = {}
        # Unlike `Cuts`, values at 0 count: in another state than the start they may not hold.
        pre = [[index.setdefault(f, len(index)) for f in fixed_values(g.pre[a])] for a in actions]
        eff = [[index.setdefault(f, len(index)) for f in g.eff[a]] for a in actions]
        goal = [index.setdefault(f, len(index)) for f in sorted(set(fixed_values(g.goal)))]
        self.actions = actions
        self.lmcut = LmCut(pre, eff, [weight[a] for a in actions], len(index), goal)
        # Per bit of a state (a fluent value), its fact (-1 where no step needs, writes or
        # wants it).
        self.fact = [
            index.get((f, v), -1)
            for f, x in enumerate(g.fluents)
            for v in range(g.packing.width[f])
        ]
        self.spent = 0
        """The work of the LM-cuts so far, counted as steps looked at: each cut found looks
        at every step about once (a count, not seconds, so the search stays the same)."""

    def of(self, state: State) -> tuple[float, dict[int, float]] | None:
        """The state's bound (not rounded) and each step's `loss` on it (steps in no cut
        lose nothing: not listed); None when the goal cannot be reached from it at all."""
        init = [i for i in map(self.fact.__getitem__, ones(state)) if i >= 0]
        cuts = self.lmcut.cuts(init)
        self.spent += (1 + len(cuts or ())) * len(self.actions)
        if cuts is None:
            return None
        actions = self.actions
        loss: dict[int, float] = {}
        for paid, steps in cuts:
            for n in steps:
                a = actions[n]
                loss[a] = loss.get(a, 0.0) + paid
        return sum(paid for paid, _ in cuts), loss
