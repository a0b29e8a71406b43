"""A journal's reads of every run at once, each with its events, in one query: what
`ido verify` checks and what `ido audit` sums up. A query per run (verify ran six) took a
fifth of their time, and reading every event's JSON half of `ido audit`'s."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator
from typing import Any

from ido.journal.chain import Link
from ido.journal.reads import _Reading
from ido.journal.records import Event, RunRow
from ido.journal.schema import RunsAsked

_ROW = (
    "r.id, r.intent, r.started_at, r.ended_at, r.outcome, r.reason, r.cost, r.duration, {recorded}"
)
"""A run's columns, as `RunRow` takes them (`{recorded}` as in `_RUN_ROWS`)."""

_SCENARIO_ONLY = (
    "CASE WHEN e.seq = 1 AND e.kind = 'run_started' AND r.outcome IS NOT NULL "
    "AND json_valid(e.data) AND json_type(e.data) = 'object' "
    "THEN json_object('scenario', json_extract(e.data, '$.scenario')) ELSE e.data END"
)
"""An event's data for `ido audit`: of an ended run's start, only its scenario (a third of
what audit read was starts, of which it reads whether the run was a scenario's); data
that is no JSON object as it is, for the reader to refuse as ever."""


class _Scanning(_Reading):
    """The reads of every run at once, holding the connection while they are gone through."""

    def chains(self) -> Iterator[tuple[RunRow, list[Link]]]:
        """Every run, in the order recorded, as `chain_of` reads one: its row as stored and
        its events as its chain reads them. All in one query and one snapshot (a run that
        ends meanwhile is read as it was; `catalog`, called meanwhile, reads in it too),
        one run at a time."""
        with self._lock:
            try:
                hashed = self._hash_column("e.hash")
                self._db.execute("BEGIN")
                try:
                    rows = self._db.execute(
                        f"SELECT {self._row()}, e.seq, e.at, e.kind, e.data, {hashed} FROM "  # noqa: S608 (column names)
                        "runs r LEFT JOIN events e ON e.run_id = r.id ORDER BY r.rowid, e.seq"
                    )
                    for run, found in _by_run(rows):
                        yield RunRow(*run), [Link(*row) for row in found]
                finally:
                    self._db.execute("COMMIT")
            except sqlite3.Error as exc:  # a damaged file: no traceback
                raise self.failed(exc) from None

    def audited(
        self, asked: RunsAsked, kinds: Collection[str]
    ) -> Iterator[tuple[RunRow, list[Event]]]:
        """The runs `asked` for, newest first, as `runs` lists them, each with its first
        event and those of `kinds`, in order; every event of a run not ended (whether a
        process carries it on is read off them). An ended run's start holds its scenario
        only, and no event its catalog digests (`_event`): what `ido audit` reads."""
        where, params = asked.where()
        listed = sorted(kinds)
        query = (
            f"SELECT {self._row()}, e.seq, e.at, e.kind, {_SCENARIO_ONLY} FROM runs r "  # noqa: S608 (placeholders)
            "LEFT JOIN events e ON e.run_id = r.id AND (e.seq = 1 OR r.outcome IS NULL OR "
            f"e.kind IN ({', '.join('?' * len(listed))})) WHERE {where} "
            "ORDER BY COALESCE({recorded}, r.started_at) DESC, r.rowid DESC, e.seq"
        )
        with self._lock:
            try:
                rows = self._db.execute(self._row(query), (*listed, *params))
                for run, found in _by_run(rows):
                    row = self._as_spent(self._run_row(run))
                    events = [
                        self._event(row.id, seq, at, kind, data, whole=False)
                        for seq, at, kind, data in found
                    ]
                    yield row, events
            except sqlite3.Error as exc:  # a damaged file: no traceback
                raise self.failed(exc) from None

    def counted(self, asked: RunsAsked) -> int:
        """How many runs `audited` goes through for `asked` (`chains`: `RunsAsked()`)."""
        where, params = asked.where()
        with self._lock:
            try:
                row = self._db.execute(
                    self._row(f"SELECT COUNT(*) FROM runs r WHERE {where}"),  # noqa: S608 (placeholders)
                    params,
                ).fetchone()
            except sqlite3.Error as exc:
                raise self.failed(exc) from None
        return int(row[0])

    def _row(self, query: str = _ROW) -> str:
        """`query` with the runs' `{recorded}` column, or NULL in a journal older than it."""
        return query.replace("{recorded}", "r.recorded_at" if self._recorded_column() else "NULL")


def _by_run(
    rows: Iterator[tuple[Any, ...]],
) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """Rows of a run's nine columns then an event's (NULL for a run with no events),
    ordered run by run: each run's columns with its events'."""
    run: tuple[Any, ...] | None = None
    found: list[tuple[Any, ...]] = []
    for row in rows:
        if run is None or row[0] != run[0]:
            if run is not None:
                yield run, found
            run, found = row[:9], []
        if row[9] is not None:  # (seq: NOT NULL of an event)
            found.append(row[9:])
    if run is not None:
        yield run, found
