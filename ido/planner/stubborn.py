"""Strong stubborn sets: which of a state's actions the search may follow alone, leaving out
orderings of independent actions without losing an optimal plan (`ido.planner.astar`).

Partial-order reduction after Alkhazraji et al. (2012) and Wehrle & Helmert (2014), as
Fast Downward's `stubborn_sets_simple`. Two actions interfere when one writes a fluent the
other reads with another value, or both write one fluent with different values. A set of
actions is stubborn in a state when it holds every writer of a goal value the state lacks
(one value: some plan step must write it), every action interfering with each of its
actions that apply, and, for each of its actions that do not, every writer of a value it
lacks (it cannot apply before one of them has). Any plan from the state can then be
reordered, at the same metric, steps and sums, to begin with an applicable action of the
set: following only those keeps an optimal plan, and the shortest of the cheapest. The
relation is worked out once per task, as masks over the actions' indices, and the set once
per state expanded. A condition of several rows (`Table`) counts as reading each of its
fluents at any value, and a lacking one as needing a write to any of them: more actions
in the set, never fewer.
"""

from __future__ import annotations

from collections.abc import Sequence

from ido.planner.bits import Packing, ones
from ido.planner.grounding import Grounded
from ido.planner.successors import State
from ido.planner.tables import Table, required


def _needs(packing: Packing, tables: Sequence[Table]) -> tuple[list[int], list[int]] | None:
    """What `tables` need, as (facts' bits, fluents read at any value); None: they never
    hold."""
    bits: list[int] = []
    loose: list[int] = []
    for table in tables:
        if not table.true_rows:
            return None
        fixed = required(table)
        bits += [packing.bit(f, v) for f, v in fixed.items()]
        loose += [f for f in table.fluents if f not in fixed]
    return bits, loose


class Stubborn:
    """Per task, the interference between its actions; per state, the actions of a strong
    stubborn set that apply there (`applicable`)."""

    def __init__(self, g: Grounded, actions: Sequence[int], goal: Sequence[Table]) -> None:
        packing = g.packing
        self.bit = packing.bit
        writers: dict[int, int] = {}  # per fluent, the actions writing it (a mask)
        writes: dict[int, int] = {}  # per fact's bit, the actions writing that value
        readers: dict[int, int] = {}  # per fluent, the actions reading it
        reads: dict[int, int] = {}  # per fact's bit, the actions needing that value
        self.needs: dict[int, tuple[list[int], list[int]] | None] = {}
        for a in actions:
            me = 1 << a
            for f, v in g.eff[a]:
                writers[f] = writers.get(f, 0) | me
                b = packing.bit(f, v)
                writes[b] = writes.get(b, 0) | me
            self.needs[a] = needs = _needs(packing, g.pre[a])
            if needs is None:
                continue  # never applies: it interferes with nothing, and needs nothing
            for b in needs[0]:
                reads[b] = reads.get(b, 0) | me
                f = self._fluent(packing, b)
                readers[f] = readers.get(f, 0) | me
            for f in needs[1]:
                readers[f] = readers.get(f, 0) | me
        self.writes, self.writers = writes, writers
        self.interfering: dict[int, int] = {}
        for a in actions:
            found = 0
            for f, v in g.eff[a]:
                b = packing.bit(f, v)
                # It disables what reads f at another value, and conflicts with other writes.
                found |= readers.get(f, 0) & ~reads.get(b, 0)
                found |= writers.get(f, 0) & ~writes.get(b, 0)
            needs = self.needs[a]
            if needs is not None:
                for b in needs[0]:  # what writes another value of a fact it needs
                    found |= writers.get(self._fluent(packing, b), 0) & ~writes.get(b, 0)
                for f in needs[1]:
                    found |= writers.get(f, 0)
            self.interfering[a] = found & ~(1 << a)
        self.goal = _needs(packing, goal)

    @staticmethod
    def _fluent(packing: Packing, bit: int) -> int:
        """The fluent whose value `bit` is."""
        base = packing.base
        lo, hi = 0, len(base) - 1
        while lo < hi:  # the last fluent starting at or below the bit
            mid = (lo + hi + 1) // 2
            if base[mid] <= bit:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def _lacking(self, needs: tuple[list[int], list[int]], state: State) -> int | None:
        """Writers of one value `needs` lacks in `state` (a necessary enabling set): None
        when its facts all hold (a condition of several rows may still fail: then the
        writers of any fluent it reads at any value, which the caller adds)."""
        for b in needs[0]:
            if not state >> b & 1:
                return self.writes.get(b, 0)
        return None

    def _enabling(self, needs: tuple[list[int], list[int]], state: State) -> int:
        """The actions one of which must come before `needs` can hold, from `state`."""
        found = self._lacking(needs, state)
        if found is not None:
            return found
        writers = self.writers
        mask = 0
        for f in needs[1]:
            mask |= writers.get(f, 0)
        return mask

    def applicable(self, state: State, found: Sequence[int]) -> list[int] | None:
        """Of the actions `found` to apply in `state`, those of a strong stubborn set (all of
        them as soon as the set holds them all: it is not worked out further); None where
        the goal holds (nothing to prune)."""
        goal = self.goal
        if goal is None:
            return None
        todo = self._lacking(goal, state)
        if todo is None:
            if not goal[1]:
                return None  # the goal holds
            todo = self._enabling(goal, state)
        here = 0
        for a in found:
            here |= 1 << a
        needs, interfering = self.needs, self.interfering
        stubborn = 0
        while todo:
            stubborn |= todo
            if not here & ~stubborn:
                return list(found)  # every action that applies is in: nothing left out
            more = 0
            for a in ones(todo):
                if here >> a & 1:
                    more |= interfering[a]
                else:
                    wanted = needs[a]
                    if wanted is not None:
                        more |= self._enabling(wanted, state)
            todo = more & ~stubborn
        return [a for a in found if stubborn >> a & 1]
