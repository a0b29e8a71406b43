"""How a long decision's progress reaches a person: after a second, now and then, in words.

The planners report (`ido.planner.progress`); this, at the edge, reads the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from ido.planner.progress import Listener

AFTER = 1.0  # seconds a decision plans before `Throttled` passes a report on
GAP = 2.0  # seconds at least between two reports passed on


class Throttled:
    """A listener that passes reports on to `show` only once the decision has planned for
    `after` seconds (`AFTER`), and then at most one each `gap` seconds (`GAP`), with
    `seconds` (since it was made) added: a quick decision says nothing, a long one a line
    now and then."""

    def __init__(
        self,
        show: Listener,
        *,
        after: float | None = None,
        gap: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._show = show
        self._gap = GAP if gap is None else gap
        self._clock = clock
        self._started = clock()
        self._next = self._started + (AFTER if after is None else after)

    def __call__(self, data: Mapping[str, object]) -> None:
        now = self._clock()
        if now < self._next:
            return
        self._next = now + self._gap
        self._show({**data, "seconds": now - self._started})


def describe(data: Mapping[str, object]) -> str:
    """A report in words: `planning 3.1s: exact search, 120,000 states expanded`."""
    seconds = data.get("seconds", 0.0)
    head = f"planning {seconds if isinstance(seconds, (int, float)) else 0.0:.1f}s"
    if data.get("stage") == "search":
        left_out = data.get("without")
        which = ""
        if isinstance(left_out, list) and left_out:
            which = f" for an alternative without {', '.join(map(str, left_out))}"
        return f"{head}: exact search{which}, {data['expanded']:,} states expanded"
    if data.get("stage") == "cpsat":
        return (
            f"{head}: CP-SAT solve, plans of up to {data['steps']} steps "
            f"over {data['capabilities']:,} capabilities"
        )
    if data.get("stage") == "llm":
        return f"{head}: asking the model {data['model']} (call {data['call']})"
    return head
