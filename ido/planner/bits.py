"""Grounded states as bitsets: one int per state, a bit per fluent value (one-hot).

Fluent `f`'s values sit side by side from bit `base[f]`, and exactly one of them is set:
the fluent's current value. A fact (a fluent at a value) is then one bit, a condition that
fixes several facts is one mask (`state & mask == mask`), and a step's effects are two ints
(`state & keep | put`: its fluents' bits cleared, the written values' bits set). Python's
ints do this word by word in C, and a state costs about a bit per value (a tuple of values
costs eight bytes per fluent and a pointer each), so the search can keep many more of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

from ido.planner.tables import Fluent, Table


class Packing:
    """Where each fluent value's bit is, for the fluents of one grounding."""

    def __init__(self, fluents: Sequence[Fluent]) -> None:
        self.width = tuple(max(1, len(fluent.values)) for fluent in fluents)
        self.base: tuple[int, ...] = (0, *itertools.accumulate(self.width))[:-1]
        self.size = sum(self.width)
        self.start = sum(1 << b for b in self.base)
        """Every fluent at its value 0 (the current one): where every search starts."""

    def bit(self, fluent: int, value: int) -> int:
        """The index of the bit that is set when `fluent` has `value`."""
        return self.base[fluent] + value

    def field(self, fluent: int) -> int:
        """The mask of all of `fluent`'s bits."""
        return ((1 << self.width[fluent]) - 1) << self.base[fluent]

    def facts(self, facts: Iterable[tuple[int, int]]) -> int:
        """The mask of the facts' bits: a state holds them all when it has every bit."""
        mask = 0
        for f, v in facts:
            mask |= 1 << (self.base[f] + v)
        return mask

    def pack(self, values: Sequence[int]) -> int:
        """The state where fluent `f` has `values[f]`."""
        return sum(1 << (b + v) for b, v in zip(self.base, values, strict=True))

    def unpack(self, state: int) -> tuple[int, ...]:
        """Each fluent's value in `state` (for tests and messages, not the search)."""
        return tuple(
            ((state >> b) & ((1 << w) - 1)).bit_length() - 1
            for b, w in zip(self.base, self.width, strict=True)
        )

    def step(self, effects: Iterable[tuple[int, int]]) -> tuple[int, int]:
        """A step's effects as (keep, put): the state after it is `state & keep | put`."""
        effects = list(effects)
        cleared = 0
        for f, _ in effects:
            cleared |= self.field(f)
        full = (1 << self.size) - 1
        return full & ~cleared, self.facts(effects)

    def table(self, table: Table) -> tuple[int, frozenset[int]]:
        """A condition table as (mask, rows): it holds where `state & mask` is one of rows."""
        mask = 0
        for f in table.fluents:
            mask |= self.field(f)
        rows = frozenset(
            self.facts(zip(table.fluents, row, strict=True)) for row in table.true_rows
        )
        return mask, rows


def ones(bits: int) -> list[int]:
    """The indices of the bits set in `bits`, lowest first: `bin` and `str.find` do the
    scanning in C, so the loop runs once per bit set, not once per bit."""
    text = bin(bits)[:1:-1]  # lowest bit first, without "0b"
    found = []
    at = text.find("1")
    while at >= 0:
        found.append(at)
        at = text.find("1", at + 1)
    return found
