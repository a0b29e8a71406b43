"""Ground a Task into a finite-domain problem: condition tables (see `tables`), then pruning.

Actions alike in conditions and effects are grounded once per kind; the actions kept are
the ones reachable (relaxed planning graph), relevant to the goal and not dominated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ido.model.durations import durations_against
from ido.planner.bits import Packing
from ido.planner.limit_words import shown_probability, written_probability
from ido.planner.order import Footprint, Neighbours, footprints
from ido.planner.tables import Fluent, Table, Tabulator, fluents_of, required, value_key
from ido.planner.types import Action, Limits, Rejection, Task, Weights

MAX_HORIZON = 1_000_000


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
    def packing(self) -> Packing:
        """Where each fluent value's bit is in the search's states (`ido.planner.bits`)."""
        return Packing(self.fluents)

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


def _kinds(actions: Sequence[Action]) -> tuple[list[int], list[int]]:
    """Group actions alike in conditions and effects (rival providers of one step): the
    kind of each action, and the first action of each kind. What grounding works out from
    conditions and effects alone (effect values, reachability, relevance, footprints) is
    then worked out once per kind; a catalog's rivals are often most of it."""
    kinds: dict[tuple[Any, ...], int] = {}
    kind_of: list[int] = []
    first: list[int] = []
    for i, a in enumerate(actions):
        key = (a.requires, tuple([(path, value_key(value)) for path, value in a.effects]))
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
    tab = Tabulator(task.state, fluents, lambda: _writes(task))
    goal = tuple(tab.table(g, "goal") for g in task.goal)
    tables: dict[tuple[str, ...], tuple[Table, ...]] = {}  # kinds may share conditions
    pre: list[tuple[Table, ...]] = []
    for a in alike:
        found = tables.get(a.requires)
        if found is None:
            found = tuple(tab.table(r, f"requires of {a.name}") for r in a.requires)
            tables[a.requires] = found
        pre.append(found)
    value_index = [{k: d for d, k in enumerate(tab.value_keys(i))} for i in range(len(fluents))]
    eff = [
        tuple((index[p], value_index[index[p]][value_key(v)]) for p, v in a.effects) for a in alike
    ]
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
    moved: dict[int, Table] = {}  # by the id of a table: conditions recur across kinds
    for k in kept:
        again = renumbered.get(id(pre[k]))
        if again is None:
            again = renumbered[id(pre[k])] = tuple(_moved(t, new, moved) for t in pre[k])
        pre[k] = again
        eff[k] = tuple((new[f], d) for f, d in eff[k] if f in new)
    print_of = dict(zip(kept, footprints([alike[k] for k in kept], tab.makers)))
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


def _writes(task: Task) -> Iterable[str]:
    """Every fact the task's capabilities write, denied ones too, and where they write
    their outputs: what a condition may read before it is set."""
    denied = (d.action for d in task.denied)
    yield from (path for a in (*task.actions, *denied) for path, _ in a.effects)
    yield from task.outputs


def goal_reachable(g: Grounded, allowed: Iterable[int]) -> bool:
    """Whether the goal can be reached with only the `allowed` actions, ignoring what actions
    undo (the relaxed planning graph). False proves there is no plan with them; alternatives
    that leave out a capability every plan needs are settled so, without a solve."""
    chosen = sorted(allowed)
    pre = [g.pre[a] for a in chosen]
    eff = [g.eff[a] for a in chosen]
    reached = _reached_values(g.fluents, pre, eff, _reachability(g.fluents, pre, eff))
    return all(_satisfiable(t, reached) for t in g.goal)


def _moved(table: Table, new: Mapping[int, int], moved: dict[int, Table]) -> Table:
    """`_renumber`, remembered in `moved` by table."""
    found = moved.get(id(table))
    if found is None:
        found = moved[id(table)] = _renumber(table, new)
    return found


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
    """Per action, whether it writes a fact the goal reads, or a precondition of an action
    that does reads, and so on. Worked back from the goal's facts, each fact once: a pass
    over every action per step back took as many passes as the longest chain."""
    writers: dict[int, list[int]] = {}
    for i in range(count):
        for f, _ in eff[i]:
            writers.setdefault(f, []).append(i)
    wanted: set[int] = {f for t in goal if t.constant is None for f in t.fluents}
    relevant = [False] * count
    todo = list(wanted)
    while todo:
        for i in writers.get(todo.pop(), ()):
            if not relevant[i]:
                relevant[i] = True
                for t in pre[i]:
                    for f in t.fluents:
                        if f not in wanted:
                            wanted.add(f)
                            todo.append(f)
    return relevant


def over_limit(action: Action, limits: Limits) -> Rejection | None:
    """Why `action` alone breaks a limit (so no plan within the limits can use it), or None."""
    if limits.max_cost is not None and action.cost > limits.max_cost + 1e-9:
        detail = f"costs {action.cost:.2f} alone, over max_cost {limits.max_cost:.2f}"
        return Rejection(action.name, "over_budget", detail)
    if limits.deadline is not None and action.latency > limits.deadline + 1e-9:
        taken, deadline = durations_against(action.latency, limits.deadline)
        detail = f"takes {taken} alone, over deadline {deadline}"
        return Rejection(action.name, "over_deadline", detail)
    least = limits.min_success_probability
    if least is not None and action.reliability < least - 1e-12:
        detail = (
            f"reliability {shown_probability(action.reliability)} alone is under "
            f"min_success_probability {written_probability(least)}"
        )
        return Rejection(action.name, "too_unreliable", detail)
    return None


def _fewer_approvals(weights: Weights, dominated: Action, by: Action) -> str:
    """What a dominated action loses on beside its numbers, when it is the approvals it
    needs (`objective.approval`): `, and needs no approval where it needs finance/large`."""
    if not weights.approval or len(dominated.approvals) <= len(by.approvals):
        return ""
    needs = ", ".join(dominated.approvals)
    fewer = "no approval" if not by.approvals else "fewer approvals"
    return f", and needs {fewer} where it needs {needs}"


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
    neighbours: Neighbours | None = None  # (only asked of a group of two or more)
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
        if len(members) < 2:  # (most groups of a PDDL import: no rival to be dominated by)
            continue
        if neighbours is None:
            neighbours = Neighbours(prints)
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
            f"{actions[j].name} does the same and is no costlier, slower or riskier"
            f"{_fewer_approvals(weights, actions[i], actions[j])} (an alternative without "
            f"{actions[j].name} may use it)",
        )
        for i, j in sorted(dominated.items())
    ]
    return dominated, rejections
