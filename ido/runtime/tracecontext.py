"""W3C trace context for runs, without OpenTelemetry: ids derived from the journal.

A run's trace id and each span's id are digests of the run id and the span's place in the
run (`run`, `decide/3`, `perform/5/1`), so the runtime can hand a capability its
`traceparent` before any span exists, a resumed run continues the same trace from another
process, and `ido.tracing` builds spans with exactly these ids.
"""

from __future__ import annotations

import hashlib


def trace_id(run_id: str) -> int:
    return _digest(f"trace:{run_id}", 16)


def span_id(run_id: str, place: str) -> int:
    """The id of the span at `place` in the run: `run`, `decide/N`, `perform/STEP/ATTEMPT`."""
    return _digest(f"span:{run_id}/{place}", 8)


def traceparent(run_id: str, place: str) -> str:
    """The `traceparent` header value (version 00, sampled) naming the span at `place`."""
    return f"00-{trace_id(run_id):032x}-{span_id(run_id, place):016x}-01"


def _digest(text: str, size: int) -> int:
    value = int.from_bytes(hashlib.sha256(text.encode()).digest()[:size], "big")
    return value or 1  # all-zero ids are invalid in W3C trace context


def perform_place(step: int, attempt: int, resumed: bool = False) -> str:
    """Where a call's span sits in its run's trace: a step settled on resume has a place of
    its own (the process that started it may have exported the span it began, cut short)."""
    return f"perform/{step}/{attempt}" + ("/resumed" if resumed else "")
