"""A journal damaged where opening it does not read (an old run's events) is refused when
opened to write, before anything is written to it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.errors import DamagedJournal
from ido.journal import SqliteJournal

runner = CliRunner()
AT = "2026-12-07T00:00:00.000+00:00"


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def journal_of(path: Path, runs: int = 60) -> Path:
    """A journal of `runs` runs, each with a few events, its -wal file folded in."""
    with SqliteJournal(path) as journal:
        for n in range(runs):
            run_id = f"r{n:03d}"
            journal.start_run(run_id, "ship", AT, {"pad": "x" * 900})
            for _ in range(3):
                journal.append(run_id, "observed", AT, {"state": {"pad": "y" * 900}})
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


def damage_old_page(path: Path, offset: int, garbage: bytes) -> None:
    """Overwrite bytes of a page of events a third of the way in: one no open reads."""
    db = sqlite3.connect(path)
    pages = [
        page
        for (page,) in db.execute(
            "SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' ORDER BY pageno"
        )
    ]
    db.close()
    page = pages[len(pages) // 3]
    with path.open("r+b") as file:
        file.seek((page - 1) * 4096 + offset)
        file.write(garbage)


@pytest.mark.parametrize(
    ("offset", "garbage", "said"),
    [
        (0, b"\x0d" + b"\xff" * 31, "(database disk image is malformed)"),  # the page's header
        # where its first row is: SQLite's check says so, or, at times, only that the
        # file is malformed, which it raises
        (8, b"\xff\xff", ""),
    ],
)
def test_a_journal_damaged_in_an_old_run_is_refused_before_a_write(
    tmp_path: Path, offset: int, garbage: bytes, said: str
) -> None:
    """Opening read the schema and the newest pages alone: a run was started, and
    recorded, in a journal damaged in an old run's events, which only `ido verify` or a
    later read of that run found damaged."""
    path = journal_of(tmp_path / "ido.db")
    damage_old_page(path, offset, garbage)
    before = path.read_bytes()
    with pytest.raises(DamagedJournal) as refused:
        SqliteJournal(path)
    assert str(refused.value).startswith(f"journal {path} is damaged (")
    assert said in str(refused.value)
    assert "*** in database main ***" not in str(refused.value)
    assert "; nothing was written to it. Restore it from a copy" in str(refused.value)
    assert path.read_bytes() == before
    with SqliteJournal(path, reading=True) as journal:  # (what reads the newest runs still does)
        assert journal.runs(limit=1)[0].id == "r059"


def test_ido_run_in_a_journal_damaged_in_an_old_run_runs_nothing(project: Path) -> None:
    """`ido run` performed its steps and recorded them in the damaged file, exit 0."""
    for _ in range(12):
        assert ido("run", "ship-order", "--quiet")[0] == 0
    path = project / ".ido" / "ido.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    damage_old_page(path, 0, b"\x0d" + b"\xff" * 31)
    (project / "calls.log").write_text("")
    code, out = ido("run", "ship-order", "--quiet")
    assert code == 2, out
    assert out.startswith("error: journal .ido/ido.db is damaged ("), out
    assert "nothing was written to it" in out
    assert (project / "calls.log").read_text() == ""  # no step performed


def test_a_worker_does_not_check_again_the_journal_its_command_checked(project: Path) -> None:
    """Each worker of `ido run --processes N` checked the whole file again as it opened the
    journal, right after the command had (about 0.2 s of CPU each on a 100 MB journal,
    N at once): a worker let go opens it unchecked. (Damaged here only to tell whether
    the worker checked: a command would not have let it go.)"""
    import subprocess

    from ido.fanout import worker_command

    path = journal_of(project / "big.db")
    damage_old_page(path, 0, b"\x0d" + b"\xff" * 31)
    done = subprocess.run(
        worker_command(["run", "--journal", str(path), "--worker", "--", "ship-order"]),
        cwd=project,
        check=False,
        input="go\n\n",  # let go, then dealt nothing
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "damaged" not in done.stderr
    with pytest.raises(DamagedJournal):  # (as the command opens it: checked)
        SqliteJournal(path)


def test_a_temporal_import_reading_a_catalog_does_not_check_the_journal_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ido temporal pull` looked up a big catalog's digests in a journal opened to write,
    so the journal was checked whole for that read, then again by the import that wrote
    the events (about 0.2 s each a 100 MB journal): the look-up opens it to read."""
    from ido.cli.temporal import _catalogs
    from ido.journal import opening

    path = journal_of(tmp_path / "ido.db", runs=2)
    checks: list[bool] = []
    checked = opening.problems

    def counted(db: sqlite3.Connection, whole: bool = False) -> list[str]:
        checks.append(whole)
        return checked(db, whole)

    monkeypatch.setattr(opening, "problems", counted)
    no_catalog = SimpleNamespace(capabilities={})  # (the journal holds none of the key either)
    assert _catalogs(path, loaded=no_catalog)("no such key") is None
    assert checks == []
    SqliteJournal(path).close()  # (what the import does: checked once)
    assert checks == [False]
