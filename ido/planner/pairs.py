"""Which pairs of fluent values can ever hold together (h², Haslum and Geffner 2000): a
proof that no plan exists where reachability that ignores what steps undo finds one.

Ignoring what steps undo, a fact once reached stays, so any fact some step adds is
reachable: leave out the one step that takes a thing back out of a briefcase, and the goal
"the thing at the office, the briefcase at home" still looks reachable, one fact at a
time. Taken two at a time it is not: the thing reaches the office only inside the
briefcase, and nothing takes it out, so "the thing at the office" never holds together
with "the briefcase elsewhere". A search must visit every state it can reach to prove
that (98,304 states, 14 s, for eight things in three places); the pairs take a few
milliseconds.

A pair holds together at the start when both are current values; a step reaches the pair
of any two values it sets, and of a value it sets with any value that holds together with
all its preconditions and is on a fluent the step leaves alone. Over-approximate, and so
sound for what it rules out: only the fluent values a condition's every row requires are
read (`tables.required`), and step limits are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable

from ido.planner.grounding import Grounded
from ido.planner.tables import required

Value = tuple[int, int]
"""A fluent value: (fluent, value index)."""


def goal_pairs_reachable(g: Grounded, actions: Iterable[int]) -> bool:
    """False when some two values the goal requires can never hold together with only
    `actions` (no plan exists); True when every such pair can (a plan may exist)."""
    return goal_conflict(g, actions) is None


def goal_conflict(g: Grounded, actions: Iterable[int]) -> tuple[Value, Value] | None:
    """Two values the goal requires that never hold together with only `actions`, the first
    such in the goal's order; a value that never holds at all comes first, as itself twice.
    None when every two can."""
    facts = _Facts(g)
    wanted = list(dict.fromkeys(v for table in g.goal for v in required(table).items()))
    together = _together(g, facts, sorted(actions))
    for value in wanted:
        if not together[facts.bit(*value)] >> facts.bit(*value) & 1:
            return value, value
    for i, first in enumerate(wanted):
        with_first = together[facts.bit(*first)]
        for second in wanted[:i]:
            if not with_first >> facts.bit(*second) & 1:
                return second, first
    return None


class _Facts:
    """Each fluent value as a bit: fluent f's value v is bit `base[f] + v`."""

    def __init__(self, g: Grounded) -> None:
        self.base: list[int] = []
        size = 0
        for fluent in g.fluents:
            self.base.append(size)
            size += len(fluent.values)
        self.size = size

    def bit(self, fluent: int, value: int) -> int:
        return self.base[fluent] + value

    def bits(self, values: Iterable[tuple[int, int]]) -> int:
        out = 0
        for fluent, value in values:
            out |= 1 << self.bit(fluent, value)
        return out

    def fluent(self, fluent: int, count: int) -> int:
        """Every value of `fluent` (it has `count`)."""
        return ((1 << count) - 1) << self.base[fluent]


def _together(g: Grounded, facts: _Facts, actions: list[int]) -> list[int]:
    """Per fact, the facts it can hold together with (itself too once it is reachable)."""
    start = facts.bits((f, 0) for f in range(len(g.fluents)))
    together = [start if start >> p & 1 else 0 for p in range(facts.size)]
    steps = []
    for a in actions:
        pre = facts.bits(v for table in g.pre[a] for v in required(table).items())
        sets = facts.bits(g.eff[a])
        touched = 0
        for fluent, _ in g.eff[a]:
            touched |= facts.fluent(fluent, len(g.fluents[fluent].values))
        steps.append((list(_ones(pre)), pre, sets, list(_ones(sets)), ~touched))
    changed = True
    while changed:
        changed = False
        # What holds at all, for steps with no preconditions: as of the round's start, which
        # may miss what this round reaches; the next round, which that change brings on,
        # catches up, and the last round changes nothing, so nothing is missed in the end.
        anything = sum(1 << p for p in range(facts.size) if together[p] >> p & 1)
        for pre_list, pre, sets, set_list, untouched in steps:
            with_all = anything
            for p in pre_list:
                with_all &= together[p]
            if pre & with_all != pre:
                continue  # two preconditions never hold together (or one never holds)
            reached = (with_all & untouched) | sets
            for q in set_list:
                new = reached & ~together[q]
                if not new:
                    continue
                changed = True
                together[q] |= new
                for f in _ones(new):
                    together[f] |= 1 << q
    return together


def _ones(bits: int) -> Iterable[int]:
    """The positions of the set bits of `bits`, lowest first."""
    while bits:
        low = bits & -bits
        yield low.bit_length() - 1
        bits ^= low
