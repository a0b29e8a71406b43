"""What a decision says about its limits, checked by brute force on random tasks: each way
out an infeasible task names, taken literally, admits a plan, and a limit is called binding
exactly when lifting it alone admits a better plan."""

from __future__ import annotations

import random
import re
from dataclasses import replace

import pytest

from ido.planner.cpsat import CpSatPlanner
from ido.planner.search import SearchPlanner
from ido.planner.types import Action, Limits, PlanResult, Task, Weights
from tests.planner.test_parallel import wide_task
from tests.planner.test_property import SMALL_SEEDS, brute_force, describe, random_task

WAYS_OUT = {
    "max_cost": re.compile(r"raise max_cost to ([\d.]+)"),
    "deadline": re.compile(r"raise deadline to ([\d.]+)s"),
    "min_success_probability": re.compile(r"lower min_success_probability to ([\d.]+)"),
}


def odd(task: Task, seed: int) -> Task:
    """`task` with costs of three decimals and reliabilities of five or more: what a way out
    rounded to cents or to the limit's own decimals would miss."""
    rng = random.Random(f"odd{seed}")
    actions = tuple(
        replace(
            a,
            cost=round(a.cost + rng.choice([0.0, 0.001, 0.004, 0.005, 0.006, 0.009]), 3),
            reliability=a.reliability * (1 - rng.choice([0.0, 1e-5, 3e-5])),
        )
        for a in task.actions
    )
    return replace(task, actions=actions)


def planned(task: Task) -> PlanResult:
    return CpSatPlanner(small=0, search_first=0).plan(task)


CASES = [(seed, False) for seed in SMALL_SEEDS] + [(seed, True) for seed in SMALL_SEEDS]


@pytest.mark.parametrize(("seed", "made_odd"), CASES)
def test_each_way_out_taken_as_written_admits_a_plan(seed: int, made_odd: bool) -> None:
    """ "raise max_cost to 2.854", "raise deadline to 6s", "lower min_success_probability to
    0.99499": each alone, with every other limit and rule kept, leaves a plan. "raise
    limits.max_steps to 5" alone does too, or with each way out after its "and then:"."""
    task = random_task(seed, small=True)
    task = odd(task, seed) if made_odd else task
    result = planned(task)
    if result.status != "infeasible":
        return
    reason = str(result.reason)
    steps = re.search(r"raise limits\.max_steps to (\d+)(, and then: )?", reason)
    if steps:
        task = replace(task, max_steps=int(steps.group(1)))
        if not steps.group(2):
            assert planned(task).status == "planned", describe(task, result)
    for name, way in WAYS_OUT.items():
        for value in way.findall(reason):
            eased = replace(task, limits=replace(task.limits, **{name: float(value)}))
            assert brute_force(eased) is not None, f"{name} {value}\n{describe(task, result)}"


def test_the_ways_out_are_exercised() -> None:
    """The tasks above reach every kind of way out, and costs the cents would round down."""
    said = " ".join(
        str(planned(odd(random_task(s, small=True), s)).reason) for s in SMALL_SEEDS[:120]
    )
    for way in WAYS_OUT.values():
        assert way.search(said), way.pattern
    assert re.search(r"raise max_cost to \d+\.\d{3}", said)
    assert "raise limits.max_steps to" in said


@pytest.mark.parametrize(("seed", "made_odd"), CASES)
def test_a_limit_is_binding_exactly_when_lifting_it_alone_admits_a_better_plan(
    seed: int, made_odd: bool
) -> None:
    task = random_task(seed, small=True)
    task = odd(task, seed) if made_odd else task
    result = planned(task)
    if result.status != "planned" or not result.proven_optimal:
        return
    assert result.plan is not None
    for report in result.constraints:
        lifted = brute_force(task, replace(task.limits, **{report.name: None}))
        assert lifted is not None
        better = lifted.score < result.plan.score - 1e-9
        assert report.binding == better, f"{report.name}\n{describe(task, result)}"


def two_limits(seed: int) -> Task:
    """`wide_task` (branches side by side, a deadline between the fastest critical path and
    the fastest sum) with the deadline often tighter and, often, a least success
    probability: two limits, each of which may bind."""
    rng = random.Random(seed)
    task = wide_task(seed)
    deadline = task.limits.deadline
    assert deadline is not None
    limits = replace(
        task.limits,
        deadline=round(deadline * rng.choice([0.3, 0.5, 0.8, 1.0]), 2),
        min_success_probability=rng.choice([None, 0.95, 0.97]),
    )
    return replace(task, limits=limits, alternatives=0)


@pytest.mark.parametrize("seed", range(150))
def test_with_two_limits_a_limit_binds_exactly_when_lifting_it_alone_admits_a_better_plan(
    seed: int,
) -> None:
    """Judged against the best plan with no limits, a limit its order broke was called
    binding though another order of its steps kept within it, and a limit that kept a better
    plan out was not when the free plan broke only the other one."""
    task = two_limits(seed)
    result = planned(task)
    if result.status != "planned":
        return
    assert result.plan is not None and result.proven_optimal
    for report in result.constraints:
        lifted = brute_force(task, replace(task.limits, **{report.name: None}))
        assert lifted is not None
        better = lifted.score < result.plan.score - 1e-9
        assert report.binding == better, f"{report.name}\n{describe(task, result)}"


def test_a_limit_the_free_plan_keeps_can_still_bind() -> None:
    """The best plan with no limits breaks only the deadline, but lifting max_cost alone
    admits a better plan too: both bind."""
    done = (("job.done", True),)
    task = Task(
        state={"job": {"done": False}},
        goal=("state.job.done",),
        actions=(
            Action("slow-cheap", "p", 0.1, 10.0, 0.999, (), done),
            Action("fast-pricey", "q", 1.0, 1.0, 0.99, (), done),
            Action("fast-shaky", "r", 0.5, 1.0, 0.90, (), done),
        ),
        weights=Weights(cost=0.0, latency=0.0, risk=1.0),
        limits=Limits(max_cost=0.8, deadline=5.0),
    )
    for planner in (CpSatPlanner(), SearchPlanner()):
        result = planner.plan(task)
        assert result.plan is not None and result.plan.capabilities == ("fast-shaky",)
        assert {c.name: c.binding for c in result.constraints} == {
            "max_cost": True,
            "deadline": True,
        }
