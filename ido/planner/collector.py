"""Python's cycle collector held off while a search runs (`ido.planner.astar`).

A search makes millions of small objects that live until it ends (paths, states, the
frontier's entries) and none of them in cycles, so the collector, which walks every young
object and, as the heap grows, every object again and again, finds nothing in them to free:
it took 31 % of rovers p05's first 40,000 expansions and 13 % of gripper prob05's. Searches
may run on several threads at once (a decision's alternatives), so the collector is held
off while any of them runs and let go, as it was, when the last one ends; what other code
left in cycles meanwhile is collected then. Where searches keep overlapping (a worker's
runs on several threads), none is ever the last: a block that ends while others run
collects once the collector has been held off `HOLD_MOST` seconds, so the garbage of other
threads does not pile up for good.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

HOLD_MOST = 10.0
"""Seconds the collector may stay held off by overlapping searches before a block that ends
while others run collects (a full collection: it walks the other searches' objects too)."""


class _Hold:
    """How many blocks hold the collector off, and whether it was on before the first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.was_enabled = False
        self.since = 0.0
        """When the collector was held off, or last collected while held off."""


_hold = _Hold()


@contextmanager
def held_off() -> Iterator[None]:
    """Hold the cycle collector off in the block; nested and threaded blocks count, and it
    is enabled again (if it was) when the last one ends."""
    with _hold.lock:
        if _hold.count == 0:
            _hold.was_enabled = gc.isenabled()
            _hold.since = time.monotonic()
            gc.disable()
        _hold.count += 1
    try:
        yield
    finally:
        overdue = False
        with _hold.lock:
            _hold.count -= 1
            if _hold.count == 0 and _hold.was_enabled:
                gc.enable()
            elif _hold.was_enabled and time.monotonic() - _hold.since >= HOLD_MOST:
                overdue = True
                _hold.since = time.monotonic()
        if overdue:
            gc.collect()
