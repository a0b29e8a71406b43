"""`ido run --format json`: the runs a command made, as one JSON document for CI.

The keys are those of `ido runs --format json`, so a job parses both alike; a run's
progress lines are left out, as `--quiet` leaves them out, and errors stay on stderr.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import typer


def print_runs(journal: Path, run_ids: Sequence[str]) -> None:
    """Print a JSON array of the runs `run_ids` of `journal`, in that order."""
    from ido.journal.sqlite import SqliteJournal

    with SqliteJournal(journal, reading=True) as store:
        models = store.model_use(list(run_ids))
        listed = []
        for run_id in run_ids:
            cost, tokens = models.get(run_id, (0.0, 0))
            extra = {"running": False, "llm_cost": cost, "llm_tokens": tokens}
            listed.append({**store.run(run_id).to_json(), **extra})
    typer.echo(json.dumps(listed, indent=2))


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
