"""What an error from SQLite or the file system about a journal means for its user: a
damaged file, a journal ido may not write (and why, likely), or neither (then the error as
it is). The one place that reads what an OSError or a SQLite error means for a journal."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from ido.errors import DamagedJournal

_NOT_PERMITTED = {errno.EACCES, errno.EPERM, errno.EROFS}
"""The errors of the file system that mean a file or folder may not be written."""
_FULL = {errno.ENOSPC, errno.EDQUOT}
"""The errors of the file system that mean the disk, or its user's quota, is full."""


def is_damaged(error: BaseException) -> bool:
    """Whether SQLite found the journal's file damaged (`database disk image is
    malformed`: bytes overwritten, a file cut short by a full disk or a bad copy)."""
    if not isinstance(error, sqlite3.DatabaseError):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return bool(code & 0xFF == sqlite3.SQLITE_CORRUPT)
    return "database disk image is malformed" in str(error)


def damaged(path: Path | str, error: BaseException | str, opening: bool = False) -> DamagedJournal:
    """The error of a damaged journal: which file, what is wrong (SQLite's error, or what
    its check of the file found), and how to get its history back; when `opening` it, that
    ido wrote nothing to it. It said only `database disk image is
    malformed`. The shell's `.dump` is what it advises: `.recover` needs a shell built with
    it, and Debian 12's is not (`no such table: sqlite_dbpage`, and an empty file)."""
    unwritten = "; nothing was written to it" if opening else ""
    return DamagedJournal(
        f"journal {path} is damaged ({error}): SQLite cannot read it whole{unwritten}. "
        "Restore it from a copy or an archive, or save what can still be read of it in a "
        f"new journal with the sqlite3 shell: sqlite3 {path} .dump | sqlite3 saved.db "
        "(.recover in place of .dump saves more, where the shell has it)"
    )


def blames_permissions(error: BaseException, path: Path) -> bool:
    """Whether `error`, met opening the journal at `path` to write, means it may not be
    written: a read-only file (SQLite: `attempt to write a readonly database`), a folder
    SQLite may not make the journal's -wal and -shm files in (`unable to open database
    file`), a read-only mount, or a full disk (`why_not_written` says which). Every other error (a
    lock held too long, an upgrade that failed) was blamed on permissions too."""
    if isinstance(error, PermissionError):
        return True
    if isinstance(error, OSError):
        return error.errno in _NOT_PERMITTED | _FULL
    told = str(error)
    if "readonly database" in told or "disk I/O error" in told or "disk is full" in told:
        return True
    if "unable to open database file" in told:
        return not os.access(path.absolute().parent, os.W_OK) or not os.access(path, os.W_OK)
    return False


def why_not_written(error: BaseException) -> str:
    """What likely keeps a journal that can be read from being written, after `error`: a
    disk SQLite could not write to reads `disk I/O error` or `disk is full`, which was
    blamed on a read-only file alone (a file size limit, `ulimit -f`, reads so too)."""
    told = str(error)
    full = isinstance(error, OSError) and error.errno in _FULL
    if full or "disk I/O error" in told or "disk is full" in told:
        return (
            "a full disk, a file size limit set by ulimit -f, or a read-only file, folder or mount?"
        )
    return "a read-only file, folder or mount?"


def why_not_made(error: OSError) -> str:
    """Why a journal (or an archive) could not be made, after `error`: a read-only folder
    or mount is guessed only when the system said the write was refused (a journal named
    under a file was blamed on a read-only mount)."""
    told = (error.strerror or str(error)).lower()  # (not `[Errno 30] …: '.ido'`)
    if error.errno in _FULL:
        return f"{told}: a full disk, or a quota?"
    if error.errno in _NOT_PERMITTED:
        return f"{told}: a read-only file, folder or mount?"
    return told
