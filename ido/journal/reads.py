"""A journal's reads: its runs (newest first, as asked), a run's events, the approvals
of blocked runs, health evidence, kept model answers, and run ids from what users type."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Concatenate, ParamSpec, TypeVar

from ido.errors import JournalError, NotFoundError
from ido.health import Evidence
from ido.journal.catalogs import named, restored
from ido.journal.chain import Link, catalog_of
from ido.journal.commits import _Committing
from ido.journal.records import Event, RunRow, paid_in
from ido.journal.schema import (
    _ALL,
    _NEWEST,
    _ONE,
    CHAINED_SINCE,
    PRUNES,
    RUN_ORDERS,
    RunsAsked,
)
from ido.journal.sqlite_errors import damaged, is_damaged
from ido.text import some

_SHORTEST_TAIL = 6
"""The fewest characters of an id's end taken for the run: `ido run A B` shows six."""

T = TypeVar("T")
P = ParamSpec("P")


def _locked(
    method: Callable[Concatenate[_Reading, P], T],
) -> Callable[Concatenate[_Reading, P], T]:
    """A read that takes the connection (threads may share a journal)."""

    def locked(self: _Reading, /, *args: P.args, **kwargs: P.kwargs) -> T:
        with self._lock:
            try:
                return method(self, *args, **kwargs)
            except sqlite3.Error as exc:  # a damaged file, a read-only one: no traceback
                raise self.failed(exc) from None

    locked.__name__, locked.__doc__ = method.__name__, method.__doc__
    return locked


class _Reading(_Committing):
    """A journal's reads, each holding the connection (`_locked`)."""

    @_locked
    def runs(
        self,
        limit: int = 50,
        asked: RunsAsked | None = None,
        keep: Callable[[RunRow], bool] | None = None,
        order: str = "newest",
    ) -> list[RunRow]:
        """The last `limit` runs recorded of those `asked` for, newest first, by this
        world's clock (a kept scenario's run is where it was recorded, not at its virtual
        time), or in another of `RUN_ORDERS`. `keep`: a further test SQL cannot make
        (whether a process carries a run on), made as the rows are read, in that order,
        up to `limit` of those it keeps."""
        where, params = (asked or RunsAsked()).where()
        query = self._run_rows(
            _NEWEST.replace("{where}", where).replace("{order}", RUN_ORDERS[order])
        )
        if keep is None:
            rows = self._db.execute(query + " LIMIT ?", (*params, limit)).fetchall()
            return [self._as_spent(self._run_row(row)) for row in rows]
        found: list[RunRow] = []
        for row in self._db.execute(query, params):  # read as needed, not all at once
            if len(found) == limit:
                break
            if keep(run := self._run_row(row)):
                found.append(self._as_spent(run))
        return found

    @_locked
    def run(self, run_id: str) -> RunRow:
        """One run by its exact id."""
        row = self._db.execute(self._run_rows(_ONE), (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"run '{run_id}' not found in {self.path}; see ido runs")
        return self._as_spent(self._run_row(row))

    def _run_row(self, row: Sequence[Any]) -> RunRow:
        """A run's row as read; a clear error for one edited by hand into values of other
        types (a cost as text, an intent as bytes), which stopped `ido runs`, `explain`
        and `audit` on a traceback. `ido verify` reads rows as they are (`all_runs`)."""
        run = RunRow(*row)
        texts = {"id": run.id, "intent": run.intent, "started_at": run.started_at}
        maybe = {"ended_at": run.ended_at, "outcome": run.outcome, "reason": run.reason}
        numbers = {"cost": run.cost, "duration": run.duration}
        wrong: list[tuple[str, object]] = [
            (n, v) for n, v in texts.items() if not isinstance(v, str)
        ]
        wrong += [(n, v) for n, v in maybe.items() if v is not None and not isinstance(v, str)]
        wrong += [
            (n, v)
            for n, v in numbers.items()
            if (v is not None or n == "cost")
            and (isinstance(v, bool) or not isinstance(v, (int, float)))
        ]
        if run.recorded_at is not None and not isinstance(run.recorded_at, str):
            wrong.append(("recorded_at", run.recorded_at))
        if wrong:
            name, value = wrong[0]
            raise JournalError(
                f"journal {self.path}: run {run.id}: its {name} is {value!r}, not as ido "
                "records it: the journal was edited by hand (ido verify checks it)"
            )
        return run

    def _recorded_column(self) -> bool:
        """Whether the runs hold `recorded_at`: a journal of schema 3 or older opened
        read-only (an archive, a backup) has none, and no scenario's run in it says when it
        was recorded."""
        if self._has_recorded is None:
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(runs)")}
            self._has_recorded = "recorded_at" in columns
        return self._has_recorded

    def _hash_column(self, column: str) -> str:
        """`column` (the events' `hash`, as the query names it) when the events hold it,
        else NULL: a journal before schema 5 has none. Read afresh each time: another
        process may upgrade the journal meanwhile."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(events)")}
        return column if "hash" in columns else "NULL"

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
        events = (self._event(*r) for r in rows)
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
            found.setdefault(r[0], []).append(self._event(*r))
        return found

    @_locked
    def intents(self) -> set[str]:
        """The intents the journal's runs are of: what an `--intent` that matched no run
        may have meant."""
        return {row[0] for row in self._db.execute("SELECT DISTINCT intent FROM runs")}

    @_locked
    def model_use(self, run_ids: Sequence[str]) -> dict[str, tuple[float, int]]:
        """Per run whose model planners made a call (asked a model, or its cache: not a
        call that could not be made, `made_calls`), what the calls cost and how many tokens
        they took. A run of `planner: llm` that asked nothing (no model configured, no API
        key) is not in it: `ido runs` said `0.0000` for it, as if a call had been made for
        free."""
        found: dict[str, tuple[float, int]] = {}
        for run_id in run_ids:
            try:
                row = self._db.execute(
                    "SELECT SUM(EXISTS (SELECT 1 FROM json_each(data, "
                    "'$.result.solver.llm.calls') AS c "
                    "WHERE COALESCE(json_extract(c.value, '$.reply.asked'), 1))), "
                    "SUM(json_extract(data, '$.result.solver.llm.cost')), "
                    "SUM(json_extract(data, '$.result.solver.llm.input_tokens') + "
                    "json_extract(data, '$.result.solver.llm.output_tokens')) FROM events "
                    "WHERE run_id=? AND kind='decided' "
                    "AND json_extract(data, '$.result.solver.llm') IS NOT NULL",
                    (run_id,),
                ).fetchone()
            except sqlite3.OperationalError as exc:  # malformed JSON: said of its run, event
                if "JSON" not in str(exc):
                    raise
                self._refuse_unreadable(run_id)
            if row[0]:
                found[run_id] = (float(row[1] or 0.0), int(row[2] or 0))
        return found

    def _refuse_unreadable(self, run_id: str) -> None:
        """A clear error naming the run's first decision that SQLite's `json_extract` could
        not read (edited by hand), where it said only "malformed JSON": one that is no
        JSON, or whose model calls are not calls (`["abc"]`, valid JSON as a whole)."""
        from ido.decision_record import refuse_unreadable

        rows = self._db.execute(
            "SELECT run_id, seq, at, kind, data FROM events WHERE run_id=? "
            "AND kind='decided' ORDER BY seq",
            (run_id,),
        ).fetchall()
        for ran, seq, at, kind, data in rows:
            refuse_unreadable(run_id, self._event(ran, seq, at, kind, data, whole=False))
        raise JournalError(
            f"journal {self.path}: run {run_id}: its decisions' model calls are not as ido "
            "records them: the journal was edited by hand (ido verify checks it)"
        )

    @_locked
    def get(self, key: str) -> Mapping[str, Any] | None:
        """A model's answer to the request with this digest, if one was kept (llm cache)."""
        if not self._holds("llm_cache"):  # a journal before schema 3, read as it is
            return None
        row = self._db.execute("SELECT reply FROM llm_cache WHERE request=?", (key,)).fetchone()
        if row is None:
            return None
        reply = _object_of(row[0])
        if reply is None:  # (json.loads raised a traceback mid-run)
            raise JournalError(
                f"journal {self.path}: the model's answer kept for request {key} is no "
                "JSON object, as ido records: the journal was edited by hand (remove its "
                "llm_cache row to ask the model again)"
            )
        return reply

    @_locked
    def prunes(self) -> int:
        """How many times `ido prune` has removed runs from this journal (`PRUNES`)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (PRUNES,)).fetchone()
        return 0 if row is None else int(row[0])

    @_locked
    def approvals_since(self, after: int) -> tuple[int, list[Event]]:
        """Approval events (requests and verdicts), and runs' `run_interrupted`, appended
        after the mark `after`, and the new mark; `approvals_since(-1)` gives the mark of
        the newest event without reading."""
        if after < 0:
            row = self._db.execute("SELECT COALESCE(MAX(rowid), 0) FROM events").fetchone()
            return int(row[0]), []
        self._db.execute("BEGIN")  # one snapshot for both reads: no event falls between
        try:
            rows = self._db.execute(
                "SELECT rowid, run_id, seq, at, kind, data FROM events WHERE rowid > ? AND "
                "kind IN ('approval_required', 'approval_given', 'approval_rejected', "
                "'run_interrupted') "
                "ORDER BY rowid",
                (after,),
            ).fetchall()
            mark = self._db.execute(
                "SELECT COALESCE(MAX(rowid), ?) FROM events", (after,)
            ).fetchone()
        finally:
            self._db.execute("COMMIT")
        events = [self._event(*r[1:]) for r in rows]
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

    @_locked
    def check_file(self) -> None:
        """Raise `DamagedJournal` when SQLite's check of the whole file (`PRAGMA
        integrity_check`: every page, and each index against its table) finds it damaged;
        what `ido verify` does first, the chains checking events alone."""
        try:
            self._check_pages(whole=True)
        except sqlite3.Error as exc:  # too damaged to check: told as read (nothing written)
            if not is_damaged(exc):
                raise
            raise damaged(self.path, exc, opening=True) from None

    @_locked
    def events(self, run_id: str) -> list[Event]:
        rows = self._db.execute(
            "SELECT run_id, seq, at, kind, data FROM events WHERE run_id=? ORDER BY seq",
            (run_id,),
        ).fetchall()
        return [self._event(*r) for r in rows]

    @_locked
    def started(self, run_id: str) -> Event | None:
        """The run's start (`run_started`), its catalog digests left out; None if the
        journal holds none (pruned away, or never written)."""
        row = self._db.execute(
            "SELECT run_id, seq, at, kind, data FROM events WHERE run_id=? "
            "AND kind='run_started' ORDER BY seq LIMIT 1",
            (run_id,),
        ).fetchone()
        if row is None:
            return None
        return self._event(row[0], row[1], row[2], row[3], row[4], whole=False)

    @_locked
    def ending(self, run_id: str) -> list[Event]:
        """The events that tell whether a run found no plan before it did anything
        (`ido.run_ends.found_no_plan`), read without the rest: its first step's start (its
        data left out) if a step started, else its last decision, of which only the status
        is read (`result.status`). `ido runs` asks it of each failed run listed, and a
        decision of a wide catalog weighs hundreds of kilobytes: parsing each whole made
        `ido runs --outcome no-plan` slow on a journal of many failed runs. A decision that
        is no JSON (edited by hand) is read whole, refused as `events` does."""
        started = self._db.execute(
            "SELECT run_id, seq, at, kind, '{}' FROM events WHERE run_id=? "
            "AND kind='action_started' ORDER BY seq LIMIT 1",
            (run_id,),
        ).fetchall()
        status = (
            "json_object('result', json_object('status', json_extract(data, '$.result.status')))"
        )
        try:  # (with a step started, whatever was decided: no run that found no plan)
            rows = started or self._last_decision(run_id, status)
        except sqlite3.OperationalError:  # malformed JSON: read whole, for a clear error
            rows = self._last_decision(run_id, "data")
        return [self._event(r[0], r[1], r[2], r[3], r[4], whole=False) for r in rows]

    def _last_decision(self, run_id: str, data: str) -> list[tuple[Any, ...]]:
        """The run's last decision's row, its data read as the SQL expression `data` (one
        of `ending`'s two, never user text)."""
        return self._db.execute(
            f"SELECT run_id, seq, at, kind, {data} FROM events WHERE run_id=? "  # noqa: S608
            "AND kind='decided' ORDER BY seq DESC LIMIT 1",
            (run_id,),
        ).fetchall()

    @_locked
    def resolve(self, reference: str) -> str:
        """A run id from an id, a unique id prefix, or `last` (the run recorded last: a kept
        scenario run is stamped with its virtual clock, which may lie in the future)."""
        if not reference.strip():  # `ido replay "$RUN"` with RUN unset must not pick one
            raise NotFoundError("no run given: name a run id, an id prefix, or last")
        if reference.strip() == "last":  # `last ` as it was pasted, as an id is
            row = self._db.execute("SELECT id FROM runs ORDER BY rowid DESC LIMIT 1").fetchone()
            if row is None:
                raise NotFoundError(f"no runs recorded in {self.path} yet; start one with ido run")
            return str(row[0])
        written = reference
        reference = reference.strip()  # an id copied with the space after it
        if self._db.execute("SELECT 1 FROM runs WHERE id = ?", (reference,)).fetchone():
            return reference
        shown = 5
        rows = self._db.execute(  # a prefix as written: no LIKE, whose `_` matches anything
            "SELECT id FROM runs WHERE lower(substr(id, 1, ?)) = lower(?) ORDER BY id LIMIT ?",
            (len(reference), reference, shown + 1),
        ).fetchall()
        tail = reference.removeprefix("…").removeprefix("...")
        if not rows and len(tail) >= _SHORTEST_TAIL:
            # the end of an id, as `ido run A B` prefixes its lines: `[ship …cfef5e]`
            rows = self._db.execute(
                "SELECT id FROM runs WHERE lower(substr(id, -?)) = lower(?) ORDER BY id LIMIT ?",
                (len(tail), tail, shown + 1),
            ).fetchall()
        if len(rows) == 1:
            return str(rows[0][0])
        if rows:
            listed = some([r[0] for r in rows], shown)
            raise NotFoundError(f"run '{written}' is ambiguous: {listed}; give more of the id")
        guess = self._closest(reference)
        raise NotFoundError(
            f"run '{written}' not found in {self.path}; "
            + (f"did you mean {guess}? " if guess else "")
            + "see ido runs"
        )

    def _closest(self, reference: str) -> str | None:
        """The id a mistyped one likely meant (a digit wrong, one left out), among the runs
        of the day it names, or None: the journal holds a run's id whole, never in part."""
        from ido.journal.near import DAY, closest

        day = reference[:DAY]  # r20261207
        rows = self._db.execute(
            "SELECT id FROM runs WHERE substr(id, 1, ?) = ? LIMIT 100000", (DAY, day)
        )
        return closest(reference, (str(r[0]) for r in rows))

    @_locked
    def all_runs(self) -> list[RunRow]:
        """Every run's row as stored, in the order recorded: what `ido verify` checks
        against its events (`runs` reads a running run's cost off its events)."""
        return [RunRow(*row) for row in self._db.execute(self._run_rows(_ALL))]

    @_locked
    def rowless(self) -> dict[str, int]:
        """The runs whose events are in the journal but whose row is not (removed by
        hand: ido writes a run's row with its first event and removes both together), and
        how many events each has."""
        rows = self._db.execute(
            # (not `NOT IN (SELECT id FROM runs)`: NULL, with a row of no id, found none)
            "SELECT run_id, COUNT(*) FROM events e "
            "WHERE NOT EXISTS (SELECT 1 FROM runs WHERE id = e.run_id) "
            "GROUP BY run_id ORDER BY MIN(rowid)"
        ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    @_locked
    def chained_since(self) -> str | None:
        """When the journal began chaining its events (`CHAINED_SINCE`); None before."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (CHAINED_SINCE,)).fetchone()
        return None if row is None else str(row[0])

    @_locked
    def chain_of(self, run_id: str) -> tuple[RunRow | None, list[Link], str | None]:
        """The run's row as stored (None: gone), its events as its chain reads them and the
        text of the catalog row its start names (`catalog_of`; None: none), in one
        snapshot: read apart, a run that ended or resumed in between read as a row and
        events that disagree, and one pruned in between as naming a catalog removed
        (`ido verify` said it was broken)."""
        self._db.execute("BEGIN")
        try:
            row = self._db.execute(self._run_rows(_ONE), (run_id,)).fetchone()
            links = self._links(run_id)
            key = catalog_of(links)
            catalog = None if key is None else self._catalog(key)
            return (None if row is None else RunRow(*row)), links, catalog
        finally:
            self._db.execute("COMMIT")

    def _links(self, run_id: str) -> list[Link]:
        """The run's events as its hash chain reads them: their data as stored, and their
        hash (None in a journal before schema 5, read as it is)."""
        hashed = self._hash_column("hash")
        rows = self._db.execute(
            f"SELECT seq, at, kind, data, {hashed} FROM events WHERE run_id=? ORDER BY seq",  # noqa: S608
            (run_id,),
        ).fetchall()
        return [Link(*row) for row in rows]

    def _event(
        self, run_id: str, seq: int, at: str, kind: str, data: str, whole: bool = True
    ) -> Event:
        """An event row as read; a clear error for data that is not the JSON object ido
        writes (edited by hand), where `json.loads` raised a traceback. `whole`: a start's
        catalog digests put back, as recorded."""
        try:
            found = json.loads(data)
        except (ValueError, TypeError):
            found = None
        if not isinstance(found, dict):
            raise JournalError(
                f"journal {self.path}: run {run_id}, event {seq} ({kind}) holds no JSON "
                "object, as ido records: the journal was edited by hand (ido verify checks it)"
            )
        key = named(kind, found) if whole else None
        if key is not None:  # the run's catalog digests, stored once for the runs of its catalog
            text = self._catalog(key)
            digests = None if text is None else _object_of(text)
            if text is not None and digests is None:  # (json.loads raised a traceback)
                raise JournalError(
                    f"journal {self.path}: run {run_id}, event {seq} ({kind}) names catalog "
                    f"{key[:12]}, whose stored digests are no JSON object, as ido records: "
                    "the journal was edited by hand (ido verify checks it)"
                )
            found = restored(found, digests)
        return Event(run_id, seq, at, kind, found)

    @_locked
    def catalog(self, key: str) -> str | None:
        """The text of the catalog digests stored under `key` (`ido.journal.catalogs`);
        None when the journal holds none (removed, or a journal before schema 6)."""
        return self._catalog(key)

    def _catalog(self, key: str) -> str | None:
        if not self._holds("catalogs"):
            # (read once, as an older journal opened read-only held them: another process
            # may have upgraded it since and named this catalog in a run's start)
            self._tables = None
            if not self._holds("catalogs"):
                return None
        row = self._db.execute("SELECT capabilities FROM catalogs WHERE digest=?", (key,))
        found = row.fetchone()
        return found[0] if found is not None and isinstance(found[0], str) else None

    def _last(self, run_id: str) -> int:
        """The number of the run's last event (0: none yet)."""
        row = self._db.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id=?", (run_id,)
        ).fetchone()
        return int(row[0])


def _object_of(text: str) -> dict[str, Any] | None:
    """The JSON object `text` holds (a catalog row's digests as ido stores them); None if
    it holds none (edited by hand)."""
    try:
        found = json.loads(text)
    except (ValueError, TypeError):  # (bytes or a number edited in)
        return None
    return found if isinstance(found, dict) else None
