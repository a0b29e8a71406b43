"""The catalog a run goes on with: `ido run` records the `--catalog` folders and intent
files it loaded besides this folder's (`CATALOG_PATHS`, absolute, in the run's start), and
`ido resume` and `ido compensate` without `--catalog` load them again, with the folder's
`intents/`, `capabilities/` and `policies/` as every command does. A run started with
`--catalog shop` was resumed with this folder's catalog alone: "no catalog found", or a
catalog without the run's capabilities."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from ido.cli.common import DEFAULT_DIRS, _catalog_paths, _load
from ido.errors import NotFoundError

CATALOG_PATHS = "catalog_paths"
"""The key of a run's start that lists the paths `ido run` loaded besides this folder's
catalog (each `--catalog`, an intent given as a file), absolute."""


def started_with(catalog: list[Path] | None, intents: list[str]) -> dict[str, Any]:
    """What `ido run` records with a run's start: the paths it loads besides this folder's
    catalog, absolute, as given (a link not followed; none: an empty list)."""
    here = {Path(d) for d in DEFAULT_DIRS}
    given = [p for p in _catalog_paths(catalog, intents) if p not in here]
    # Absolute, links kept: a `--catalog` that is a link (to a release) is followed again
    # when the run goes on, as this folder's linked catalog is; `..` taken away by name.
    return {CATALOG_PATHS: [os.path.abspath(p) for p in given]}


def recorded_paths(started: Any) -> list[str]:
    """The paths a run's start records (`started`: its `run_started` event, or None); none
    for a run started otherwise (from Python, on Temporal, by an older ido)."""
    found = [] if started is None else started.data.get(CATALOG_PATHS)
    if not isinstance(found, list) or not all(isinstance(p, str) for p in found):
        return []  # (not recorded, or edited by hand into something else: as not recorded)
    return found


def load_as_started(catalog: list[Path] | None, started: Any, run_id: str) -> Any:
    """The catalog to carry run `run_id` on with: this folder's, and `--catalog`'s when
    given, else the paths the run was started with besides (`started`: its start), said
    on stderr; one of those gone is refused, naming it, rather than going on without it."""
    recorded = recorded_paths(started)
    if catalog is not None or not recorded:
        return _load(catalog, None)
    gone = [p for p in recorded if not Path(p).exists()]
    if gone:
        raise NotFoundError(
            f"run {run_id} was started with --catalog {' '.join(recorded)}, and "
            f"{', '.join(gone)} is no longer there: give --catalog with the run's catalog"
        )
    typer.echo(
        f"catalog: {' '.join(recorded)} besides this folder's, as run {run_id} was started "
        "(--catalog to give others)",
        err=True,
    )
    return _load([Path(p) for p in recorded], None)
