"""What a journal holds reaches the terminal shown, never acted on: a hand-edited or
hostile journal's escape sequences, line breaks and direction marks are written out as
escapes by `ido runs`, `approvals`, `explain`, `audit` and a run's progress lines."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app

CLEAR = "\x1b[2J"
"""Clears the screen."""
TITLE = "\x1b]0;pwned\x07"
"""Retitles the window."""
HOSTILE = f"{CLEAR}{TITLE}\nFAKE LINE\u202e"
SHOWN = "\\x1b[2J\\x1b]0;pwned\\x07\\nFAKE LINE\\u202e"
"""`HOSTILE` as a terminal is shown it."""
APPROVAL = """\
    - id: ship-needs-a-look
      effect: require_approval
      when: "capability.name == 'ship'"
      message: Shipping needs a look.
"""


def ido(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout


def acted_on(out: str) -> bool:
    """Whether `out` holds what a terminal acts on, of the journal's (not ido's colours)."""
    return any(bad in out for bad in (CLEAR, "\x1b]", "\x07", "\u202e", "\nFAKE LINE"))


def taint(journal: Path) -> None:
    """Every run's intent name, and the messages, comments and observed values of its
    events, made to end in `HOSTILE`, as a hand-edited journal may."""
    db = sqlite3.connect(journal)
    with db:
        db.execute("UPDATE runs SET intent = intent || ?", (HOSTILE,))
        for run_id, seq, data in db.execute("SELECT run_id, seq, data FROM events").fetchall():
            said = json.loads(data)
            for key in ("message", "comment", "intent"):
                if isinstance(said.get(key), str):
                    said[key] += HOSTILE
            if isinstance(said.get("observed"), dict):
                said["observed"][f"order.note{HOSTILE}"] = HOSTILE
            db.execute(
                "UPDATE events SET data = ? WHERE run_id = ? AND seq = ?",
                (json.dumps(said), run_id, seq),
            )
    db.close()


@pytest.fixture
def blocked(project: Path) -> Path:
    """A project whose journal holds a run blocked on an approval, then tainted."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + APPROVAL)
    code, out = ido("run", "ship-order")
    assert code == 3, out
    journal = project / ".ido" / "ido.db"
    taint(journal)
    return journal


def test_runs_shows_an_intent_name_s_escape_sequence_escaped(blocked: Path) -> None:
    """An intent name holding "\\x1b[2J" cleared the screen of whoever listed the runs."""
    code, out = ido("runs")
    assert code == 0, out
    assert not acted_on(out)
    assert f"ship-order{SHOWN}" in out
    assert len(out.splitlines()) == 2  # the heading and the run: no line forged


@pytest.mark.parametrize(
    "command",
    [
        ("approvals",),
        ("explain", "last"),
        ("explain", "last", "--format", "md"),
        ("explain", "last", "--color", "always"),
        ("explain", "last", "--format", "html"),  # a direction mark reorders a page too
        ("audit",),
        ("audit", "--format", "md"),
    ],
)
def test_reports_show_the_journal_s_text_escaped(blocked: Path, command: tuple[str, ...]) -> None:
    """The journal's words (a rule's message, an observed value, the intent's name) in
    every report for a terminal are shown escaped, not acted on."""
    code, out = ido(*command)
    assert code == 0, out
    assert not acted_on(out), out
    assert "\\x1b" in out  # (Markdown escapes the brackets after it too)


def test_json_keeps_the_journal_s_text_as_it_is(blocked: Path) -> None:
    """JSON escapes control characters itself: its data stays what the journal holds."""
    code, out = ido("runs", "--format", "json")
    assert code == 0, out
    assert json.loads(out)[0]["intent"] == f"ship-order{HOSTILE}"


def test_a_run_s_progress_lines_show_the_journal_s_text_escaped(blocked: Path) -> None:
    """A rejection's comment, as a resumed run says why it does not go on."""
    assert ido("reject", "last", "--by", "alice", "--comment", "not today")[0] == 0
    taint(blocked)
    code, out = ido("resume", "last")
    assert code == 1, out
    assert "not going on" in out
    assert not acted_on(out), out
    assert "\\x1b[2J" in out
