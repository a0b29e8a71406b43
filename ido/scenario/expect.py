"""Expectations of a scenario, checked against its run: each unmet one spelled out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ido.journal.records import Event
from ido.model import format_duration
from ido.model.scenario import Expect
from ido.runtime.folds import fold_undone
from ido.runtime.recovery import NOT_REPLANS


def unmet(
    expect: Expect,
    *,
    outcome: str,
    reason: str | None,
    cost: float,
    elapsed: float,
    events: Sequence[Event],
) -> list[str]:
    """Every expectation the run did not meet, in words (empty when all are met)."""
    problems: list[str] = []
    if expect.outcome is not None and outcome != expect.outcome:
        why = f" ({reason})" if reason else ""
        problems.append(f"outcome: expected {expect.outcome}, got {outcome}{why}")
    if expect.reason is not None and expect.reason not in (reason or ""):
        problems.append(f"reason: expected it to contain {expect.reason!r}, got {reason!r}")
    if expect.max_cost is not None and cost > expect.max_cost + 1e-9:
        problems.append(f"max_cost: spent {cost:.2f}, more than {expect.max_cost:.2f}")
    # A microsecond's slack: virtual time is reckoned on an epoch clock, whose floats
    # step by a quarter of one (a run failed just past a 30m wait "took 30m, more than 30m").
    if expect.max_time is not None and elapsed > expect.max_time + 1e-6:
        problems.append(
            f"max_time: took {format_duration(elapsed)}, more than "
            f"{format_duration(expect.max_time)}"
        )
    # Used: called at least once, whatever came of the call (a failure, a timeout, a
    # silent failure): the scenario's capabilities are meant to fail.
    called = [e.data["capability"] for e in events if e.kind == "action_started"]
    for name in expect.used:
        if name not in called:
            problems.append(f"used: {name} was never called")
    for name in expect.never_used:
        if name in called:
            problems.append(f"never_used: {name} was called ({_calls(name, called, events)})")
    decisions = [e.data for e in events if e.kind == "decided"]
    for cite in expect.cites:
        if not any(_cites(d, cite) for d in decisions) and cite not in (reason or ""):
            problems.append(f"cites: no decision cites {cite!r}")
    if expect.replans is not None:
        # As `limits.max_replans` counts them: a decision on resuming after a verdict is
        # none (the run was never off its plan), though "decisions after the first" was.
        replans = sum(d["trigger"] not in NOT_REPLANS for d in decisions)
        low, high = expect.replans.min, expect.replans.max
        if replans < low or (high is not None and replans > high):
            bounds = f"at least {low}" + (f" and at most {high}" if high is not None else "")
            problems.append(f"replans: {replans}, expected {bounds}")
    for name in expect.undone:
        left = _not_undone(name, events)
        if left is not None:
            problems.append(f"undone: {left}")
    return problems


def _not_undone(name: str, events: Sequence[Event]) -> str | None:
    """Why a step of `name` was not undone, as a run's reason says it, or None when each
    one was (done on any attempt)."""
    if not any(
        e.kind == "action_finished" and e.data["ok"] and e.data["capability"] == name
        for e in events
    ):
        return f"{name} completed no step to undo"
    undoing = ("compensation_finished", "compensation_skipped")
    ends = [e for e in events if e.kind in undoing and e.data.get("undoes") == name]
    if not ends:
        return f"no compensation undid {name}"
    left: list[str] = []
    for e in ends:
        left = fold_undone(left, e.kind, e.data)
    return "; ".join(left) or None


def _calls(name: str, called: Sequence[str], events: Sequence[Event]) -> str:
    """How often a capability was called and how many calls failed: `2 calls, 1 failed`."""
    count = called.count(name)
    failed = sum(
        1
        for e in events
        if e.kind == "action_finished" and e.data["capability"] == name and not e.data["ok"]
    )
    calls = "1 call" if count == 1 else f"{count} calls"
    return f"{calls}, {failed} failed" if failed else calls


def _cites(decision: dict[str, Any], cite: str) -> bool:
    """A decision cites a rule id when a rejection, an approval or a policy decision (an
    `avoid` or `prefer` too) names it, and a trigger or an infeasibility when its text
    contains it."""
    result = decision["result"]
    rules = {r.get("rule") for r in result.get("rejections", [])}
    rules |= {a[0] for a in decision.get("approvals", [])}
    rules |= {hit.get("rule") for hit in decision.get("policy", [])}
    return cite in rules or cite in decision["trigger"] or cite in (result.get("reason") or "")
