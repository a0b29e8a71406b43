"""Which actions apply in a grounded state, found by lookup rather than by testing each,
and the state one of them leads to: the search's successor generation, over states packed
into ints (`ido.planner.bits`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ido.planner.bits import Packing, ones
from ido.planner.grounding import Grounded
from ido.planner.tables import Table, required

State = int
"""A state as a bitset: a bit per fluent value, the values it has set (`Packing`)."""


@dataclass(frozen=True)
class Check:
    """Tables that must all hold, compiled: the fluent values their rows agree on are one
    mask, compared in one go (for a table that holds on one row, that is all of it); tables
    of several rows are then looked up row by row (a table that holds on no row never does)."""

    mask: int
    rows: tuple[tuple[int, frozenset[int]], ...]

    def holds(self, state: State) -> bool:
        mask = self.mask
        if state & mask != mask:
            return False
        return not self.rows or all(state & fields in rows for fields, rows in self.rows)


def fixed_values(tables: Sequence[Table]) -> list[tuple[int, int]]:
    """The (fluent, value) pairs every row where the tables hold agrees on."""
    return [fact for table in tables for fact in required(table).items()]


def compile_check(
    packing: Packing, tables: Sequence[Table], fixed: list[tuple[int, int]] | None = None
) -> Check:
    """`fixed`: the tables' `fixed_values`, when the caller has it already."""
    fixed = fixed_values(tables) if fixed is None else fixed
    rows = tuple(packing.table(t) for t in tables if len(t.true_rows) != 1)
    return Check(packing.facts(fixed), rows)


KNOWN_CHECK = 2_000
"""Lookups after which `Successors` stops remembering the actions found per state as the
preconditions read it, unless most were found there. Where facts no step needs tell states
apart (rovers: the data sent home), many states allow the same actions: rovers p05's first
30,000 expansions read 5,541 states so, and look up the rest. Where every fact is needed
(gripper, driverlog, depot), no two states are alike and the lookups would be waste."""


class Successors:
    """Which actions may apply in a state, in index order, without testing every action:
    each action is filed under one fluent value its preconditions fix (`required`), one
    that some step changes if it can: a value nothing changes holds in every state the
    action could ever apply in, so filing under it would sort nothing out. A fluent value
    is a bit of the state, so the actions to test are those filed under its bits set."""

    def __init__(self, g: Grounded, actions: Sequence[int], packing: Packing) -> None:
        known: dict[int, list[tuple[int, int]]] = {}  # per table: conditions recur
        fixed: dict[int, list[tuple[int, int]]] = {}
        for a in actions:
            fixed[a] = facts = []
            for table in g.pre[a]:
                found = known.get(id(table))
                if found is None:
                    found = known[id(table)] = list(required(table).items())
                facts += found  # (`fixed_values`, each table's worked out once)
        self.tests = {a: compile_check(packing, g.pre[a], fixed[a]) for a in actions}
        self.always: list[int] = []
        self.keyed: dict[int, list[int]] = {}
        """The actions filed under each fluent value, by its bit."""
        changed = {f for a in actions for f, _ in g.eff[a]}
        wanted = Counter(fact for a in actions for fact in fixed[a])
        for a in actions:
            if not fixed[a]:
                self.always.append(a)
                continue
            f, v = min(fixed[a], key=lambda fact: (fact[0] not in changed, wanted[fact]))
            self.keyed.setdefault(packing.bit(f, v), []).append(a)
        self.filed = sum(1 << bit for bit in self.keyed)
        """The bits that have actions filed under them."""
        # Most preconditions are facts alone, one mask: tested inline by `find`, and only
        # the actions with tables of several rows asked `Check.holds`.
        self.masks = {a: self.tests[a].mask for a in actions}
        self.masked = {
            bit: [(a, self.masks[a]) for a in filed] for bit, filed in self.keyed.items()
        }
        """`keyed` with each action's mask beside it: tested as they are gathered, so that
        only the actions that pass are sorted (in depot p03's first 5,000 expansions, a
        quarter of those gathered)."""
        self.always_masked = [(a, self.masks[a]) for a in self.always]
        self.rowed = {a: self.tests[a] for a in actions if self.tests[a].rows}
        self.read = 0
        """The bits any precondition reads: two states alike on them allow the same actions."""
        for check in self.tests.values():
            self.read |= check.mask
            for fields, _ in check.rows:
                self.read |= fields
        self.known: dict[int, list[int]] | None = {}
        """The actions found per state as the preconditions read it (`read`), while that
        pays: None once `KNOWN_CHECK` lookups found fewer than half there."""
        self.asked = 0

    def of(self, state: State) -> list[int]:
        """The actions whose preconditions hold in `state`, in index order (a list the
        caller must not change: it may be handed out again)."""
        known = self.known
        if known is None:
            return self.find(state)
        read = state & self.read
        found = known.get(read)
        if found is None:
            found = known[read] = self.find(state)
        self.asked += 1
        if self.asked == KNOWN_CHECK and len(known) * 2 > KNOWN_CHECK:
            self.known = None  # states seldom alike on what is read: not worth the lookups
        return found

    def find(self, state: State) -> list[int]:
        """`of`, worked out."""
        masked = self.masked
        found = [
            a for bit in ones(state & self.filed) for a, mask in masked[bit] if state & mask == mask
        ]
        found += [a for a, mask in self.always_masked if state & mask == mask]
        found.sort()
        rowed = self.rowed
        if not rowed:
            return found
        return [a for a in found if a not in rowed or rowed[a].holds(state)]


def apply_step(state: State, step: tuple[int, int]) -> State:
    """The state after a step whose effects are `step` (`Packing.step`)."""
    keep, put = step
    return state & keep | put
