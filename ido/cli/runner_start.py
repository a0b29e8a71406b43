"""What `ido runner` checks and says as it starts: the journal it watches (made when a
service starts it before any run has), and the runs left interrupted, which it does not
continue."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ido.cli.common import DEFAULT_JOURNAL, _with_journal
from ido.errors import NotFoundError

if TYPE_CHECKING:
    from ido.journal.records import RunRow
    from ido.journal.sqlite import SqliteJournal

ONLY = "and the runner continues blocked runs only"

SHOWN = 3
"""How many interrupted runs the warning names; `ido runs` lists them all."""


def check_watched(journal: Path) -> bool:
    """Whether the journal is to be made: a runner started by a service manager before
    any run (an empty volume, a fresh `StateDirectory=`) watches a new journal in the
    folder it was given, where it stopped with exit 2 (and a restart loop) before. A folder
    that is not there is a wrong path: refused, as before, making nothing; but for the
    default `.ido/ido.db`, whose folder `ido run` makes too (nothing has run here yet)."""
    if journal.exists():
        return False
    if journal != DEFAULT_JOURNAL and not journal.parent.is_dir():
        raise NotFoundError(
            f"no journal at {journal}, and no folder {journal.parent} to make it in; "
            "nothing to watch (--journal PATH?)"
        )
    return True


def tell_interrupted(store: SqliteJournal, journal: Path) -> None:
    """Warn, on stderr, of the runs left interrupted (a runner or `ido run` stopped by a
    signal, a crash, a full disk): the runner continues blocked runs only, so one it was
    carrying on when a deploy stopped it waited, unsaid, for an `ido resume` nobody ran."""
    from ido.cli.common import _running
    from ido.journal.records import scenario_of, temporal_of
    from ido.journal.schema import RunsAsked

    def left(row: RunRow) -> bool:
        events = store.events(row.id)
        if scenario_of(events) is not None or temporal_of(events) is not None:
            return False  # a simulated world's, or a Temporal workflow's to carry on
        return not _running(row, events)

    rows = store.runs(SHOWN + 1, RunsAsked(outcomes=(None,)), left)
    if not rows:
        return
    named = ", ".join(r.id for r in rows[:SHOWN])
    if len(rows) == 1:
        again = _with_journal(f"ido resume {rows[0].id}", journal)
        said = f"run {named} is left interrupted, {ONLY}: continue it with {again}"
    else:
        more = " and more" if len(rows) > SHOWN else ""
        listed = _with_journal("ido runs --outcome interrupted", journal)
        said = (
            f"runs {named}{more} are left interrupted, {ONLY}: continue each with ido "
            f"resume RUN ({listed} lists them)"
        )
    typer.echo(f"warning: {said}", err=True)
