"""Strong stubborn sets: which of a state's actions the search may follow alone, leaving out
orderings of independent actions without losing an optimal plan (`ido.planner.astar`).

Partial-order reduction after Alkhazraji et al. (2012) and Wehrle & Helmert (2014), as
Fast Downward's `stubborn_sets_simple`. Two actions interfere when one writes a fluent the
other reads with another value, or both write one fluent with different values. A set of
actions is stubborn in a state when it holds every writer of a goal value the state lacks
(one value: some plan step must write it), every action interfering with each of its
actions that apply, and, for each of its actions that do not, every writer of a value it
lacks (it cannot apply before one of them has). Which value is free: the one whose writers
add the fewest actions to the set so far (Röger et al. 2020 prefer values the set
achieves already; from an empty set, the value with the fewest writers, as in Wehrle &
Helmert 2014). The first lacking, ido's choice before, left satellite p07 unsettled in
60 s where this settles it in about 16,000 expansions (`benchmarks/stubborn_choice.py`).
Any plan from the state can then be reordered, at the same metric, steps and sums, to
begin with an applicable action of the set: following only those keeps an optimal plan,
and the shortest of the cheapest. The
relation is worked out as masks over the actions' indices, once per task and action, when
a set first holds the action where it applies, and the set once per state expanded. A
condition of several rows (`Table`) counts as reading each of its fluents at any value,
and a lacking one as needing a write to any of them: more actions in the set, never
fewer.
"""

from __future__ import annotations

import bisect
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


def _mask(indices: list[int]) -> int:
    """The mask with the bits of `indices` set: a byte string made at once, where or-ing a
    bit at a time copies the mask each time."""
    if not indices:
        return 0
    raw = bytearray(max(indices) // 8 + 1)
    for a in indices:
        raw[a >> 3] |= 1 << (a & 7)
    return int.from_bytes(raw, "little")


class _Masks:
    """Actions filed under keys (fluents or facts' bits), as a mask per key, made when first
    asked for."""

    def __init__(self) -> None:
        self.filed: dict[int, list[int]] = {}
        self.made: dict[int, int] = {}

    def add(self, key: int, action: int) -> None:
        self.filed.setdefault(key, []).append(action)

    def __call__(self, key: int) -> int:
        found = self.made.get(key)
        if found is None:
            found = self.made[key] = _mask(self.filed.get(key, []))
        return found


class Stubborn:
    """Per task, the interference between its actions; per state, the actions of a strong
    stubborn set that apply there (`applicable`). The interference of an action is worked
    out the first time a set holds it where it applies, not for every action up front:
    rovers p40's 32,437 actions took 0.95 s of CPU and 118 MB so (0.2 s and 15 MB now), in
    every search made, where its first 1,000 expansions ask about 281 of them."""

    def __init__(self, g: Grounded, actions: Sequence[int], goal: Sequence[Table]) -> None:
        packing = g.packing
        self.base = packing.base
        self.eff = g.eff
        self.writers = _Masks()  # per fluent, the actions writing it
        self.writes = _Masks()  # per fact's bit, the actions writing that value
        self.readers = _Masks()  # per fluent, the actions reading it
        self.reads = _Masks()  # per fact's bit, the actions needing that value
        self.needs: dict[int, tuple[list[int], list[int]] | None] = {}
        for a in actions:
            for f, v in g.eff[a]:
                self.writers.add(f, a)
                self.writes.add(packing.bit(f, v), a)
            self.needs[a] = needs = _needs(packing, g.pre[a])
            if needs is None:
                continue  # never applies: it interferes with nothing, and needs nothing
            for b in needs[0]:
                self.reads.add(b, a)
                self.readers.add(self._fluent(b), a)
            for f in needs[1]:
                self.readers.add(f, a)
        self.interfering: dict[int, int] = {}
        """Per action asked about so far, the actions interfering with it (a mask)."""
        self.goal = _needs(packing, goal)

    def _fluent(self, bit: int) -> int:
        """The fluent whose value `bit` is: the last whose values start at or below it."""
        return bisect.bisect_right(self.base, bit) - 1

    def _interfering(self, a: int) -> int:
        """The actions interfering with `a` (a mask), remembered."""
        writers, writes, readers, reads = self.writers, self.writes, self.readers, self.reads
        found = 0
        for f, v in self.eff[a]:
            b = self.base[f] + v
            # It disables what reads f at another value, and conflicts with other writes.
            found |= readers(f) & ~reads(b)
            found |= writers(f) & ~writes(b)
        needs = self.needs[a]
        if needs is not None:
            for b in needs[0]:  # what writes another value of a fact it needs
                found |= writers(self._fluent(b)) & ~writes(b)
            for f in needs[1]:
                found |= writers(f)
        found &= ~(1 << a)
        self.interfering[a] = found
        return found

    def _lacking(self, needs: tuple[list[int], list[int]], state: State, held: int) -> int | None:
        """Writers of one value `needs` lacks in `state` (a necessary enabling set): of the
        values lacking, the one whose writers add the fewest actions to `held`, the set so
        far (from the start of a set, the value with the fewest writers). None when its
        facts all hold (a condition of several rows may still fail: then the writers of
        any fluent it reads at any value, which the caller adds)."""
        best: int | None = None
        adds = 0
        for b in needs[0]:
            if not state >> b & 1:
                writers = self.writes(b)
                more = (writers & ~held).bit_count()
                if best is None or more < adds:
                    best, adds = writers, more
                    if not more:
                        break  # nothing new: no value does better
        return best

    def _enabling(self, needs: tuple[list[int], list[int]], state: State, held: int) -> int:
        """The actions one of which must come before `needs` can hold, from `state`, as few
        new to `held` as `_lacking` finds."""
        found = self._lacking(needs, state, held)
        if found is not None:
            return found
        writers = self.writers
        mask = 0
        for f in needs[1]:
            mask |= writers(f)
        return mask

    def applicable(self, state: State, found: Sequence[int]) -> list[int] | None:
        """Of the actions `found` to apply in `state`, those of a strong stubborn set (all of
        them as soon as the set holds them all: it is not worked out further); None where
        the goal holds (nothing to prune)."""
        goal = self.goal
        if goal is None:
            return None
        todo = self._lacking(goal, state, 0)
        if todo is None:
            if not goal[1]:
                return None  # the goal holds
            todo = self._enabling(goal, state, 0)
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
                    known = interfering.get(a)
                    more |= self._interfering(a) if known is None else known
                else:
                    wanted = needs[a]
                    if wanted is not None:
                        more |= self._enabling(wanted, state, stubborn | more)
            todo = more & ~stubborn
        return [a for a in found if stubborn >> a & 1]
