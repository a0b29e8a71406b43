"""Simulated outages for the demo services, switched on by the IDO_DEMO_FAIL variable."""

from __future__ import annotations

import hashlib
import os

from ido import ActionContext

VARIABLE = "IDO_DEMO_FAIL"


class SimulatedOutage(RuntimeError):
    """A demo service refused the call because IDO_DEMO_FAIL names it."""


def failing() -> frozenset[str]:
    """Provider and capability names listed in IDO_DEMO_FAIL (comma-separated, any case)."""
    raw = os.environ.get(VARIABLE, "")
    return frozenset(part.strip().lower() for part in raw.split(",") if part.strip())


def check(ctx: ActionContext, failure: str) -> None:
    """Raise SimulatedOutage when IDO_DEMO_FAIL names this call's provider or capability."""
    names = failing()
    for name in (ctx.provider, ctx.capability):
        if name.lower() in names:
            raise SimulatedOutage(f"{name}: {failure} (simulated by {VARIABLE})")


def reference(prefix: str, ctx: ActionContext) -> str:
    """A stable id for this call, derived from its idempotency key: same key, same id."""
    digest = hashlib.sha256(f"{ctx.capability}\n{ctx.idempotency_key}".encode()).hexdigest()
    return f"{prefix}_{digest[:16]}"
