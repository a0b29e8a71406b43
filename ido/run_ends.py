"""Whether a failed run found no plan before it did anything: `ido`'s exit 4, told from
its events alone, so that a run carried in this process, by `ido resume` or on a Temporal
server reads the same."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

NO_PLAN = "no-plan"
"""How `ido runs` and `ido audit` call a failed run that found no plan before it did
anything (`--outcome no-plan`); its journal row, JSON `outcome` and `RunReport.outcome`
stay `failed`, beside `no_plan` / `found_no_plan`."""


def found_no_plan(events: Iterable[Any]) -> bool:
    """Whether a run's events end at a decision that found no plan, no step having been
    started before it: the intent's constraints and policies admit no plan, and nothing was
    performed. A run that performed steps and then found none (its failures left no way)
    failed: something was tried."""
    last = None
    for event in events:
        if event.kind == "action_started":
            return False
        if event.kind == "decided":
            result = event.data.get("result")  # (not a mapping in a journal edited by hand)
            last = result.get("status") if isinstance(result, dict) else None
    return last == "infeasible"


def no_plan_of(outcome: str | None, events: Iterable[Any] | Callable[[], Iterable[Any]]) -> bool:
    """Whether a run that ended with `outcome` found no plan before it did anything: only a
    failed run can have. `events` are its events, or what reads them (`journal.ending` of
    the run), called for a failed run alone: `ido runs` asks it of every run listed."""
    if outcome != "failed":
        return False
    return found_no_plan(events() if callable(events) else events)
