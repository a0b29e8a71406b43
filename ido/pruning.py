"""Pruning the journal: old ended runs leave it (into an archive journal, if asked), and
their space goes back to the disk.

The journal grows about 20 KB a run and nothing else ever removes a run. Pruning removes
the runs that ended (any outcome but `blocked`) and started before a date (a scenario's
run kept in the journal: recorded before it), or are older than the newest N, or both,
with their events, and the catalogs (`ido.journal.catalogs`) no run left names; it keeps
the learnt health, the model answer cache and the schema version (an archive gets the
catalogs its runs name). A run that has not ended stays: a running one is carried on by
a live process, an interrupted one waits for `ido resume`, and a blocked one for a
person. Checking the outcome is enough to spare running runs, so no process needs to be
looked up.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from ido.errors import JournalError
from ido.files import journal_file
from ido.journal.connections import (
    BUSY_SECONDS,
    BUSY_STEP_SECONDS,
    _read_only,
    make_private,
    patiently,
)
from ido.journal.records import stamp
from ido.journal.schema import CHAINED_SINCE, NEWEST_FIRST, PRUNES
from ido.journal.sqlite import SqliteJournal
from ido.journal.sqlite_errors import why_not_made

_ENDED = "r.outcome IS NOT NULL AND r.outcome != 'blocked'"
"""The runs that ended and wait for nobody: any outcome but `blocked`."""

_NEWEST_KEPT = (
    "SELECT id FROM main.runs "  # noqa: S608 (constants only)
    + NEWEST_FIRST.format(recorded="recorded_at")
    + " LIMIT :keep"
)
"""The newest `keep` runs, whatever their outcome, as `ido runs` orders them."""

_PRUNABLE = f"""{_ENDED}
AND (:before IS NULL OR COALESCE(r.recorded_at, r.started_at) < :before)
AND (:keep IS NULL OR r.id NOT IN ({_NEWEST_KEPT}))
"""
"""The runs old enough to prune: ended, not blocked, started before the date (a scenario's
run kept in the journal: recorded before it, whatever its virtual clock says) and not
among the newest `keep`; a bound left NULL allows any run."""

_NEWEST_RUN = "SELECT run_id FROM main.events WHERE rowid = (SELECT MAX(rowid) FROM main.events)"

_CHOOSE = f"""
INSERT INTO temp.doomed(id, last)
SELECT r.id, (SELECT MAX(seq) FROM main.events e WHERE e.run_id = r.id) FROM main.runs r
WHERE {_PRUNABLE} AND r.id IS NOT ({_NEWEST_RUN})
"""  # noqa: S608 (built of the constants above; the date and count are bound)
"""The runs to prune (`_PRUNABLE`), each with its last event's number. The run holding the
journal's newest event stays, so that event numbers (rowids) only grow: `ido runner` reads
the approvals recorded after the newest event it has seen, and SQLite numbers a new row one
past the largest left."""

_SPARED = f"SELECT 1 FROM main.runs r WHERE {_PRUNABLE} AND r.id = ({_NEWEST_RUN})"  # noqa: S608
"""The run holding the journal's newest event, if it would be pruned but for that."""

_CHANGED = f"""
DELETE FROM temp.doomed WHERE NOT EXISTS (
    SELECT 1 FROM main.runs r WHERE r.id = doomed.id AND {_ENDED}
) OR last IS NOT (SELECT MAX(seq) FROM main.events e WHERE e.run_id = doomed.id)
"""  # noqa: S608 (built of the constants above)
"""Spare the chosen runs that changed since they were chosen (and copied to the archive):
nothing is removed that the archive does not hold."""


@dataclass(frozen=True)
class Cutoff:
    """Which ended runs a prune takes: those both bounds allow (None: any)."""

    before: str | None = None
    """A day or moment (UTC): the runs started (a kept scenario's: recorded) before it."""
    keep: int | None = None
    """How many of the newest runs stay, whatever their outcome: those older may go."""

    def params(self) -> dict[str, str | int | None]:
        return {"before": self.before, "keep": self.keep}


@dataclass(frozen=True)
class Pruning:
    """What a prune removed (or, in a dry run, would remove)."""

    runs: int
    events: int
    event_bytes: int
    """The size of the events' data: what the journal holds for them, before indexes."""
    first: str | None
    """When the earliest of the runs started (a kept scenario's run: was recorded), by this
    world's clock (None: no runs)."""
    last: str | None
    size_before: int
    """The journal's size in bytes, its write-ahead log included."""
    size_after: int
    spared_newest: bool = False
    """Whether the run holding the journal's newest event was old enough but stayed (it
    always does): so that a prune that removes nothing can say why."""
    kept: int = 0
    """How many runs the journal holds after the prune (a dry run's: would hold)."""


def size_of(journal: Path) -> int:
    """The journal's bytes on disk: the database and its write-ahead log."""
    wal = journal.with_name(journal.name + "-wal")
    return journal.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def survey(journal: Path, cutoff: Cutoff) -> Pruning:
    """What `prune(journal, cutoff)` would remove; changes nothing. A journal of an older
    schema is read as it is, not upgraded: `ido prune --dry-run` upgraded it, and the older
    ido that still wrote it refused it then (`newer than this ido understands`)."""
    SqliteJournal(journal, reading=True).close()  # refuses a file not a journal, or a newer one
    size = size_of(journal)
    with _connected(journal, reading=True) as db:
        runs = _runs_as_read(db)
        db.execute("BEGIN")  # one snapshot for the choice and its sums
        db.execute(_CHOOSE.replace("main.runs", runs), cutoff.params())
        found = _summed(db, size, cutoff, runs)
        db.execute("ROLLBACK")
    return found


def _runs_as_read(db: sqlite3.Connection) -> str:
    """The table of runs a dry run reads: `main.runs`, or for a journal of schema 3 or
    older, which has no `recorded_at`, a copy of it in memory with that column as the
    upgrade would fill it (`opening._add_recorded_at`: a kept scenario's run, by its
    virtual start, as the prune compares it after the upgrade)."""
    columns = {row[1] for row in db.execute("PRAGMA main.table_info(runs)")}
    if "recorded_at" in columns:
        return "main.runs"
    db.execute(
        "CREATE TEMP TABLE runs AS SELECT r.*, CASE WHEN EXISTS (SELECT 1 FROM main.events e "
        "WHERE e.run_id = r.id AND e.seq = 1 AND e.kind = 'run_started' "
        "AND CASE WHEN json_valid(CAST(e.data AS TEXT)) "
        "THEN json_extract(CAST(e.data AS TEXT), '$.scenario') END IS NOT NULL) "
        "THEN MIN(r.started_at, ?) END AS recorded_at FROM main.runs r ORDER BY r.rowid",
        (stamp(time.time()),),
    )
    return "temp.runs"


def prune(journal: Path, cutoff: Cutoff, archive: Path | None = None) -> Pruning:
    """Remove the runs that ended and that `cutoff` takes: started (a kept scenario's run:
    was recorded) before its `before` (an ISO 8601 date or moment, in UTC as the journal
    writes them), older than its newest `keep`, with their events, then give their space
    back.

    With `archive`, the runs are first copied into that journal (made if new) and committed
    there, then removed from this one in a second commit: a crash in between leaves them in
    both, and pruning again copies none twice. Reclaiming the space (VACUUM) rewrites the
    journal: it needs free disk about twice the size of what is kept (a copy, and the
    write-ahead log), and holds the write lock while it runs, so other ido processes wait
    on the busy timeout (`BUSY_SECONDS`) meanwhile.
    """
    SqliteJournal(journal).close()  # refuses a file that is not a journal, or a newer one
    if archive is not None:
        check_archive(journal, archive)
    size = size_of(journal)
    with _connected(journal) as db:
        if archive is None:
            db.execute("BEGIN")
            db.execute(_CHOOSE, cutoff.params())
            db.execute("COMMIT")
        else:
            _copy(db, journal, archive, cutoff)
        found = _delete(db, journal, size, cutoff)
        if found.runs:
            _reclaim(db, journal)
    return replace(found, size_after=size_of(journal))


def check_archive(journal: Path, archive: Path, *, making: bool = True) -> None:
    """Refuse, before anything is copied or removed, an archive that is the journal itself,
    one ido may not write, or one that is not a journal ido can add to (a folder, another
    app's file, a newer schema): each named as the archive, where it was told as a journal
    (`journal dir.db is a folder`), the journal itself being fine. `making=False` (a dry
    run) makes nothing: an archive not there yet is only checked for being writable."""
    refuse_the_journal_itself(journal, archive)
    refuse_an_unwritable_archive(archive)
    if not making and not archive.exists():
        return
    if not archive.exists():
        try:
            make_private(archive)
        except OSError as exc:  # (told as a journal's, it said to give --journal)
            raise JournalError(
                f"archive {archive} cannot be made ({why_not_made(exc)}); nothing was "
                "pruned: give --archive a file ido may write"
            ) from None
    try:
        SqliteJournal(archive, reading=not making).close()  # the schema and its version
    except JournalError as exc:
        raise JournalError(f"--archive {archive}: {exc}; nothing was pruned") from None


def refuse_the_journal_itself(journal: Path, archive: Path) -> None:
    """Refuse an archive that is the journal under another name (a link, another spelling
    on a disk that ignores case), or a file SQLite keeps beside it. Copied into itself,
    nothing is copied, and then the runs are removed from both; copied into its `-wal`
    file, the archive was gone when the journal closed, and the runs with it."""
    suffix = journal_file(archive, journal)
    if suffix is not None:
        its = f" (its {suffix} file)" if suffix else ""
        raise JournalError(f"--archive {archive} is the journal itself{its}; name another file")


def refuse_an_unwritable_archive(archive: Path) -> None:
    """Refuse, naming it as the archive, one ido may not write or make: it was told as a
    journal, with a journal's advice (`cannot open journal a.db: unable to open database
    file`; `… to run, give --journal a journal ido may write`)."""
    there = archive if archive.exists() else archive.parent
    if there.exists() and not os.access(there, os.W_OK | (os.X_OK if there.is_dir() else 0)):
        made = "written" if there == archive else f"made in {there}"
        raise JournalError(
            f"archive {archive} cannot be {made} (permission denied: a read-only file, "
            "folder or mount?); nothing was pruned: give --archive a file ido may write"
        )


@contextmanager
def _connected(journal: Path, *, reading: bool = False) -> Iterator[sqlite3.Connection]:
    """A connection of our own to the journal (its commits are not the runs' group
    commits), with a table of the runs chosen; SQLite's errors as the journal's.
    `reading`: read-only (a dry run), its tables in memory."""
    try:
        if reading:
            db = _read_only(journal)
        else:
            db = sqlite3.connect(journal, isolation_level=None, timeout=BUSY_STEP_SECONDS)
    except sqlite3.Error as exc:
        raise JournalError(f"cannot open journal {journal}: {exc}") from None
    try:
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TEMP TABLE doomed (id TEXT PRIMARY KEY, last INTEGER)")
        yield db
    except sqlite3.Error as exc:
        raise JournalError(f"journal {journal}: {exc}") from None
    finally:
        db.close()


def _copy(db: sqlite3.Connection, journal: Path, archive: Path, cutoff: Cutoff) -> None:
    """Choose the runs and copy them, with their events, into the archive, in one commit
    there; a run the archive holds already is left as it is there. A failure names the
    archive: it was told as the journal's ("journal ido.db: disk I/O error" for a full
    disk under the archive), though the journal was only read."""
    try:
        _copy_into(db, archive, cutoff)
    except sqlite3.Error as exc:
        raise JournalError(
            f"cannot copy the runs into archive {archive}: {exc}; nothing was removed from "
            f"journal {journal}"
        ) from None


def _copy_into(db: sqlite3.Connection, archive: Path, cutoff: Cutoff) -> None:
    """`_copy`'s statements."""
    db.execute("ATTACH DATABASE ? AS archive", (str(archive),))
    db.execute("PRAGMA archive.synchronous=FULL")
    db.execute("BEGIN")  # deferred: the journal is only read, its writers go on
    db.execute(_CHOOSE, cutoff.params())
    db.execute(
        "INSERT OR IGNORE INTO archive.runs"
        "(id, intent, started_at, ended_at, outcome, reason, cost, duration, recorded_at) "
        "SELECT id, intent, started_at, ended_at, outcome, reason, cost, duration, recorded_at "
        "FROM main.runs WHERE id IN (SELECT id FROM temp.doomed) ORDER BY rowid"
    )
    # (before the events: the archive's guard refuses those recorded since it chained)
    db.execute(_CHAINED_LATER, (CHAINED_SINCE,))
    db.execute(
        "INSERT OR IGNORE INTO archive.events(run_id, seq, at, kind, data, hash) "
        "SELECT run_id, seq, at, kind, data, hash FROM main.events "
        "WHERE run_id IN (SELECT id FROM temp.doomed) ORDER BY rowid"
    )
    db.execute(_CATALOGS_COPIED)
    db.execute("COMMIT")
    db.execute("DETACH DATABASE archive")


_NAMED = (
    "CASE WHEN json_valid(CAST(data AS TEXT)) "
    "THEN json_extract(CAST(data AS TEXT), '$.catalog_digest') END"
)
"""The catalog a run's `run_started` names (`ido.journal.catalogs`): its digests, stored
once for all the runs of one catalog. NULL for data that is no JSON (edited by hand,
which `ido verify` reports): json_extract refused it, "malformed JSON", and with it every
prune of the journal; read as text, as data made a BLOB by hand still names its row."""

_CATALOGS_COPIED = f"""
INSERT OR IGNORE INTO archive.catalogs(digest, capabilities)
SELECT digest, capabilities FROM main.catalogs WHERE digest IN (
    SELECT {_NAMED} FROM main.events
    WHERE run_id IN (SELECT id FROM temp.doomed) AND seq = 1 AND kind = 'run_started')
"""  # noqa: S608 (built of the constants above)
"""The catalogs the runs copied into the archive name, copied with them."""

_CATALOGS_UNUSED = f"""
DELETE FROM main.catalogs WHERE digest NOT IN (
    SELECT {_NAMED} FROM main.events
    WHERE seq = 1 AND kind = 'run_started' AND {_NAMED} IS NOT NULL)
"""  # noqa: S608 (built of the constants above)
"""The catalogs no run left in the journal names: a row stays while any run uses it."""

_CHAINED_LATER = """
UPDATE archive.meta SET value = (SELECT value FROM main.meta WHERE key = ?1)
WHERE key = ?1 AND value < (SELECT value FROM main.meta WHERE key = ?1)
AND EXISTS (SELECT 1 FROM temp.doomed d JOIN main.events e ON e.run_id = d.id
    WHERE e.hash IS NULL)
"""
"""An archive that began chaining before the journal (made by pruning another one) takes
the journal's start when events recorded before it are copied in: else `ido verify` told
a run of them, recorded since the archive's start with no hash, as stripped of its
hashes, and the archive's guard (`events_chained`) refuses them. Those of a run begun
before chaining and written since (approved, resumed: chained from there) count too: the
guard refused its first events, and the prune with them."""


def _delete(db: sqlite3.Connection, journal: Path, size: int, cutoff: Cutoff) -> Pruning:
    """Remove the chosen runs and their events in one commit; what was removed."""
    if not patiently(db, "BEGIN IMMEDIATE", journal):
        raise JournalError(
            f"journal {journal} is busy: other processes have held its write lock for over "
            f"{BUSY_SECONDS:g}s; nothing was removed (try again later)"
        )
    try:
        db.execute(_CHANGED)
        found = _summed(db, size, cutoff)
        db.execute("DELETE FROM main.events WHERE run_id IN (SELECT id FROM temp.doomed)")
        db.execute("DELETE FROM main.runs WHERE id IN (SELECT id FROM temp.doomed)")
        if found.runs:
            db.execute(_CATALOGS_UNUSED)
        if found.runs:  # a runner watching the journal looks at it whole again (`PRUNES`)
            db.execute(
                "INSERT INTO meta(key, value) VALUES (?, '1') ON CONFLICT(key) DO UPDATE "
                "SET value = CAST(value AS INTEGER) + 1",
                (PRUNES,),
            )
        db.execute("COMMIT")
    except sqlite3.Error as exc:  # (a full disk: the write-ahead log could not grow)
        raise JournalError(f"journal {journal}: {exc}; nothing was removed") from None
    return found


def _summed(db: sqlite3.Connection, size: int, cutoff: Cutoff, table: str = "main.runs") -> Pruning:
    """The chosen runs counted: how many, when they started, their events and bytes; the
    journal's `size` before and after (until the prune says what it is after); whether the
    newest run was spared; how many runs stay; read in the same snapshot as the choice.
    `table`: the runs, as `_runs_as_read` gives them."""
    chosen = (
        "SELECT COUNT(*), MIN(COALESCE(recorded_at, started_at)), "  # noqa: S608 (a table we name)
        f"MAX(COALESCE(recorded_at, started_at)) FROM {table} "
        "WHERE id IN (SELECT id FROM temp.doomed)"
    )
    runs, first, last = db.execute(chosen).fetchone()
    events, data = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(data AS BLOB))), 0) FROM main.events "
        "WHERE run_id IN (SELECT id FROM temp.doomed)"
    ).fetchone()
    spared = db.execute(_SPARED.replace("main.runs", table), cutoff.params()).fetchone()
    (kept,) = db.execute(
        f"SELECT COUNT(*) FROM {table} WHERE id NOT IN (SELECT id FROM temp.doomed)"  # noqa: S608
    ).fetchone()
    return Pruning(runs, events, data, first, last, size, size, spared is not None, kept)


def _reclaim(db: sqlite3.Connection, journal: Path) -> None:
    """Give the removed runs' space back to the disk: rewrite the journal (VACUUM), then
    empty the write-ahead log, which the rewrite filled, as far as readers allow."""
    if not patiently(db, "VACUUM", journal):
        raise JournalError(
            f"the runs were pruned, but journal {journal} stayed busy for over "
            f"{BUSY_SECONDS:g}s, so their space was not given back; run "
            f"`sqlite3 {journal} VACUUM` when it is quiet"
        )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
