"""The search planner on its own, and against CP-SAT on seeded random problems."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_cpsat import PAY_SLOW, SHIP_DHL, SHOP, SMS, task
from test_property import LARGE_SEEDS, SMALL_SEEDS, brute_force, random_task, token_task

from ido.errors import PlanningError
from ido.planner import get_planner
from ido.planner.cpsat import CpSatPlanner
from ido.planner.search import SearchPlanner
from ido.planner.simulate import check_plan
from ido.planner.types import Limits, Task


def test_the_registry_returns_the_search_planner() -> None:
    """`planner: search` in an intent selects this backend."""
    assert isinstance(get_planner("search"), SearchPlanner)


def test_search_finds_the_cheapest_plan_and_its_alternatives() -> None:
    """On the shop catalog, search chooses what CP-SAT chooses, alternatives included."""
    t = task([*SHOP, PAY_SLOW, SHIP_DHL, SMS], alternatives=3)
    found = SearchPlanner().plan(t)
    reference = CpSatPlanner(small=0).plan(t)
    assert found.status == "planned" and found.plan is not None
    assert found.plan.capabilities == reference.plan.capabilities  # type: ignore[union-attr]
    assert [a.score_delta for a in found.alternatives] == pytest.approx([0.2, 0.5, 1.0])


def test_search_respects_the_limits_and_names_the_binding_one() -> None:
    """A budget below the cheapest plan is infeasible, with the same reason CP-SAT gives."""
    t = task(limits=Limits(max_cost=0.5))
    found, reference = SearchPlanner().plan(t), CpSatPlanner(small=0).plan(t)
    assert found.status == reference.status == "infeasible"
    assert found.blocking == reference.blocking == ("max_cost",)
    assert found.reason == reference.reason


def test_search_gives_up_with_a_clear_error_past_its_state_budget() -> None:
    """Past max_states expansions the search stops and says to use CP-SAT."""
    with pytest.raises(PlanningError, match=r"search expanded 1 states without finishing"):
        SearchPlanner(max_states=1).plan(task())


def agree(t: Task) -> None:
    """Both backends agree on the outcome; every plan is valid; optimal scores are equal."""
    found, reference = SearchPlanner().plan(t), CpSatPlanner(small=0).plan(t)
    assert found.status == reference.status, (found.reason, reference.reason)
    if found.plan is not None and reference.plan is not None:
        assert check_plan(t, found.plan) == []
        if reference.proven_optimal:
            assert found.plan.score == pytest.approx(reference.plan.score, abs=1e-6)
        for alternative in found.alternatives:
            assert check_plan(t, alternative.plan) == []
    if found.status == "infeasible":
        assert found.blocking == reference.blocking


@pytest.mark.parametrize("seed", SMALL_SEEDS)
def test_search_and_cpsat_agree_on_small_random_problems(seed: int) -> None:
    """Same feasibility, same optimal score, same blocking constraints."""
    agree(random_task(seed, small=True))


@pytest.mark.parametrize("seed", LARGE_SEEDS)
def test_search_and_cpsat_agree_on_larger_random_problems(seed: int) -> None:
    """The same on tasks with up to ten capabilities, delete effects and limits."""
    agree(random_task(seed, small=False))


@pytest.mark.parametrize("seed", range(40))
def test_search_and_cpsat_agree_when_plans_repeat_a_capability(seed: int) -> None:
    """Token-minting plans: the reference finds the same optimum as CP-SAT."""
    agree(token_task(seed))


@pytest.mark.parametrize("seed", range(0, 200, 5))
def test_search_scores_the_brute_force_optimum(seed: int) -> None:
    """On small tasks the search's plan scores exactly the exhaustive optimum."""
    t = replace(random_task(seed, small=True), alternatives=0)
    found = SearchPlanner().solve(t)
    best = brute_force(t)
    assert (found is None) == (best is None)
    if found is not None and best is not None:
        assert found.plan.score == pytest.approx(best.score, abs=1e-6)


@pytest.mark.parametrize("short", [2, 4, 16])
@pytest.mark.parametrize("seed", range(0, 40, 3))
def test_a_long_horizon_is_deepened_without_losing_the_optimum(seed: int, short: int) -> None:
    """With max_steps 40 CP-SAT deepens from a short horizon; it still proves the optimum."""
    t = replace(token_task(seed), max_steps=40)
    found = CpSatPlanner(short_horizon=short).solve(t)
    reference = SearchPlanner().solve(t)
    assert found is not None and reference is not None
    assert found.optimal
    assert found.plan.score == pytest.approx(reference.plan.score, abs=1e-6)
    assert check_plan(t, found.plan) == []


@pytest.mark.parametrize("short", [2, 3, 4])
@pytest.mark.parametrize("seed", range(0, 40, 3))
def test_deepening_with_unit_costs_keeps_the_optimum(seed: int, short: int) -> None:
    """Every step costs 1, as in PDDL: a horizon without a plan proves each plan costs
    more than it has steps, and the next solve starts from that floor. The optimum, which
    meets the floor exactly when it is one step longer, is still found and proven (a floor
    one step too high fails most of these)."""
    unit = token_task(seed)
    actions = tuple(replace(a, cost=1.0, latency=0.0, reliability=1.0) for a in unit.actions)
    t = replace(unit, actions=actions, max_steps=40, limits=Limits())
    found = CpSatPlanner(short_horizon=short, small=0).solve(t)
    reference = SearchPlanner().solve(t)
    assert found is not None and reference is not None
    assert found.optimal
    assert found.plan.score == pytest.approx(reference.plan.score, abs=1e-6)
    assert check_plan(t, found.plan) == []


def test_cpsat_out_of_time_falls_back_to_the_search() -> None:
    """A time limit too short for CP-SAT to find anything: the search settles it exactly."""
    t = task(time_limit=1e-9)
    result = CpSatPlanner(small=0).plan(t)
    reference = CpSatPlanner(small=0).plan(task())
    assert result.status == "planned" and result.proven_optimal
    assert result.plan == reference.plan


def test_out_of_time_with_no_plan_is_not_reported_as_infeasible() -> None:
    """When neither CP-SAT's time nor the search's budget suffices, ido says so."""
    with pytest.raises(PlanningError, match=r"CP-SAT reached its time limit .* without a plan"):
        CpSatPlanner(fallback_states=1).plan(task(time_limit=1e-9))
