"""The journal's SQLite file: its connections (read-only ones too), its private mode,
which file a path names, and waiting for SQLite's write lock."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import urllib.parse
from pathlib import Path

from ido.errors import JournalError
from ido.journal.sqlite_errors import is_busy
from ido.lock_waits import told_waiting

BUSY_SECONDS = 120.0
"""How long a write waits for SQLite's write lock held by other processes before it fails."""
BUSY_STEP_SECONDS = 10.0
"""How long SQLite's busy handler waits at a time (a connection's timeout)."""


def patiently(
    db: sqlite3.Connection, statement: str, journal: Path | str, seconds: float = BUSY_SECONDS
) -> bool:
    """Run a statement that takes SQLite's write lock (`BEGIN IMMEDIATE`, `VACUUM`), waiting
    up to `seconds` while other processes hold it: SQLite's own busy handler gives up
    after `BUSY_STEP_SECONDS` at a time, and can starve one writer among many. False when
    they held it all along. A wait past the first step is told once (`told_waiting`)."""
    deadline = time.monotonic() + seconds
    told = False
    while True:
        try:
            db.execute(statement)
            return True
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            if time.monotonic() >= deadline:
                return False
            if not told:
                told = True
                told_waiting(journal, BUSY_STEP_SECONDS, BUSY_SECONDS)


PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
"""The modes of a journal and of the folders ido makes for it: its owner's alone."""


def make_private(path: Path) -> None:
    """Make the journal file `path`, and the folders it needs, readable by their owner
    alone, unless there already: a journal holds observed business data and who approved
    what, and under the usual umask (022) it was made readable by every user of the
    machine. SQLite gives its `-wal` and `-shm` files the journal's mode. A file or folder
    already there is left as it is: its mode is its maker's choice. A link to a file not
    there yet makes that file, private (SQLite made it by the umask, 0644)."""
    missing = []
    for folder in (path.parent, *path.parent.parents):
        if folder.exists() or folder.is_symlink():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            folder.mkdir(mode=PRIVATE_FOLDER)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    except FileExistsError:  # there already: opened as it is
        if path.is_symlink() and not path.exists():  # a link to a journal not made yet
            with contextlib.suppress(OSError):  # (a loop, a folder not there: SQLite says)
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))


def _connect(name: str, uri: bool = False) -> sqlite3.Connection:
    """A connection as the journal uses it: its own transactions, shared by threads."""
    return sqlite3.connect(
        name, isolation_level=None, timeout=BUSY_STEP_SECONDS, check_same_thread=False, uri=uri
    )


def _read_only(path: Path) -> sqlite3.Connection:
    """The journal at `path` opened read-only (SQLite's `mode=ro`). Reading a WAL journal
    takes a WAL index (`-shm`) beside it, which a read-only folder keeps SQLite from making:
    then it is opened `immutable=1`, without locks or an index, which assumes nobody writes
    it meanwhile (true of a read-only mount or a backup). That reads the file alone, so a
    journal not closed cleanly, with commits still in its `-wal` file, is refused."""
    uri = f"file:{urllib.parse.quote(str(path.absolute()))}?mode=ro"
    db = _connect(uri, uri=True)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the WAL index
        return db
    except sqlite3.OperationalError:
        db.close()
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise JournalError(
            f"journal {path} cannot be read where it is: commits are still in {wal.name}, "
            "and SQLite may not write the index it needs to read them beside it (a read-only "
            "folder); copy the journal with its -wal file to a folder ido may write, and "
            "read the copy"
        )
    return _connect(f"{uri}&immutable=1", uri=True)


def identity(path: Path) -> tuple[int, int]:
    """Which file `path` names now (device and inode): another once it is removed and made
    again, or replaced by a copy."""
    found = os.stat(path)
    return found.st_dev, found.st_ino
