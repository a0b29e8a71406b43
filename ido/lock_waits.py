"""Saying that a write waits for the journal's write lock, which another process holds:
the CLI has it told on stderr (`tell_waits`), for a wait of up to two minutes said nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

_tellers: list[Callable[[str], None]] = []


def tell_waits(tell: Callable[[str], None]) -> None:
    """Have `tell` say, from now on in this process, when a write to a journal waits for
    its lock (a cron job's `ido run` behind an `sqlite3` shell left in a transaction)."""
    _tellers[:] = [tell]


def told_waiting(journal: Path | str, waited: float, most: float) -> None:
    """Say that a write to `journal` has waited `waited` seconds for its lock, and gives up
    after `most`."""
    for tell in _tellers:
        tell(
            f"waiting for journal {journal}: another process has held its write lock for "
            f"over {waited:g}s (ido gives up after {most:g}s)"
        )
