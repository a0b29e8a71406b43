"""Simulated carriers: book the shipment of a paid, reserved order."""

from __future__ import annotations

from typing import Any

from capabilities import faults
from ido import ActionContext


def ship(ctx: ActionContext) -> dict[str, Any]:
    """Book a shipment with this capability's carrier; returns the tracking number."""
    faults.check(ctx, "carrier booking API unavailable")
    order = ctx.state.get("order") or {}
    if not order.get("paid"):
        raise ValueError(f"order {order.get('id')}: refusing to ship an unpaid order")
    if not (ctx.state.get("inventory") or {}).get("reserved"):
        raise ValueError(f"order {order.get('id')}: no stock reserved to ship")
    tracking = faults.reference(ctx.provider, ctx).upper()
    return {"carrier": ctx.provider, "tracking": tracking, "order_id": str(order.get("id"))}
