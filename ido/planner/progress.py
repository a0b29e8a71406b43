"""Word from a long decision while it plans: how far the search and the solver have got.

The planners stay pure: they do no I/O and hold no listener of their own. Whoever runs a
decision (`ido plan`, the runtime) sets a listener for it with `listening`, on the thread
that decides, and the planners `report` to whatever listener that thread has, if any: the
search every `EVERY` expansions, CP-SAT before each solve, a model planner before each
call it pays for. Nothing is reported to no one,
and a report changes nothing the planner does, so a decision with a listener is the same
decision. Solves run on other threads (the alternatives') report to no one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

Listener = Callable[[Mapping[str, object]], None]

EVERY = 20_000  # search expansions between reports (a second or so of search)
AFTER = 1.0  # seconds a decision plans before `Throttled` passes a report on
GAP = 2.0  # seconds at least between two reports passed on

_listener: ContextVar[Listener | None] = ContextVar("ido_planning_progress", default=None)


@contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    """Send what the planners report on this thread to `listener` until the block ends."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def report(**data: object) -> None:
    """Tell this thread's listener, if it has one: `stage` ("search", "cpsat" or "llm")
    and the stage's own counts."""
    listener = _listener.get()
    if listener is not None:
        listener(data)


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
    """A report in words: `planning 3.1s: search, 120,000 states expanded`."""
    head = f"planning {float(data.get('seconds', 0.0)):.1f}s"  # type: ignore[arg-type]
    if data.get("stage") == "search":
        return f"{head}: exact search, {data['expanded']:,} states expanded"
    if data.get("stage") == "cpsat":
        return (
            f"{head}: CP-SAT solve, plans of up to {data['steps']} steps "
            f"over {data['capabilities']:,} capabilities"
        )
    if data.get("stage") == "llm":
        return f"{head}: asking the model {data['model']} (call {data['call']})"
    return head
