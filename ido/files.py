"""Whether two names are one file: what an output that must not overwrite an input (the
journal or a file SQLite keeps beside it, a file planned from) is checked with."""

from __future__ import annotations

import os
from pathlib import Path


def same_file(name: Path, other: Path) -> bool:
    """Whether `name` names the file `other` does: the same path once links are followed
    (neither need be there yet), or, both there, one file on disk (a hard link, another
    spelling on a disk that ignores case)."""
    try:
        if name.resolve() == other.resolve():
            return True
        return name.exists() and os.path.samefile(name, other)
    except (OSError, RuntimeError):  # (not there; or a loop of links, on Python 3.11)
        return False


JOURNAL_FILES = ("", "-wal", "-shm", "-journal")
"""The journal's file and those SQLite keeps beside it: overwriting any loses runs."""


def journal_file(name: Path, journal: Path) -> str | None:
    """Which of `journal`'s files (`JOURNAL_FILES`) `name` names, under any name: "" for
    the journal itself, "-wal" for its write-ahead log, …; None for none of them."""
    for suffix in JOURNAL_FILES:
        if same_file(name, journal.with_name(journal.name + suffix)):
            return suffix
    return None
