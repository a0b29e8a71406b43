"""`SqliteJournal`, the journal in one SQLite file, and its writes: runs started, events
appended, runs finished, taken over and imported, health and model answers kept."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from ido.errors import JournalError
from ido.health import Evidence, Lesson, with_lessons
from ido.journal.catalogs import stored
from ido.journal.chain import link
from ido.journal.commits import _QUEUED
from ido.journal.records import Event, Pending, RunRow
from ido.journal.scans import _Scanning
from ido.state import sorted_json


def _reply(reply: Mapping[str, Any]) -> str:
    """A model's answer as the answer cache keeps it (no `default`: it must be JSON)."""
    return json.dumps(reply, sort_keys=True)


def _encoded(events: Sequence[Pending]) -> list[tuple[str, str, str]]:
    """Events as the rows `_insert` writes: encoded in the writing thread, before its write
    is queued, so the commit that holds SQLite's write lock does no encoding."""
    return [(kind, at, sorted_json(data)) for kind, at, data in events]


class SqliteJournal(_Scanning):
    """Journal in one SQLite file, WAL mode, `synchronous=FULL`: an event is on disk when
    `append` returns, so it is committed before the next side effect.

    One journal may be shared by the threads of a process (`ido run A B --concurrency`):
    their writes share commits (see `_write`), so runs side by side pay one fsync between
    them instead of one each, and wait for no lock in SQLite.
    """

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def apart(self, seconds: float) -> SqliteJournal:
        """The same file opened again, on a connection of its own whose writes wait at most
        `seconds` for SQLite's write lock: a write that may be given up (`run_interrupted`
        as a process stops) cannot hold this one's connection, which its `close` waits for."""
        own = SqliteJournal(self.path)
        if own._file != self._file:  # removed or replaced since: not this journal's file
            own.close()
            raise JournalError(f"journal {self.path} was replaced since it was opened")
        own.busy_seconds = seconds
        with own._lock:
            own._db.execute(f"PRAGMA busy_timeout = {max(1, int(min(seconds, 10.0) * 1000))}")
        return own

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
        kept, catalog = stored("run_started", data)
        rows = _encoded([("run_started", at, kept)])

        def statements() -> None:
            try:
                self._db.execute(
                    "INSERT INTO runs(id, intent, started_at, recorded_at) VALUES (?, ?, ?, ?)",
                    (run_id, intent, at, recorded_at),
                )
            except sqlite3.IntegrityError:
                raise JournalError(f"run {run_id} already exists in {self.path}") from None
            self._keep_catalog(catalog)
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
        encoded = {e.seq: stored(e.kind, e.data) for e in events}

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
            last, prev = self._head(row.id)
            new = [e for e in events if e.seq > last]
            for e in new:
                self._keep_catalog(encoded[e.seq][1])
            texts = [(e.seq, e.at, e.kind, sorted_json(encoded[e.seq][0])) for e in new]
            self._chained(row.id, texts, prev)
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
            here = sorted_json(self._event(row.id, seq, at, kind, data).data)  # map and all
            if (other.at, other.kind, sorted_json(other.data)) != (at, kind, here):
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

    def _keep_catalog(self, catalog: tuple[str, str] | None) -> None:
        """Store a run's catalog digests (digest, text: `ido.journal.catalogs`) unless the
        journal holds them already: looked up first, so that a run of a catalog stored
        before sends SQLite its digest alone, not the whole map again."""
        if catalog is None:
            return
        if self._db.execute("SELECT 1 FROM catalogs WHERE digest=?", catalog[:1]).fetchone():
            return
        self._db.execute("INSERT INTO catalogs(digest, capabilities) VALUES (?, ?)", catalog)

    def put(self, key: str, reply: Mapping[str, Any]) -> None:
        text = _reply(reply)
        self._write(lambda: self._put(key, text))

    def _put(self, key: str, text: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO llm_cache(request, reply) VALUES (?, ?)", (key, text)
        )

    def save_health(self, evidence: Mapping[str, Evidence]) -> None:
        """Store capabilities' health evidence, in one transaction."""
        self._write(lambda: self._save_health(evidence))

    def forget_health(self, names: Sequence[str]) -> dict[str, Evidence]:
        """Remove what runs learnt of these capabilities, in one transaction; what was
        removed, of those that had any (the others learnt nothing to forget)."""
        return self._write(lambda: self._forget_health(names))

    def _forget_health(self, names: Sequence[str]) -> dict[str, Evidence]:
        if not self._holds("health"):  # (`_health`)
            return {}
        gone: dict[str, Evidence] = {}
        for name in dict.fromkeys(names):  # the rows named, not the table (one a capability)
            row = self._db.execute(
                "SELECT successes, failures, latency, updated FROM health WHERE capability = ?",
                (name,),
            ).fetchone()
            if row is not None:
                gone[name] = Evidence(*row)
        self._db.executemany("DELETE FROM health WHERE capability = ?", [(n,) for n in gone])
        return gone

    def _save_health(self, evidence: Mapping[str, Evidence]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO health(capability, successes, failures, latency, updated) "
            "VALUES (?, ?, ?, ?, ?)",
            [(n, e.successes, e.failures, e.latency, e.updated) for n, e in evidence.items()],
        )

    def _insert(self, run_id: str, rows: Sequence[tuple[str, str, str]]) -> int:
        """Append encoded events (`_encoded`) to the run, numbered on from its last and
        chained to it (`ido.journal.chain`); the last one's number."""
        last, prev = self._head(run_id)
        self._chained(
            run_id,
            [(seq, at, kind, text) for seq, (kind, at, text) in enumerate(rows, last + 1)],
            prev,
        )
        return last + len(rows)

    def _head(self, run_id: str) -> tuple[int, str]:
        """The number of the run's last event (0: none yet) and its hash ("" for none, or
        an event recorded before chaining: the chain starts afresh after it)."""
        row = self._db.execute(
            "SELECT seq, hash FROM events WHERE run_id=? ORDER BY seq DESC LIMIT 1", (run_id,)
        ).fetchone()
        return (0, "") if row is None else (int(row[0]), row[1] or "")

    def _chained(self, run_id: str, rows: Sequence[tuple[int, str, str, str]], prev: str) -> None:
        """Insert numbered events (seq, at, kind, data text), each hashed over the one
        before it; under the commit's write lock, so runs side by side chain each to
        their own last event."""
        values = []
        for seq, at, kind, text in rows:
            prev = link(prev, run_id, seq, at, kind, text)
            values.append((run_id, seq, at, kind, text, prev))
        self._db.executemany(
            "INSERT INTO events(run_id, seq, at, kind, data, hash) VALUES (?, ?, ?, ?, ?, ?)",
            values,
        )
