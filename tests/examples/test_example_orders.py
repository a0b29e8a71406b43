"""The simulated order services succeed, and fail on demand when IDO_DEMO_FAIL names them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from ido.loading import Catalog
from ido.runtime.bindings import Outcome
from ido.runtime.local import LocalRuntime
from ido.testing import MemoryJournal, StepClock

ORDER_CAPABILITIES = [
    "charge-adyen-eu",
    "charge-paypal-us",
    "charge-stripe-eu",
    "charge-stripe-us",
    "notify-email",
    "notify-sms",
    "refund-adyen-eu",
    "refund-paypal-us",
    "refund-stripe-eu",
    "refund-stripe-us",
    "release-inventory",
    "reserve-inventory",
    "ship-dhl",
    "ship-fedex-us",
    "ship-ups",
]

# A state in which every order capability has what it needs: paid, reserved, shipped.
READY: dict[str, Any] = {
    "order": {
        "id": "1042",
        "amount": 120.0,
        "region": "eu",
        "paid": True,
        "charge": {"charge_id": "ch_0123456789abcdef"},
        "shipped": True,
        "shipment": {"tracking": "DHL_0123"},
    },
    "inventory": {"reserved": True},
    "customer": {"notified": False},
}

Invoke = Callable[..., Any]


def with_order(**changes: Any) -> dict[str, Any]:
    return {**READY, "order": {**READY["order"], **changes}}


def test_the_list_covers_every_order_capability(catalog: Catalog) -> None:
    """Every capability declared under capabilities/orders/ is exercised below."""
    declared = {
        name
        for (kind, name), origin in catalog.origins.items()
        if kind == "Capability" and origin.file.parent.name == "orders"
    }
    assert declared == set(ORDER_CAPABILITIES)


@pytest.mark.parametrize("name", ORDER_CAPABILITIES)
def test_order_capability_succeeds_with_an_output(invoke: Invoke, name: str) -> None:
    """Without IDO_DEMO_FAIL each simulated service returns a small JSON-able mapping."""
    output = invoke(name, READY)
    assert isinstance(output, Mapping)
    assert output


@pytest.mark.parametrize("name", ORDER_CAPABILITIES)
def test_order_capability_fails_when_its_provider_is_named(
    invoke: Invoke, catalog: Catalog, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """IDO_DEMO_FAIL=<provider> makes every capability of that provider raise."""
    provider = catalog.capabilities[name].spec.provider
    monkeypatch.setenv("IDO_DEMO_FAIL", f"someone-else,{provider}")
    with pytest.raises(RuntimeError, match=rf"^{provider}: .+ \(simulated by IDO_DEMO_FAIL\)$"):
        invoke(name, READY)


def test_stripe_outage_reads_as_a_card_processor_failure(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The message the demo shows names the provider and where the failure came from."""
    monkeypatch.setenv("IDO_DEMO_FAIL", "stripe")
    with pytest.raises(RuntimeError) as raised:
        invoke("charge-stripe-eu", READY)
    assert str(raised.value) == "stripe: card processor unavailable (simulated by IDO_DEMO_FAIL)"
    assert type(raised.value).__name__ == "SimulatedOutage"


def test_naming_a_capability_fails_only_that_capability(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """IDO_DEMO_FAIL=charge-stripe-eu leaves Stripe's US capability working."""
    monkeypatch.setenv("IDO_DEMO_FAIL", "charge-stripe-eu")
    with pytest.raises(RuntimeError, match=r"^charge-stripe-eu: card processor unavailable"):
        invoke("charge-stripe-eu", READY)
    assert invoke("charge-stripe-us", READY)["provider"] == "stripe"


def test_names_are_trimmed_and_matched_in_any_case(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """' DHL , ' fails the DHL carrier like 'dhl' would."""
    monkeypatch.setenv("IDO_DEMO_FAIL", " DHL , ")
    with pytest.raises(RuntimeError, match=r"^dhl: carrier booking API unavailable"):
        invoke("ship-dhl", READY)


def test_other_providers_keep_working(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Stripe outage does not touch Adyen, DHL or the e-mail gateway."""
    monkeypatch.setenv("IDO_DEMO_FAIL", "stripe")
    for name in ("charge-adyen-eu", "ship-dhl", "notify-email"):
        assert invoke(name, READY)


def test_charge_id_follows_the_idempotency_key(invoke: Invoke) -> None:
    """Repeating a call with the same key yields the same charge; a new key, a new one."""
    first = invoke("charge-stripe-eu", READY, key="r1/2/1")
    again = invoke("charge-stripe-eu", READY, key="r1/2/1")
    other = invoke("charge-stripe-eu", READY, key="r1/2/2")
    assert first["charge_id"] == again["charge_id"] != other["charge_id"]
    assert first["charge_id"].startswith("ch_")


def test_charge_bills_the_order_amount_in_the_region_currency(invoke: Invoke) -> None:
    """An EU order is charged in EUR, a US order in USD, for the order's amount."""
    eu = invoke("charge-adyen-eu", READY)
    us = invoke("charge-paypal-us", with_order(region="us"))
    assert (eu["amount"], eu["currency"], eu["order_id"]) == (120.0, "EUR", "1042")
    assert us["currency"] == "USD"


@pytest.mark.parametrize("amount", [None, 0, -5.0, "120", True])
def test_charge_refuses_an_order_without_a_positive_amount(invoke: Invoke, amount: Any) -> None:
    """Charging needs a positive number; anything else fails before any money moves."""
    with pytest.raises(ValueError, match="amount must be a positive number"):
        invoke("charge-stripe-eu", with_order(amount=amount))


def test_charge_refuses_a_state_without_an_order(invoke: Invoke) -> None:
    """Without state.order.id the service says which fact is missing."""
    with pytest.raises(ValueError, match=r"state\.order\.id is missing"):
        invoke("charge-stripe-eu", {})


def test_shipping_refuses_an_unpaid_order(invoke: Invoke) -> None:
    """A carrier never books a parcel for an order that is not paid."""
    with pytest.raises(ValueError, match="refusing to ship an unpaid order"):
        invoke("ship-ups", with_order(paid=False))


def test_refund_needs_the_recorded_charge(invoke: Invoke) -> None:
    """A refund refers to the charge stored at state.order.charge, and fails without it."""
    assert invoke("refund-stripe-eu", READY)["charge_id"] == "ch_0123456789abcdef"
    with pytest.raises(ValueError, match="no charge recorded"):
        invoke("refund-stripe-eu", with_order(charge=None))


def test_runtime_reports_the_outage_as_a_failed_outcome(
    call: Callable[..., Outcome], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Performed by the runtime, the simulated outage is a failed Outcome with its message."""
    monkeypatch.setenv("IDO_DEMO_FAIL", "stripe")
    outcome = call("charge-stripe-eu", READY)
    assert not outcome.ok
    assert outcome.error == (
        "SimulatedOutage: stripe: card processor unavailable (simulated by IDO_DEMO_FAIL)"
    )


def test_fulfil_order_run_replans_to_adyen_when_stripe_is_down(
    catalog: Catalog, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole run with Stripe down is achieved through Adyen, DHL and e-mail."""
    monkeypatch.setenv("IDO_DEMO_FAIL", "stripe")
    finished: list[tuple[str, bool]] = []

    def listen(kind: str, data: Mapping[str, Any]) -> None:
        if kind == "action_finished":
            finished.append((data["capability"], data["ok"]))

    runtime = LocalRuntime(catalog, MemoryJournal(), base=root, clock=StepClock(), listener=listen)
    report = runtime.run(catalog.intents["fulfil-order"])
    assert report.outcome == "achieved", report.reason
    assert ("charge-stripe-eu", False) in finished
    assert [name for name, ok in finished if ok][-3:] == [
        "charge-adyen-eu",
        "ship-dhl",
        "notify-email",
    ]
