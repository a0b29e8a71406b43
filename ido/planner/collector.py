"""Python's cycle collector held off while a search runs (`ido.planner.astar`).

A search makes millions of small objects that live until it ends (paths, states, the
frontier's entries) and none of them in cycles, so the collector, which walks every young
object and, as the heap grows, every object again and again, finds nothing in them to free:
it took 31 % of rovers p05's first 40,000 expansions and 13 % of gripper prob05's. Searches
may run on several threads at once (a decision's alternatives), so the collector is held
off while any of them runs and let go, as it was, when the last one ends; what other code
left in cycles meanwhile is collected then.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Hold:
    """How many blocks hold the collector off, and whether it was on before the first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.was_enabled = False


_hold = _Hold()


@contextmanager
def held_off() -> Iterator[None]:
    """Hold the cycle collector off in the block; nested and threaded blocks count, and it
    is enabled again (if it was) when the last one ends."""
    with _hold.lock:
        if _hold.count == 0:
            _hold.was_enabled = gc.isenabled()
            gc.disable()
        _hold.count += 1
    try:
        yield
    finally:
        with _hold.lock:
            _hold.count -= 1
            if _hold.count == 0 and _hold.was_enabled:
                gc.enable()
