"""Observe once and decide once, as `ido plan` does, with progress lines on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from ido.errors import ObserverError
    from ido.planning_words import Throttled


def _decide_once(
    loaded: Any,
    chosen: Any,
    evidence: Mapping[str, Any] | None = None,
    listener: Any = None,
) -> Any:
    """Observe once and decide once, as `ido plan` does (`ido.api.plan`, taken apart):
    nothing is executed or journaled. `evidence`: the health beliefs to decide with, as
    of now. `listener`: the progress lines' (`_planning_to_terminal`), when the command
    made one already (its time counts from the command's start); they tell the decision
    only, not the observers read before it."""
    from ido.api import decided, observed
    from ido.planner import get_planner, progress
    from ido.planning_words import telling

    state = observed(loaded, chosen, Path.cwd(), _planning_without)
    planner = get_planner(chosen.spec.planner, settings=chosen.spec.llm)
    listener = listener or _planning_to_terminal()
    with telling(listener):
        # Until a planner reports: what was said before (the catalog's loading) no longer
        # holds, and 41,229 capabilities take seconds to tabulate before any search starts.
        progress.report(stage="preparing", capabilities=len(loaded.capabilities))
        return decided(loaded, chosen, state, planner, evidence or {})


def _planning_without(exc: ObserverError) -> None:
    """As a run does with an observer it cannot read: told, and planned without it."""
    from ido.explain import observer_failed

    typer.echo(f"{observer_failed(exc.observer, exc.reason)}; planning without it", err=True)


def _planning_to_terminal() -> Throttled | None:
    """A line on standard error now and then while a decision plans for more than a second
    (`ido.planner.progress`), when standard error is a terminal: the plan itself, on
    standard output, stays as it is."""
    from ido.planning_words import Throttled, describe

    if not _is_terminal(sys.stderr):
        return None
    return Throttled(lambda data: typer.echo(describe(data), err=True))


@contextmanager
def _telling_loads(listener: Throttled | None = None) -> Iterator[None]:
    """While the block loads a catalog, say how far it has got now and then on a terminal,
    as `_planning_to_terminal` says planning (a catalog of tens of thousands of resources,
    a large PDDL import, loads for a minute): `listener`, or one made now."""
    from ido.planning_words import telling

    with telling(listener if listener is not None else _planning_to_terminal()):
        yield


def _is_terminal(stream: Any) -> bool:
    return bool(stream.isatty())
