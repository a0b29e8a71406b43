"""`ido explain` of a run that stopped before its first decision says so."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ido.cli import app
from ido.explain import markdown_text
from ido.explain_tty import render_tty
from ido.journal import SqliteJournal

runner = CliRunner()


def test_a_run_killed_before_its_first_decision_says_so_and_how_to_go_on(
    tmp_path: Path,
) -> None:
    """A run killed (kill -9) before it decided anything was explained as its summary line
    alone, which read as a report cut off: it says no decision was recorded and how to
    continue it, in text, Markdown and on a terminal."""
    journal = tmp_path / "ido.db"
    with SqliteJournal(journal) as store:
        store.start_run("r-killed", "nightly-report", "2026-12-07T02:00:00.000+00:00", {})
    said = (
        "no decision recorded: the run stopped before its first; ido resume r-killed{} continues it"
    )
    for fmt in ("text", "md"):  # (the journal named, as a plain resume would read another)
        result = runner.invoke(app, ["explain", "r-killed", "--journal", str(journal), "-f", fmt])
        assert result.exit_code == 0, result.output
        shown = said.format(f" --journal {journal}")
        assert (shown if fmt == "text" else markdown_text(shown)) in result.stdout, result.stdout
    from ido.api import viewed

    with SqliteJournal(journal, reading=True) as store:
        view = viewed(store, "r-killed")
    assert said.format("") in render_tty(view)
