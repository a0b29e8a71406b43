"""Observe once and decide once, as `ido plan` does, with progress lines on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from ido.planning_words import Throttled


def _decide_once(
    loaded: Any,
    chosen: Any,
    alternatives: int,
    evidence: Mapping[str, Any] | None = None,
    listener: Any = None,
) -> Any:
    """Observe once and decide once, as `ido plan` does: nothing is executed or journaled.
    `evidence`: the health beliefs to decide with, as of now. `listener`: the progress
    lines' (`_planning_to_terminal`), when the command made one already (its time counts
    from the command's start)."""
    import time

    from ido.decide import History, decide
    from ido.errors import ObserverError
    from ido.explain import observer_failed
    from ido.observe import boolean_facts, observe, snapshot
    from ido.planner import get_planner
    from ido.secrets import catalog_secrets

    observations = []
    named = catalog_secrets(loaded)
    for name in chosen.spec.observers:
        observer = loaded.observers[name]
        origin = loaded.origin(observer)
        try:
            observations.append(observe(observer, origin.file.parent, Path.cwd(), named=named))
        except ObserverError as exc:  # as a run does: told, and planned without it
            typer.echo(f"{observer_failed(name, exc.reason)}; planning without it", err=True)
    state = snapshot(chosen, observations, {}, boolean_facts(loaded))
    from ido.planning_words import telling

    planner = get_planner(chosen.spec.planner, settings=chosen.spec.llm)
    listener = listener or _planning_to_terminal()
    with telling(listener):
        return decide(
            chosen,
            loaded,
            state,
            History(evidence=dict(evidence or {}), now=time.time()),
            planner,
            number=1,
            trigger="ido plan",
            alternatives=alternatives,
        )


def _planning_to_terminal() -> Throttled | None:
    """A line on standard error now and then while a decision plans for more than a second
    (`ido.planner.progress`), when standard error is a terminal: the plan itself, on
    standard output, stays as it is."""

    from ido.planning_words import Throttled, describe

    if not _is_terminal(sys.stderr):
        return None
    return Throttled(lambda data: typer.echo(describe(data), err=True))


def _is_terminal(stream: Any) -> bool:
    return bool(stream.isatty())
