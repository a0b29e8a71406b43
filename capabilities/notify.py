"""Simulated notification gateways: tell the customer their order has shipped."""

from __future__ import annotations

from typing import Any

from capabilities import faults
from ido import ActionContext


def send(ctx: ActionContext) -> dict[str, Any]:
    """Send the shipping notice through this capability's gateway; returns the message id."""
    faults.check(ctx, "message gateway unavailable")
    order = ctx.state.get("order") or {}
    if not order.get("shipped"):
        raise ValueError(f"order {order.get('id')}: nothing to announce, it has not shipped")
    shipment = order.get("shipment") or {}
    return {
        "message_id": faults.reference("msg", ctx),
        "gateway": ctx.provider,
        "tracking": shipment.get("tracking"),
    }
