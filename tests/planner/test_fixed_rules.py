"""Deny rules that must hold (`negotiable: false`): an infeasible task's reason names them
as what stands in the way, and never offers to lift them."""

from __future__ import annotations

from dataclasses import replace

from test_cpsat import NOTIFY, PACK, PAY_CHEAP, PAY_FAST, SHIP, plan, task

from ido.planner.types import Denied, Limits

SANCTIONS = "sanctions/blocked-vendor"
RESIDENCY = "residency/pii-stays-in-eu"


def test_a_rule_that_must_hold_and_rules_out_every_way_is_named_not_offered() -> None:
    """Every way to the goal pays through a sanctioned vendor: the reason said "or lift rule
    sanctions/blocked-vendor", advice nobody may take; it names the rule, and no way out."""
    denied = tuple(Denied(a, SANCTIONS, "sanctioned vendor") for a in (PAY_CHEAP, PAY_FAST))
    result = plan(task([PACK, SHIP, NOTIFY], denied=denied, fixed=frozenset({SANCTIONS})))
    assert result.status == "infeasible"
    assert result.reason == (
        "no plan reaches 'state.order.status == 'shipped'', 'state.customer.notified': "
        "every way there is ruled out: policy sanctions/blocked-vendor denies pay-cheap, "
        "pay-fast, which may not be lifted (negotiable: false)"
    )
    assert result.blocking == (SANCTIONS,)
    assert result.ways == ()


def test_beside_a_budget_the_rule_that_must_hold_is_named_and_the_budget_is_the_way() -> None:
    """Only the sanctioned provider fits the budget: raising the budget is the way out, and
    the rule is said to stand in the way too, without "or lift rule"."""
    denied = (Denied(PAY_CHEAP, SANCTIONS, "sanctioned vendor"),)
    t = task([PAY_FAST, PACK, SHIP, NOTIFY], denied=denied, limits=Limits(max_cost=1.2))
    negotiable = plan(t)
    assert negotiable.reason is not None and f"or lift rule {SANCTIONS}" in negotiable.reason
    result = plan(replace(t, fixed=frozenset({SANCTIONS})))
    assert result.reason == (
        "no plan within max_cost 1.20: the cheapest plan costs 1.45 (pay-fast 0.80 + pack 0.10 "
        "+ ship 0.50 + notify 0.05); raise max_cost to 1.45; policy sanctions/blocked-vendor "
        "denies pay-cheap, which may not be lifted (negotiable: false)"
    )
    assert result.conflict == ("max_cost", SANCTIONS)
    assert [way.element for way in result.ways] == ["max_cost"]


def test_of_two_rules_in_the_way_only_the_negotiable_one_is_offered() -> None:
    """One provider is sanctioned, the other kept out by a residency rule that may be
    lifted: the residency rule is the way out, the sanctions rule is only named."""
    denied = (
        Denied(PAY_CHEAP, SANCTIONS, "sanctioned vendor"),
        Denied(PAY_FAST, RESIDENCY, "PII stays in the EU"),
    )
    result = plan(task([PACK, SHIP, NOTIFY], denied=denied, fixed=frozenset({SANCTIONS})))
    assert result.reason is not None
    assert result.reason.endswith(
        "every way there is ruled out: policy sanctions/blocked-vendor denies pay-cheap, which "
        "may not be lifted (negotiable: false); policy residency/pii-stays-in-eu denies "
        "pay-fast; or lift rule residency/pii-stays-in-eu (it denies pay-fast) to allow "
        "pay-fast → pack → ship → notify"
    )
    assert f"lift rule {SANCTIONS}" not in result.reason
    assert [way.element for way in result.ways] == [RESIDENCY]


def test_when_only_the_fixed_rule_helps_alone_what_may_be_relaxed_together_is_offered() -> None:
    """The sanctioned provider is the one way out alone; the other is over budget and
    denied by a rule that may be lifted: relaxing both together is the way out offered."""
    pricey = replace(PAY_FAST, cost=5.0)
    denied = (
        Denied(PAY_CHEAP, SANCTIONS, "sanctioned vendor"),
        Denied(pricey, RESIDENCY, "PII stays in the EU"),
    )
    t = task(
        [PACK, SHIP, NOTIFY],
        denied=denied,
        limits=Limits(max_cost=1.2),
        fixed=frozenset({SANCTIONS}),
    )
    result = plan(t)
    assert result.reason is not None
    assert f"lift rule {SANCTIONS}" not in result.reason
    assert result.reason.endswith(f"or relax max_cost and rule {RESIDENCY} together"), result.reason
    assert [way.kind for way in result.ways] == ["together"]
