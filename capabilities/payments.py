"""Simulated payment providers: charge an order and refund it (deterministic, no network)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from capabilities import faults
from ido import ActionContext

CURRENCIES = {"eu": "EUR", "us": "USD"}


def _order(ctx: ActionContext) -> Mapping[str, Any]:
    order = ctx.state.get("order")
    if not isinstance(order, Mapping) or "id" not in order:
        raise ValueError("state.order.id is missing: which order should be charged?")
    return order


def _amount(order: Mapping[str, Any]) -> float:
    amount = order.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
        raise ValueError(f"order {order['id']}: amount must be a positive number, got {amount!r}")
    return float(amount)


def charge(ctx: ActionContext) -> dict[str, Any]:
    """Charge the order's amount with this capability's provider; returns the charge."""
    faults.check(ctx, "card processor unavailable")
    order = _order(ctx)
    amount = _amount(order)
    return {
        "charge_id": faults.reference("ch", ctx),
        "provider": ctx.provider,
        "order_id": str(order["id"]),
        "amount": amount,
        "currency": CURRENCIES.get(str(order.get("region")), "EUR"),
    }


def refund(ctx: ActionContext) -> dict[str, Any]:
    """Refund the order's charge in full with this capability's provider."""
    faults.check(ctx, "refund service unavailable")
    order = _order(ctx)
    charged = order.get("charge")
    if not isinstance(charged, Mapping) or "charge_id" not in charged:
        raise ValueError(f"order {order['id']}: no charge recorded in state.order.charge")
    return {
        "refund_id": faults.reference("re", ctx),
        "provider": ctx.provider,
        "charge_id": charged["charge_id"],
        "amount": _amount(order),
    }
