"""A failed run's events tell whether it found no plan before it did anything (exit 4)."""

from __future__ import annotations

from typing import Any

from ido.journal.records import Event
from ido.run_ends import found_no_plan, no_plan_of


def event(kind: str, **data: Any) -> Event:
    return Event("r1", 0, "2026-12-07T00:00:00Z", kind, data)


def decided(status: str) -> Event:
    return event("decided", number=1, result={"status": status})


def test_a_run_whose_first_decision_found_no_plan_found_no_plan() -> None:
    assert found_no_plan([event("run_started"), decided("infeasible"), event("run_finished")])


def test_a_run_that_started_a_step_before_finding_no_plan_failed() -> None:
    """Its failures left no way: something was tried, so it is a failure (1), not 4."""
    events = [decided("planned"), event("action_started", step=1), decided("infeasible")]
    assert not found_no_plan(events)


def test_a_run_whose_last_decision_planned_did_not_find_no_plan() -> None:
    """A plan a person rejected, or a planner that raised: it failed for another reason."""
    assert not found_no_plan([decided("infeasible"), decided("planned")])
    assert not found_no_plan([event("run_started")])


def test_only_a_failed_run_can_have_found_no_plan() -> None:
    """Blocked or achieved after a first decision that found none (a policy changed on
    resume): the outcome rules, whatever the events say."""
    ended = [decided("infeasible")]
    assert no_plan_of("failed", ended)
    assert not no_plan_of("achieved", ended)
    assert not no_plan_of("blocked", ended)
    assert not no_plan_of(None, ended)


def test_the_events_of_a_run_that_did_not_fail_are_not_read() -> None:
    """`ido runs` asks of every run listed: reading the events of each achieved one would
    cost a query per run for nothing."""
    read: list[str] = []

    def ending() -> list[Event]:
        read.append("r1")
        return [decided("infeasible")]

    assert not no_plan_of("achieved", ending)
    assert read == []
    assert no_plan_of("failed", ending)
    assert read == ["r1"]
