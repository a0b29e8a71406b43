"""Approvals weigh in the score: a plan that stops for a person loses to one that does not,
by `Weights.approval` per request, in every backend alike."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from test_cpsat import PACK, PAY_CHEAP, SHIP, task
from test_property import SMALL_SEEDS, brute_force, random_task
from test_search import agree

from ido.planner.cpsat import CpSatPlanner
from ido.planner.search import SearchPlanner
from ido.planner.types import Task, Weights

GATED = replace(PAY_CHEAP, name="pay-audited", approvals=("finance/large",))
"""pay-cheap in every number, but a person must approve it (and first by name: a tie
between equal actions goes by name)."""
GOAL = ("state.order.status == 'packed'",)


def test_an_action_weighs_its_approvals_in_the_score() -> None:
    weights = Weights(cost=1.0, approval=0.5)
    assert weights.score(GATED) == pytest.approx(weights.score(PAY_CHEAP) + 0.5)
    assert Weights().score(GATED) == Weights().score(PAY_CHEAP)  # a planner's own default


@pytest.mark.parametrize("backend", ["cpsat", "search"])
def test_a_plan_needing_approval_loses_a_tie_to_one_that_needs_none(backend: str) -> None:
    """Both cost the same, and the planner picked the gated one, first by name."""
    t = task([GATED, PAY_CHEAP, PACK], GOAL, weights=Weights(approval=0.01), alternatives=2)
    found = (SearchPlanner() if backend == "search" else CpSatPlanner(small=0)).plan(t)
    assert found.plan is not None and found.plan.capabilities == ("pay-cheap", "pack")
    assert [a.plan.capabilities for a in found.alternatives] == [("pay-audited", "pack")]
    (why,) = [a.why for a in found.alternatives]
    assert (
        why == "+0.01 approval: pay-audited needs finance/large: pay-audited instead of pay-cheap"
    )


def test_without_the_weight_the_tie_stands_as_before() -> None:
    t = task([GATED, PAY_CHEAP, PACK], GOAL, alternatives=2)
    found = CpSatPlanner(small=0).plan(t)
    assert found.plan is not None and found.plan.capabilities == ("pay-audited", "pack")
    assert all("approval" not in a.why for a in found.alternatives)


def test_an_approval_weighed_at_half_a_unit_outweighs_a_dearer_free_plan() -> None:
    """The user's own price of an approval: 0.50, against a payment 0.20 dearer."""
    dearer = replace(PAY_CHEAP, name="pay-free", cost=PAY_CHEAP.cost + 0.2)
    for weight, chosen in ((0.01, "pay-audited"), (0.5, "pay-free")):
        t = task([GATED, dearer, PACK, SHIP], GOAL, weights=Weights(approval=weight))
        found = CpSatPlanner(small=0, search_first=0).plan(t)
        assert found.plan is not None and found.plan.capabilities[0] == chosen, weight


def gated(seed: int) -> Task:
    """A random small task with some actions needing approval, weighed at random."""
    t = random_task(seed, small=True)
    rng = random.Random(seed + 7919)
    actions = tuple(replace(a, approvals=("p/r",) * rng.choice([0, 0, 1, 2])) for a in t.actions)
    weights = replace(t.weights, approval=rng.choice([0.01, 0.25, 1.0]))
    return replace(t, actions=actions, weights=weights)


@pytest.mark.parametrize("seed", SMALL_SEEDS)
def test_search_and_cpsat_agree_when_approvals_weigh(seed: int) -> None:
    agree(gated(seed))


@pytest.mark.parametrize("seed", range(0, 200, 4))
def test_a_proven_optimal_plan_weighs_approvals_as_the_brute_force_does(seed: int) -> None:
    t = gated(seed)
    result = CpSatPlanner(small=0, search_first=0).plan(t)
    best = brute_force(t)
    if result.status != "planned" or not result.proven_optimal:
        return
    assert result.plan is not None and best is not None
    assert result.plan.score == pytest.approx(best.score, abs=1e-6)


def test_a_prefer_bonus_does_not_cancel_the_weight_of_an_approval() -> None:
    """A `prefer` rule for something else (weight 10) takes a step's score to 0, but the
    approval it needs still weighs on top: 0 + 0.01, not max(0, 0.3 - 10 + 0.01)."""
    weights = Weights(cost=1.0, approval=0.01)
    preferred = replace(PAY_CHEAP, bias=-10.0)
    assert weights.score(preferred) == 0.0
    assert weights.score(replace(preferred, approvals=("finance/large",))) == pytest.approx(0.01)
    avoided = replace(PAY_CHEAP, bias=0.5, approvals=("finance/large",))  # avoid adds as before
    assert weights.score(avoided) == pytest.approx(0.3 + 0.5 + 0.01)


@pytest.mark.parametrize("backend", ["cpsat", "search"])
def test_a_plan_needing_approval_loses_to_an_equally_preferred_one(backend: str) -> None:
    """Both payments are preferred by 10 (say, `provider == 'stripe'`): the one a person
    must approve loses, as it would without the bonus."""
    gated, free = replace(GATED, bias=-10.0), replace(PAY_CHEAP, bias=-10.0)
    t = task([gated, free, PACK], GOAL, weights=Weights(approval=0.01), alternatives=2)
    found = (SearchPlanner() if backend == "search" else CpSatPlanner(small=0)).plan(t)
    assert found.plan is not None and found.plan.capabilities == ("pay-cheap", "pack")
    (other,) = found.alternatives
    assert other.plan.capabilities == ("pay-audited", "pack")
    assert other.why.startswith("+0.01 approval: pay-audited needs finance/large")
