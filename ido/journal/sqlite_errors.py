"""What an error from SQLite or the file system about a journal means for its user: a
damaged file, a journal ido may not write, or neither (then the error as it is)."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from ido.errors import DamagedJournal

_NOT_PERMITTED = {errno.EACCES, errno.EPERM, errno.EROFS}
"""The errors of the file system that mean a file or folder may not be written."""


def is_damaged(error: BaseException) -> bool:
    """Whether SQLite found the journal's file damaged (`database disk image is
    malformed`: bytes overwritten, a file cut short by a full disk or a bad copy)."""
    if not isinstance(error, sqlite3.DatabaseError):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return bool(code & 0xFF == sqlite3.SQLITE_CORRUPT)
    return "database disk image is malformed" in str(error)


def damaged(path: Path | str, error: BaseException, opening: bool = False) -> DamagedJournal:
    """The error of a damaged journal: which file, and how to get its history back; when
    `opening` it, that ido wrote nothing to it. It said only `database disk image is
    malformed`."""
    unwritten = "; nothing was written to it" if opening else ""
    return DamagedJournal(
        f"journal {path} is damaged ({error}): SQLite cannot read it whole{unwritten}. "
        "Restore it from a copy or an archive; the sqlite3 shell saves what can still be "
        f"read of it as SQL: sqlite3 {path} '.recover' > recovered.sql"
    )


def blames_permissions(error: BaseException, path: Path) -> bool:
    """Whether `error`, met opening the journal at `path` to write, means it may not be
    written: a read-only file (SQLite: `attempt to write a readonly database`), a folder
    SQLite may not make the journal's -wal and -shm files in (`unable to open database
    file`), a read-only mount, or a full disk (`_why` says which). Every other error (a
    lock held too long, an upgrade that failed) was blamed on permissions too."""
    if isinstance(error, PermissionError):
        return True
    if isinstance(error, OSError):
        return error.errno in _NOT_PERMITTED
    told = str(error)
    if "readonly database" in told or "disk I/O error" in told or "disk is full" in told:
        return True
    if "unable to open database file" in told:
        return not os.access(path.absolute().parent, os.W_OK) or not os.access(path, os.W_OK)
    return False
