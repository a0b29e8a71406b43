"""Ground a Task into a finite-domain problem: fact domains, condition truth tables, pruning.

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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ido.conditions import Condition, compile_condition
from ido.errors import PlanningError
from ido.planner.order import Footprint, Neighbours, footprints
from ido.planner.types import Action, Limits, Rejection, Task, Weights
from ido.state import State, get_path, has_path, set_path

MAX_TABLE_ROWS = 4096
MAX_HORIZON = 1_000_000


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


@dataclass(frozen=True)
class Grounded:
    """A Task in finite-domain form, restricted to the actions that can matter."""

    fluents: tuple[Fluent, ...]
    actions: tuple[Action, ...]
    pre: tuple[tuple[Table, ...], ...]
    eff: tuple[tuple[tuple[int, int], ...], ...]
    earliest: tuple[int, ...]
    goal: tuple[Table, ...]
    unreachable_goal: tuple[str, ...]
    rejections: tuple[Rejection, ...]
    errors: tuple[str, ...]
    dominator: tuple[str | None, ...]
    """Per action, the action that dominates it: plans need it only when that one is left out."""
    footprints: tuple[Footprint, ...]
    """Per action, the facts it reads and writes: which steps may run side by side."""
    horizon: int
    """Enough steps for an optimal plan. Scores, costs, latencies and risks are never negative,
    so a step that changes no fact that is read can be dropped, and so can a loop back to a
    state seen before: an optimal plan visits at most every state once, and when every fact
    only ever changes to one value (monotone), it changes each at most once."""

    @cached_property
    def position(self) -> dict[str, int]:
        """Each action's index in `actions`, by name."""
        return {action.name: a for a, action in enumerate(self.actions)}

    @cached_property
    def needs(self) -> tuple[frozenset[tuple[int, int]], ...]:
        """Per action, the fluent values (other than the current ones) its preconditions
        require before it can run; worked out once per grounding (the landmark bounds of
        every solve of a decision read them), and once per kind: a kind shares its tables."""
        memo: dict[int, frozenset[tuple[int, int]]] = {}
        out = []
        for tables in self.pre:
            found = memo.get(id(tables))
            if found is None:
                found = frozenset(f for t in tables for f in required(t).items() if f[1] != 0)
                memo[id(tables)] = found
            out.append(found)
        return tuple(out)

    @cached_property
    def monotone(self) -> bool:
        """Whether every fact only ever changes to one value, other than its value now: then
        a fact once changed stays so, and no optimal plan has two steps with the same
        effects (the second would change nothing)."""
        return _monotone(_written(len(self.fluents), self.eff))


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


def _key(value: Any) -> tuple[str, Any]:
    """A hashable identity of a JSON value: `1`, `1.0` and `true` stay apart, as in JSON."""
    if value is ABSENT:
        return ("absent", None)
    kind = type(value)
    if kind in _PLAIN:  # exact types: a bool is not an int here
        return (kind.__name__, value)
    return ("json", json.dumps(value, sort_keys=True, default=str))


Rows = tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...], str | None]
"""A condition's table: the rows where it holds, where it does not, the error it raised."""

MAX_REMEMBERED_TABLES = 20_000
_ROWS: dict[tuple[str, bytes, tuple[tuple[str, tuple[Any, ...]], ...]], Rows] = {}
"""Tables already worked out, for every later grounding (of this or another run): the
conditions are pure, and their rows depend on nothing outside the key."""


def forget_tables() -> None:
    """Drop the remembered condition tables (a benchmark's cold start)."""
    _ROWS.clear()


class _Tabulator:
    """Evaluates conditions on combinations of fluent values, memoised per source."""

    def __init__(self, state: Mapping[str, Any], fluents: Sequence[Fluent]) -> None:
        self._state = state
        self._fluents = fluents
        self._paths = [f.path for f in fluents]  # sorted, as fluents_of returns them
        self._index = {p: i for i, p in enumerate(self._paths)}
        self._cache: dict[str, Table] = {}
        self._keys: dict[int, tuple[tuple[str, Any], ...]] = {}
        self.errors: dict[str, str] = {}

    def _value_keys(self, fluent: int) -> tuple[tuple[str, Any], ...]:
        """The fluent's values as `_key`s, in order (worked out once per grounding)."""
        keys = self._keys.get(fluent)
        if keys is None:
            keys = self._keys[fluent] = tuple(map(_key, self._fluents[fluent].values))
        return keys

    def reads(self, source: str) -> tuple[int, ...]:
        """The fluents a condition reads: each path's ancestors, itself and descendants."""
        paths = compile_condition(source).state_paths
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
        condition = compile_condition(source)
        domains = [range(len(self._fluents[i].values)) for i in reads]
        size = 1
        for d in domains:
            size *= len(d)
        if size > MAX_TABLE_ROWS:
            names = ", ".join(self._fluents[i].path for i in reads)
            raise PlanningError(
                f"{where}: condition {source!r} reads {len(reads)} changing facts ({names}) "
                f"with {size} combinations; split it into smaller conditions"
            )
        # What the condition sees of the state, as plain JSON.
        base = json.dumps(_excerpt(self._state, condition.state_paths), sort_keys=True, default=str)
        # Everything the rows depend on: the condition, what it sees of the state, and the
        # values each fact it reads can take (in the order the rows number them).
        # (A digest of the state excerpt: a key holds 32 bytes of it, however large it is.)
        key = (
            source,
            hashlib.sha256(base.encode()).digest(),
            tuple((self._paths[i], self._value_keys(i)) for i in reads),
        )
        rows = _ROWS.get(key)
        if rows is None:
            rows = self._rows(condition, json.loads(base), reads, domains)
            if len(_ROWS) >= MAX_REMEMBERED_TABLES:
                _ROWS.clear()
            _ROWS[key] = rows
        true_rows, false_rows, error = rows
        if error is not None:
            self.errors.setdefault(f"{where}: {source}", error)
        table = Table(source, reads, true_rows, false_rows)
        self._cache[source] = table
        return table

    def _rows(
        self,
        condition: Condition,
        base: State,
        reads: tuple[int, ...],
        domains: list[range],
    ) -> Rows:
        true_rows: list[tuple[int, ...]] = []
        false_rows: list[tuple[int, ...]] = []
        error = None
        for row in itertools.product(*domains):
            state = _with_values(base, [(self._fluents[i], v) for i, v in zip(reads, row)])
            verdict = condition.evaluate({"state": state})
            (true_rows if verdict.holds else false_rows).append(tuple(row))
            if verdict.error and not any(row) and error is None:
                error = verdict.error
        return tuple(true_rows), tuple(false_rows), error


def _excerpt(state: Mapping[str, Any], paths: tuple[str, ...] | None) -> Mapping[str, Any]:
    """The part of `state` a condition can see: the subtrees at `paths` (all of it for None).

    Evaluating on this excerpt gives the same verdict as on the whole state, and copying it
    per row is cheap where copying a large state is not.
    """
    if paths is None:
        return state
    part: State = {}
    for path in sorted(paths, key=len, reverse=True):
        parts = path.split(".")
        for cut in range(len(parts), 0, -1):  # the deepest part of the path that exists
            prefix = ".".join(parts[:cut])
            if not has_path(state, prefix):
                continue
            value = get_path(state, prefix)
            if cut == len(parts) or not isinstance(value, Mapping):
                set_path(part, prefix, value)
            elif not has_path(part, prefix):
                # `state.gate.g5` where gate has no g5: an empty `gate` answers the same,
                # without copying every other gate per row.
                set_path(part, prefix, {})
            break
    return part


def _with_values(base: State, values: Iterable[tuple[Fluent, int]]) -> State:
    """`base` with each fluent at a value, `base` itself unchanged: only the mappings on the
    way to a fluent are copied (once), the rest is shared. (Conditions only read.)"""
    state = dict(base)
    fresh: set[str] = set()  # paths of the mappings copied already
    for fluent, index in values:
        value = fluent.values[index]
        parts = fluent.path.split(".")
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
                domains[path] = {_key(current): current}
            domains[path].setdefault(_key(value), value)
    paths = sorted(domains)
    for a, b in itertools.pairwise(paths):
        if b.startswith(a + "."):
            raise PlanningError(
                f"capabilities write both '{a}' and '{b}'; effects must not nest inside each other"
            )
    return tuple(Fluent(p, tuple(domains[p].values())) for p in paths)


def _kinds(actions: Sequence[Action]) -> tuple[list[int], list[int]]:
    """Group actions alike in conditions and effects (rival providers of one step): the
    kind of each action, and the first action of each kind. What grounding works out from
    conditions and effects alone (effect values, reachability, relevance, footprints) is
    then worked out once per kind; a catalog's rivals are often most of it."""
    kinds: dict[tuple[Any, ...], int] = {}
    kind_of: list[int] = []
    first: list[int] = []
    for i, a in enumerate(actions):
        key = (a.requires, tuple((path, _key(value)) for path, value in a.effects))
        kind = kinds.get(key)
        if kind is None:
            kind = kinds[key] = len(first)
            first.append(i)
        kind_of.append(kind)
    return kind_of, first


def ground(task: Task, actions: Sequence[Action] | None = None) -> Grounded:
    """Tabulate conditions, then keep the actions that are reachable, relevant, not dominated."""
    actions = list(task.actions if actions is None else actions)
    kind_of, first = _kinds(actions)
    alike = [actions[i] for i in first]  # one action of each kind; below, lists are per kind
    fluents = fluents_of(task.state, alike)
    index = {f.path: i for i, f in enumerate(fluents)}
    tab = _Tabulator(task.state, fluents)
    goal = tuple(tab.table(g, "goal") for g in task.goal)
    tables: dict[tuple[str, ...], tuple[Table, ...]] = {}  # kinds may share conditions
    pre: list[tuple[Table, ...]] = []
    for a in alike:
        found = tables.get(a.requires)
        if found is None:
            found = tuple(tab.table(r, f"requires of {a.name}") for r in a.requires)
            tables[a.requires] = found
        pre.append(found)
    value_index = [{k: d for d, k in enumerate(tab._value_keys(i))} for i in range(len(fluents))]
    eff = [tuple((index[p], value_index[index[p]][_key(v)]) for p, v in a.effects) for a in alike]
    rejections: list[Rejection] = []

    level = _reachability(fluents, pre, eff)
    reached = _reached_values(fluents, pre, eff, level)
    unreachable_goal = tuple(t.source for t in goal if not _satisfiable(t, reached))
    relevant = _relevance(goal, pre, eff, len(alike))
    failing: dict[int, str] = {}  # per unreachable kind, a precondition that never holds
    keep: list[int] = []
    for i, action in enumerate(actions):
        kind = kind_of[i]
        if level[kind] is None:
            if kind not in failing:
                failing[kind] = next(
                    (t.source for t in pre[kind] if not _satisfiable(t, reached)),
                    "its preconditions",
                )
            rejections.append(
                Rejection(action.name, "unreachable", f"precondition never holds: {failing[kind]}")
            )
        elif not relevant[kind]:
            rejections.append(
                Rejection(action.name, "irrelevant", "its effects are not needed for the goal")
            )
        else:
            keep.append(i)
    kept = sorted({kind_of[i] for i in keep})
    # Only facts some condition reads matter to the solver; writes of others are dropped.
    read = sorted(
        {f for t in goal for f in t.fluents} | {f for k in kept for t in pre[k] for f in t.fluents}
    )
    new = {old: n for n, old in enumerate(read)}
    renumbered: dict[int, tuple[Table, ...]] = {}  # by the id of a tuple in `tables`
    for k in kept:
        again = renumbered.get(id(pre[k]))
        if again is None:
            again = renumbered[id(pre[k])] = tuple(_renumber(t, new) for t in pre[k])
        pre[k] = again
        eff[k] = tuple((new[f], d) for f, d in eff[k] if f in new)
    print_of = dict(zip(kept, footprints([alike[k] for k in kept])))
    prints = tuple(print_of[kind_of[i]] for i in keep)
    dominated, why = _dominance(task.weights, actions, pre, eff, kind_of, keep, prints)
    rejections.extend(why)
    # Over-limit capabilities stay in the model (the limits' sums exclude them anyway) so
    # that one grounding also serves the solves without limits that explanations need.
    over = (over_limit(actions[i], task.limits) for i in keep if i not in dominated)
    rejections.extend(r for r in over if r is not None)
    kept_fluents = tuple(fluents[f] for f in read)
    return Grounded(
        fluents=kept_fluents,
        actions=tuple(actions[i] for i in keep),
        pre=tuple(pre[kind_of[i]] for i in keep),
        eff=tuple(eff[kind_of[i]] for i in keep),
        earliest=tuple(level[kind_of[i]] or 0 for i in keep),
        dominator=tuple(actions[dominated[i]].name if i in dominated else None for i in keep),
        footprints=prints,
        goal=tuple(_renumber(t, new) for t in goal),
        unreachable_goal=unreachable_goal,
        rejections=tuple(rejections),
        errors=tuple(f"{k}: {v}" for k, v in sorted(tab.errors.items())),
        horizon=_horizon(len(kept_fluents), [eff[k] for k in kept]),
    )


def goal_reachable(g: Grounded, allowed: Iterable[int]) -> bool:
    """Whether the goal can be reached with only the `allowed` actions, ignoring what actions
    undo (the relaxed planning graph). False proves there is no plan with them; alternatives
    that leave out a capability every plan needs are settled so, without a solve."""
    chosen = sorted(allowed)
    pre = [g.pre[a] for a in chosen]
    eff = [g.eff[a] for a in chosen]
    reached = _reached_values(g.fluents, pre, eff, _reachability(g.fluents, pre, eff))
    return all(_satisfiable(t, reached) for t in g.goal)


def _renumber(table: Table, new: Mapping[int, int]) -> Table:
    fluents = tuple(new[f] for f in table.fluents)
    return Table(table.source, fluents, table.true_rows, table.false_rows)


def _horizon(count: int, eff: Sequence[tuple[tuple[int, int], ...]]) -> int:
    """Steps enough for an optimal plan: no optimal plan needs more (see `Grounded.horizon`)."""
    written = _written(count, eff)
    changing = [w - {0} for w in written if w - {0}]
    if _monotone(written):
        return max(1, len(changing))  # each fact changes at most once
    states = 1
    for w in changing:
        states *= 1 + len(w)
        if states > MAX_HORIZON:
            return MAX_HORIZON
    return max(1, states - 1)


def _written(count: int, eff: Sequence[tuple[tuple[int, int], ...]]) -> list[set[int]]:
    """Per fact, the values some action writes."""
    written: list[set[int]] = [set() for _ in range(count)]
    for effects in eff:
        for f, d in effects:
            written[f].add(d)
    return written


def _monotone(written: Sequence[set[int]]) -> bool:
    """Whether each fact written is only ever written one value, not its value now."""
    return all(len(w) == 1 and 0 not in w for w in written if w)


def _satisfiable(table: Table, reached: Sequence[set[int]]) -> bool:
    return any(all(v in reached[f] for f, v in zip(table.fluents, row)) for row in table.true_rows)


def _known_satisfiable(table: Table, reached: Sequence[set[int]], known: dict[int, bool]) -> bool:
    """`_satisfiable`, remembered in `known` by table."""
    verdict = known.get(id(table))
    if verdict is None:
        verdict = known[id(table)] = _satisfiable(table, reached)
    return verdict


def _reachability(
    fluents: Sequence[Fluent],
    pre: Sequence[tuple[Table, ...]],
    eff: Sequence[tuple[tuple[int, int], ...]],
) -> list[int | None]:
    """Relaxed planning graph: the first layer at which each action could apply (None: never).

    An action that cannot apply at one layer can at the next only if a fact it reads gained
    a value, so each layer looks again only at the readers of the facts that grew.
    """
    reached: list[set[int]] = [{0} for _ in fluents]
    level: list[int | None] = [None] * len(pre)
    readers: dict[int, list[int]] = {}
    for i, tables in enumerate(pre):
        for f in sorted({f for t in tables for f in t.fluents}):
            readers.setdefault(f, []).append(i)
    candidates: Iterable[int] = range(len(pre))
    layer = 0
    while True:
        known: dict[int, bool] = {}  # per table, this layer: rival providers share theirs
        new = [
            i
            for i in candidates
            if level[i] is None and all(_known_satisfiable(t, reached, known) for t in pre[i])
        ]
        if not new:
            return level
        for i in new:
            level[i] = layer
        grown: set[int] = set()
        for i in new:
            for f, v in eff[i]:
                if v not in reached[f]:
                    reached[f].add(v)
                    grown.add(f)
        candidates = sorted({i for f in grown for i in readers.get(f, ())})
        layer += 1


def _reached_values(
    fluents: Sequence[Fluent],
    pre: Sequence[tuple[Table, ...]],
    eff: Sequence[tuple[tuple[int, int], ...]],
    level: Sequence[int | None],
) -> list[set[int]]:
    reached: list[set[int]] = [{0} for _ in fluents]
    for i, lv in enumerate(level):
        if lv is not None:
            for f, v in eff[i]:
                reached[f].add(v)
    return reached


def _relevance(
    goal: Sequence[Table],
    pre: Sequence[tuple[Table, ...]],
    eff: Sequence[tuple[tuple[int, int], ...]],
    count: int,
) -> list[bool]:
    wanted: set[int] = {f for t in goal if t.constant is None for f in t.fluents}
    relevant = [False] * count
    changed = True
    while changed:
        changed = False
        for i in range(count):
            if not relevant[i] and any(f in wanted for f, _ in eff[i]):
                relevant[i] = True
                changed = True
                wanted.update(f for t in pre[i] for f in t.fluents)
    return relevant


def over_limit(action: Action, limits: Limits) -> Rejection | None:
    """Why `action` alone breaks a limit (so no plan within the limits can use it), or None."""
    if limits.max_cost is not None and action.cost > limits.max_cost + 1e-9:
        detail = f"costs {action.cost:.2f} alone, over max_cost {limits.max_cost:.2f}"
        return Rejection(action.name, "over_budget", detail)
    if limits.deadline is not None and action.latency > limits.deadline + 1e-9:
        detail = f"takes {action.latency:g}s alone, over deadline {limits.deadline:g}s"
        return Rejection(action.name, "over_deadline", detail)
    least = limits.min_success_probability
    if least is not None and action.reliability < least - 1e-12:
        detail = (
            f"reliability {action.reliability:g} alone is under min_success_probability {least:g}"
        )
        return Rejection(action.name, "too_unreliable", detail)
    return None


def _dominance(
    weights: Weights,
    actions: Sequence[Action],
    pre: Sequence[tuple[Table, ...]],
    eff: Sequence[tuple[tuple[int, int], ...]],
    kind_of: Sequence[int],
    keep: list[int],
    prints: Sequence[Footprint],
) -> tuple[dict[int, int], list[Rejection]]:
    """Actions that another with the same conditions and effects is no worse than anywhere.

    Swapping the dominated action for its dominator keeps every plan valid, makes no step
    wait for another it did not wait for, and never makes its cost, latency, risk or score
    worse, so optimal plans never need it. (`pre` and `eff` are per kind, see `_kinds`.)
    """
    position = {i: n for n, i in enumerate(keep)}
    neighbours = Neighbours(prints)
    signatures: dict[int, tuple[Any, ...]] = {}  # per kind
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i in keep:
        kind = kind_of[i]
        signature = signatures.get(kind)
        if signature is None:
            tables = pre[kind]
            conditions = frozenset(
                (t.fluents, t.true_rows) for t in tables if t.constant is not True
            )
            signature = signatures[kind] = (conditions, tuple(sorted(set(eff[kind]))))
        groups.setdefault(signature, []).append(i)
    dominated: dict[int, int] = {}
    for members in groups.values():
        # By score first: an action can only be dominated by one before it (no worse score).
        ordered = sorted(members, key=lambda i: (weights.score(actions[i]), actions[i].name))
        front: list[tuple[int, float, float, float]] = []  # undominated, with their numbers
        for i in ordered:
            b = actions[i]
            cost, latency, reliability = b.cost, b.latency, b.reliability
            for j, j_cost, j_latency, j_reliability in front:
                if (
                    j_cost <= cost
                    and j_latency <= latency
                    and j_reliability >= reliability
                    and neighbours.waits_no_more(position[j], position[i])
                ):
                    dominated[i] = j
                    break
            else:
                front.append((i, cost, latency, reliability))
    rejections = [
        Rejection(
            actions[i].name,
            "dominated",
            f"{actions[j].name} does the same and is no costlier, slower or riskier",
        )
        for i, j in sorted(dominated.items())
    ]
    return dominated, rejections
