"""Whether a journal's SQLite file is whole: SQLite's own check of every page, at open to
write (a journal small enough to check quickly) and in `ido verify` (every journal)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

CHECKED_AT_OPEN_BYTES = 128 * 1024 * 1024
"""The largest journal checked whole when opened to write (`PRAGMA quick_check`): about
0.2 s a 100 MB journal whose file the system holds in memory, 0.7 s a 256 MB one
(docs/benchmarks.md), longer read from disk. A larger one is checked by `ido verify`."""
SHOWN = 5
"""How many of SQLite's findings a message shows."""


def problems(db: sqlite3.Connection, whole: bool = False) -> list[str]:
    """What SQLite finds wrong with the file (none: it is whole): `PRAGMA quick_check`,
    which reads every page and checks the structure of each table and index, or, `whole`,
    `PRAGMA integrity_check`, which also checks that each index holds what its table does.
    A file too damaged to check raises SQLite's error (`database disk image is
    malformed`); so may `integrity_check` reading a damaged index, when `quick_check`
    then says what is damaged, which is told instead."""
    try:
        return _found(db, "integrity_check" if whole else "quick_check")
    except sqlite3.DatabaseError:
        if not whole:
            raise
        found = _found(db, "quick_check")
        if not found:
            raise
        return found


def _found(db: sqlite3.Connection, pragma: str) -> list[str]:
    found = [str(row[0]) for row in db.execute(f"PRAGMA {pragma}({SHOWN + 1})")]
    return [] if found == ["ok"] else found


def checked_at_open(path: Path) -> bool:
    """Whether the journal at `path` is small enough (`CHECKED_AT_OPEN_BYTES`, with its
    -wal file) to be checked whole each time it is opened to write."""
    size = 0
    for name in (str(path), f"{path}-wal"):
        try:
            size += os.stat(name).st_size
        except OSError:
            continue
    return size <= CHECKED_AT_OPEN_BYTES


def said(found: list[str]) -> str:
    """SQLite's findings as one clause, the first few (`On tree page 576 cell 0: Offset
    65535 out of range 357..4092`), without the header SQLite puts first (`*** in
    database main ***`)."""
    lines = [
        line.strip()
        for finding in found
        for line in finding.splitlines()
        if line.strip() and not line.startswith("*** in database")
    ]
    more = len(lines) > SHOWN or len(found) > SHOWN
    return "; ".join(lines[:SHOWN]) + ("; and more" if more else "")
