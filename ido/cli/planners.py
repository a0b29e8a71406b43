"""`--planner NAME`: one backend for one command (`ido plan`, `ido run`, `ido replay`), and
the planner a run recorded, which `ido resume` goes on with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer

from ido.cli.common import _check_format
from ido.errors import IdoError, JournalError

PlannerOpt = Annotated[
    str | None,
    typer.Option(
        "--planner",
        metavar="NAME",
        help="Planner backend instead of the intent's: cpsat, search, llm, hybrid.",
    ),
]


def check_planner(name: str | None) -> None:
    """A usage error (exit 2) for a `--planner` no backend has, before anything is read."""
    if name is not None:
        from ido.planner import PLANNERS

        _check_format(name, tuple(sorted(PLANNERS)), "--planner")


def on_planner(intent: Any, name: str | None) -> Any:
    """`intent` planned by the backend `name` instead of its own (itself for None): the run
    records the intent so, and the planner beside it, for resume and replay to go on with."""
    if name is None:
        return intent
    return intent.model_copy(update={"spec": intent.spec.model_copy(update={"planner": name})})


def planner_of(events: Sequence[Any]) -> str:
    """The planner a run was started with, as its `run_started` event recorded it."""
    started = events[0].data if events and events[0].kind == "run_started" else {}
    return str(started.get("planner", "cpsat"))


def same_planner(run_id: str, events: Sequence[Any], name: str | None) -> None:
    """Refuse a `--planner` other than the one run `run_id` was started with: a run goes on
    with its own planner, so that its decisions replay alike."""
    recorded = planner_of(events)
    if name is None or name == recorded:
        return
    raise IdoError(
        f"run {run_id} was started with planner {recorded}, and goes on with it: --planner "
        f"{name} does not change a run's planner (see what {name} would have decided with "
        f"ido replay {run_id} --planner {name})"
    )


def with_planner(events: Sequence[Any], intent: Any, name: str | None) -> Any:
    """What a counterfactual replays under `--planner NAME`: `intent` (from `--intent`), or
    else the intent the run recorded, planned by NAME; `intent` itself without one."""
    if name is None:
        return intent
    if intent is None:
        if not events or events[0].kind != "run_started":
            return None  # (the replay says there is nothing to replay)
        from ido.model import recorded_intent

        try:
            intent = recorded_intent(events[0].data["intent"])
        except Exception as exc:  # a journal from another version: say so, do not guess
            raise JournalError(f"the recorded intent cannot be read: {exc}") from None
    return on_planner(intent, name)
