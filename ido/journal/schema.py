"""The journal's SQLite tables and their version, and the queries of its runs: newest
first, and those `ido runs` asks for."""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 6  # 2: health; 3: the llm answer cache; 4: runs.recorded_at; 5: events.hash;
# 6: catalogs
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
    hash TEXT,
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
CREATE TABLE IF NOT EXISTS catalogs (
    digest TEXT PRIMARY KEY,
    capabilities TEXT NOT NULL
);
"""
"""`catalogs`: each distinct map of a run's catalog digests, once, keyed by the SHA-256 of
its text, which `run_started` names (`ido.journal.catalogs`)."""
CHAINED_SINCE = "chained_since"
"""The `meta` key holding when the journal began chaining its events (made, or upgraded
to schema 5): the events before it have no hash (`ido.journal.chain`)."""
UNCHAINED_REFUSED = (
    "an ido older than the schema of this journal may not record runs in it: it was upgraded "
    "by a newer ido, which chains every event (ido verify); stop the older ido and use "
    "the newer one"
)
"""What SQLite answers an older ido that records a run in a journal upgraded while it
was running, or the first ido, which writes any journal whatever its version."""
assert "'" not in UNCHAINED_REFUSED  # (a quoted string of `_GUARD`)
_GUARD = f"""
CREATE TRIGGER IF NOT EXISTS events_chained BEFORE INSERT ON events
WHEN NEW.hash IS NULL AND (EXISTS (
    SELECT 1 FROM runs r, meta m WHERE r.id = NEW.run_id AND m.key = '{CHAINED_SINCE}'
    AND COALESCE(r.recorded_at, r.started_at) >= m.value)
  OR (SELECT e.hash FROM events e WHERE e.run_id = NEW.run_id AND e.seq < NEW.seq
    ORDER BY e.seq DESC LIMIT 1) IS NOT NULL)
BEGIN SELECT RAISE(ABORT, '{UNCHAINED_REFUSED}'); END
"""  # noqa: S608 (built of the constants above)
"""Refuses an event with no hash of a run recorded since the journal began chaining: what
`ido verify` would call a run stripped of its hashes. No ido of schema 5 or newer writes
one; an older ido that opened the journal before a newer one upgraded it did, as does
the first ido (schema 1), which checks no version, and verify then read tampering into
their runs. Such a run is now refused at its first event, in the commit that would have
begun it; a run such an ido began before the upgrade goes on as recorded before chaining,
until a newer ido writes to it (an approval, a resume): an event with no hash after a
chained one is refused too, which verify would call one whose hash was removed."""
PRUNES = "prunes"
"""The `meta` key counting prunes: reclaiming their space (VACUUM) may number the events
afresh, so a mark of the newest event seen (`approvals_since`) holds only until the next
prune, and `ido runner` looks at the journal whole again after one."""


NEWEST_FIRST = "ORDER BY COALESCE({recorded}, started_at) DESC, rowid DESC"
"""How runs are ordered, newest first (a kept scenario run by when it was recorded):
`ido runs` lists them so, and `ido prune --keep N` keeps the N it would list first."""


_NEWER = NEWEST_FIRST.removeprefix("ORDER BY ")
RUN_ORDERS = {
    "newest": NEWEST_FIRST,
    "oldest": "ORDER BY COALESCE({recorded}, started_at), rowid",
    # a run not ended has no final cost or duration yet (its row holds none): last
    "cost": f"ORDER BY outcome IS NULL, cost DESC, {_NEWER}",
    "duration": f"ORDER BY outcome IS NULL, duration IS NULL, duration DESC, {_NEWER}",
}
"""How `ido runs --sort` lists runs: newest first (the default), oldest first (what failed
first in a night), the costliest or the longest first, ties newest first."""

_RUN_ROWS = "SELECT id, intent, started_at, ended_at, outcome, reason, cost, duration, {recorded} "
_NEWEST = _RUN_ROWS + "FROM runs WHERE {where} {order}"
_ONE = _RUN_ROWS + "FROM runs WHERE id = ?"
_ALL = _RUN_ROWS + "FROM runs ORDER BY rowid"
"""The queries of `RunRow`s, `{recorded}` being `recorded_at`, or NULL in a journal older
than that column (read-only).

`COALESCE(recorded_at, started_at)` is when a run was recorded, by this world's clock: its
start, but for a scenario's run kept in the journal (`ido scenario run --journal`), whose
own clock is the scenario's virtual one (a kept run of an ido before schema 4 has no
`recorded_at`: its virtual start stands in). `ido runs` orders by it, and `ido prune`
compares it with its date."""


@dataclass(frozen=True)
class RunsAsked:
    """Which runs `SqliteJournal.runs` lists (`ido runs --intent/--outcome/--since/--until`); each
    field left empty asks nothing of the runs, and the fields combine with AND."""

    intents: tuple[str, ...] = ()
    outcomes: tuple[str | None, ...] = ()
    """The outcomes as the journal writes them, None standing for a run not ended yet."""
    since: str | None = None
    """A day (2026-12-06) or a moment as the journal stamps one (2026-12-06T22:00:00.000+00:00):
    the runs recorded on or after it, by this world's clock."""
    before: str | None = None
    """A day or a moment: the runs recorded before it (`--until 2026-11-30` asks before
    2026-12-01)."""

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
        if self.before is not None:
            terms.append("COALESCE({recorded}, started_at) < ?")
            params.append(self.before)
        return " AND ".join(terms), params


_TABLES = frozenset({"meta", "runs", "events", "llm_cache", "health", "catalogs"})
"""The tables `_SCHEMA` makes: a database holding others and no schema version is not ours."""
