"""The append-only journal of runs and their events, on SQLite (the embedded default).

`records` holds the `Journal` protocol and what it records (events, run rows, the rules
read off them); `schema` the SQLite tables and the queries of runs; `connections` the
file itself (its connections, its mode, waiting for its write lock). `sqlite` holds
`SqliteJournal` and its writes, built on `reads`, on `commits` (group commit) and on
`opening` (opening the file, making or upgrading its schema); `integrity` SQLite's check
of the file whole (at open, and in `ido verify`); `chain` the hash chain over
each run's events and checking it (`ido verify`); `catalogs` a run's catalog digests,
stored once per catalog.
"""

from typing import TYPE_CHECKING, Any

from ido.journal.records import Event, Journal, RunRow, epoch, stamp

if TYPE_CHECKING:
    from ido.journal.sqlite import SqliteJournal


def __getattr__(name: str) -> Any:
    """`SqliteJournal`, imported on first use: what only reads `records` (the decide step,
    `ido plan`) does not load SQLite and the journal's writes."""
    if name == "SqliteJournal":
        from ido.journal.sqlite import SqliteJournal

        return SqliteJournal
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Event", "Journal", "RunRow", "SqliteJournal", "epoch", "stamp"]
