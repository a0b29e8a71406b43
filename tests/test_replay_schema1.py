"""A what-if replay of a run an older ido recorded (journal schema 1) says which of the
inputs it reads the run did not record, rather than going ahead as if they were whole."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from ido.cli import app
from ido.journal import SqliteJournal

runner = CliRunner()


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_a_what_if_of_a_run_that_kept_no_beliefs_says_it_made_do_without_them(
    project: Path,
) -> None:
    """The first ido's runs record no beliefs at their start (`health`, kept with a run
    since exact replay): a what-if replayed them from none, and said nothing of it."""
    assert ido("run", "ship-order", "ship-order", "--quiet")[0] == 0
    journal = project / ".ido" / "ido.db"
    with SqliteJournal(journal) as store:
        old, new = (row.id for row in store.runs())
    db = sqlite3.connect(journal)
    with db:  # its start as an ido of schema 1 recorded it
        db.execute(
            "UPDATE events SET data = json_remove(data, '$.health') WHERE run_id = ? AND seq = 1",
            (old,),
        )
    db.close()
    code, out = ido("replay", old, "--policies", "policies")
    assert code == 0, out
    assert out.splitlines()[-1] == (
        f"warning: run {old} was recorded by an older ido (journal schema 1, or 2 before ido "
        "replay), which did not record the beliefs in each capability it started with "
        "(health): the replay decided without them, so a decision may differ for that "
        "alone, not for the inputs changed"
    ), out
    code, out = ido("replay", new, "--policies", "policies")
    assert code == 0 and "warning" not in out, out
    code, out = ido("replay", old, new, "--policies", "policies")
    assert code == 0 and out.count("warning: run ") == 1 and f"warning: run {old}" in out, out
