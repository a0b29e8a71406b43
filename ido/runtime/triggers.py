"""Why a plan in progress must be replanned: pure checks the runtime makes after each step.

Each returns the reason in words, or None. The runtime records the reason as the next
decision's trigger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ido.planner.order import schedule
from ido.planner.types import Plan
from ido.state import get_path, has_path

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
    expected: Mapping[str, Any], state: Mapping[str, Any], paths: Iterable[str]
) -> str | None:
    """An observation that moved a fact the plan relied on away from what it expected."""
    moved = []
    for path in sorted(paths):
        before = get_path(expected, path, _ABSENT)
        now = get_path(state, path, _ABSENT)
        if before != now:
            moved.append(f"{path} is now {_show(now)} (planned with {_show(before)})")
    if not moved:
        return None
    return "observation changed: " + "; ".join(moved[:3]) + ("; …" if len(moved) > 3 else "")


def over_limits(
    plan: Plan,
    done: set[int],
    *,
    spent: float,
    elapsed: float,
    max_cost: float | None,
    deadline: float | None,
) -> str | None:
    """Actual spend or time so far, plus what the rest of the plan needs, breaks a limit."""
    rest = [j for j in range(len(plan.steps)) if j not in done]
    cost = sum(plan.steps[j].cost for j in rest)
    if max_cost is not None and spent + cost > max_cost + 1e-9:
        return (
            f"spent {spent:.2f} so far; with the remaining steps' {cost:.2f} the plan would "
            f"exceed max_cost {max_cost:.2f}"
        )
    if deadline is not None and rest:
        index = {j: n for n, j in enumerate(rest)}
        latencies = [plan.steps[j].latency for j in rest]
        waits = [[index[i] for i in plan.waits[j] if i in index] for j in rest]
        starts = schedule(latencies, waits)
        path = max(s + lat for s, lat in zip(starts, latencies))
        if elapsed + path > deadline + 1e-9:
            return (
                f"{elapsed:.3g} s elapsed; the remaining steps need {path:.3g} s more, past "
                f"the {deadline:g} s deadline"
            )
    return None


def _show(value: Any) -> str:
    return "absent" if value is _ABSENT else repr(value)
