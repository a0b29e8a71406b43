"""The shipped example catalog loads, binds to real code, and plans the way the docs say."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from ido.decide import decide
from ido.decision import Decision, History
from ido.health import Evidence
from ido.loading import Catalog
from ido.observe import boolean_facts, snapshot
from ido.planner import get_planner
from ido.runtime.bindings import load_callable
from ido.state import apply_effects

RESIDENCY = "eu-data-residency/pii-stays-in-eu"
NOW = 1_800_000_000.0


def plan_for(
    catalog: Catalog,
    intent: str,
    effects: Mapping[str, Any] | None = None,
    failures: Mapping[str, int] | None = None,
) -> Decision:
    """Decide once for a shipped intent, after `effects` happened and `failures` were seen
    (each failure a moment ago, as the runtime would have learnt it)."""
    chosen = catalog.intents[intent]
    state = snapshot(chosen, [], apply_effects({}, effects or {}), boolean_facts(catalog))
    planner = get_planner(chosen.spec.planner)
    evidence = {}
    for name, count in (failures or {}).items():
        seen = Evidence()
        for _ in range(count):
            seen = seen.record(False, None, NOW)
        evidence[name] = seen
    history = History(failures=failures or {}, evidence=evidence, now=NOW)
    return decide(chosen, catalog, state, history, planner, number=1, trigger="t")


def steps(decision: Decision) -> tuple[str, ...]:
    assert decision.result.plan is not None, decision.result.reason
    return decision.result.plan.capabilities


def test_catalog_holds_both_example_domains(catalog: Catalog) -> None:
    """The order and report domains load with their intents and policies."""
    assert set(catalog.intents) == {"fulfil-order", "fulfil-large-order", "publish-report"}
    assert set(catalog.policies) == {
        "eu-data-residency",
        "spend-approval",
        "report-quality",
        "payments-freeze",
        "vendor-limits",
    }
    assert len(catalog.capabilities) == 20


def test_every_capability_can_be_performed(
    catalog: Catalog, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every capability has a binding whose Python function or `-m` module exists."""
    monkeypatch.syspath_prepend(str(root))
    missing = []
    for capability in catalog.capabilities.values():
        run = capability.spec.run
        if run is None:
            missing.append(f"{capability.name}: no run binding")
        elif run.python is not None:
            assert callable(load_callable(run.python, root))
        elif (
            run.shell is not None
            and run.shell[1:2] == ["-m"]
            and importlib.util.find_spec(run.shell[2]) is None
        ):
            missing.append(f"{capability.name}: no module {run.shell[2]}")
    assert missing == []


def test_every_charge_is_compensated_by_a_refund_of_the_same_provider(catalog: Catalog) -> None:
    """Each charge names a refund that undoes `order.paid` with the same provider and region."""
    charges = [c for c in catalog.capabilities.values() if c.name.startswith("charge-")]
    assert len(charges) == 4
    for charge in charges:
        assert charge.spec.compensate is not None, charge.name
        refund = catalog.capabilities[charge.spec.compensate]
        assert refund.spec.effects["order.paid"] is False
        assert (refund.spec.provider, refund.spec.region) == (
            charge.spec.provider,
            charge.spec.region,
        )


def test_fulfil_order_plans_stripe_eu_dhl_and_email(catalog: Catalog) -> None:
    """The optimal plan reserves stock, charges with Stripe EU, ships DHL and e-mails."""
    decision = plan_for(catalog, "fulfil-order")
    assert sorted(steps(decision)) == [
        "charge-stripe-eu",
        "notify-email",
        "reserve-inventory",
        "ship-dhl",
    ]
    plan = decision.result.plan
    assert plan is not None
    assert plan.score == pytest.approx(4.732532, abs=1e-5)
    assert plan.cost == pytest.approx(2.86)
    assert plan.latency == pytest.approx(3.6)
    assert plan.success_probability == pytest.approx(0.99 * 0.999 * 0.98 * 0.995)


def test_fulfil_order_denies_us_processors_of_eu_pii(catalog: Catalog) -> None:
    """The cheaper US capabilities are rejected by the residency rule, not by score."""
    decision = plan_for(catalog, "fulfil-order")
    denied = {r.capability for r in decision.result.rejections if r.reason == "denied"}
    assert denied == {
        "charge-stripe-us",
        "charge-paypal-us",
        "refund-stripe-us",
        "refund-paypal-us",
        "ship-fedex-us",
    }
    assert {r.rule for r in decision.result.rejections if r.reason == "denied"} == {RESIDENCY}


def test_fulfil_order_falls_back_to_adyen_when_stripe_failed(catalog: Catalog) -> None:
    """After one Stripe failure the replan charges with Adyen EU and keeps DHL and e-mail."""
    decision = plan_for(
        catalog, "fulfil-order", {"inventory.reserved": True}, {"charge-stripe-eu": 1}
    )
    assert steps(decision) == ("charge-adyen-eu", "ship-dhl", "notify-email")
    reasons = {r.capability: r.reason for r in decision.result.rejections}
    assert reasons["charge-stripe-eu"] == "too_unreliable"


def test_fulfil_order_fails_when_no_eu_processor_is_left(catalog: Catalog) -> None:
    """With both EU processors failing, no plan meets the success probability."""
    decision = plan_for(
        catalog,
        "fulfil-order",
        {"inventory.reserved": True},
        {"charge-stripe-eu": 1, "charge-adyen-eu": 1},
    )
    assert decision.result.status == "infeasible"
    assert "success probability" in (decision.result.reason or "")


def test_large_order_waits_for_approval_of_the_charge(catalog: Catalog) -> None:
    """fulfil-large-order plans the same steps but its charge needs a person's approval."""
    decision = plan_for(catalog, "fulfil-large-order")
    assert [(rule, name) for rule, name, _ in decision.approvals] == [
        ("spend-approval/large-payment", "charge-stripe-eu")
    ]


@pytest.mark.parametrize("intent", ["fulfil-order", "fulfil-large-order", "publish-report"])
def test_policies_evaluate_without_errors_on_every_capability(
    catalog: Catalog, intent: str
) -> None:
    """Rules read region and tags safely, also of capabilities that have no region or tags."""
    decision = plan_for(catalog, intent)
    assert decision.policy_errors == ()
    assert decision.result.condition_errors == ()


def test_publish_report_prefers_the_template_and_the_site(catalog: Catalog) -> None:
    """The report is rendered from its template, published to the site, then indexed."""
    decision = plan_for(catalog, "publish-report")
    assert steps(decision) == ("render-report", "publish-to-site", "update-index")
    plan = decision.result.plan
    assert plan is not None
    assert plan.score == pytest.approx(0.45 - math.log(0.99 * 0.99 * 0.999))


def test_publish_report_falls_back_to_degraded_paths_after_failures(catalog: Catalog) -> None:
    """Once the template renderer and the site failed, plain rendering and the outbox win."""
    decision = plan_for(
        catalog, "publish-report", failures={"render-report": 1, "publish-to-site": 1}
    )
    assert steps(decision) == ("render-report-plain", "publish-to-outbox", "update-index")


def test_an_expensive_order_plan_waits_for_the_plan_as_a_whole(catalog: Catalog) -> None:
    """With reserving stock priced up, every plan costs over 4.00: the plan rule asks for
    approval of the plan as a whole."""
    usual = catalog.capabilities["reserve-inventory"]
    spec = usual.spec.model_copy(update={"cost": 1.5})
    catalog.capabilities["reserve-inventory"] = usual.model_copy(update={"spec": spec})
    try:
        decision = plan_for(catalog, "fulfil-order")
    finally:
        catalog.capabilities["reserve-inventory"] = usual
    assert decision.result.plan is not None and decision.result.plan.cost > 4.0
    assert [a[:2] for a in decision.approvals] == [("vendor-limits/expensive-plan", "(plan)")]
