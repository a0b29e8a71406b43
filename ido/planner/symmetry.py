"""Objects a problem cannot tell apart, and a state's stand-in among the states that differ
only by which of them is where (`ido.planner.astar` prunes paths by it).

PDDL's fluents are named by their predicate and objects (`at.ball3.rooma`): two objects
whose exchange maps every fluent to another with the same values, the start to itself, the
goal to itself and every action to one with the same conditions, effects and weight are
interchangeable, and so is any reordering of a set of such objects (exchanges of two
compose into every reordering). The names only suggest which exchanges to try: each is
checked against the grounded problem itself, so a catalog whose names mean nothing of the
sort gains nothing and loses nothing. From states that are reorderings of each other the
cheapest way to the goal costs the same (the goal and the actions are reordered alike),
so a path to a state may be dropped where a path at least as cheap and as short reaches a
reordering of it: Gripper's balls, all in one room and all wanted in the other, make
states that differ only by which balls have moved, one of which the search then expands.
"""

from __future__ import annotations

from collections.abc import Sequence

from ido.planner.grounding import Grounded
from ido.planner.successors import State
from ido.planner.tables import Table

MOST_OBJECTS = 200
"""Objects with the same part in the fluents' names tried against each other, at most: past
it, finding them costs more than a large problem's search would gain."""

MOST_WORK = 300_000
"""Comparisons the exchanges tried may make, counted over all of them, at most (a count,
not seconds, so the search stays the same on any machine): per exchange, one per fluent
renamed and, per action whose fluents it moves, one plus its conditions' rows (a condition
over ten facts has up to 1,023). A catalog of thousands of actions whose objects each look
alike and each differ would otherwise try every pair; counted in actions alone, 600
capabilities each needing any of ten facts took 77 s."""


class Reorder:
    """A state's stand-in among its reorderings (`key`): per set of interchangeable objects,
    the objects' own values sorted, as if the objects had been reordered so. Every state
    maps to a reordering of itself, so two states with the same key are reorderings of
    each other."""

    def __init__(self, classes: list[list[list[int]]]) -> None:
        # Per class, per object (in one fixed order), the bits of its fluents' values, in
        # the same order of (fluent name, value) for every object of the class.
        self.classes = classes
        self.masks = [sum(1 << b for bits in objects for b in bits) for objects in classes]
        # Per object, the mask of its bits: its values in a state are `state & mask`, and
        # what they are as the class's common order reads them (`_read`) is looked up, as is
        # where a slot's values go (`_put`): an object takes few values, and a search meets
        # them again and again.
        self._mine = [[sum(1 << b for b in bits) for bits in objects] for objects in classes]
        self._read: list[list[dict[int, int]]] = [[{} for _ in objects] for objects in classes]
        self._put: list[list[dict[int, int]]] = [[{} for _ in objects] for objects in classes]

    def key(self, state: State) -> State:
        """The reordering of `state` whose objects' values are sorted, class by class."""
        for c, mask in enumerate(self.masks):
            objects, reads = self.classes[c], self._read[c]
            own = []
            for n, mine in enumerate(self._mine[c]):
                values = state & mine
                p = reads[n].get(values)
                if p is None:
                    p = reads[n][values] = sum(
                        1 << j for j, b in enumerate(objects[n]) if values >> b & 1
                    )
                own.append(p)
            own.sort()
            state &= ~mask
            put = self._put[c]
            for slot, p in enumerate(own):
                placed = put[slot].get(p)
                if placed is None:
                    placed = put[slot][p] = sum(
                        1 << b for j, b in enumerate(objects[slot]) if p >> j & 1
                    )
                state |= placed
        return state


def reorder(g: Grounded, actions: Sequence[int], weight: dict[int, float]) -> Reorder | None:
    """The interchangeable objects of `g` with `actions` of `weight` (see the module), as a
    `Reorder`; None when there are none (or the names are not a predicate and its objects)."""
    parts = [f.path.split(".") for f in g.fluents]
    at = {tuple(p): i for i, p in enumerate(parts)}
    # Where each name appears: objects appearing alike are the ones worth trying.
    where: dict[str, list[tuple[str, int]]] = {}
    for p in parts:
        for n, name in enumerate(p[1:], 1):
            where.setdefault(name, []).append((p[0], n))
    alike: dict[tuple[tuple[str, int], ...], list[str]] = {}
    for name, seen in where.items():
        alike.setdefault(tuple(sorted(seen)), []).append(name)
    signatures = {_signature(g, a, weight[a], None) for a in actions}
    # Per fluent, the actions that read or write it: an exchange that moves none of an
    # action's fluents maps it to itself, so only those it moves are compared (and counted).
    touching: dict[int, list[int]] = {}
    for a in actions:
        for f in {f for t in g.pre[a] for f in t.fluents} | {f for f, _ in g.eff[a]}:
            touching.setdefault(f, []).append(a)
    rows = {a: 1 + sum(len(t.true_rows) for t in g.pre[a]) for a in actions}
    goal = frozenset(_table(t, None) for t in g.goal)
    classes: list[list[list[int]]] = []
    work = 0
    for names in alike.values():
        if len(names) < 2 or len(names) > MOST_OBJECTS:
            continue
        groups: list[list[str]] = []
        for name in sorted(names):
            for group in groups:
                if work >= MOST_WORK:  # given up: what is found so far stands
                    break
                work += len(parts)
                swap = _swap(parts, at, g, group[0], name)
                if swap is None:
                    continue
                moved = sorted(
                    {a for f, j in enumerate(swap) if f != j for a in touching.get(f, ())}
                )
                work += sum(rows[a] for a in moved)
                if _keeps(g, moved, weight, swap, signatures, goal):
                    group.append(name)
                    break
            else:
                groups.append([name])
        for group in groups:
            objects = _bits(g, parts, group) if len(group) > 1 else None
            if objects is not None:
                classes.append(objects)
    return Reorder(classes) if classes else None


def _swap(
    parts: list[list[str]], at: dict[tuple[str, ...], int], g: Grounded, one: str, other: str
) -> list[int] | None:
    """Each fluent's index after `one` and `other` are exchanged in every name; None when a
    fluent has no counterpart with the same values."""
    turned = {one: other, other: one}
    mapped = []
    for i, p in enumerate(parts):
        j = at.get((p[0], *[turned.get(name, name) for name in p[1:]]))
        if j is None or g.fluents[j].values != g.fluents[i].values:
            return None
        mapped.append(j)
    return mapped


def _table(t: Table, swap: list[int] | None) -> frozenset[frozenset[tuple[int, int]]]:
    """A condition as the set of its rows, each the (fluent, value) pairs it holds on."""
    fluents = t.fluents if swap is None else [swap[f] for f in t.fluents]
    return frozenset(frozenset(zip(fluents, row, strict=True)) for row in t.true_rows)


def _signature(g: Grounded, a: int, weight: float, swap: list[int] | None) -> object:
    eff = g.eff[a] if swap is None else [(swap[f], v) for f, v in g.eff[a]]
    return (frozenset(_table(t, swap) for t in g.pre[a]), frozenset(eff), weight)


def _keeps(
    g: Grounded,
    actions: Sequence[int],
    weight: dict[int, float],
    swap: list[int],
    signatures: set[object],
    goal: frozenset[frozenset[frozenset[tuple[int, int]]]],
) -> bool:
    """Whether the exchange maps the goal to itself and each of `actions` (those whose
    fluents it moves: the others it maps to themselves) to one alike."""
    if frozenset(_table(t, swap) for t in g.goal) != goal:
        return False
    return all(_signature(g, a, weight[a], swap) in signatures for a in actions)


def _bits(g: Grounded, parts: list[list[str]], group: list[str]) -> list[list[int]] | None:
    """Per object of `group`, the bits of its fluents' values, in one order for all; None
    when a fluent names two of them (then their values are not the objects' own)."""
    members = set(group)
    own: dict[str, dict[tuple[str, ...], int]] = {name: {} for name in group}
    for i, p in enumerate(parts):
        named = [n for n, name in enumerate(p) if n and name in members]
        if len(named) > 1:
            return None
        if named:
            n = named[0]
            own[p[n]][(*p[:n], "", *p[n + 1 :])] = i
    keys = sorted(own[group[0]])
    packing = g.packing
    return [
        [packing.bit(own[name][k], v) for k in keys for v in range(packing.width[own[name][k]])]
        for name in group
    ]
