"""Plans as partial orders: which steps must wait for which, and how long the whole takes.

Two steps *interfere* when one writes a fact the other reads or writes (a path read or
written overlaps: equal, or one inside the other). Steps that do not interfere commute:
running them in either order, or side by side, leaves the same facts. So a sequential plan
keeps its meaning when each step waits only for the earlier steps it interferes with, and
its elapsed time is the longest chain of waits weighted by latency: the critical path.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from ido.conditions import compile_condition

if TYPE_CHECKING:
    from ido.planner.types import Action

ROOT = ""  # what a condition reads when it reads `state` as a whole
_NONE: Mapping[str, Iterable[str]] = MappingProxyType({})


@dataclass(frozen=True)
class Footprint:
    """The facts an action reads (its conditions) and writes (its effects), as atom indices.

    Atoms are the paths of a set of actions; an action uses an atom when one of its own
    paths is the atom or contains it. Two actions' paths overlap exactly when they use a
    common atom, so interference is a set intersection.
    """

    reads: frozenset[int]
    writes: frozenset[int]

    def touches(self) -> frozenset[int]:
        return self.reads | self.writes


def paths_of(
    action: Action, makers: Mapping[str, Iterable[str]] = _NONE
) -> tuple[frozenset[str], frozenset[str]]:
    """The state paths `action`'s conditions read (ROOT for all of it) and its effects write.
    `makers`: per condition, the facts beside those it names that make a map it looks
    into (`Tabulator.makers`), which it reads as well: `!has(state.parcel.carrier)` holds
    after a step writing `parcel.weight` makes `parcel`, and not before."""
    reads: set[str] = set()
    for source in action.requires:
        found = compile_condition(source).state_paths
        reads.update((ROOT,) if found is None else found)
        reads.update(makers.get(source, ()))
    return frozenset(reads), frozenset(path for path, _ in action.effects)


def footprints(
    actions: Sequence[Action], makers: Mapping[str, Iterable[str]] = _NONE
) -> tuple[Footprint, ...]:
    """Per action, the atoms it reads and writes; atoms are the paths that can interfere."""
    paths = [paths_of(a, makers) for a in actions]
    written = {w for _, writes in paths for w in writes}
    ordered = sorted(written)

    def overlaps_a_write(read: str) -> bool:
        if read == ROOT:
            return bool(written)
        parts = read.split(".")
        if any(".".join(parts[:cut]) in written for cut in range(1, len(parts) + 1)):
            return True  # a write at the read path or above it
        at = bisect.bisect_left(ordered, read + ".")  # a write inside it
        return at < len(ordered) and ordered[at].startswith(read + ".")

    read = {r for reads, _ in paths for r in reads}
    atoms = sorted(written | {r for r in read if overlaps_a_write(r)})
    index = {atom: i for i, atom in enumerate(atoms)}
    # The paths some atom lies inside: only for those is `atoms` searched for what is in
    # them (most paths a condition reads are atoms themselves, with nothing inside).
    containers = {atom[:at] for atom in atoms for at, c in enumerate(atom) if c == "."}

    known: dict[frozenset[str], frozenset[int]] = {}  # actions share paths: work each out once

    def used(own: frozenset[str]) -> frozenset[int]:
        if own in known:
            return known[own]
        if ROOT in own:
            return known.setdefault(own, frozenset(range(len(atoms))))
        found: set[int] = set()
        for path in own:
            if path in index:
                found.add(index[path])
            if path not in containers:
                continue
            start = bisect.bisect_left(atoms, path + ".")
            end = bisect.bisect_left(atoms, path + "/")  # "/" sorts right after "."
            found.update(range(start, end))
        return known.setdefault(own, frozenset(found))

    return tuple(Footprint(used(reads), used(writes)) for reads, writes in paths)


def atom_count(prints: Sequence[Footprint]) -> int:
    """How many atoms a set of footprints uses (one past the highest index)."""
    return 1 + max((max(p.touches(), default=-1) for p in prints), default=-1)


def _inside(path: str, container: str) -> bool:
    """True when `path` is `container` or a fact within it."""
    return container in (ROOT, path) or path.startswith(container + ".")


def _overlap(a: str, b: str) -> bool:
    return _inside(a, b) or _inside(b, a)


def interferes(a: Footprint, b: Footprint) -> bool:
    """True when running `a` and `b` in different orders could differ."""
    return bool(a.writes & b.touches() or b.writes & a.touches())


class Neighbours:
    """Which of a set of footprints each one interferes with, computed on demand."""

    def __init__(self, prints: Sequence[Footprint]) -> None:
        self._prints = prints
        self._touchers: dict[int, list[int]] = {}
        self._writers: dict[int, list[int]] = {}
        for i, used in enumerate(prints):
            for atom in used.touches():
                self._touchers.setdefault(atom, []).append(i)
            for atom in used.writes:
                self._writers.setdefault(atom, []).append(i)
        self._cache: dict[int, frozenset[int]] = {}

    def __call__(self, i: int) -> frozenset[int]:
        if i not in self._cache:
            used = self._prints[i]
            found: set[int] = set()
            for atom in used.touches():
                found.update(self._writers.get(atom, ()))
            for atom in used.writes:
                found.update(self._touchers[atom])
            found.discard(i)
            self._cache[i] = frozenset(found)
        return self._cache[i]

    def waits_no_more(self, a: int, b: int) -> bool:
        """True when `a` in place of `b` interferes with no step `b` did not interfere with."""
        if self._prints[a].writes <= self._prints[b].writes and (
            self._prints[a].touches() <= self._prints[b].touches()
        ):
            return True
        return self(a) - {b} <= self(b)


def waits(prints: Sequence[Footprint]) -> tuple[tuple[int, ...], ...]:
    """Per step of a sequential plan, the earlier steps it must wait for, none implied twice.

    Step j waits for step i < j when they interfere and no step between them already
    carries the wait (i before k before j).
    """
    before: list[set[int]] = []  # every step each one transitively waits for
    direct: list[tuple[int, ...]] = []
    for j, mine in enumerate(prints):
        conflicts = [i for i in range(j) if interferes(prints[i], mine)]
        implied = set().union(*(before[i] for i in conflicts)) if conflicts else set()
        direct.append(tuple(i for i in conflicts if i not in implied))
        before.append(set(conflicts) | implied)
    return tuple(direct)


def schedule(latencies: Sequence[float], after: Sequence[Sequence[int]]) -> tuple[float, ...]:
    """Earliest start of each step when every step starts as soon as those it waits for end."""
    starts: list[float] = []
    for j, preds in enumerate(after):
        starts.append(max((starts[i] + latencies[i] for i in preds), default=0.0))
        if any(i >= j for i in preds):
            raise ValueError(f"step {j} waits for a later step: {preds}")
    return tuple(starts)


def critical_path(latencies: Sequence[float], after: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """The steps on a longest chain of waits, first to last (the earliest-listed on ties)."""
    if not latencies:
        return ()
    starts = schedule(latencies, after)
    ends = [s + lat for s, lat in zip(starts, latencies)]
    last = max(range(len(ends)), key=lambda j: (ends[j], -j))
    chain = [last]
    while after[chain[-1]]:
        j = chain[-1]
        chain.append(next(i for i in after[j] if abs(ends[i] - starts[j]) <= 1e-9))
    return tuple(reversed(chain))
