"""Condition truth tables: the facts a plan can change, and each condition as a function of them.

Conditions are CEL, which no solver reads. But a plan can only change the facts that
capabilities write (the *fluents*), and each fluent can only take its current value or a
value some effect writes. So every condition is a finite function of the fluents it reads,
and we tabulate it by evaluating the CEL on every combination. This is exact, not an
approximation, for conditions that name the facts they read as `state.a.b` paths.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ido.conditions import Condition, compile_condition, missing_tested_map, unset_fact
from ido.errors import PlanningError
from ido.planner.made_maps import makers
from ido.planner.types import Action
from ido.state import State, excerpt, get_path, has_path, overlaps, reach_into, sorted_json
from ido.text import ECHOED, echoed, shortened

MAX_TABLE_ROWS = 4096
_FLAG = re.compile(
    r"(?P<negated>!?)state\.(?P<path>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
)
"""A condition that is one fact's path, or its negation (the conditions of PDDL imports)."""


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class Fluent:
    """A fact some capability writes, with every value it can take (index 0: the current one)."""

    path: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Table:
    """A condition as a function of a few fluents: the rows (value indices) where it holds."""

    source: str
    fluents: tuple[int, ...]
    true_rows: tuple[tuple[int, ...], ...]
    false_rows: tuple[tuple[int, ...], ...]

    @property
    def constant(self) -> bool | None:
        if self.fluents:
            return None
        return bool(self.true_rows)


def required(table: Table) -> dict[int, int]:
    """The fluent values every row where `table` holds agrees on (none: it never holds)."""
    if not table.true_rows:
        return {}
    first = table.true_rows[0]
    return {
        f: first[n]
        for n, f in enumerate(table.fluents)
        if all(row[n] == first[n] for row in table.true_rows)
    }


_PLAIN = frozenset({type(None), bool, int, float, str})


def _json(value: Any) -> str:
    """The JSON text a table is known by and evaluated on (`default=str` for what JSON has
    no form for): keys, digests and evaluated values must all agree on it."""
    return sorted_json(value)


def value_key(value: Any) -> tuple[str, Any]:
    """A hashable identity of a JSON value: `1`, `1.0` and `true` stay apart, as in JSON."""
    if value is ABSENT:
        return ("absent", None)
    kind = type(value)
    if kind in _PLAIN:  # exact types: a bool is not an int here
        return (kind.__name__, value)
    return ("json", _json(value))


Rows = tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...], str | None]
"""A condition's table: the rows where it holds, where it does not, the error it raised."""

MAX_REMEMBERED_TABLES = 20_000
MAX_REMEMBERED_FLUENT_SETS = 1_000
_READS: dict[tuple[str, ...], dict[str, tuple[int, ...]]] = {}
"""Per set of fluent paths, the fluents each condition reads (a function of the two alone)."""
_Facts = tuple[tuple[str, tuple[Any, ...]], ...]
_ROWS: dict[tuple[str, tuple[bytes, ...], _Facts, _Facts], Rows] = {}
"""Tables already worked out, for every later grounding (of this or another run): the
conditions are pure, and their rows depend on nothing outside the key (its last part: the
makers of maps set, if any)."""


def forget_tables() -> None:
    """Drop the remembered condition tables, as a new state needs them worked out afresh (a
    benchmark's cold grounding). Which facts each condition reads stays known: it depends
    on the catalog alone."""
    _ROWS.clear()


class Tabulator:
    """Evaluates conditions on combinations of fluent values, memoised per source."""

    def __init__(
        self,
        state: Mapping[str, Any],
        fluents: Sequence[Fluent],
        written: Callable[[], Iterable[str]] = tuple,
    ) -> None:
        self._state = state
        self._written = written  # (called only when a condition fails now: see `_not_yet`)
        self._fluents = fluents
        self._paths = [f.path for f in fluents]  # sorted, as fluents_of returns them
        self._index = {p: i for i, p in enumerate(self._paths)}
        self._cache: dict[str, Table] = {}
        self._keys: dict[int, tuple[tuple[str, Any], ...]] = {}
        self._seen: dict[str | None, tuple[bytes, list[Any]]] = {}  # per path read
        if len(_READS) >= MAX_REMEMBERED_FLUENT_SETS:
            _READS.clear()
        self._reads = _READS.setdefault(tuple(self._paths), {})
        self.errors: dict[str, str] = {}
        self._unmade: dict[str, tuple[int, int]] = {}
        """Conditions with too many makers to read them: how many, and the rows they make."""
        self.makers: dict[str, tuple[str, ...]] = {}
        """Per condition whose value depends on maps a plan may make, the facts beside
        the ones it names that make them (`ido.planner.made_maps`)."""

    def value_keys(self, fluent: int) -> tuple[tuple[str, Any], ...]:
        """The fluent's values as `value_key`s, in order (worked out once per grounding)."""
        keys = self._keys.get(fluent)
        if keys is None:
            keys = self._keys[fluent] = tuple(map(value_key, self._fluents[fluent].values))
        return keys

    def reads(self, source: str) -> tuple[int, ...]:
        """The fluents a condition reads: each path's ancestors, itself and descendants
        (remembered for every grounding with the same fluents)."""
        found = self._reads.get(source)
        if found is None:
            found = self._reads[source] = self._overlap(compile_condition(source).state_paths)
        return found

    def _overlap(self, paths: tuple[str, ...] | None) -> tuple[int, ...]:
        """`reads`, worked out: the fluents at, above or below each of `paths`."""
        if paths is None:
            return tuple(range(len(self._fluents)))
        found: set[int] = set()
        for path in paths:
            parts = path.split(".")
            for cut in range(1, len(parts) + 1):
                hit = self._index.get(".".join(parts[:cut]))
                if hit is not None:
                    found.add(hit)
            start = bisect.bisect_left(self._paths, path + ".")
            for i in range(start, len(self._paths)):
                if not self._paths[i].startswith(path + "."):
                    break
                found.add(i)
        return tuple(sorted(found))

    def table(self, source: str, where: str) -> Table:
        if source in self._cache:
            return self._cache[source]
        reads = self.reads(source)
        table = self._flag(source, reads)
        if table is not None:
            self._cache[source] = table
            return table
        condition = compile_condition(source)
        paths = condition.state_paths
        made = [] if paths is None else makers(self._state, paths, self._paths, reads)
        self._too_many(source, where, reads)
        size = _rows_over(self._fluents, [*reads, *(f for f, _ in made)])
        if made and size > MAX_TABLE_ROWS:
            # Too many facts make its maps to tabulate: it is read as before, without them
            # (a `has()` there stays an error, said with why), rather than refused.
            self._unmade[source] = (len(made), size)
            made = []
        # Everything the rows depend on: the condition, what it sees of the state (see
        # `_look`), and the values each fact it reads can take (in the order the rows
        # number them).
        seen = [self._look(None)] if paths is None else [self._look(p) for p in paths]
        key = (
            source,
            tuple(digest for digest, _ in seen),
            tuple((self._paths[i], self.value_keys(i)) for i in reads),
        )
        sight = None
        kinds = sorted({m for _, m in made}, key=sorted)
        # Per set of maps the makers make (by representatives: which maker makes them is
        # all that counts), the rows over the facts read.
        by_maps: dict[frozenset[int], Rows] = {}
        for chosen in _subsets(len(kinds)):
            fixed = tuple(next(f for f, m in made if m == kinds[k]) for k in sorted(chosen))
            fixed_key = (*key, tuple((self._paths[f], self.value_keys(f)) for f in fixed))
            rows = _ROWS.get(fixed_key)
            if rows is None:
                if sight is None:
                    sight = _as_json(
                        self._state if paths is None else excerpt(paths, [r for _, r in seen])
                    )
                rows = self._rows(condition, sight, reads, fixed)
                if len(_ROWS) >= MAX_REMEMBERED_TABLES:
                    _ROWS.clear()
                _ROWS[fixed_key] = rows
            by_maps[chosen] = rows
        true_rows, false_rows, error = by_maps[frozenset()]
        if any(rows[0] != true_rows for rows in by_maps.values()):
            table = self._with_makers(source, reads, made, kinds, by_maps)
        else:
            table = Table(source, reads, true_rows, false_rows)
        if error is not None and not self._not_yet(error, paths, source, bool(table.true_rows)):
            error += self._given_up(error, paths, source)
            self.errors.setdefault(f"{where}: {shortened(source, ECHOED)}", error)
        self._cache[source] = table
        return table

    def _too_many(self, source: str, where: str, reads: Sequence[int]) -> None:
        """Refuse a condition whose table would have more than `MAX_TABLE_ROWS` rows."""
        size = _rows_over(self._fluents, reads)
        if size > MAX_TABLE_ROWS:
            names = ", ".join(self._fluents[i].path for i in reads)
            raise PlanningError(
                f"{where}: condition {echoed(source)} reads {len(reads)} changing facts ({names}) "
                f"with {size} combinations; split it into smaller conditions"
            )

    def _with_makers(
        self,
        source: str,
        reads: tuple[int, ...],
        made: list[tuple[int, frozenset[str]]],
        kinds: list[frozenset[str]],
        by_maps: dict[frozenset[int], Rows],
    ) -> Table:
        """The table of a condition whose value depends on maps the `made` fluents make
        (`ido.planner.made_maps`): over the facts it reads and those, each row's verdict
        the one for the maps its set makers make."""
        fluents = tuple(sorted({*reads, *(f for f, _ in made)}))
        self.makers[source] = tuple(self._paths[f] for f, _ in made)
        kind_of = {f: kinds.index(m) for f, m in made}
        read = [f not in kind_of for f in fluents]
        holds = {k: set(rows[0]) for k, rows in by_maps.items()}
        true_rows: list[tuple[int, ...]] = []
        false_rows: list[tuple[int, ...]] = []
        domains = [range(len(self._fluents[f].values)) for f in fluents]
        for row in itertools.product(*domains):
            read_row = tuple(d for d, r in zip(row, read) if r)
            chosen = frozenset(kind_of[f] for f, d in zip(fluents, row) if d and f in kind_of)
            (true_rows if read_row in holds[chosen] else false_rows).append(row)
        return Table(source, fluents, tuple(true_rows), tuple(false_rows))

    def _not_yet(
        self, error: str, paths: tuple[str, ...] | None, source: str, can_hold: bool
    ) -> bool:
        """Whether a condition's `error` now is only a fact not set yet that a capability
        writes, as an effect or under its output (a goal `state.order.carrier == 'dhl'`
        before a step sets `order.carrier`): it does not hold yet, which is no error. A
        fact nothing writes (`order.carier`, a slip the load warns of in a goal), a type
        error, and any other error stay errors. So does a `has()` test in a map nothing
        makes (`has(state.order.coupon)` without `order`: the guard written wrong); when a
        step writes inside that map, the test is only not yet true, unless no map a plan
        makes lets the condition hold (`can_hold`: its table has a true row): then the
        missing map is why it never holds, and is said."""
        unset = unset_fact(error, paths, self._state, source)
        if unset is None:
            made = missing_tested_map(error, paths, self._state, source)
            if made is None or source in self._unmade or not can_hold:
                return False
            inside = made + "."
            return any(p.startswith(inside) for p in (*self._paths, *self._written()))
        return any(overlaps(unset, p) for p in self._paths) or any(
            overlaps(unset, p) for p in self._written()
        )

    def _given_up(self, error: str, paths: tuple[str, ...] | None, source: str) -> str:
        """What to add to the `has()` error of a condition read without the facts that make
        its map (too many): that a plan may be missed, and the way out. Else nothing."""
        unmade = self._unmade.get(source)
        missing = None if unmade is None else missing_tested_map(error, paths, self._state, source)
        if unmade is None or missing is None:
            return ""
        count, size = unmade
        return (
            f" (read as if no step made '{missing}': {count} facts capabilities write inside "
            f"maps it looks into would give {size:,} combinations, over {MAX_TABLE_ROWS:,}, "
            f"so a plan that makes '{missing}' may be missed; give '{missing}' in the state "
            "(the intent's given) to read it exactly)"
        )

    def _flag(self, source: str, reads: tuple[int, ...]) -> Table | None:
        """The table of `state.a.b` or `!state.a.b` on a fluent whose every value is a
        boolean, without CEL: such a condition holds exactly where the fluent is true (or
        false). None for any other condition (and for a fluent that may hold something
        else, where CEL's verdict, an error, is CEL's to give)."""
        match = _FLAG.fullmatch(source)
        if match is None or len(reads) != 1 or self._paths[reads[0]] != match["path"]:
            return None
        values = self._fluents[reads[0]].values
        if not all(type(v) is bool for v in values):
            return None
        wanted = not match["negated"]
        true_rows = tuple((n,) for n, v in enumerate(values) if v is wanted)
        false_rows = tuple((n,) for n, v in enumerate(values) if v is not wanted)
        return Table(source, reads, true_rows, false_rows)

    def _look(self, path: str | None) -> tuple[bytes, list[Any]]:
        """How far a condition reading `path` sees into the state (see `reach_into`; None: all
        of it), and a digest of it, worked out once per path per grounding. The excerpt a
        condition is evaluated on is made from these alone, so equal digests mean equal
        excerpts. (A key holds 32 bytes, however large the part of the state is.)"""
        found = self._seen.get(path)
        if found is None:
            reach = [self._state] if path is None else reach_into(self._state, path)
            text = _json(reach).encode()
            # Short texts stand for themselves (a digest is 32 bytes: the two never meet).
            found = (text if len(text) < 32 else hashlib.sha256(text).digest(), reach)
            self._seen[path] = found
        return found

    def _rows(
        self,
        condition: Condition,
        base: State,
        reads: tuple[int, ...],
        fixed: tuple[int, ...] = (),
    ) -> Rows:
        """The rows over `reads` where the condition holds and where not, each with the
        `fixed` fluents (makers of maps) set to their first written value."""
        domains = [range(len(self._fluents[i].values)) for i in reads]
        true_rows: list[tuple[int, ...]] = []
        false_rows: list[tuple[int, ...]] = []
        error = None
        # Each value as JSON has it: the key tells values apart as JSON does (`value_key`),
        # so a tuple and a list that JSON writes alike must be evaluated alike too.
        paths = [self._fluents[i].path for i in reads]
        values = [[_as_json(v) for v in self._fluents[i].values] for i in reads]
        made = [(self._fluents[i].path, _as_json(self._fluents[i].values[1])) for i in fixed]
        for row in itertools.product(*domains):
            read = zip(paths, (vs[d] for vs, d in zip(values, row)))
            state = _with_values(base, itertools.chain(read, made))
            verdict = condition.evaluate({"state": state}, excerpt=True)
            (true_rows if verdict.holds else false_rows).append(tuple(row))
            if verdict.error and not any(row) and error is None:
                error = verdict.error
        return tuple(true_rows), tuple(false_rows), error


def _rows_over(fluents: Sequence[Fluent], reads: Iterable[int]) -> int:
    """How many rows a table over the `reads` fluents has."""
    size = 1
    for i in reads:
        size *= len(fluents[i].values)
    return size


def _subsets(n: int) -> list[frozenset[int]]:
    """Every subset of range(n), the empty one first."""
    return [frozenset(k for k in range(n) if bits >> k & 1) for bits in range(1 << n)]


def _as_json(value: Any) -> Any:
    """`value` as JSON reads it back from `_json`."""
    if value is ABSENT or type(value) in _PLAIN:
        return value
    return json.loads(_json(value))


def _with_values(base: State, values: Iterable[tuple[str, Any]]) -> State:
    """`base` with each fact (path, value) set, `base` itself unchanged: only the mappings
    on the way to a fact are copied (once), the rest is shared. (Conditions only read.)"""
    state = dict(base)
    fresh: set[str] = set()  # paths of the mappings copied already
    for path, value in values:
        parts = path.split(".")
        node = state
        for cut in range(1, len(parts)):
            prefix = ".".join(parts[:cut])
            child: Any = node.get(parts[cut - 1])  # a dict of ours when prefix is fresh
            if prefix not in fresh:
                if isinstance(child, dict):
                    child = dict(child)
                elif value is ABSENT:  # nothing there to delete
                    break
                else:  # as set_path does: a missing or non-mapping parent is replaced
                    child = {}
                node[parts[cut - 1]] = child
                fresh.add(prefix)
            node = child
        else:
            if value is ABSENT:
                node.pop(parts[-1], None)
            else:
                node[parts[-1]] = value
    return state


def fluents_of(state: Mapping[str, Any], actions: Sequence[Action]) -> tuple[Fluent, ...]:
    """Every fact the actions write, with its current value first and each written value."""
    domains: dict[str, dict[tuple[str, Any], Any]] = {}
    for action in actions:
        for path, value in action.effects:
            if path not in domains:
                current = get_path(state, path) if has_path(state, path) else ABSENT
                domains[path] = {value_key(current): current}
            domains[path].setdefault(value_key(value), value)
    paths = sorted(domains)
    for a, b in itertools.pairwise(paths):
        if b.startswith(a + "."):
            raise PlanningError(
                f"capabilities write both '{a}' and '{b}'; effects must not nest inside each other"
            )
    return tuple(Fluent(p, tuple(domains[p].values())) for p in paths)
