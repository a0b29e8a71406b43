"""What a Python capability binding receives when ido performs it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ActionContext:
    """The call's identity and the state it was planned on; bindings must not mutate `state`.

    A Python binding is `def fn(ctx: ActionContext) -> Mapping | None`: returning means
    success (the mapping, if any, is the action's output), raising means failure.
    """

    run_id: str
    intent: str
    capability: str
    provider: str
    step: int
    attempt: int
    idempotency_key: str
    timeout: float
    state: Mapping[str, Any] = field(default_factory=dict)
    traceparent: str | None = None
    """W3C trace context of this call's span when ido traces (see `ido.tracing`); pass it on
    to downstream calls to join the run's trace."""
