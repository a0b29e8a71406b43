"""The few functions of ido's public Python API (docs/python-api.md) that are more than a
name re-exported: what `ido plan`, `ido explain` and `ido replay` do around the library's
parts, without printing or exiting, so that an embedder need not copy it from the CLI.
The CLI calls them too: `ido plan` takes `plan` apart (`observed`, then `decided`) to tell
planning progress while it decides, and `ido explain` takes `explain_run` apart (`viewed`,
then `rendered`) to write text in colour on a terminal."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ido.errors import NotFoundError

if TYPE_CHECKING:
    from ido.decision import Decision
    from ido.errors import ObserverError
    from ido.health import Evidence
    from ido.journal.records import Journal
    from ido.journal.sqlite import SqliteJournal
    from ido.loading.catalog import Catalog
    from ido.model import Intent
    from ido.planner import Planner
    from ido.replay.exact import Replay
    from ido.scenario.counterfactual import Counterfactual
    from ido.state import State

FORMATS = ("text", "md", "json", "html")
"""What `explain` writes, as `ido explain --format` names them."""


def open_journal(path: Path | str, *, reading: bool = False) -> SqliteJournal:
    """The SQLite journal at `path`, as the CLI opens it. To write (`reading=False`) it is
    made, with its folders, when it is not there. To read only, a journal that is not
    there is a `NotFoundError` (a misspelt path, not an empty history), and one that cannot
    be written (a read-only mount, a backup) is opened read-only. Opened to write, a journal
    up to 128 MB is checked whole first (`ido.journal.integrity`, about 0.2 s a 100 MB
    journal): a damaged one is a `DamagedJournal` (a `JournalError`), nothing written."""
    from ido.journal.sqlite import SqliteJournal

    if reading and not Path(path).exists():
        raise NotFoundError(f"no journal at {path}")
    return SqliteJournal(path, reading=reading)


def with_given(intent: Intent, given: Mapping[str, Any]) -> Intent:
    """`intent` with `given` deep-merged over its own `given` (mappings merge, other values
    replace): one request's facts, a refund's order and amount, for a run of it. Values
    must be JSON's (a `Decimal` or a `datetime` is refused, not turned into text that
    rules would compare as text)."""
    import json

    from pydantic import ValidationError

    from ido.errors import IdoError
    from ido.model import Intent as IntentModel
    from ido.state import merge

    data = intent.model_dump(mode="json", by_alias=True)
    try:
        facts = json.loads(json.dumps(dict(given)))  # (NaN: refused by the model, at its path)
        data["spec"]["given"] = merge(data["spec"]["given"], facts)
        return IntentModel.model_validate(data)
    except (TypeError, ValueError) as exc:  # (a ValidationError is a ValueError)
        said = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        said = said.removeprefix("Value error, ")
        raise IdoError(f"given of intent {intent.name}: {said}") from None


def _intent(catalog: Catalog, intent: Intent | str) -> Intent:
    from ido.loading.load import find_intent

    return find_intent(catalog, intent) if isinstance(intent, str) else intent


def plan(
    catalog: Catalog,
    intent: Intent | str,
    *,
    journal: Journal | None = None,
    alternatives: int | None = None,
    base: Path | None = None,
    on_observer_error: Callable[[ObserverError], None] | None = None,
) -> Decision:
    """Observe once and decide once, as `ido plan` does: nothing is performed or journaled.

    `intent`: an intent, or its name (or intent file) in `catalog`. `journal`: whose runs'
    health beliefs to decide with, as a run would (none: the declared figures).
    `alternatives`: how many alternative plans to work out (by default the intent's
    `limits.alternatives`, as `ido plan` without `--alternatives`). `base`: the project
    folder Python observers import from and an observer without a YAML file reads from
    (the current directory by default; a file observer reads from its YAML's folder).
    An observer that cannot be read raises its `ObserverError`, unless `on_observer_error`
    is given: it is then told, and the plan made without it (what `ido plan` does, saying
    so on stderr).
    """
    from ido.planner import get_planner

    chosen = _intent(catalog, intent)
    state = observed(catalog, chosen, base or Path.cwd(), on_observer_error)
    evidence = journal.health() if journal is not None else {}
    planner = get_planner(chosen.spec.planner, settings=chosen.spec.llm)
    return decided(catalog, chosen, state, planner, evidence, alternatives=alternatives)


def observed(
    catalog: Catalog,
    intent: Intent,
    base: Path,
    on_observer_error: Callable[[ObserverError], None] | None = None,
) -> State:
    """The state `plan` decides from: `intent`'s observers read once (the first step of
    `plan`, which `ido plan` takes apart to tell planning progress as it decides only)."""
    from ido.errors import ObserverError
    from ido.observe import boolean_facts, observe, snapshot
    from ido.secrets import catalog_secrets, credential_names

    observations = []
    # Only an observer's call needs them, and working them out reads the whole catalog.
    named: frozenset[str] = frozenset()
    if intent.spec.observers:
        named = catalog_secrets(catalog) | credential_names(os.environ)
    for name in intent.spec.observers:
        observer = catalog.observers[name]
        origin = catalog.origin(observer)
        try:
            folder = origin.file.parent if origin else base
            observations.append(observe(observer, folder, base, named=named))
        except ObserverError as exc:
            if on_observer_error is None:
                raise
            on_observer_error(exc)
    return snapshot(intent, observations, {}, boolean_facts(catalog))


def decided(
    catalog: Catalog,
    intent: Intent,
    state: State,
    planner: Planner,
    evidence: Mapping[str, Evidence],
    *,
    alternatives: int | None = None,
) -> Decision:
    """`plan`'s decision from the `observed` state: decision 1, triggered by `ido plan`,
    with the health beliefs `evidence` as of now. `alternatives`: how many alternative
    plans to work out, if not the intent's `limits.alternatives` (`ido plan
    --alternatives` puts its number there)."""
    from ido.decide import decide
    from ido.decision import History

    return decide(
        intent,
        catalog,
        state,
        History(evidence=dict(evidence), now=time.time()),
        planner,
        number=1,
        trigger="ido plan",
        alternatives=alternatives,
    )


def explain_run(journal: Journal, run: str = "last", *, format: str = "text") -> str:
    """A run explained, as `ido explain RUN --format FORMAT` writes it (without colour):
    `text`, `md` (Markdown), `json` or `html` (one self-contained page). `run`: a run id,
    `last`, or (in a SQLite journal) a prefix of an id. An unknown run is a
    `NotFoundError`; an unknown format a `ValueError`."""
    if format not in FORMATS:
        raise ValueError(f"format '{format}' is not one of {', '.join(FORMATS)}")
    return rendered(viewed(journal, run), format)


def viewed(journal: Journal, run: str = "last") -> dict[str, Any]:
    """The view of a run that `explain_run` renders (and `ido explain`, in colour on a
    terminal): a run that has not ended is told as going on if a process here carries it
    on now, else as interrupted."""
    from ido.explain import run_view
    from ido.runtime.owners import live_owner

    run_id = journal.resolve(run)
    row, events = journal.run(run_id), journal.events(run_id)
    return run_view(row, events, row.outcome is None and live_owner(events) is not None)


def catalog_names(journal: Journal, run: str) -> frozenset[str] | None:
    """The capabilities of a run's catalog, as its start recorded them (their digests);
    None for a run that recorded none (before 2026-12, or a worker that sent none)."""
    from ido.journal.catalogs import RECORDED_AS

    events = journal.events(journal.resolve(run))
    started = next((e.data for e in events if e.kind == "run_started"), {})
    digests = started.get(RECORDED_AS)
    return frozenset(digests) if isinstance(digests, dict) else None


def rendered(view: dict[str, Any], format: str) -> str:
    """`view` written as one of `FORMATS`, without colour."""
    if format == "html":
        from ido.report_html import render_html

        return render_html(view)
    from ido.explain import render

    return render(view, format)


def replay_run(journal: Journal, run: str, catalog: Catalog) -> Replay:
    """Re-decide every recorded decision of a run from its recorded inputs with `catalog`
    (`ido replay RUN --exact`): `divergence` is None when each chose as recorded."""
    from ido.replay.exact import replay_exact

    run_id = journal.resolve(run)
    return replay_exact(run_id, journal.events(run_id), catalog)


def counterfactual_run(
    journal: Journal, run: str, catalog: Catalog, intent: Intent | None = None
) -> Counterfactual:
    """Do a recorded run again under `catalog` (other policies, capabilities) and, if given,
    another version of its intent, in the world the recording met, and compare decision
    by decision (`ido replay RUN --policies …`). Nothing is performed or journaled."""
    from ido.replay.what_if import replay_counterfactual

    run_id = journal.resolve(run)
    events, row = journal.events(run_id), journal.run(run_id)
    return replay_counterfactual(run_id, events, row, catalog, intent)
