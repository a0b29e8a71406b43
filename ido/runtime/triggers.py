"""Why a plan in progress must be replanned: pure checks the runtime makes after each step.

Each returns the reason in words, or None. The runtime records the reason as the next
decision's trigger.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ido.conditions import Condition, compile_condition
from ido.model import Capability, format_duration
from ido.planner.order import schedule
from ido.planner.types import Plan
from ido.state import State, apply_effects, get_path, has_path, overlaps

_ABSENT = object()


def missing_effects(
    capability: str, effects: Mapping[str, Any], observed: Mapping[str, Any]
) -> str | None:
    """A silent failure: an observer reports a declared effect's fact with another value."""
    for path, value in effects.items():
        if has_path(observed, path) and get_path(observed, path) != value:
            return (
                f"{capability} reported success but its effects did not show: {path} is "
                f"{_show(get_path(observed, path))}, expected {_show(value)}"
            )
    return None


def changed(
    expected: Mapping[str, Any],
    state: Mapping[str, Any],
    paths: Iterable[str],
    conditions: Iterable[tuple[Condition, Mapping[str, Any]]],
) -> str | None:
    """An observation that moved a fact the plan relied on so that a condition reading it
    (the goal's, a capability's `requires`) now holds where it did not, or the other way.
    A fact that moves with every condition on it as it was (stock 100, then 99, under
    `stock > 0`) changes nothing the plan stands on: replanning at each step there used up
    `limits.max_replans` and failed runs that nothing had gone wrong in.

    Each condition comes with what the plan will have set when it is checked (the effects
    of the remaining steps a step waits on, for its `requires`; of all of them, for the
    goal), laid over both states: a conjunct a later step makes true must not hide a fact
    that moved under it, nor one set after the step a fact it reads."""
    moved = [
        path
        for path in sorted(paths)
        if get_path(expected, path, _ABSENT) != get_path(state, path, _ABSENT)
    ]
    if not moved:
        return None
    flipped: set[str] = set()
    for condition, rest in conditions:
        read = condition.state_paths
        touched = moved if read is None else [m for m in moved if any(overlaps(r, m) for r in read)]
        if not touched:
            continue
        before, now = (
            (apply_effects(expected, rest), apply_effects(state, rest))
            if rest
            else (expected, state)
        )
        if condition.evaluate({"state": now}).holds != condition.evaluate({"state": before}).holds:
            flipped.update(touched)
    if not flipped:
        return None
    shown = [
        f"{path} is now {_show(get_path(state, path, _ABSENT))} "
        f"(planned with {_show(get_path(expected, path, _ABSENT))})"
        for path in moved
        if path in flipped
    ]
    return "observation changed: " + "; ".join(shown[:3]) + ("; …" if len(shown) > 3 else "")


def shown_early(
    expected: State, state: Mapping[str, Any], in_flight: Iterable[Mapping[str, Any]]
) -> State:
    """`expected` with each fact a step in flight declares set where the observation already
    shows it so. A step's work can show before the step reports (a rollback clears
    `deploy.bad`, then waits for the rollout): that is the plan going as planned, not the
    world moving under it, and judged as a move it replanned a sound plan."""
    early = {
        path: value
        for effects in in_flight
        for path, value in effects.items()
        if has_path(state, path) and get_path(state, path) == value
    }
    return apply_effects(expected, early) if early else expected


def judged(
    goal: Iterable[str],
    capabilities: Mapping[str, Capability],
    plan: Plan,
    done: set[int],
    started: set[int],
) -> Iterator[tuple[Condition, State]]:
    """The conditions `plan` stands on, each with what the plan will have set when it is
    checked (see `changed`): the `goal`, with every remaining step's effects; each
    `requires` of a step not yet started, with those of the remaining steps it waits on,
    however far back; any capability's not in the plan, as things stand. Made as they are
    read: when no observed fact moved, none is. `done`: the steps' indexes that ended;
    `started`: those that started (ended or in flight). A step in flight was held to its
    `requires` when it started, and its own work moves what they read (a rollback clears
    `state.deploy.bad` before it reports): judged again, it replanned a sound plan."""
    effects = [capabilities[s.capability].spec.effects for s in plan.steps]
    left = [i for i in range(len(plan.steps)) if i not in done]
    everything: State = {}
    for i in left:
        everything.update(effects[i])
    yield from ((compile_condition(g), everything) for g in goal)
    for i in left:
        if i in started:
            continue
        before: set[int] = set()
        todo = [w for w in plan.waits[i] if w not in done]
        while todo:
            w = todo.pop()
            if w not in before:
                before.add(w)
                todo += [v for v in plan.waits[w] if v not in done]
        rest: State = {}
        for w in sorted(before):
            rest.update(effects[w])
        requires = capabilities[plan.steps[i].capability].spec.requires
        yield from ((compile_condition(r), rest) for r in requires)
    planned = {step.capability for step in plan.steps}  # done ones: nothing to stand on
    for capability in capabilities.values():
        if capability.name not in planned:
            yield from ((compile_condition(r), {}) for r in capability.spec.requires)


def over_limits(
    plan: Plan,
    done: set[int],
    *,
    spent: float,
    elapsed: float,
    max_cost: float | None,
    deadline: float | None,
    running_for: Mapping[int, float] | None = None,
) -> str | None:
    """Actual spend or time so far, plus what the rest of the plan needs, breaks a limit.

    `running_for`: the steps in flight, each with the seconds it has run; it needs only
    what is left of its latency (counted whole, a step ending while its neighbours ran on
    made a plan on time look late, and stopped the rest from starting)."""
    running_for = running_for or {}
    rest = [j for j in range(len(plan.steps)) if j not in done]
    cost = sum(plan.steps[j].cost for j in rest)
    if max_cost is not None and spent + cost > max_cost + 1e-9:
        return (
            f"spent {spent:.2f} so far; with the remaining steps' {cost:.2f} the plan would "
            f"exceed max_cost {max_cost:.2f}"
        )
    if deadline is not None and rest:
        index = {j: n for n, j in enumerate(rest)}
        latencies = [max(0.0, plan.steps[j].latency - running_for.get(j, 0.0)) for j in rest]
        waits = [[index[i] for i in plan.waits[j] if i in index] for j in rest]
        starts = schedule(latencies, waits)
        path = max(s + lat for s, lat in zip(starts, latencies))
        if elapsed + path > deadline + 1e-9:
            return (
                f"{format_duration(elapsed)} elapsed; the remaining steps need "
                f"{format_duration(path)} more, past the {format_duration(deadline)} deadline"
            )
    return None


def _show(value: Any) -> str:
    return "absent" if value is _ABSENT else repr(value)
