"""The append-only journal of runs and their events, on SQLite (the embedded default)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shlex
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar

from ido.errors import JournalError, NotFoundError
from ido.health import Evidence, Lesson, with_lessons
from ido.state import sorted_json
from ido.text import some

SCHEMA_VERSION = 4  # 2: health beliefs; 3: the llm planners' answer cache; 4: runs.recorded_at
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    intent TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    outcome TEXT,
    reason TEXT,
    cost REAL NOT NULL DEFAULT 0,
    duration REAL,
    recorded_at TEXT
);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started_at);
CREATE INDEX IF NOT EXISTS runs_recorded ON runs(COALESCE(recorded_at, started_at));
CREATE TABLE IF NOT EXISTS llm_cache (
    request TEXT PRIMARY KEY,
    reply TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS health (
    capability TEXT PRIMARY KEY,
    successes REAL NOT NULL,
    failures REAL NOT NULL,
    latency REAL,
    updated REAL NOT NULL
);
"""
PRUNES = "prunes"
"""The `meta` key counting prunes: reclaiming their space (VACUUM) may number the events
afresh, so a mark of the newest event seen (`approvals_since`) holds only until the next
prune, and `ido runner` looks at the journal whole again after one."""

UNRECORDED = "interrupted before its outcome was recorded"
"""The start of the error recorded for a step a crash cut short, the rest saying what
resuming did: the runtime writes it, and `ido explain` tells it apart to say it once."""

STARTS = ("action_started", "action_repeated")
"""The events of a step's call starting: on disk before the call is made."""

NEWEST_FIRST = "ORDER BY COALESCE({recorded}, started_at) DESC, rowid DESC"
"""How runs are ordered, newest first (a kept scenario run by when it was recorded):
`ido runs` lists them so, and `ido prune --keep N` keeps the N it would list first."""

_RUN_ROWS = "SELECT id, intent, started_at, ended_at, outcome, reason, cost, duration, {recorded} "
_NEWEST = _RUN_ROWS + "FROM runs WHERE {where} " + NEWEST_FIRST
_ONE = _RUN_ROWS + "FROM runs WHERE id = ?"
"""The queries of `RunRow`s, `{recorded}` being `recorded_at`, or NULL in a journal older
than that column (read-only).

`COALESCE(recorded_at, started_at)` is when a run was recorded, by this world's clock: its
start, but for a scenario's run kept in the journal (`ido scenario run --journal`), whose
own clock is the scenario's virtual one (a kept run of an ido before schema 4 has no
`recorded_at`: its virtual start stands in). `ido runs` orders by it, and `ido prune`
compares it with its date."""


@dataclass(frozen=True)
class RunsAsked:
    """Which runs `SqliteJournal.runs` lists (`ido runs --intent/--outcome/--since`); each
    field left empty asks nothing of the runs, and the fields combine with AND."""

    intents: tuple[str, ...] = ()
    outcomes: tuple[str | None, ...] = ()
    """The outcomes as the journal writes them, None standing for a run not ended yet."""
    since: str | None = None
    """A day (2026-12-06): the runs recorded on or after it, by this world's clock."""

    def where(self) -> tuple[str, list[str]]:
        """The SQL condition on the runs table (`{recorded}` as in `_NEWEST`) and its
        parameters: filtered in SQLite, so that a limit counts the runs asked for."""
        terms: list[str] = ["1"]
        params: list[str] = []
        if self.intents:
            terms.append(f"intent IN ({', '.join('?' * len(self.intents))})")
            params += self.intents
        ended = [o for o in self.outcomes if o is not None]
        if self.outcomes:
            either = [f"outcome IN ({', '.join('?' * len(ended))})"] if ended else []
            either += ["outcome IS NULL"] if None in self.outcomes else []
            terms.append(f"({' OR '.join(either)})")
            params += ended
        if self.since is not None:  # a day sorts before its moments: 2026-12-06 < 2026-12-06T…
            terms.append("COALESCE({recorded}, started_at) >= ?")
            params.append(self.since)
        return " AND ".join(terms), params


_TABLES = frozenset({"meta", "runs", "events", "llm_cache", "health"})
"""The tables `_SCHEMA` makes: a database holding others and no schema version is not ours."""


Pending = tuple[str, str, Mapping[str, Any]]
"""An event not committed yet: kind, time, data."""

T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")


BUSY_SECONDS = 120.0
"""How long a write waits for SQLite's write lock held by other processes before it fails."""
BUSY_STEP_SECONDS = 10.0
"""How long SQLite's busy handler waits at a time (a connection's timeout)."""


def patiently(db: sqlite3.Connection, statement: str) -> bool:
    """Run a statement that takes SQLite's write lock (`BEGIN IMMEDIATE`, `VACUUM`), waiting
    up to `BUSY_SECONDS` while other processes hold it: SQLite's own busy handler gives up
    after `BUSY_STEP_SECONDS` at a time, and can starve one writer among many. False when
    they held it all along."""
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            db.execute(statement)
            return True
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                return False


def stamp(moment: float) -> str:
    """How the journal writes a moment (epoch seconds): ISO 8601 in UTC, to the millisecond.

    The same text as `datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")`
    (microseconds rounded half to even, then cut to milliseconds), with the text up to the
    second remembered: events come many to a second."""
    fraction, whole = math.modf(moment)
    micros = round(fraction * 1e6)
    if not 0 <= micros < 1_000_000:  # before 1970, or rounds up into the next second
        return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
    second, prefix = _last_second[0]
    if second != whole:
        prefix = datetime.fromtimestamp(whole, UTC).isoformat(timespec="seconds")[:-6]
        _last_second[0] = (whole, prefix)  # one tuple: threads see both or neither
    return f"{prefix}.{micros // 1000:03d}+00:00"


_last_second: list[tuple[float, str]] = [(math.nan, "")]


def epoch(text: str) -> float:
    """The moment a journal timestamp stands for, in epoch seconds."""
    return datetime.fromisoformat(text).timestamp()


@dataclass(frozen=True)
class Event:
    run_id: str
    seq: int
    at: str
    kind: str
    data: dict[str, Any]


def scenario_of(events: Sequence[Event]) -> Mapping[str, Any] | None:
    """The scenario a run ran in, kept with `ido scenario run --journal` (its world was
    simulated: not this one); None for a run in this world."""
    if events and events[0].kind == "run_started":
        found = events[0].data.get("scenario")
        return found if isinstance(found, Mapping) else None
    return None


def temporal_of(events: Sequence[Event]) -> Mapping[str, Any] | None:
    """Where a run pursued on a Temporal server is (`address`, `task_queue`, `namespace`,
    and `flags`: its --tls… and --api-key-env flags, never the key), for a run imported
    from there (`ido run --temporal`); None for a run of this journal."""
    if events and events[0].kind == "run_started":
        found = events[0].data.get("temporal")
        return found if isinstance(found, Mapping) else None
    return None


def resume_command(run_id: str, events: Sequence[Event]) -> str:
    """How to continue the run: `ido resume RUN`, with `--temporal ADDRESS` for a run on a
    Temporal server (which a local resume must not take over)."""
    temporal = temporal_of(events)
    if temporal is None:
        return f"ido resume {run_id}"
    flags = "".join(f" {shlex.quote(str(f))}" for f in temporal.get("flags") or [])
    return f"ido resume {run_id} --temporal {temporal.get('address')}{flags}"


def llm_cost(decision: Mapping[str, Any]) -> float:
    """What asking a model cost in a `decided` event's data (0 for the solvers)."""
    return model_calls(decision.get("result", {}).get("solver", {}).get("llm"))[0]


def model_calls(llm: Mapping[str, Any] | None) -> tuple[float, float]:
    """What a decision's own model calls cost and how long they took, from its model
    planner's record (`llm`, `hybrid`; None for the solvers): an answer from the cache cost
    and took nothing. The model planners held the plan to the limits less these."""
    if not llm:
        return 0.0, 0.0
    fresh = [c["reply"] for c in llm.get("calls", []) if not c.get("cached")]
    return float(llm.get("cost") or 0.0), sum(float(r.get("seconds") or 0.0) for r in fresh)


def paid_in(event: Event) -> float:
    """What a run paid in this event: a step's cost, or a decision's model calls. The one
    rule for a run's spend, which resuming folds and the journals sum for a run that has
    not ended."""
    if event.kind == "action_finished":
        return float(event.data.get("cost") or 0.0)
    return llm_cost(event.data) if event.kind == "decided" else 0.0


def shown_cost(cost: float) -> float:
    """A cost as `ido runs`, `ido explain` and the traces show it: a sum of floats rounded
    past its noise (`3.3099999999999996` is 3.31)."""
    return round(cost, 9)


@dataclass(frozen=True)
class RunRow:
    id: str
    intent: str
    started_at: str
    ended_at: str | None
    outcome: str | None
    reason: str | None
    cost: float
    duration: float | None
    recorded_at: str | None = None
    """When a scenario's run kept in the journal was recorded, by this world's clock: its
    `started_at` and `ended_at` are the scenario's virtual clock, as its events are. None
    for a run in this world (its start is when it was recorded). (A scenario's run kept by
    an ido before schema 4 gets the time the journal was upgraded, or its virtual start if
    that is earlier: see `_add_recorded_at`; in such a journal read-only, None.)"""

    @property
    def recorded(self) -> str:
        """When the run was recorded, by this world's clock (see `_NEWEST`)."""
        return self.recorded_at or self.started_at

    def to_json(self) -> dict[str, Any]:
        """The row as JSON shows it, its cost rounded past the noise (`shown_cost`)."""
        return {**self.__dict__, "cost": shown_cost(self.cost)}


class Journal(Protocol):
    """Where runs are recorded; each append is durable before it returns."""

    def start_run(
        self,
        run_id: str,
        intent: str,
        at: str,
        data: Mapping[str, Any],
        recorded_at: str | None = None,
    ) -> bool:
        """Start a run; whether its start is on disk on return (False: queued, and on disk
        once the run's next write, from the same thread, returns). `recorded_at`: this
        world's time, for a run on another clock (a scenario's: `RunRow.recorded_at`)."""
        ...

    def append(self, run_id: str, kind: str, at: str, data: Mapping[str, Any]) -> int: ...
    def append_many(
        self,
        run_id: str,
        events: Sequence[Pending],
        replies: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None: ...
    def finish_run(
        self,
        run_id: str,
        outcome: str,
        reason: str | None,
        cost: float,
        duration: float,
        at: str,
        events: Sequence[Pending] = (),
        lessons: Sequence[Lesson] = (),
    ) -> None: ...
    def runs(self, limit: int = 50) -> list[RunRow]: ...
    def run(self, run_id: str) -> RunRow: ...
    def blocked(self) -> dict[str, list[Event]]: ...
    def health(self) -> dict[str, Evidence]: ...
    def save_health(self, evidence: Mapping[str, Evidence]) -> None: ...
    def events(self, run_id: str) -> list[Event]: ...
    def resolve(self, reference: str) -> str: ...
    def take_over(self, run_id: str, after: int, at: str, data: Mapping[str, Any]) -> None: ...
    def get(self, key: str) -> Mapping[str, Any] | None: ...
    def put(self, key: str, reply: Mapping[str, Any]) -> None: ...


def landed(held: Sequence[Event], pending: Sequence[Pending]) -> bool:
    """Whether the run's last events `held` end with `pending`, or with them and the run's
    end: a commit Ctrl-C cut short may have landed before the interruption was noticed,
    and writing its events again would count their steps (and costs) twice."""
    if not pending:
        return False
    tried = [(kind, at, json.loads(sorted_json(data))) for kind, at, data in pending]
    tail = [(event.kind, event.at, event.data) for event in held]
    size = len(tried)
    return tail[-size:] == tried or (
        tail[-size - 1 : -1] == tried and tail[-1][0] == "run_finished"
    )


def _reply(reply: Mapping[str, Any]) -> str:
    """A model's answer as the answer cache keeps it (no `default`: it must be JSON)."""
    return json.dumps(reply, sort_keys=True)


def _encoded(events: Sequence[Pending]) -> list[tuple[str, str, str]]:
    """Events as the rows `_insert` writes: encoded in the writing thread, before its write
    is queued, so the commit that holds SQLite's write lock does no encoding."""
    return [(kind, at, sorted_json(data)) for kind, at, data in events]


def _locked(
    method: Callable[Concatenate[SqliteJournal, P], T],
) -> Callable[Concatenate[SqliteJournal, P], T]:
    """A read that takes the connection (threads may share a journal)."""

    def locked(self: SqliteJournal, /, *args: P.args, **kwargs: P.kwargs) -> T:
        with self._lock:
            try:
                return method(self, *args, **kwargs)
            except sqlite3.Error as exc:  # a damaged file, a read-only one: no traceback
                raise self.failed(exc) from None

    locked.__name__, locked.__doc__ = method.__name__, method.__doc__
    return locked


class SqliteJournal:
    """Journal in one SQLite file, WAL mode, `synchronous=FULL`: an event is on disk when
    `append` returns, so it is committed before the next side effect.

    One journal may be shared by the threads of a process (`ido run A B --concurrency`):
    their writes share commits (see `_write`), so runs side by side pay one fsync between
    them instead of one each, and wait for no lock in SQLite.
    """

    def __init__(self, path: Path | str, *, reading: bool = False) -> None:
        """Open (or make) the journal at `path`. `reading`: for a command that only reads
        (`ido runs`, `explain`, `audit`, …), which opens a journal it may not write (on a
        read-only mount, a backup, an archive) read-only rather than refuse it."""
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
        if not reading and self.path.is_file() and not os.access(self.path, os.W_OK):
            self._open_read_only(PermissionError("permission denied"), reading)
        opened: sqlite3.Connection | None = None
        try:
            make_private(self.path)
            self._db = opened = _connect(str(self.path))
            with self._lock:
                current = self._setup(reading)
            if not current:  # an older journal a reading command opened: read as it is
                opened.close()
                self._db = opened = _read_only(self.path)
            self._file = identity(self.path)
        except (sqlite3.Error, OSError) as exc:
            if opened is not None:
                opened.close()
            self._open_read_only(exc, reading)

    def _open_read_only(self, error: BaseException, reading: bool) -> None:
        """After `error` opening the journal to write: open it read-only for a command that
        only reads; else refuse, saying so when it could be read (a read-only mount, or a
        read-only file: SQLite opens that one silently read-only, and the first write
        failed, `attempt to write a readonly database`, with no word of what to do)."""
        refused = JournalError(f"cannot open journal {self.path}: {error}")
        if not self.path.is_file():
            raise refused from None
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
        except (sqlite3.Error, OSError):
            if opened is not None:
                opened.close()
            raise refused from None
        if not reading:
            self._db.close()
            raise JournalError(
                f"journal {self.path} can be read but not written ({error}: {_why(error)}); "
                "nothing was done. ido runs, explain, audit and approvals can read it; to "
                "run, give --journal a journal ido may write"
            )

    def _setup(self, reading: bool = False) -> bool:
        """WAL mode, the schema and its version; retried while another process sets it up.
        False, with nothing written, for a journal of an older schema opened by a command
        that only reads (`reading`): upgrading it would lock out the older ido that may
        still write it (`ido runs` on an archive), so it is read as it is.

        Switching to WAL takes a lock SQLite's busy timeout does not wait for, so several
        runs opening a new journal at once would otherwise see "database is locked".
        """
        for attempt in range(100):
            try:
                version = self._check_version()  # before WAL mode, which writes the file
                if reading and version is not None and version < SCHEMA_VERSION:
                    return False
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                if version == SCHEMA_VERSION:
                    return True  # up to date: opening writes nothing (`ido runs` only reads)
                self._add_recorded_at()
                self._db.executescript(_SCHEMA)
                self._db.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
                return True
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 99:
                    raise
                time.sleep(0.05)
        return True  # (not reached: the last attempt raises)

    def _add_recorded_at(self) -> None:
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
                    (stamp(time.time()),),
                )
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

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> SqliteJournal:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def start_run(
        self,
        run_id: str,
        intent: str,
        at: str,
        data: Mapping[str, Any],
        recorded_at: str | None = None,
    ) -> bool:
        """Start a run; whether the start is on disk on return. While another thread's
        commit is under way, the start joins the queue and this returns without waiting
        (False): the run's next write from this thread is committed after it, in the same
        commit or a later one, and fails with its error if the start failed (a run id
        already taken), as do the run's writes after it, up to its `finish_run`. Before its
        next write a run only observes and decides, which change nothing outside (a model
        planner's request is the one cost, lost only if the start fails)."""
        rows = _encoded([("run_started", at, data)])

        def statements() -> None:
            try:
                self._db.execute(
                    "INSERT INTO runs(id, intent, started_at, recorded_at) VALUES (?, ?, ?, ?)",
                    (run_id, intent, at, recorded_at),
                )
            except sqlite3.IntegrityError:
                raise JournalError(f"run {run_id} already exists in {self.path}") from None
            self._insert(run_id, rows)

        return self._write(statements, run_id, wait=False) is not _QUEUED

    def append(self, run_id: str, kind: str, at: str, data: Mapping[str, Any]) -> int:
        rows = _encoded([(kind, at, data)])
        return self._write(lambda: self._insert(run_id, rows), run_id)

    def append_many(
        self,
        run_id: str,
        events: Sequence[Pending],
        replies: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Commit several events at once (one fsync), and model replies to keep in the
        answer cache with them."""
        rows = _encoded(events)
        kept = [(key, _reply(reply)) for key, reply in (replies or {}).items()]

        def statements() -> None:
            self._insert(run_id, rows)
            for key, text in kept:
                self._put(key, text)

        self._write(statements, run_id)

    def finish_run(
        self,
        run_id: str,
        outcome: str,
        reason: str | None,
        cost: float,
        duration: float,
        at: str,
        events: Sequence[Pending] = (),
        lessons: Sequence[Lesson] = (),
    ) -> None:
        """End a run, with the events not yet committed and what it learnt, in one commit.
        `lessons` are learnt on top of the health evidence stored when the commit is made,
        so that runs ending side by side each add theirs (none is lost to another's)."""
        end = ("run_finished", at, {"outcome": outcome, "reason": reason, "cost": cost})
        rows = _encoded([*events, end])

        def statements() -> None:
            if lessons:
                names = {lesson.capability for lesson in lessons}
                stored = {n: e for n, e in self._health().items() if n in names}
                self._save_health(with_lessons(stored, lessons))
            self._insert(run_id, rows)
            self._db.execute(
                "UPDATE runs SET ended_at=?, outcome=?, reason=?, cost=?, duration=? WHERE id=?",
                (at, outcome, reason, cost, duration, run_id),
            )

        try:
            self._write(statements, run_id)
        finally:
            self._starts().pop(run_id, None)  # a start that failed fails no more writes

    @_locked
    def runs(
        self,
        limit: int = 50,
        asked: RunsAsked | None = None,
        keep: Callable[[RunRow], bool] | None = None,
    ) -> list[RunRow]:
        """The last `limit` runs recorded of those `asked` for, newest first, by this
        world's clock (a kept scenario's run is where it was recorded, not at its virtual
        time). `keep`: a further test SQL cannot make (whether a process carries a run on),
        made as the rows are read, newest first, up to `limit` of those it keeps."""
        where, params = (asked or RunsAsked()).where()
        query = self._run_rows(_NEWEST.replace("{where}", where))
        if keep is None:
            rows = self._db.execute(query + " LIMIT ?", (*params, limit)).fetchall()
            return [self._as_spent(RunRow(*row)) for row in rows]
        found: list[RunRow] = []
        for row in self._db.execute(query, params):  # read as needed, not all at once
            if len(found) == limit:
                break
            if keep(run := RunRow(*row)):
                found.append(self._as_spent(run))
        return found

    @_locked
    def run(self, run_id: str) -> RunRow:
        """One run by its exact id."""
        row = self._db.execute(self._run_rows(_ONE), (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"run '{run_id}' not found in {self.path}; see ido runs")
        return self._as_spent(RunRow(*row))

    def _recorded_column(self) -> bool:
        """Whether the runs hold `recorded_at`: a journal of schema 3 or older opened
        read-only (an archive, a backup) has none, and no scenario's run in it says when it
        was recorded."""
        if self._has_recorded is None:
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(runs)")}
            self._has_recorded = "recorded_at" in columns
        return self._has_recorded

    def _holds(self, table: str) -> bool:
        """Whether the journal has `table`: one of an older schema opened read-only (an
        archive, a backup, or by a command that only reads) lacks those added since. Read
        once: each model call and decision asks."""
        if self._tables is None:
            rows = self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            self._tables = frozenset(row[0] for row in rows)
        return table in self._tables

    def _run_rows(self, query: str) -> str:
        """A query of `RunRow`s (`_NEWEST`, `_ONE`) for this journal's runs table."""
        return query.format(recorded="recorded_at" if self._recorded_column() else "NULL")

    def _as_spent(self, row: RunRow) -> RunRow:
        """`row`, its cost what its events say it spent when it has not ended (running, or
        interrupted): the row's cost is written as the run ends (or blocks), so a run a
        crash stopped read 0.00 after paying for its steps."""
        if row.outcome is not None:
            return row
        rows = self._db.execute(
            "SELECT run_id, seq, at, kind, data FROM events WHERE run_id = ? "
            "AND kind IN ('action_finished', 'decided') ORDER BY seq",
            (row.id,),
        ).fetchall()
        events = (Event(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows)
        return replace(row, cost=sum(map(paid_in, events)))

    @_locked
    def blocked(self, temporal: bool = True) -> dict[str, list[Event]]:
        """Per blocked run, its approval events (requests and verdicts), in one query. Runs
        of scenarios (`ido scenario run --journal`) are left out: they block in a simulated
        world, and no verdict could continue them. `temporal=False` leaves out the runs
        imported from a Temporal server (`ido run --temporal`) too: their workflows
        continue them, not `ido runner`."""
        rows = self._db.execute(
            "SELECT e.run_id, e.seq, e.at, e.kind, e.data FROM runs r JOIN events e "
            "ON e.run_id = r.id WHERE r.outcome = 'blocked' AND e.kind IN "
            "('approval_required', 'approval_given', 'approval_rejected') "
            "AND NOT EXISTS (SELECT 1 FROM events s WHERE s.run_id = r.id AND s.seq = 1 "
            "AND (json_extract(s.data, '$.scenario') IS NOT NULL "
            "OR (? AND json_extract(s.data, '$.temporal') IS NOT NULL))) "
            "ORDER BY r.started_at, r.rowid, e.seq",
            (not temporal,),
        ).fetchall()
        found: dict[str, list[Event]] = {}
        for r in rows:
            found.setdefault(r[0], []).append(Event(r[0], r[1], r[2], r[3], json.loads(r[4])))
        return found

    def take_over(self, run_id: str, after: int, at: str, data: Mapping[str, Any]) -> None:
        """Record that this process resumes the run (`run_resumed`, with `data`), only if
        its last event is still the `after`-th: else another process took it over first.
        A blocked run becomes a running one (no outcome) in the same commit, and so does a
        failed one whose compensations `ido compensate` tries again."""
        rows = _encoded([("run_resumed", at, data)])

        def statements() -> None:
            if self._last(run_id) != after:
                raise JournalError(
                    f"run {run_id} was taken over by another process (an ido resume or the "
                    "ido runner) while this one prepared to resume it; not resuming"
                )
            self._db.execute(
                "UPDATE runs SET outcome=NULL, ended_at=NULL, reason=NULL, duration=NULL "
                "WHERE id=? AND outcome IN ('blocked', 'failed')",
                (run_id,),
            )
            self._insert(run_id, rows)

        self._write(statements)

    def append_after(self, run_id: str, after: int, events: Sequence[Pending]) -> bool:
        """Append `events` only if the run's last event is still the `after`-th, in one
        commit; False (nothing written) when another process wrote to the run since."""

        rows = _encoded(events)

        def statements() -> bool:
            if self._last(run_id) != after:
                return False
            self._insert(run_id, rows)
            return True

        return self._write(statements, run_id)

    def import_run(
        self, row: RunRow, events: Sequence[Event], replies: Mapping[str, Mapping[str, Any]]
    ) -> int:
        """Copy a run journaled elsewhere (a Temporal workflow's: `ido run --temporal`) in:
        its row as it stands, the events past this journal's last of the run, and the model
        replies it paid for. The number of events added."""
        kept = [(key, _reply(reply)) for key, reply in replies.items()]

        def statements() -> int:
            self._same_run(row, events)
            self._db.execute(
                "INSERT INTO runs(id, intent, started_at, recorded_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO NOTHING",
                (row.id, row.intent, row.started_at, row.recorded_at),
            )
            self._db.execute(
                "UPDATE runs SET ended_at=?, outcome=?, reason=?, cost=?, duration=? WHERE id=?",
                (row.ended_at, row.outcome, row.reason, row.cost, row.duration, row.id),
            )
            last = self._last(row.id)
            new = [e for e in events if e.seq > last]
            self._db.executemany(
                "INSERT INTO events(run_id, seq, at, kind, data) VALUES (?, ?, ?, ?, ?)",
                [(row.id, e.seq, e.at, e.kind, sorted_json(e.data)) for e in new],
            )
            for key, text in kept:
                self._put(key, text)
            return len(new)

        return self._write(statements)

    def _same_run(self, row: RunRow, events: Sequence[Event]) -> None:
        """Refuse to import into a run of the same id that is another one (journaled here,
        or imported from another server): their events must agree as far as both go."""
        found = self._db.execute("SELECT intent FROM runs WHERE id=?", (row.id,)).fetchone()
        if found is None:
            return
        theirs = {e.seq: e for e in events}
        held = self._db.execute(
            "SELECT seq, at, kind, data FROM events WHERE run_id=? ORDER BY seq", (row.id,)
        ).fetchall()
        for seq, at, kind, data in held:
            other = theirs.get(seq)
            if other is None:
                break
            if (other.at, other.kind, sorted_json(other.data)) != (at, kind, data):
                raise JournalError(
                    f"run {row.id} in {self.path} is another run than the one imported: "
                    f"their event {seq} differs (here {kind} at {at}, there {other.kind} at "
                    f"{other.at}); import it into another journal (--journal)"
                )
        if found[0] != row.intent:
            raise JournalError(
                f"run {row.id} in {self.path} is of intent {found[0]}, not {row.intent}: "
                "import it into another journal (--journal)"
            )

    @_locked
    def intents(self) -> set[str]:
        """The intents the journal's runs are of: what an `--intent` that matched no run
        may have meant."""
        return {row[0] for row in self._db.execute("SELECT DISTINCT intent FROM runs")}

    @_locked
    def model_use(self, run_ids: Sequence[str]) -> dict[str, tuple[float, int]]:
        """Per run, what its model planners' calls cost and how many tokens they took."""
        found: dict[str, tuple[float, int]] = {}
        for run_id in run_ids:
            row = self._db.execute(
                "SELECT COUNT(*), SUM(json_extract(data, '$.result.solver.llm.cost')), "
                "SUM(json_extract(data, '$.result.solver.llm.input_tokens') + "
                "json_extract(data, '$.result.solver.llm.output_tokens')) FROM events "
                "WHERE run_id=? AND kind='decided' "
                "AND json_extract(data, '$.result.solver.llm') IS NOT NULL",
                (run_id,),
            ).fetchone()
            if row[0]:
                found[run_id] = (float(row[1] or 0.0), int(row[2] or 0))
        return found

    @_locked
    def get(self, key: str) -> Mapping[str, Any] | None:
        """A model's answer to the request with this digest, if one was kept (llm cache)."""
        if not self._holds("llm_cache"):  # a journal before schema 3, read as it is
            return None
        row = self._db.execute("SELECT reply FROM llm_cache WHERE request=?", (key,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put(self, key: str, reply: Mapping[str, Any]) -> None:
        text = _reply(reply)
        self._write(lambda: self._put(key, text))

    def _put(self, key: str, text: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO llm_cache(request, reply) VALUES (?, ?)", (key, text)
        )

    @_locked
    def prunes(self) -> int:
        """How many times `ido prune` has removed runs from this journal (`PRUNES`)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (PRUNES,)).fetchone()
        return 0 if row is None else int(row[0])

    @_locked
    def approvals_since(self, after: int) -> tuple[int, list[Event]]:
        """Approval events (requests and verdicts) appended after the mark `after`, and the
        new mark; `approvals_since(-1)` gives the mark of the newest event without reading."""
        if after < 0:
            row = self._db.execute("SELECT COALESCE(MAX(rowid), 0) FROM events").fetchone()
            return int(row[0]), []
        self._db.execute("BEGIN")  # one snapshot for both reads: no event falls between
        try:
            rows = self._db.execute(
                "SELECT rowid, run_id, seq, at, kind, data FROM events WHERE rowid > ? AND "
                "kind IN ('approval_required', 'approval_given', 'approval_rejected') "
                "ORDER BY rowid",
                (after,),
            ).fetchall()
            mark = self._db.execute(
                "SELECT COALESCE(MAX(rowid), ?) FROM events", (after,)
            ).fetchone()
        finally:
            self._db.execute("COMMIT")
        events = [Event(r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]
        return max(int(mark[0]), after), events

    @_locked
    def health(self) -> dict[str, Evidence]:
        return self._health()

    def _health(self) -> dict[str, Evidence]:
        if not self._holds("health"):  # a schema 1 journal, read as it is: nothing learnt
            return {}
        rows = self._db.execute(
            "SELECT capability, successes, failures, latency, updated FROM health"
        ).fetchall()
        return {r[0]: Evidence(r[1], r[2], r[3], r[4]) for r in rows}

    def save_health(self, evidence: Mapping[str, Evidence]) -> None:
        """Store capabilities' health evidence, in one transaction."""
        self._write(lambda: self._save_health(evidence))

    def _save_health(self, evidence: Mapping[str, Evidence]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO health(capability, successes, failures, latency, updated) "
            "VALUES (?, ?, ?, ?, ?)",
            [(n, e.successes, e.failures, e.latency, e.updated) for n, e in evidence.items()],
        )

    @_locked
    def events(self, run_id: str) -> list[Event]:
        rows = self._db.execute(
            "SELECT run_id, seq, at, kind, data FROM events WHERE run_id=? ORDER BY seq",
            (run_id,),
        ).fetchall()
        return [Event(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    @_locked
    def resolve(self, reference: str) -> str:
        """A run id from an id, a unique id prefix, or `last` (the run recorded last: a kept
        scenario run is stamped with its virtual clock, which may lie in the future)."""
        if not reference.strip():  # `ido replay "$RUN"` with RUN unset must not pick one
            raise NotFoundError("no run given: name a run id, an id prefix, or last")
        if reference == "last":
            row = self._db.execute("SELECT id FROM runs ORDER BY rowid DESC LIMIT 1").fetchone()
            if row is None:
                raise NotFoundError(f"no runs recorded in {self.path} yet; start one with ido run")
            return str(row[0])
        if self._db.execute("SELECT 1 FROM runs WHERE id = ?", (reference,)).fetchone():
            return reference
        shown = 5
        rows = self._db.execute(  # a prefix as written: no LIKE, whose `_` matches anything
            "SELECT id FROM runs WHERE lower(substr(id, 1, ?)) = lower(?) ORDER BY id LIMIT ?",
            (len(reference), reference, shown + 1),
        ).fetchall()
        if len(rows) == 1:
            return str(rows[0][0])
        if rows:
            listed = some([r[0] for r in rows], shown)
            raise NotFoundError(f"run '{reference}' is ambiguous: {listed}; give more of the id")
        raise NotFoundError(f"run '{reference}' not found in {self.path}; see ido runs")

    def _last(self, run_id: str) -> int:
        """The number of the run's last event (0: none yet)."""
        row = self._db.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id=?", (run_id,)
        ).fetchone()
        return int(row[0])

    def _insert(self, run_id: str, rows: Sequence[tuple[str, str, str]]) -> int:
        """Append encoded events (`_encoded`) to the run, numbered on from its last; the
        last one's number."""
        first = self._last(run_id) + 1
        self._db.executemany(
            "INSERT INTO events(run_id, seq, at, kind, data) VALUES (?, ?, ?, ?, ?)",
            [(run_id, seq, at, kind, text) for seq, (kind, at, text) in enumerate(rows, first)],
        )
        return first + len(rows) - 1

    def _starts(self) -> dict[str, _Write[Any]]:
        """This thread's runs started without waiting, while their start may matter to
        their next writes (a run writes from one thread: `LocalRuntime`'s own)."""
        starts: dict[str, _Write[Any]] | None = getattr(self._local, "starts", None)
        if starts is None:
            starts = self._local.starts = {}
        return starts

    def _write(self, statements: Callable[[], T], run_id: str = "", wait: bool = True) -> T:
        """Run `statements` in a committed transaction; what they return.

        Group commit: writes queue up, and one thread at a time, the leader, commits every
        write queued when it gets the connection, in one transaction (one fsync for all of
        them), then hands the lead to the first write queued meanwhile that waits. A write
        waits on its own lock, so it goes on as soon as its commit is done, not when the
        connection is next free. Each write runs in its own savepoint, so one that fails is
        undone and raises in its own thread alone.

        `wait=False` (a run's start): when a leader is under way, return `_QUEUED` at once
        and leave the write to it; this thread's later writes of the same `run_id` fail if
        this one did (see `start_run`).
        """
        starts = self._starts()
        after = starts.get(run_id) if run_id else None
        if after is not None and after.done:
            self._raise(after)  # the run was never started
            del starts[run_id]  # on disk: nothing to check any more
            after = None
        write = _Write(statements, after)
        try:
            with self._queued:
                self._queue.append(write)
                write.leads = not self._leading
                write.waits = wait or write.leads
                self._leading = True
            if not write.waits:
                starts[run_id] = write
                return _QUEUED  # type: ignore[return-value]
            if not write.leads:
                write.wake.acquire()  # released when committed, or when handed the lead
            if not write.done:
                self._lead(write)
        except BaseException:  # Ctrl-C: the writes behind this one must not be left waiting
            if write.waits:
                self._abandon(write)
            raise
        self._raise(write)
        return write.result  # type: ignore[return-value]

    def _raise(self, write: _Write[Any]) -> None:
        """Raise what `write` failed with, if it did: SQLite's errors (a read-only file, a
        full disk, …) as the journal's."""
        if isinstance(write.error, sqlite3.Error):
            raise self.failed(write.error) from None
        if write.error is not None:
            raise write.error

    def failed(self, error: sqlite3.Error) -> JournalError:
        """SQLite's `error` as the journal's (`journal .ido/ido.db: database disk image is
        malformed`)."""
        return JournalError(f"journal {self.path}: {error}")

    def _lead(self, own: _Write[Any]) -> None:
        """Commit the queued writes, wake their threads, and hand the lead on; commit again
        while only writes that nobody waits for are queued. `own`: the leader's write."""
        again = True
        try:
            while again:
                batch: list[_Write[Any]] = []
                committed = False
                try:
                    with self._lock:
                        with self._queued:
                            batch, self._queue = self._queue, []
                        self._commit(batch)
                    committed = True
                finally:
                    again = False
                    if not committed and not own.done:  # interrupted before taking it
                        with self._queued:
                            if own in self._queue:
                                self._queue.remove(own)
                        own.error, own.done = JournalError("the commit was interrupted"), True
                    for write in batch:
                        if not write.done:  # interrupted before the commit began
                            write.error = JournalError("the commit was interrupted")
                            write.done = True
                        write.wake.release()
                    again = self._hand_on(committed)
        except BaseException:
            if again:  # interrupted between two commits, still leading
                self._hand_on(committed=False)
            raise

    def _hand_on(self, committed: bool) -> bool:
        """After a commit: hand the lead to the first queued write that waits; True when
        there is none but writes nobody waits for are queued (the leader commits them).
        Interrupted (Ctrl-C, `committed` False), it commits no more: the next write leads."""
        with self._queued:
            following = next((w for w in self._queue if w.waits), None)
            again = committed and following is None and bool(self._queue)
            self._leading = following is not None or again
            if following is not None:
                following.leads = True
        if following is not None:
            following.wake.release()
        return again

    def _abandon(self, write: _Write[Any]) -> None:
        """A waiting thread was interrupted (Ctrl-C): leave the queue, or lead if already
        handed the lead, so the writes behind it are not left waiting."""
        with self._queued:
            if not write.leads and write in self._queue:
                self._queue.remove(write)
                return
        if not write.leads:
            write.wake.acquire()  # in a commit already: its outcome is near
        if not write.done:
            self._lead(write)

    def _begin(self) -> None:
        """Take SQLite's write lock (see `patiently`); else a clear error, nothing written."""
        if not patiently(self._db, "BEGIN IMMEDIATE"):
            raise JournalError(
                f"journal {self.path} is busy: other processes have held its write "
                f"lock for over {BUSY_SECONDS:g}s; nothing was written (the run can be "
                "continued with ido resume once they are done)"
            )

    def names_its_file(self) -> bool:
        """Whether the path still names the file opened: not removed or replaced since
        (what `_check_file` refuses to commit to)."""
        try:
            return identity(self._where) == self._file
        except OSError:
            return False

    def _check_file(self) -> None:
        """Refuse to commit when the path no longer names the file opened (removed, or
        replaced by a restore): SQLite would go on writing into a file nobody can open again,
        and the run would end "achieved" with no record left to explain or resume it. One
        `stat` a commit."""
        if not self.names_its_file():
            raise JournalError(
                f"journal {self.path} was removed or replaced while this process wrote to "
                "it: what it recorded went with the old file, so it can be neither explained "
                "nor resumed; nothing more is done"
            )

    def _commit(self, batch: list[_Write[Any]]) -> None:
        try:
            self._begin()
            self._check_file()
            if len(batch) == 1:
                batch[0].run()
            else:
                for write in batch:
                    self._db.execute("SAVEPOINT write")
                    if write.run():
                        self._db.execute("RELEASE write")
                    else:
                        self._db.execute("ROLLBACK TO write")
                        self._db.execute("RELEASE write")
            if len(batch) == 1 and batch[0].error is not None:
                self._db.execute("ROLLBACK")
            else:
                self._db.execute("COMMIT")
        except BaseException as exc:
            lost = exc if isinstance(exc, Exception) else JournalError("the commit was interrupted")
            for write in batch:  # first: the rollback below can fail too (a closed file)
                write.error, write.result = write.error or lost, None
            try:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # nothing was committed; the error above is the one to report
            if not isinstance(exc, Exception):
                raise
        finally:
            for write in batch:
                write.done = True


def _why(error: BaseException) -> str:
    """What likely keeps a journal that can be read from being written, after `error`: a
    disk SQLite could not write to reads `disk I/O error` or `disk is full`, which was
    blamed on a read-only file alone (a file size limit, `ulimit -f`, reads so too)."""
    told = str(error)
    if "disk I/O error" in told or "disk is full" in told:
        return (
            "a full disk, a file size limit set by ulimit -f, or a read-only file, folder or mount?"
        )
    return "a read-only file, folder or mount?"


PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
"""The modes of a journal and of the folders ido makes for it: its owner's alone."""


def make_private(path: Path) -> None:
    """Make the journal file `path`, and the folders it needs, readable by their owner
    alone, unless there already: a journal holds observed business data and who approved
    what, and under the usual umask (022) it was made readable by every user of the
    machine. SQLite gives its `-wal` and `-shm` files the journal's mode. A file or folder
    already there is left as it is: its mode is its maker's choice."""
    missing = []
    for folder in (path.parent, *path.parent.parents):
        if folder.exists() or folder.is_symlink():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            folder.mkdir(mode=PRIVATE_FOLDER)
    with contextlib.suppress(FileExistsError):  # there already (a link too): opened as it is
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


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


_QUEUED = object()
"""What `_write(wait=False)` returns when it leaves its write to the leader."""


class _Write(Generic[R]):
    """One thread's write, waiting for a commit (see `SqliteJournal._write`)."""

    def __init__(self, statements: Callable[[], R], after: _Write[Any] | None = None) -> None:
        self.statements = statements
        self.after = after  # the run's start, not waited for: this fails if it did
        self.wake = threading.Lock()
        self.wake.acquire()  # the waiting thread blocks on it until released
        self.leads = False
        self.waits = True
        self.done = False
        self.result: R | None = None
        self.error: BaseException | None = None

    def run(self) -> bool:
        """Run the statements; False (the error kept) when they raise, or when the run's
        start failed (committed before this, in this batch or an earlier one)."""
        if self.after is not None and self.after.error is not None:
            self.error = self.after.error
            return False
        try:
            self.result = self.statements()
        except Exception as exc:
            self.error = exc
            return False
        return True
