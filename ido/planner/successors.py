"""Which actions apply in a grounded state, found by lookup rather than by testing each,
and the state one of them leads to: the search's successor generation."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter

from ido.planner.grounding import Grounded
from ido.planner.tables import Table, required

State = tuple[int, ...]
Condition = tuple[tuple[int, ...], frozenset[tuple[int, ...]]]


@dataclass(frozen=True)
class Check:
    """Tables that must all hold, compiled: the fluent values their rows agree on are
    compared in one go (for a table that holds on one row, that is all of it); tables of
    several rows are then looked up row by row (a table that holds on no row never does)."""

    read: Callable[[State], object] | None
    values: object
    rows: tuple[Condition, ...]

    def holds(self, state: State) -> bool:
        if self.read is not None and self.read(state) != self.values:
            return False
        return not self.rows or all(
            tuple(state[f] for f in fluents) in rows for fluents, rows in self.rows
        )


def fixed_values(tables: Sequence[Table]) -> list[tuple[int, int]]:
    """The (fluent, value) pairs every row where the tables hold agrees on."""
    return [fact for table in tables for fact in required(table).items()]


def compile_check(tables: Sequence[Table], fixed: list[tuple[int, int]] | None = None) -> Check:
    """`fixed`: the tables' `fixed_values`, when the caller has it already."""
    fixed = fixed_values(tables) if fixed is None else fixed
    rows = tuple((t.fluents, frozenset(t.true_rows)) for t in tables if len(t.true_rows) != 1)
    if not fixed:
        return Check(None, None, rows)
    fluents = [f for f, _ in fixed]
    values = [v for _, v in fixed]
    # itemgetter of one index gives the item, of several a tuple: compare like with like.
    wanted: object = values[0] if len(values) == 1 else tuple(values)
    return Check(itemgetter(*fluents), wanted, rows)


class Successors:
    """Which actions may apply in a state, in index order, without testing every action:
    each action is filed under one fluent value its preconditions fix (`required`), one
    that some step changes if it can: a value nothing changes holds in every state the
    action could ever apply in, so filing under it would sort nothing out."""

    def __init__(self, g: Grounded, actions: Sequence[int]) -> None:
        fixed = {a: fixed_values(g.pre[a]) for a in actions}
        self.tests = {a: compile_check(g.pre[a], fixed[a]) for a in actions}
        self.always: list[int] = []
        self.keyed: dict[int, dict[int, list[int]]] = {}
        changed = {f for a in actions for f, _ in g.eff[a]}
        wanted = Counter(fact for a in actions for fact in fixed[a])
        for a in actions:
            if not fixed[a]:
                self.always.append(a)
                continue
            f, v = min(fixed[a], key=lambda fact: (fact[0] not in changed, wanted[fact]))
            self.keyed.setdefault(f, {}).setdefault(v, []).append(a)
        # The keyed fluents' values are read in one go and looked up by `map`, not a loop.
        fluents = list(self.keyed)
        self._read = (lambda state: ()) if not fluents else _reader(fluents)
        self._by_value = [self.keyed[f] for f in fluents]

    def of(self, state: State) -> list[int]:
        """The actions whose preconditions hold in `state`, in index order."""
        keyed = filter(None, map(dict.get, self._by_value, self._read(state)))
        found = [*self.always, *itertools.chain.from_iterable(keyed)]
        found.sort()
        tests = self.tests
        return [a for a in found if tests[a].holds(state)]


def _reader(fluents: Sequence[int]) -> Callable[[State], tuple[int, ...]]:
    """A function giving the values of `fluents` in a state, as a tuple even for one."""
    if len(fluents) == 1:
        only = fluents[0]
        return lambda state: (state[only],)
    return itemgetter(*fluents)


def apply_step(state: State, effects: tuple[tuple[int, int], ...]) -> State:
    values = list(state)
    for f, d in effects:
        values[f] = d
    return tuple(values)
