"""A step in flight needs only what is left of its latency when the deadline is checked."""

from __future__ import annotations

from pathlib import Path

from ido.planner.types import Plan, Step
from ido.runtime.triggers import over_limits
from ido.scenario.runner import load_scenarios, run_scenario

# Two regions: eu's snapshot is quick, us's is not. Each migration waits for its own
# snapshot only, so eu's starts at 0.5 s and ends at 5.5 s, while us's (started at 2 s)
# has 1.5 s of its 5 s left; verify then takes 2 s: 9 s in all, within 10 s.
CATALOG = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: snap-eu}
spec: {provider: aws, effects: {eu.snap: true}, latency: 500ms}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: snap-us}
spec: {provider: aws, effects: {us.snap: true}, latency: 2s}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: migrate-eu}
spec: {provider: aws, requires: [state.eu.snap], effects: {eu.done: true}, latency: 5s}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: migrate-us}
spec: {provider: aws, requires: [state.us.snap], effects: {us.done: true}, latency: 5s}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: verify}
spec:
  provider: qa
  requires: [state.eu.done, state.us.done]
  effects: {all.verified: true}
  latency: 2s
---
apiVersion: ido/v1
kind: Scenario
metadata: {name: staggered}
spec:
  intent:
    goal: [state.all.verified]
    constraints: {deadline: 10s}
  expect: {outcome: achieved, replans: {max: 0}}
"""


def test_a_plan_on_time_is_not_replanned_when_one_region_ends_before_another(
    tmp_path: Path,
) -> None:
    """migrate-eu ended at 5.5 s while migrate-us ran on: its whole 5 s was counted again
    ("5.5s elapsed; the remaining steps need 7s more, past the 10s deadline"), the run
    replanned a plan on time and started nothing meanwhile."""
    path = tmp_path / "staggered.yaml"
    path.write_text(CATALOG)
    ((scenario, catalog),) = load_scenarios(path, [path])
    result = run_scenario(scenario, catalog, base=tmp_path)
    assert result.passed, result.unmet
    events = result.journal.events(result.report.run_id)
    assert [e.data["trigger"] for e in events if e.kind == "decided"] == ["run started"]


def test_over_limits_counts_what_is_left_of_a_step_in_flight() -> None:
    """A step that has run 4 s of its 5 s needs 1 s more; one past its latency, none."""
    steps = (Step("a", "p", 0.0, 5.0, 1.0, 0.0), Step("b", "p", 0.0, 2.0, 1.0, 0.0))
    plan = Plan(steps, after=((), (0,)))

    def check(elapsed: float, ran: float) -> str | None:
        return over_limits(
            plan,
            set(),
            spent=0.0,
            elapsed=elapsed,
            max_cost=None,
            deadline=10.0,
            running_for={0: ran},
        )

    assert check(6.5, 4.0) is None
    assert (
        check(6.5, 1.0) == "6.5s elapsed; the remaining steps need 6s more, past the 10s deadline"
    )
    assert check(7.5, 9.0) is None
