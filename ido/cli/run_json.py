"""`ido run --format json`: the runs a command made, as one JSON document for CI.

The keys are those of `ido runs --format json`, so a job parses both alike; a run's
progress lines are left out, as `--quiet` leaves them out, and errors stay on stderr.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Sequence
from functools import partial, wraps
from pathlib import Path
from typing import Any, TextIO, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])

_out: list[TextIO] = []  # where the JSON goes while the command's stdout goes to stderr


def json_stdout(fn: F) -> F:
    """Run command `fn` given `fmt="json"` with what else it prints on stdout sent to
    stderr: a Python binding's `print` (or a library's) wrote among the JSON, and a job's
    `jq` failed on it. `print_runs` writes to the stdout kept aside."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("fmt") != "json":
            return fn(*args, **kwargs)
        _out.append(sys.stdout)
        try:
            with contextlib.redirect_stdout(sys.stderr):
                return fn(*args, **kwargs)
        finally:
            _out.pop()

    return wrapper  # type: ignore[return-value]


def print_runs(journal: Path, run_ids: Sequence[str]) -> None:
    """Print a JSON array of the runs `run_ids` of `journal`, in that order."""
    from ido.journal.sqlite import SqliteJournal
    from ido.run_ends import no_plan_of

    with SqliteJournal(journal, reading=True) as store:
        models = store.model_use(list(run_ids))
        listed = []
        for run_id in run_ids:
            row = store.run(run_id)
            no_plan = no_plan_of(row.outcome, partial(store.ending, run_id))
            listed.append(listed_run(row, models, running=False, no_plan=no_plan))
    typer.echo(json.dumps(listed, indent=2), file=_out[-1] if _out else None)


def listed_run(
    row: Any, models: dict[str, tuple[float, int]], running: bool, no_plan: bool = False
) -> dict[str, Any]:
    """A run as `ido runs --format json` lists it (and `ido run --format json`): its row,
    whether it is running, whether it failed finding no plan before it did anything
    (`no_plan`: exit 4), and what its model calls cost (`models`: `model_use`'s)."""
    cost, tokens = models.get(row.id, (0.0, 0))
    return {
        **row.to_json(),
        "running": running,
        "no_plan": no_plan,
        "llm_cost": cost,
        "llm_tokens": tokens,
    }


def check_json_run(fmt: str, temporal: str | None, processes: int, intents: int) -> None:
    """A usage error (exit 2) for `--format json` where it is not given (yet)."""
    from ido.cli.common import _check_format

    _check_format(fmt, ("text", "json"))
    if fmt != "json":
        return
    if temporal is not None:
        raise typer.BadParameter(
            "a run on a Temporal server is not told as JSON; list it once it ends with "
            "ido runs --format json",
            param_hint="--format",
        )
    if processes > 1 and intents > 1:
        raise typer.BadParameter(
            "runs dealt out to worker processes are not told as JSON; run them in one "
            "process (without --processes), or list them with ido runs --format json",
            param_hint="--format",
        )
