"""Simulated warehouse: reserve an order's stock and release the reservation."""

from __future__ import annotations

from typing import Any

from capabilities import faults
from ido import ActionContext


def _order_id(ctx: ActionContext) -> str:
    order = ctx.state.get("order") or {}
    if "id" not in order:
        raise ValueError("state.order.id is missing: which order should be reserved?")
    return str(order["id"])


def reserve(ctx: ActionContext) -> dict[str, Any]:
    """Reserve the stock for the order; returns the reservation."""
    faults.check(ctx, "warehouse system unavailable")
    return {"reservation_id": faults.reference("rsv", ctx), "order_id": _order_id(ctx)}


def release(ctx: ActionContext) -> dict[str, Any]:
    """Release the order's reservation so the stock can be sold again."""
    faults.check(ctx, "warehouse system unavailable")
    return {"released": True, "order_id": _order_id(ctx)}
