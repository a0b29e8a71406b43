"""Opening a journal: its file made private, set up in WAL mode, its schema made or
upgraded; a journal that may not be written opened read-only for a command that only reads."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ido.errors import DamagedJournal, JournalError, NotFoundError
from ido.journal.connections import _connect, _read_only, identity, make_private
from ido.journal.integrity import checked_at_open, problems, said
from ido.journal.records import stamp
from ido.journal.schema import _GUARD, _SCHEMA, _TABLES, CHAINED_SINCE, SCHEMA_VERSION
from ido.journal.sqlite_errors import (
    blames_permissions,
    damaged,
    is_busy,
    is_damaged,
    why_not_made,
    why_not_written,
)
from ido.text import some

if TYPE_CHECKING:
    from ido.journal.commits import _Write


class _Opened:
    """A journal's file opened and its schema checked (the base of `SqliteJournal`)."""

    def __init__(self, path: Path | str, *, reading: bool = False, checked: bool = False) -> None:
        """Open (or make) the journal at `path`. `reading`: for a command that only reads
        (`ido runs`, `explain`, `audit`, …), which opens a journal it may not write (on a
        read-only mount, a backup, an archive) read-only rather than refuse it, and makes
        none that is not there (`NotFoundError`). `checked`: the file was just checked
        whole by the process that started this one (a worker of `ido run --processes`,
        whose command opened the journal before letting it go), so it is not again."""
        self.path = Path(path)
        self._where = self.path.absolute()  # (a `python:` step may chdir: `_check_file`)
        self._lock = threading.RLock()  # the connection: one statement at a time
        self._queued = threading.Lock()  # the writes waiting for the next commit, the lead
        self._queue: list[_Write[Any]] = []
        self._leading = False  # a thread is committing or about to
        self._local = threading.local()  # per thread: its runs started without waiting
        self._has_recorded: bool | None = None  # (`_recorded_column`)
        self._tables: frozenset[str] | None = None  # (`_holds`, read once)
        if self.path.is_dir():
            raise JournalError(
                f"journal {self.path} is a folder; name a file, like {self.path / 'ido.db'}"
            )
        if reading and not self.path.exists():  # a misspelt path read as an empty history
            raise NotFoundError(f"no journal at {self.path}")
        if not reading and self.path.is_file() and not os.access(self.path, os.W_OK):
            self._open_read_only(PermissionError("permission denied"), reading)
        opened: sqlite3.Connection | None = None
        try:
            make_private(self.path)
            self._db = opened = _connect(str(self.path))
            with self._lock:
                current = self._setup(reading, checked)
            if not current:  # an older journal a reading command opened: read as it is
                opened.close()
                self._db = opened = _read_only(self.path)
            self._file = identity(self.path)
        except DamagedJournal:  # (`check_file`: refused before anything was written)
            if opened is not None:
                opened.close()
            raise
        except (sqlite3.Error, OSError) as exc:
            if opened is not None:
                opened.close()
            self._open_read_only(exc, reading)

    def _open_read_only(self, error: BaseException, reading: bool) -> None:
        """After `error` opening the journal to write: open it read-only for a command that
        only reads; else refuse, saying so when it could be read (a read-only mount, or a
        read-only file: SQLite opens that one silently read-only, and the first write
        failed, `attempt to write a readonly database`, with no word of what to do). A
        damaged file is said to be one; an error that does not mean the journal may not be
        written (a lock held too long, an upgrade that failed) is given as it is."""
        if is_damaged(error):
            raise damaged(self.path, error, opening=True) from None
        refused = JournalError(f"cannot open journal {self.path}: {error}")
        if not self.path.is_file():
            if reading or not isinstance(error, OSError):
                raise refused from None
            raise JournalError(  # a service in a read-only working folder: say what to do
                f"cannot make journal {self.path} ({why_not_made(error)}); "
                "nothing was done: give --journal (or IDO_JOURNAL) a file in a folder ido "
                "may write"
            ) from None
        opened: sqlite3.Connection | None = None
        try:
            self._db = opened = _read_only(self.path)
            with self._lock:
                self._check_version()  # a file that is not a journal is refused as ever
            self._file = identity(self.path)
        except JournalError:  # `_check_version` closed its connection (`_read_only`: none)
            if reading:
                raise
            raise refused from None
        except (sqlite3.Error, OSError) as exc:
            if opened is not None:
                opened.close()
            raise (damaged(self.path, exc, opening=True) if is_damaged(exc) else refused) from None
        if not reading and not blames_permissions(error, self.path):
            self._db.close()
            raise JournalError(
                f"cannot open journal {self.path} to write: {error}; nothing was done. ido "
                "runs, explain, audit and approvals can read it"
            )
        if not reading:
            self._db.close()
            why = why_not_written(error)
            raise JournalError(
                f"journal {self.path} can be read but not written ({error}: {why}); "
                "nothing was done. ido runs, explain, audit and approvals can read it; to "
                "run, give --journal a journal ido may write"
            )

    def _setup(self, reading: bool = False, checked: bool = False) -> bool:
        """WAL mode, the schema and its version; retried while another process sets it up.
        False, with nothing written, for a journal of an older schema opened by a command
        that only reads (`reading`): upgrading it would lock out the older ido that may
        still write it (`ido runs` on an archive), so it is read as it is.

        A journal opened to write is checked first, when small enough
        (`integrity.checked_at_open`) and not `checked` already: damage where opening
        reads nothing (an old run's events) let a run go on writing into the damaged file.

        Switching to WAL takes a lock SQLite's busy timeout does not wait for, so several
        runs opening a new journal at once would otherwise see "database is locked".
        """
        for attempt in range(100):
            try:
                version = self._check_version()  # before WAL mode, which writes the file
                if reading and version is not None and version < SCHEMA_VERSION:
                    return False
                if not (reading or checked) and version is not None and checked_at_open(self.path):
                    self._check_pages()  # (damage where opening reads nothing: old runs)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                if version == SCHEMA_VERSION:
                    if not reading:
                        self._guard()
                    return True  # up to date: opening writes nothing (`ido runs` only reads)
                now = time.time()
                self._add_recorded_at(stamp(now - 0.001))  # before chaining began (verify)
                self._add_hash()
                self._db.executescript(_SCHEMA)
                self._guard()
                self._mark_set_up()
                return True
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or attempt == 99:
                    raise
                time.sleep(0.05)
        return True  # (not reached: the last attempt raises)

    def _check_pages(self, whole: bool = False) -> None:
        """Refuse the journal when SQLite finds its file damaged (`integrity.problems`:
        `quick_check`, or `integrity_check` when `whole`), as `DamagedJournal` naming what
        it found and saying what to do; nothing is written either way. A file too damaged
        to check raises SQLite's error (`_open_read_only` and `failed` tell it)."""
        with self._lock:
            found = problems(self._db, whole)
        if found:
            raise damaged(self.path, said(found), opening=True)

    def _guard(self) -> None:
        """Make `_GUARD` unless the journal has it (made or upgraded by an ido before it):
        a journal that has it is not written."""
        made = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'events_chained'"
        ).fetchone()
        if made is None:
            self._db.execute(_GUARD)

    def _mark_set_up(self) -> None:
        """Write when the journal began chaining (now, unless it had) and its schema
        version, last and in one commit: a setup cut short before it (killed, a full
        disk) is done again at the next open, not taken for done (`ido verify` needs
        `CHAINED_SINCE`); and an older ido that goes on writing the journal meanwhile (it
        still says the older version) records runs before chaining began, not after it
        (their events, with no hashes, were then called broken). Now is read holding the
        write lock: a run such an ido began while the setup was under way (read as
        begun since chaining, the guard refused its next event: the run was cut short
        mid-way) is committed before it or refused at its first event."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            now = stamp(time.time())
            self._db.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)", (CHAINED_SINCE, now)
            )
            self._db.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _add_recorded_at(self, now: str) -> None:
        """Give the runs of a journal of schema 3 or older (or one whose setup an older ido
        cut short) their `recorded_at` column, unless another process just did. A
        scenario's run kept in it did not say when it was recorded: it was by now at the
        latest, and by its virtual start if that has passed, so it takes the earlier of
        the two (its virtual start, in 2027, kept it from ever being pruned, and on top of
        `ido runs`)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(runs)")}
            if columns and "recorded_at" not in columns:  # (no runs yet: `_SCHEMA` makes them)
                self._db.execute("ALTER TABLE runs ADD COLUMN recorded_at TEXT")
                self._db.execute(
                    "UPDATE runs SET recorded_at = MIN(started_at, ?) WHERE id IN ("
                    "SELECT run_id FROM events WHERE seq = 1 AND kind = 'run_started' "
                    "AND json_extract(data, '$.scenario') IS NOT NULL)",
                    (now,),
                )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _add_hash(self) -> None:
        """Give the events of a journal of schema 4 or older their `hash` column, unless
        another process just did. Their events keep no hash: chaining them now would
        vouch for what was recorded when nothing guarded it (`ido verify` says such runs
        were recorded before chaining). Nothing else changes: the upgrade is lossless."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(events)")}
            if columns and "hash" not in columns:  # (no events yet: `_SCHEMA` makes them)
                self._db.execute("ALTER TABLE events ADD COLUMN hash TEXT")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _check_version(self) -> int | None:
        """The journal's schema version (None: new); refuses, before writing anything, a
        journal a newer ido wrote and a database that is not a journal."""
        tables = {
            name
            for (name,) in self._db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite^_%' "
                "ESCAPE '^'"
            )
        }
        found = None
        others = sorted(tables - _TABLES)
        if "meta" in tables:
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(meta)")}
            if {"key", "value"} <= columns:  # a busy database raises, for `_setup` to retry
                row = self._db.execute(
                    "SELECT value FROM meta WHERE key='schema_version'"
                ).fetchone()
                found = row[0] if row else None
            else:  # a table named meta, but not ido's
                others = sorted(tables - _TABLES | {"meta"})
        if found is None and others:
            self._db.close()
            shown = some(others, 5)
            raise JournalError(
                f"{self.path} is a SQLite database but not an ido journal (it holds "
                f"{'table' if len(others) == 1 else 'tables'} {shown}); it was left as it "
                "was: give --journal a new file or an ido journal"
            )
        if found is not None and (not str(found).isdigit() or int(found) > SCHEMA_VERSION):
            self._db.close()
            raise JournalError(
                f"journal {self.path} has schema version {found}, newer than this ido "
                f"understands ({SCHEMA_VERSION}); upgrade ido, or use another --journal"
            )
        return int(found) if found is not None else None
