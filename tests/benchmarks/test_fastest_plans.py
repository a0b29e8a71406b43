"""`benchmarks/fastest_plans.py --limits`: each task under a limit its best plan meets."""

from __future__ import annotations

from dataclasses import replace

import pytest

from benchmarks.fastest_plans import limited, parallel_chains
from ido.planner.grounding import ground
from ido.planner.search import SearchPlanner


def test_a_cost_limit_admits_the_cheapest_plan_and_changes_nothing_else() -> None:
    """Seed 0: its cheapest plan costs 10, and the seeded slack is 0."""
    task = parallel_chains(0)
    bounded = limited(task, 0, "cost")
    assert bounded is not None
    assert bounded == replace(task, limits=replace(task.limits, max_cost=10.0))


@pytest.mark.parametrize("seed", [13, 26])
def test_a_success_limit_admits_the_most_reliable_plan_of_less_certain_steps(seed: int) -> None:
    """The capabilities get reliabilities below 1, the deadline (seed 13 has one) stays,
    and the most reliable plan is within the least success probability added."""
    task = parallel_chains(seed)
    bounded = limited(task, seed, "success")
    assert bounded is not None and bounded.limits.deadline == task.limits.deadline
    assert min(a.reliability for a in bounded.actions) < 1.0
    least = bounded.limits.min_success_probability
    best = SearchPlanner().solve(bounded, ground(bounded), "risk")
    assert best is not None and least is not None
    assert least <= best.plan.success_probability < least * 1.25


def test_a_task_with_no_plan_has_nothing_to_limit() -> None:
    """Seed 1's deadline (1 s) is below any plan."""
    assert limited(parallel_chains(1), 1, "cost") is None
