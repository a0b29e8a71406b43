"""Deny rules that must hold (`negotiable: false`): an infeasible task's reason names them
as what stands in the way, and never offers to lift them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_cpsat import NOTIFY, PACK, PAY_CHEAP, PAY_FAST, SHIP, action, plan, task

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


SLOW = replace(PAY_CHEAP, name="pay-slow", latency=10.0)
PRICEY = replace(PAY_FAST, name="pay-pricey", cost=5.0)


def test_of_limits_and_rules_relaxed_together_none_is_a_rule_that_must_hold() -> None:
    """No one limit or rule alone is a way out: relaxing the deadline and lifting the
    sanctions rule together was offered, where the budget and the residency rule may be."""
    denied = (
        Denied(SLOW, SANCTIONS, "sanctioned vendor"),
        Denied(PRICEY, RESIDENCY, "PII stays in the EU"),
    )
    t = task([PACK, SHIP, NOTIFY], denied=denied, limits=Limits(max_cost=1.2, deadline=5.0))
    assert plan(t).reason.endswith(f"relax deadline and rule {SANCTIONS} together")  # type: ignore[union-attr]
    result = plan(replace(t, fixed=frozenset({SANCTIONS})))
    assert result.reason is not None
    assert result.reason.endswith(f"relax max_cost and rule {RESIDENCY} together")
    assert [way.element.split("\t") for way in result.ways] == [["max_cost", RESIDENCY]]


def test_when_every_way_out_lifts_a_rule_that_must_hold_none_is_offered() -> None:
    """The one provider is sanctioned and too slow besides: no way out keeps the rule."""
    denied = (Denied(SLOW, SANCTIONS, "sanctioned vendor"),)
    t = task(
        [PACK, SHIP, NOTIFY],
        denied=denied,
        limits=Limits(deadline=5.0),
        fixed=frozenset({SANCTIONS}),
    )
    result = plan(t)
    assert result.reason is not None
    assert result.reason.endswith(
        f"every way out lifts rule {SANCTIONS}, which may not be lifted (negotiable: false)"
    )
    assert result.ways == ()


REFUND = action("refund-cheap", ("state.order.paid",), {"order.refunded": True}, cost=0.3)
PAYOUT = action("payout-vendor", ("state.vendor.onboarded",), {"vendor.paid": True}, cost=0.2)
INVOICE = action("invoice-vendor", (), {"vendor.invoiced": True}, cost=0.1)


@pytest.mark.parametrize("fixed", [True, False])
def test_a_denial_is_told_only_of_the_capabilities_that_could_serve_the_goal(fixed: bool) -> None:
    """A sanctions rule over every payment capability denied the two payments the goal
    needs, a refund and an invoice it does not, and a payout that could never run: the
    reason named them all (`pay-cheap, pay-fast, refund-cheap, payout-vendor, invoice-vendor
    and 1 more`); it names the two payments, the way out lifting the rule too."""
    useless = [REFUND, PAYOUT, INVOICE, replace(REFUND, name="refund-fast")]
    denied = tuple(
        Denied(a, SANCTIONS, "sanctioned vendor") for a in (PAY_CHEAP, *useless, PAY_FAST)
    )
    rules = frozenset({SANCTIONS}) if fixed else frozenset()
    result = plan(task([PACK, SHIP, NOTIFY], denied=denied, fixed=rules))
    assert result.status == "infeasible"
    assert result.reason is not None
    assert (
        "every way there is ruled out: policy sanctions/blocked-vendor denies pay-cheap, pay-fast"
        + (", which may not be lifted" if fixed else ";")
    ) in result.reason
    if not fixed:
        assert result.reason.endswith(
            f"or lift rule {SANCTIONS} (it denies pay-cheap, pay-fast) to allow "
            "pay-cheap → pack → ship → notify"
        )
    for name in ("refund", "payout", "invoice", "more"):
        assert name not in result.reason
