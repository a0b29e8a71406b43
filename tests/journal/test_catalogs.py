"""A run's catalog digests are stored once per catalog (`ido.journal.catalogs`): every
reader gets the map the run recorded, `ido verify` catches a stored map changed, a prune
keeps a map while a run names it, and a journal an older ido wrote reads as it did."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ido.catalog_record import catalog_digests
from ido.cli import app
from ido.journal import SqliteJournal
from ido.journal.catalogs import digest_of
from ido.journal.chain import Row, check
from ido.journal.schema import SCHEMA_VERSION
from ido.loading import load_catalog
from ido.pruning import Cutoff, prune

SCHEMA_5 = Path(__file__).with_name("schema5.sql")
"""Two runs of `fulfil-order` as the ido of schema 5 journaled them (`sqlite3 ido.db .dump`
of `ido run fulfil-order`, twice, in this repository's example): each `run_started`
holds its catalog's digests."""
runner = CliRunner()
NO_STRIPE = (
    "    - id: no-stripe\n      effect: deny\n"
    "      when: \"capability.provider == 'stripe'\"\n      message: Stripe is off.\n"
)


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def sql(path: Path, statement: str, *params: object) -> list[Any]:
    with sqlite3.connect(path) as db:
        return db.execute(statement, params).fetchall()


def started(journal: Path) -> dict[str, dict[str, Any]]:
    """Each run's `run_started` data as the journal reads it."""
    with SqliteJournal(journal, reading=True) as store:
        return {r.id: store.events(r.id)[0].data for r in store.all_runs()}


def stored_starts(journal: Path) -> dict[str, dict[str, Any]]:
    """Each run's `run_started` data as the file holds it."""
    rows = sql(journal, "SELECT run_id, data FROM events WHERE seq = 1 ORDER BY rowid")
    return {run: json.loads(data) for run, data in rows}


def test_runs_of_one_catalog_store_its_digests_once_and_read_them_back(example: Path) -> None:
    """Each run wrote its catalog's digests into its start, 40 bytes a capability, the same
    map every run: the map is stored once, named by the digest of its text."""
    assert ido("run", "fulfil-order", "--quiet")[0] == 0
    assert ido("run", "fulfil-order", "--quiet")[0] == 0
    journal = example / ".ido" / "ido.db"
    digests = catalog_digests(load_catalog([example]).capabilities)
    rows = sql(journal, "SELECT digest, capabilities FROM catalogs")
    assert len(rows) == 1 and json.loads(rows[0][1]) == digests
    assert rows[0][0] == digest_of(rows[0][1])
    for data in stored_starts(journal).values():
        assert "capabilities" not in data and data["catalog_digest"] == rows[0][0]
    for data in started(journal).values():  # as recorded: map and all, the key gone
        assert data["capabilities"] == digests and "catalog_digest" not in data
        assert list(data) == sorted(data)  # in the order the stored JSON reads back


def test_a_journal_of_schema_5_reads_and_upgrades_losing_nothing(example: Path) -> None:
    """Made by the ido before this one (its map in every run's start): read as it is,
    upgraded by a command that writes, its runs read the same, verify intact, and a
    what-if names the capability changed from the map the run recorded."""
    journal = example / ".ido" / "ido.db"
    journal.parent.mkdir()
    with sqlite3.connect(journal) as db:
        db.executescript(SCHEMA_5.read_text())
    recorded = stored_starts(journal)
    old = list(recorded)
    assert all(isinstance(d["capabilities"], dict) for d in recorded.values())
    assert started(journal) == recorded  # read as it is: not upgraded
    assert sql(journal, "SELECT value FROM meta WHERE key = 'schema_version'") == [("5",)]
    events = {}
    with SqliteJournal(journal, reading=True) as store:
        events = {r: store.events(r) for r in old}
    assert ido("run", "fulfil-order", "--quiet")[0] == 0  # upgrades it
    version = sql(journal, "SELECT value FROM meta WHERE key = 'schema_version'")
    assert version == [(str(SCHEMA_VERSION),)]
    with SqliteJournal(journal, reading=True) as store:
        assert {r: store.events(r) for r in old} == events
    assert {r: d for r, d in stored_starts(journal).items() if r in old} == recorded
    code, out = ido("verify")
    assert code == 0 and "3 runs checked: 3 intact" in out, out
    new = next(r for r in started(journal) if r not in old)
    assert "capabilities" not in stored_starts(journal)[new]
    path = example / "capabilities" / "orders" / "charge-paypal-us.yaml"
    path.write_text(path.read_text().replace("cost: 0.40", "cost: 0.45"))
    policy = example / "policies" / "eu-data-residency.yaml"
    policy.write_text(policy.read_text() + NO_STRIPE)
    for run in (old[0], new):  # the map in its start, and the map stored apart
        code, out = ido("replay", run)
        assert code == 1, out
        changed = next(line for line in out.splitlines() if "the catalog has changed" in line)
        assert "capabilities changed: " in changed and "charge-paypal-us" in changed, out


def test_verify_finds_a_stored_catalog_changed_or_removed(example: Path) -> None:
    """The catalogs table is not chained: the event names its row by the digest of its
    text, so a map changed (a capability's digest rewritten) or removed is found."""
    assert ido("run", "fulfil-order", "--quiet")[0] == 0
    journal = example / ".ido" / "ido.db"
    [(key, text)] = sql(journal, "SELECT digest, capabilities FROM catalogs")
    forged = json.loads(text) | {"charge-paypal-us": "000000000000"}
    sql(journal, "UPDATE catalogs SET capabilities = ?", json.dumps(forged, sort_keys=True))
    code, out = ido("verify")
    assert code == 1 and f"the catalog it names ({key[:12]}) does not match its digest" in out
    assert "event 1 (run_started at" in out, out
    sql(journal, "DELETE FROM catalogs")
    code, out = ido("verify")
    assert code == 1 and "which the journal does not hold: its row was removed" in out, out
    # The forged map stored under its own digest, and the event made to name it: the
    # event's hash no longer matches.
    text = json.dumps(forged, sort_keys=True, separators=(", ", ": "))
    sql(journal, "INSERT INTO catalogs VALUES (?, ?)", digest_of(text), text)
    sql(
        journal,
        "UPDATE events SET data = json_set(data, '$.catalog_digest', ?) WHERE seq = 1",
        digest_of(text),
    )
    code, out = ido("verify")
    assert code == 1 and "it does not match its hash" in out, out


def test_a_prune_keeps_a_catalog_while_a_run_names_it_and_archives_it_with_its_runs(
    example: Path,
) -> None:
    """Three runs, the first of another catalog: pruning all but the newest removes the
    first catalog (no run left names it) and keeps the other; the archive holds both,
    and its runs read their maps and verify."""
    journal = example / ".ido" / "ido.db"
    assert ido("run", "fulfil-order", "--quiet")[0] == 0
    path = example / "capabilities" / "orders" / "charge-paypal-us.yaml"
    path.write_text(path.read_text().replace("cost: 0.40", "cost: 0.45"))
    assert ido("run", "fulfil-order", "--quiet")[0] == 0
    assert ido("run", "fulfil-order", "--quiet")[0] == 0
    before = started(journal)
    first, second, third = before
    keys = {r: d["catalog_digest"] for r, d in stored_starts(journal).items()}
    assert keys[first] != keys[second] == keys[third]
    archive = example / "old.db"
    found = prune(journal, Cutoff(keep=1), archive)
    assert found.runs == 2
    assert sql(journal, "SELECT digest FROM catalogs") == [(keys[third],)]
    assert started(journal) == {third: before[third]}
    assert sorted(sql(archive, "SELECT digest FROM catalogs")) == sorted(
        [(keys[first],), (keys[second],)]
    )
    assert started(archive) == {first: before[first], second: before[second]}
    code, out = ido("verify", "--archive", str(archive))
    assert code == 0 and "3 runs checked: 3 intact" in out, out  # the journal's and the archive's


def test_a_run_imported_from_elsewhere_stores_its_catalog_once_and_reads_as_it_was(
    tmp_path: Path,
) -> None:
    """`ido temporal pull` copies a run's events in (`import_run`): its start's map goes
    to the catalogs table as a run's own does, the copy reads and verifies as the
    original, and a run held with its map inline (imported by the ido before) is the
    same run, not refused as another."""
    source = tmp_path / "source.db"
    with sqlite3.connect(source) as db:
        db.executescript(SCHEMA_5.read_text())
    with SqliteJournal(source, reading=True) as store:
        row = store.all_runs()[0]
        events = store.events(row.id)
    target = tmp_path / "target.db"
    with SqliteJournal(target) as store:
        assert store.import_run(row, events[:4], {}) == 4
        assert store.import_run(row, events, {}) == len(events) - 4
        assert store.events(row.id) == events
    assert len(sql(target, "SELECT digest FROM catalogs")) == 1
    assert "capabilities" not in stored_starts(target)[row.id]
    code, out = ido("verify", "--journal", str(target))
    assert code == 0 and ": 1 intact, 0 recorded before chaining, 0 broken" in out, out
    with SqliteJournal(source) as store:  # upgraded, its runs' maps inline as recorded
        assert store.import_run(row, events, {}) == 0


def test_a_catalog_row_edited_into_no_json_is_a_clear_error_not_a_traceback(
    example: Path,
) -> None:
    """Hand-edited event data read as a clear error; a stored map made no JSON object
    raised json's traceback from every reader (explain, replay, audit)."""
    assert ido("run", "fulfil-order", "--quiet")[0] == 0
    journal = example / ".ido" / "ido.db"
    [(run,)] = sql(journal, "SELECT id FROM runs")
    for text in ("{not json", "[1, 2]"):
        sql(journal, "UPDATE catalogs SET capabilities = ?", text)
        code, out = ido("explain", run)
        assert code == 2, out  # (a JournalError's code; a traceback's was 1)
        assert "whose stored digests are no JSON object" in out, out
        assert "edited by hand (ido verify checks it)" in out, out
    code, out = ido("verify")
    assert code == 1 and "does not match its digest" in out, out


def test_verify_reads_a_run_and_its_catalog_in_one_snapshot(example: Path) -> None:
    """A run pruned (with the catalog only it named) after verify read its events and
    before it read the catalog was reported broken, its catalog "removed": the catalog is
    read in the snapshot of the events."""
    assert ido("run", "fulfil-order", "--quiet")[0] == 0
    path = example / "capabilities" / "orders" / "charge-paypal-us.yaml"
    path.write_text(path.read_text().replace("cost: 0.40", "cost: 0.45"))
    assert ido("run", "fulfil-order", "--quiet")[0] == 0  # another catalog
    journal = example / ".ido" / "ido.db"
    (first,) = sql(journal, "SELECT id FROM runs ORDER BY rowid")[0]
    key = stored_starts(journal)[first]["catalog_digest"]
    other = sqlite3.connect(journal, isolation_level=None)
    pruned: list[str] = []

    def prune_when_read(statement: str) -> None:
        # (the end of the read of the run's chain: a prune takes the run and its catalog)
        if statement == "COMMIT" and not pruned:
            pruned.append(first)
            other.execute("BEGIN IMMEDIATE")
            other.execute("DELETE FROM events WHERE run_id = ?", (first,))
            other.execute("DELETE FROM runs WHERE id = ?", (first,))
            other.execute("DELETE FROM catalogs WHERE digest = ?", (key,))
            other.execute("COMMIT")

    with SqliteJournal(journal, reading=True) as store:
        since = store.chained_since()
        store._db.set_trace_callback(prune_when_read)
        run, links, catalog = store.chain_of(first)
        store._db.set_trace_callback(None)
    other.close()
    assert pruned and sql(journal, "SELECT 1 FROM runs WHERE id = ?", first) == []
    assert run is not None and catalog is not None  # read before the prune committed
    row = Row(
        run.intent, run.started_at, run.ended_at, run.outcome, run.reason, run.cost, run.recorded
    )
    assert check(first, row, links, since, catalog).status == "intact"
    code, out = ido("verify")
    assert code == 0 and "1 run checked: 1 intact" in out, out


def test_a_prune_goes_on_when_a_run_start_holds_no_json(example: Path) -> None:
    """A run's start edited by hand into no JSON (which verify reports) made every prune
    fail, "malformed JSON", looking for the catalogs still named; the catalog a start made
    a BLOB by hand names is kept."""
    for _ in range(3):
        assert ido("run", "fulfil-order", "--quiet")[0] == 0
    journal = example / ".ido" / "ido.db"
    kept = sql(journal, "SELECT id FROM runs ORDER BY rowid")[-1][0]
    before = started(journal)[kept]
    sql(journal, "UPDATE events SET data = CAST(data AS BLOB) WHERE run_id = ? AND seq = 1", kept)
    (first,) = sql(journal, "SELECT id FROM runs ORDER BY rowid")[0]
    sql(journal, "UPDATE events SET data = '{not json' WHERE run_id = ? AND seq = 1", first)
    archive = journal.with_name("old.db")
    assert prune(journal, Cutoff(keep=1), archive).runs == 2
    assert sql(journal, "SELECT COUNT(*) FROM catalogs") == [(1,)]
    sql(journal, "UPDATE events SET data = CAST(data AS TEXT) WHERE run_id = ?", kept)
    assert started(journal)[kept] == before


def test_a_reader_of_a_journal_of_schema_5_reads_a_run_started_after_its_upgrade(
    tmp_path: Path,
) -> None:
    """A command that reads opened a journal of schema 5 as it was, and looked at its
    tables; another process upgraded it and started a run: the reader read that run's start
    without its map (its catalog's digest instead), the tables read once not holding it."""
    journal = tmp_path / "ido.db"
    with sqlite3.connect(journal) as db:
        db.executescript(SCHEMA_5.read_text())
    db.close()
    with SqliteJournal(journal, reading=True) as reader:
        assert reader.health()  # (its tables read: those of schema 5)
        with SqliteJournal(journal) as writer:  # upgrades it
            data = {"capabilities": {"pay": "0123456789ab"}, "intent": {}}
            writer.start_run("r1", "i", "2026-12-07T06:00:00.000+00:00", data)
        assert reader.events("r1")[0].data == data
