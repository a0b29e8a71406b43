"""What an error from SQLite or the file system about a journal means for its user: a
damaged file, a journal ido may not write (and why, likely), or neither (then the error as
it is). The one place that reads what an OSError or a SQLite error means for a journal: by
SQLite's result code (`sqlite_errorcode`), its words only for an error without one."""

from __future__ import annotations

import errno
import os
import shlex
import sqlite3
from pathlib import Path

from ido.errors import DamagedJournal

_NOT_PERMITTED = {errno.EACCES, errno.EPERM, errno.EROFS}
"""The errors of the file system that mean a file or folder may not be written."""
_FULL = {errno.ENOSPC, errno.EDQUOT}
"""The errors of the file system that mean the disk, or its user's quota, is full."""


def code_of(error: BaseException) -> int | None:
    """SQLite's primary result code of `error` (`sqlite3.SQLITE_IOERR` for every kind of
    I/O error), from the error itself (Python 3.11); None for an error SQLite did not give
    (one of Python's module, or made by hand), whose words alone say what it is."""
    code = getattr(error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _is(error: BaseException, code: int, *words: str) -> bool:
    """Whether `error` is SQLite's `code`: by its code when it has one, else by its words
    (in the English SQLite gives them)."""
    if not isinstance(error, sqlite3.Error):
        return False
    found = code_of(error)
    if found is not None:
        return found == code
    return any(word in str(error) for word in words)


def is_busy(error: BaseException) -> bool:
    """Whether `error` is SQLite's lock held by another connection (`database is locked`,
    SQLITE_BUSY, or SQLITE_LOCKED): one to wait for and try again."""
    return _is(error, sqlite3.SQLITE_BUSY, "locked", "busy") or _is(
        error, sqlite3.SQLITE_LOCKED, "locked"
    )


def is_damaged(error: BaseException) -> bool:
    """Whether SQLite found the journal's file damaged (`database disk image is
    malformed`: bytes overwritten, a file cut short by a full disk or a bad copy), or not
    a database at all (`file is not a database`: its first bytes overwritten)."""
    return _is(error, sqlite3.SQLITE_CORRUPT, "database disk image is malformed") or (
        _is(error, sqlite3.SQLITE_NOTADB, "file is not a database")
    )


def damaged(path: Path | str, error: BaseException | str, opening: bool = False) -> DamagedJournal:
    """The error of a damaged journal: which file, what is wrong (SQLite's error, or what
    its check of the file found), and how to get its history back; when `opening` it, that
    ido wrote nothing to it. It said only `database disk image is malformed`. The shell's
    `.dump` is what it advises: `.recover` needs a shell built with it, and Debian 12's is
    not (`no such table: sqlite_dbpage`, and an empty file). A file whose first bytes are
    not SQLite's (`file is not a database`), which the shell cannot read either, said
    only `cannot open journal …: file is not a database`. The commands it gives quote the
    path as the shell reads it (`cp my journal.db saved.db` copied nothing)."""
    unwritten = "; nothing was written to it" if opening else ""
    typed = shlex.quote(str(path))  # (a path with a space, as the shell is to read it)
    if isinstance(error, BaseException) and _is(
        error, sqlite3.SQLITE_NOTADB, "file is not a database"
    ):
        return DamagedJournal(
            f"journal {path} is damaged, or no journal ({error}): its first bytes are not a "
            f"SQLite database's{unwritten}. Restore it from a copy or an archive; when only "
            "its first 16 bytes were overwritten, a copy with them written back reads again: "
            f"cp {typed} saved.db && printf 'SQLite format 3\\000' | dd of=saved.db bs=16 "
            "count=1 conv=notrunc. A file that is no journal: give --journal an ido journal"
        )
    return DamagedJournal(
        f"journal {path} is damaged ({error}): SQLite cannot read it whole{unwritten}. "
        "Restore it from a copy or an archive, or save what can still be read of it in a "
        f"new journal with the sqlite3 shell: sqlite3 {typed} .dump | sqlite3 saved.db "
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
    if _is(error, sqlite3.SQLITE_READONLY, "readonly database") or _no_room(error):
        return True
    if _is(error, sqlite3.SQLITE_CANTOPEN, "unable to open database file"):
        return not os.access(path.absolute().parent, os.W_OK) or not os.access(path, os.W_OK)
    return False


def _no_room(error: BaseException) -> bool:
    """Whether SQLite could not write the disk (`disk I/O error`, SQLITE_IOERR, what a file
    size limit reads as too) or found it full (`database or disk is full`, SQLITE_FULL)."""
    return _is(error, sqlite3.SQLITE_IOERR, "disk I/O error") or _is(
        error, sqlite3.SQLITE_FULL, "disk is full"
    )


def why_not_written(error: BaseException) -> str:
    """What likely keeps a journal that can be read from being written, after `error`: a
    disk SQLite could not write to reads `disk I/O error` or `disk is full`, which was
    blamed on a read-only file alone (a file size limit, `ulimit -f`, reads so too)."""
    full = isinstance(error, OSError) and error.errno in _FULL
    if full or _no_room(error):
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
