"""How far a command reading every run of a journal has got (`ido verify`, `ido audit`):
on a big one, a line on standard error now and then, when it is a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping

import typer

from ido.cli.deciding import _is_terminal


def _going_through(
    doing: str, total: Callable[[], int], after: float | None = None
) -> Callable[[int], None]:
    """What to call with the count of runs gone through so far: after a second, and then
    every two seconds at most (as a long decision says it plans: `Throttled`), it says
    `verifying 3.0s: 12,000 of 20,000 runs` when standard error is a terminal, and nothing
    otherwise (`total`, the count of runs to go through, is then not even asked). The
    output itself, on standard output, stays as it is. `after`: the second to wait."""
    from ido.planning_words import Throttled

    if not _is_terminal(sys.stderr):
        return lambda done: None
    of = total()

    def said(data: Mapping[str, object]) -> None:  # (`went`'s, with `seconds` added)
        typer.echo(f"{doing} {data['seconds']:.1f}s: {data['done']:,} of {of:,} runs", err=True)

    listener = Throttled(said, after=after)

    def went(done: int) -> None:
        listener({"done": done})

    return went
