"""Word from a long decision while it plans: how far the search and the solver have got.

The planners stay pure: they do no I/O, read no clock and hold no listener of their own.
Whoever runs a decision (`ido plan`, the runtime) sets a listener for it with `listening`,
on the thread that decides, and the planners `report` to whatever listener that thread
has, if any: the search as it starts and every `EVERY` expansions, CP-SAT before each
solve, a model planner before each call it pays for; an alternative's solves add the
capability they leave out (`adding`, set by `SolvingPlanner._alternatives`). A
report changes nothing the planner does: a decision with a listener is the same decision.
Solves on a pool's threads (CP-SAT's alternatives, side by side) run in a copy of the
deciding thread's context, so they report to its listener too, which must then take
reports from several threads. How reports reach a person (throttled, in words, and said
again while a long solve is quiet) is `ido.planning_words`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

Listener = Callable[[Mapping[str, object]], None]

EVERY = 1_000  # search expansions between reports (0.03 s of plain search to 2 s of timed)

_listener: ContextVar[Listener | None] = ContextVar("ido_planning_progress", default=None)


@contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    """Send what the planners report on this thread to `listener` until the block ends."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


@contextmanager
def adding(**data: object) -> Iterator[None]:
    """Add `data` to each report made on this thread until the block ends (a report's own
    values first): the capability an alternative's solve leaves out, whichever planner
    solves it."""
    listener = _listener.get()
    if listener is None:
        yield
        return
    with listening(lambda reported: listener({**data, **reported})):
        yield


def report(**data: object) -> None:
    """Tell this thread's listener, if it has one: `stage` ("search", "cpsat" or "llm")
    and the stage's own counts (the search's: `expanded`, and `most`, its budget)."""
    listener = _listener.get()
    if listener is not None:
        listener(data)
