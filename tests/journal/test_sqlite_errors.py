"""What a journal that cannot be opened, or read, says: a damaged file as one, and a
journal ido may not write apart from any other error."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.errors import JournalError
from ido.journal import SqliteJournal, integrity
from ido.journal.sqlite_errors import damaged

runner = CliRunner()


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def damage(journal: Path, how: str) -> None:
    """Damage a journal as a stray write (garbage over its second page's header) or a copy
    cut short does."""
    if how == "overwritten":
        with journal.open("r+b") as file:
            file.seek(4096)
            file.write(b"garbage")
    else:
        with journal.open("r+b") as file:
            file.truncate(journal.stat().st_size // 2)


@pytest.mark.parametrize("how", ["overwritten", "truncated"])
@pytest.mark.parametrize("command", [["verify"], ["runs"], ["run", "ship-order"]])
def test_a_damaged_journal_is_said_to_be_damaged_and_left_as_it_is(
    project: Path, how: str, command: list[str]
) -> None:
    """It said only `database disk image is malformed`: not that the file is damaged, nor
    which, nor what to do."""
    for _ in range(3):
        assert ido("run", "ship-order", "--quiet")[0] == 0
    journal = project / ".ido" / "ido.db"
    damage(journal, how)
    before = journal.read_bytes()
    code, out = ido(*command)
    assert code == 2, out
    assert out == (
        "error: journal .ido/ido.db is damaged (database disk image is malformed): SQLite "
        "cannot read it whole; nothing was written to it. Restore it from a copy or an "
        "archive, or save what can still be read of it in a new journal with the sqlite3 "
        "shell: sqlite3 .ido/ido.db .dump | sqlite3 saved.db (.recover in place of .dump "
        "saves more, where the shell has it)\n"
    )
    assert journal.read_bytes() == before


def test_an_error_that_is_not_about_permissions_is_not_blamed_on_them(tmp_path: Path) -> None:
    """An older journal whose upgrade fails (a hand-edited event that is not JSON) was said
    to be "read but not written (malformed JSON: a read-only file, folder or mount?)",
    sending its reader after permissions of a file they may write."""
    path = tmp_path / "ido.db"
    with SqliteJournal(path) as journal:
        journal.start_run("r1", "i", "2026-12-06T00:00:00.000+00:00", {})
    db = sqlite3.connect(path)
    for statement in (
        "DROP TRIGGER events_chained",
        "DROP INDEX runs_recorded",
        "ALTER TABLE runs DROP COLUMN recorded_at",  # schema 3: upgraded on opening
        "UPDATE meta SET value = '3' WHERE key = 'schema_version'",
        "UPDATE events SET data = '{not json' WHERE seq = 1",
    ):
        db.execute(statement)
    db.commit()
    db.close()
    with pytest.raises(JournalError) as refused:
        SqliteJournal(path)
    assert str(refused.value) == (
        f"cannot open journal {path} to write: malformed JSON; nothing was done. ido runs, "
        "explain, audit and approvals can read it"
    )


def test_a_run_cut_short_by_damage_is_not_sent_to_a_copy_that_lacks_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Damage met mid-run (an index written at the run's first outcome) said to restore a
    copy and resume the run "once the journal can be written": a copy made before the run
    has none of it, nor the steps it performed, which a new run would perform again. (A
    journal too big to be checked at open: a small one is refused before the run.)"""
    monkeypatch.setattr(integrity, "CHECKED_AT_OPEN_BYTES", 0)
    assert ido("run", "ship-order", "--quiet")[0] == 0
    journal = project / ".ido" / "ido.db"
    db = sqlite3.connect(journal)
    (page,) = db.execute(
        "SELECT pageno FROM dbstat WHERE name = 'sqlite_autoindex_health_1'"
    ).fetchone()
    db.close()
    with journal.open("r+b") as file:
        file.seek((page - 1) * 4096)
        file.write(b"\x0d" + b"\xff" * 31)
    code, out = ido("run", "ship-order", "--quiet")
    assert code == 2, out
    assert "is damaged (database disk image is malformed)" in out, out
    assert "once the journal can be written" not in out, out
    with SqliteJournal(journal, reading=True) as store:  # (its runs still read)
        run_id = store.runs(limit=1)[0].id
    assert out.endswith(
        f"; run {run_id} is left interrupted, its latest events in this file alone: a copy "
        "made before it lacks them, and the steps it performed (a new run would perform them "
        f"again); save what can be read first (as SAVED), then continue it with ido resume "
        f"{run_id} --journal SAVED\n"
    ), out


def test_a_full_disk_is_read_alike_from_the_system_and_from_sqlite(tmp_path: Path) -> None:
    """A full disk or quota said by the system (ENOSPC, EDQUOT) was not counted among the
    errors that keep a journal from being written, though SQLite's `disk is full` was, and
    making a journal read it from its own list of errno values."""
    from ido.journal.sqlite_errors import blames_permissions, why_not_made, why_not_written

    for code in (errno.ENOSPC, errno.EDQUOT):
        full = OSError(code, os.strerror(code))
        assert blames_permissions(full, tmp_path / "ido.db")
        assert why_not_written(full).startswith("a full disk")
        assert why_not_made(full).endswith(": a full disk, or a quota?")
    sqlite_full = sqlite3.OperationalError("database or disk is full")
    assert blames_permissions(sqlite_full, tmp_path / "ido.db")
    assert why_not_written(sqlite_full).startswith("a full disk")


def test_a_journal_whose_first_bytes_were_overwritten_is_named_with_what_to_do(
    project: Path,
) -> None:
    """It said `cannot open journal .ido/ido.db: file is not a database`, nothing of
    damage, nor what to do (the shell's `.dump` cannot read it either)."""
    assert ido("run", "ship-order", "--quiet")[0] == 0
    journal = project / ".ido" / "ido.db"
    db = sqlite3.connect(journal)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    with journal.open("r+b") as file:
        file.write(b"garbage garbage!")  # SQLite's 16 bytes of `SQLite format 3\0`
    before = journal.read_bytes()
    for command in (["runs"], ["run", "ship-order"], ["verify"]):
        code, out = ido(*command)
        assert code == 2, out
        assert out.startswith(
            "error: journal .ido/ido.db is damaged, or no journal (file is not a database): "
            "its first bytes are not a SQLite database's; nothing was written to it. Restore "
            "it from a copy or an archive; when only its first 16 bytes were overwritten, a "
            "copy with them written back reads again: cp .ido/ido.db saved.db && printf "
        ), out
    assert journal.read_bytes() == before
    advice = out.split("reads again: ")[1].split(". A file that is no journal")[0]
    subprocess.run(["sh", "-c", advice], cwd=project, check=True)  # what it says, done
    code, out = ido("verify", "--journal", "saved.db")
    assert code == 0 and ": 1 run checked: 1 intact" in out, out


def test_an_error_is_read_by_sqlite_s_code_not_by_its_words(tmp_path: Path) -> None:
    """`disk I/O error` and `disk is full` were matched in the error's text: an error of
    another kind that says them (a trigger's message, a name quoted) was taken for a disk
    that could not be written, and a journal blamed on permissions."""
    from ido.journal.sqlite_errors import blames_permissions, is_damaged, why_not_written

    db = sqlite3.connect(tmp_path / "other.db")
    db.execute("CREATE TABLE t (x)")
    db.execute(
        "CREATE TRIGGER says BEFORE INSERT ON t BEGIN "
        "SELECT RAISE(ABORT, 'disk I/O error, disk is full, database disk image is malformed'); "
        "END"
    )
    with pytest.raises(sqlite3.IntegrityError) as raised:
        db.execute("INSERT INTO t VALUES (1)")
    db.close()
    assert not blames_permissions(raised.value, tmp_path / "other.db")
    assert why_not_written(raised.value) == "a read-only file, folder or mount?"
    assert not is_damaged(raised.value)


def test_the_commands_a_damaged_journal_is_told_with_work_on_a_path_with_a_space(
    tmp_path: Path,
) -> None:
    """`cp my journal.db saved.db` and `sqlite3 my journal.db .dump` were given unquoted: a
    path with a space copied nothing (cp: cannot stat 'my'), and the shell read `journal.db`
    as SQL. Each is given as the shell reads it, and done as said, saves the runs."""
    folder = tmp_path / "Ops Team"
    folder.mkdir()
    journal = folder / "my journal.db"
    with SqliteJournal(journal) as store:
        store.start_run("r1", "ship", "2026-12-07T00:00:00.000+00:00", {})
    db = sqlite3.connect(journal)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    with journal.open("r+b") as file:
        file.write(b"garbage garbage!")
    with pytest.raises(JournalError) as refused:
        SqliteJournal(journal)
    advice = str(refused.value).split("reads again: ")[1].split(". A file that is no")[0]
    subprocess.run(["sh", "-c", advice], cwd=tmp_path, check=True, capture_output=True)
    with SqliteJournal(tmp_path / "saved.db", reading=True) as saved:
        assert [run.id for run in saved.runs()] == ["r1"]
    (tmp_path / "saved.db").replace(journal)  # (readable again: what `.dump` reads)
    told = str(damaged(journal, sqlite3.DatabaseError("database disk image is malformed")))
    dump = told.split("sqlite3 shell: ")[1].split(" (.recover", 1)[0]
    subprocess.run(["sh", "-c", dump], cwd=tmp_path, check=True, capture_output=True)
    saved = sqlite3.connect(tmp_path / "saved.db")
    assert saved.execute("SELECT id FROM runs").fetchall() == [("r1",)]
    saved.close()
