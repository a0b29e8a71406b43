"""The journal is its owner's alone: the files and folders ido makes for it are 0600 and
0700 whatever the umask allows, and those a user made keep their mode."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.journal import SqliteJournal

AT = "2026-11-01T12:00:00.000+00:00"


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    """The usual umask, which lets every user read what a process makes."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def a_run(journal: Path, run_id: str = "r1") -> None:
    """One ended run written to `journal`, its store left open while its files are looked at."""
    with SqliteJournal(journal) as store:
        store.start_run(run_id, "load-eu", AT, {"observed": {"customer": "ACME"}})
        store.finish_run(run_id, "achieved", None, 0.0, 1.0, AT)
        assert Path(f"{journal}-wal").exists() and Path(f"{journal}-shm").exists()
        assert {mode(Path(f"{journal}{end}")) for end in ("", "-wal", "-shm")} == {0o600}


def test_a_new_journal_and_its_folder_are_the_owner_s_alone(tmp_path: Path) -> None:
    """`.ido/ido.db` was made 0644 in a 0755 folder: any user could read what runs observed
    and who approved what."""
    journal = tmp_path / ".ido" / "ido.db"
    a_run(journal)
    assert mode(tmp_path / ".ido") == 0o700
    assert mode(journal) == 0o600


def test_every_folder_ido_makes_for_a_journal_is_private(tmp_path: Path) -> None:
    """Folders made on the way to a journal named deeper are 0700 too; the one that was
    there keeps its mode."""
    tmp_path.chmod(0o755)
    journal = tmp_path / "a" / "b" / "ido.db"
    a_run(journal)
    assert (mode(tmp_path / "a"), mode(tmp_path / "a" / "b")) == (0o700, 0o700)
    assert mode(tmp_path) == 0o755


def test_a_file_and_folder_the_user_made_keep_their_mode(tmp_path: Path) -> None:
    """ido never changes the mode of a journal or a folder it did not make: a team's shared
    journal stays shared."""
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o775)
    shared.chmod(0o775)
    journal = shared / "ido.db"
    journal.touch(mode=0o664)
    journal.chmod(0o664)
    with SqliteJournal(journal) as store:
        store.start_run("r1", "load-eu", AT, {})
        assert mode(Path(f"{journal}-wal")) == 0o664  # SQLite gives it the journal's mode
    assert (mode(shared), mode(journal)) == (0o775, 0o664)


def test_a_new_prune_archive_is_private(tmp_path: Path) -> None:
    """`ido prune --archive FILE` made the archive, runs and all, readable by every user."""
    journal = tmp_path / "ido.db"
    a_run(journal, "r1")
    a_run(journal, "r2")
    archive = tmp_path / "old" / "archive.db"
    result = CliRunner().invoke(
        app, ["prune", "--keep", "1", "--journal", str(journal), "--archive", str(archive)]
    )
    assert result.exit_code == 0, result.output
    assert "archived to" in result.output
    assert (mode(archive.parent), mode(archive)) == (0o700, 0o600)


def test_the_runner_s_lock_file_is_as_private_as_its_journal(tmp_path: Path) -> None:
    """`ido.db.runner` was made 0644 beside a 0600 journal; one beside a journal its user
    made 0640 (shared with a group) gets that mode, and one there already keeps its own."""
    from ido.runner import hold_lock, lock_path

    journal = tmp_path / ".ido" / "ido.db"
    a_run(journal)
    lock = hold_lock(journal)
    assert lock is not None
    lock.close()
    assert mode(lock_path(journal)) == 0o600
    shared = tmp_path / "shared.db"
    a_run(shared)
    shared.chmod(0o640)
    lock = hold_lock(shared)
    assert lock is not None
    lock.close()
    assert mode(lock_path(shared)) == 0o640
    lock_path(shared).chmod(0o644)
    lock = hold_lock(shared)
    assert lock is not None
    lock.close()
    assert mode(lock_path(shared)) == 0o644


def test_a_journal_made_through_a_link_to_a_file_not_there_yet_is_private(
    tmp_path: Path,
) -> None:
    """`--journal` (or IDO_JOURNAL) naming a link to where the journal is to be kept (a
    service's state on another volume): SQLite made the file the link leads to 0644, its
    `-wal` and `-shm` too, readable by every user of the machine."""
    kept = tmp_path / "state"
    kept.mkdir()
    link = tmp_path / "ido.db"
    link.symlink_to(kept / "ido.db")
    with SqliteJournal(link) as store:
        store.start_run("r1", "load-eu", AT, {"observed": {"customer": "ACME"}})
        made = {mode(f) for f in kept.iterdir()}
    assert link.is_symlink() and made == {0o600}, sorted(kept.iterdir())
