"""The hash chain over each run's events: `ido verify` finds an event edited, removed or
moved, a run's row changed, a run removed or chained again since its head was listed."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.journal import SqliteJournal
from ido.journal.chain import link

runner = CliRunner()


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def sql(journal: Path, statement: str, *params: object) -> None:
    """Change the journal behind ido's back, as its owner could with sqlite3."""
    db = sqlite3.connect(journal)
    with db:
        db.execute(statement, params)
    db.close()


@pytest.fixture
def journal(project: Path) -> Path:
    """Two achieved runs of ship-order; the journal they are in."""
    assert ido("run", "ship-order", "ship-order")[0] == 0
    return project / ".ido" / "ido.db"


def run_ids(journal: Path) -> list[str]:
    with SqliteJournal(journal) as store:
        return [row.id for row in store.runs()]


def kinds(journal: Path, run_id: str) -> list[str]:
    with SqliteJournal(journal) as store:
        return [e.kind for e in store.events(run_id)]


def test_runs_as_recorded_are_intact(journal: Path) -> None:
    code, out = ido("verify")
    assert code == 0, out
    assert "2 runs checked: 2 intact, 0 recorded before chaining, 0 broken" in out
    code, out = ido("verify", "--format", "json")
    found = json.loads(out)
    assert code == 0 and found["ok"] and found["intact"] == 2 and found["broken"] == []
    assert {h["run"] for h in found["heads"]} == set(run_ids(journal))


def _edit(journal: Path, run_id: str, seq: int) -> None:
    sql(
        journal,
        "UPDATE events SET data = json_set(data, '$.cost', 0.01) WHERE run_id = ? AND seq = ?",
        run_id,
        seq,
    )


def _delete(journal: Path, run_id: str, seq: int) -> None:
    sql(journal, "DELETE FROM events WHERE run_id = ? AND seq = ?", run_id, seq)


def _swap(journal: Path, run_id: str, seq: int) -> None:
    """Events `seq` and `seq + 1` change places."""
    sql(journal, "UPDATE events SET seq = -1 WHERE run_id = ? AND seq = ?", run_id, seq)
    sql(journal, "UPDATE events SET seq = ? WHERE run_id = ? AND seq = ?", seq, run_id, seq + 1)
    sql(journal, "UPDATE events SET seq = ? WHERE run_id = ? AND seq = -1", seq + 1, run_id)


@pytest.mark.parametrize(
    ("tamper", "said"),
    [
        (_edit, "it does not match its hash"),
        (_delete, "event {seq} is missing before it: removed from the journal"),
        (_swap, "it does not match its hash"),
    ],
)
def test_an_event_edited_removed_or_moved_is_reported_by_run_and_event(
    journal: Path, tamper: Callable[[Path, str, int], None], said: str
) -> None:
    victim, other = run_ids(journal)
    seq = kinds(journal, victim).index("action_finished") + 1
    tamper(journal, victim, seq)
    code, out = ido("verify")
    assert code == 1, out
    assert "1 intact, 0 recorded before chaining, 1 broken" in out
    first = seq + 1 if tamper is _delete else seq  # the first event that does not match
    kind = kinds(journal, victim)[first - (2 if tamper is _delete else 1)]
    assert f"broken: run {victim}, event {first} ({kind} at " in out
    assert said.format(seq=seq) in out
    assert other not in out
    code, out = ido("verify", "--format", "json")
    found = json.loads(out)
    assert code == 1 and not found["ok"]
    assert [(b["run"], b["seq"], b["kind"]) for b in found["broken"]] == [(victim, first, kind)]


def test_a_runs_outcome_changed_in_its_row_is_reported(journal: Path) -> None:
    victim = run_ids(journal)[0]
    sql(journal, "UPDATE runs SET outcome = 'failed' WHERE id = ?", victim)
    code, out = ido("verify")
    assert code == 1
    assert f"broken: run {victim}, its row: it says outcome failed, but its events say " in out
    assert "outcome achieved" in out


def test_the_last_event_removed_leaves_the_row_saying_more_than_the_events(
    journal: Path,
) -> None:
    victim = run_ids(journal)[0]
    _delete(journal, victim, len(kinds(journal, victim)))  # its run_finished
    code, out = ido("verify")
    assert code == 1
    assert f"run {victim}, its row: it says outcome achieved, but its events say that it " in out


def test_heads_kept_elsewhere_show_a_run_removed_or_chained_again(
    journal: Path, project: Path
) -> None:
    result = runner.invoke(app, ["verify", "--heads"])
    assert result.exit_code == 0
    listed = project / "heads.txt"
    listed.write_text("# kept by the auditor\n" + result.stdout)
    first, second = run_ids(journal)
    assert result.stdout.startswith("# ido verify --heads of .ido/ido.db at ")
    assert sorted(line.split()[0] for line in result.stdout.splitlines()[1:]) == sorted(
        [first, second]
    )
    assert ido("verify", "--against", str(listed))[0] == 0
    # A whole run removed: its chain went with it; only the list tells.
    sql(journal, "DELETE FROM events WHERE run_id = ?", second)
    sql(journal, "DELETE FROM runs WHERE id = ?", second)
    assert ido("verify")[0] == 0
    code, out = ido("verify", "--against", str(listed))
    assert code == 1
    assert f"missing: run {second} (listed up to event " in out
    # A run edited and its chain made again: whole by itself, not the one listed.
    _edit(journal, first, 2)
    _rechain(journal, first)
    assert ido("verify")[0] == 0
    code, out = ido("verify", "--against", str(listed), "--format", "json")
    found = json.loads(out)
    assert code == 1 and found["missing"] == [second]
    assert [c["run"] for c in found["changed"]] == [first]
    assert "chained again since the list was made" in found["changed"][0]["problem"]


def _rechain(journal: Path, run_id: str) -> None:
    """What an attacker who can write the journal can do: hash its events afresh."""
    db = sqlite3.connect(journal)
    rows = db.execute(
        "SELECT seq, at, kind, data FROM events WHERE run_id = ? ORDER BY seq", (run_id,)
    ).fetchall()
    prev = ""
    with db:
        for seq, at, kind, data in rows:
            prev = link(prev, run_id, seq, at, kind, data)
            db.execute(
                "UPDATE events SET hash = ? WHERE run_id = ? AND seq = ?", (prev, run_id, seq)
            )
    db.close()


def test_pruned_runs_are_verified_in_their_archive(journal: Path, project: Path) -> None:
    listed = project / "heads.txt"
    listed.write_text(runner.invoke(app, ["verify", "--heads"]).stdout)
    assert ido("run", "ship-order")[0] == 0  # newest, and holding the newest event: it stays
    code, out = ido("prune", "--keep", "1", "--archive", "old.db")
    assert code == 0 and "pruned 2 runs" in out
    code, out = ido("verify", "--against", str(listed))
    assert code == 1 and "missing: run" in out
    code, out = ido("verify", "--against", str(listed), "--archive", "old.db")
    assert code == 0, out
    assert "2 runs listed, 0 changed since, 0 missing" in out


def test_a_list_of_heads_not_as_printed_is_refused_naming_its_line(
    journal: Path, project: Path
) -> None:
    listed = project / "heads.txt"
    listed.write_text("# heads\nr1 3 not-a-hash\n")
    result = runner.invoke(app, ["verify", "--against", str(listed)])
    assert result.exit_code == 2
    assert "heads.txt line 2: expected RUN SEQ SHA256" in result.output
    assert "Traceback" not in result.output


def _as_before_chaining(journal: Path) -> None:
    """The journal as an ido before schema 5 left it: no hash column (nor the guard)."""
    sql(journal, "DROP TRIGGER IF EXISTS events_chained")
    sql(journal, "ALTER TABLE events DROP COLUMN hash")
    sql(journal, "UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    sql(journal, "DELETE FROM meta WHERE key = 'chained_since'")


def test_runs_recorded_before_chaining_are_named_not_failed(journal: Path) -> None:
    old = run_ids(journal)
    before = {r: kinds(journal, r) for r in old}
    _as_before_chaining(journal)
    code, out = ido("verify")  # read as it is: a command that only reads upgrades nothing
    assert code == 0, out
    assert "0 intact, 2 recorded before chaining, 0 broken" in out
    assert ido("run", "ship-order")[0] == 0  # upgrades the journal, losing nothing
    assert {r: kinds(journal, r) for r in old} == before
    code, out = ido("verify", "--format", "json")
    found = json.loads(out)
    assert code == 0 and found["intact"] == 1 and sorted(found["unchained"]) == sorted(old)
    # An old run written to after the upgrade: chained from there on.
    with SqliteJournal(journal) as store:
        store.append(old[0], "note", "2026-12-07T00:00:00.000+00:00", {"said": "later"})
    code, out = ido("verify")
    assert code == 0
    n = len(before[old[0]])
    assert f"run {old[0]}: its events 1 to {n} were recorded before chaining" in out
    # … and one of its chained events losing its hash is no longer "before chaining".
    with SqliteJournal(journal) as store:
        store.append(old[0], "note", "2026-12-07T00:00:01.000+00:00", {"said": "again"})
    sql(journal, "UPDATE events SET hash = NULL WHERE run_id = ? AND seq = ?", old[0], n + 2)
    code, out = ido("verify")
    assert code == 1 and f"run {old[0]}, event {n + 2} (note at " in out
    assert "its hash was removed" in out


def test_runs_recording_at_once_each_chain_to_their_own_events(tmp_path: Path) -> None:
    path = tmp_path / "ido.db"
    with SqliteJournal(path) as store:

        def record(n: int) -> None:
            run_id = f"r{n}"
            store.start_run(run_id, "x", "2026-12-07T00:00:00.000+00:00", {"intent": "x"})
            for i in range(40):
                if i % 5 == 0:
                    store.append_many(
                        run_id,
                        [
                            ("step", "2026-12-07T00:00:01.000+00:00", {"i": i, "n": j})
                            for j in range(3)
                        ],
                    )
                else:
                    store.append(run_id, "step", "2026-12-07T00:00:01.000+00:00", {"i": i})
            store.finish_run(run_id, "achieved", None, 1.5, 1.0, "2026-12-07T00:00:02.000+00:00")

        threads = [threading.Thread(target=record, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    code, out = ido("verify", "--journal", str(path), "--format", "json")
    found = json.loads(out)
    assert code == 0 and found["intact"] == 8, out


def test_concurrent_runs_of_the_cli_chain_correctly(project: Path) -> None:
    code, out = ido("run", "ship-order", "ship-order", "ship-order", "--concurrency", "3")
    assert code == 0, out
    code, out = ido("verify")
    assert code == 0 and "3 runs checked: 3 intact" in out


def test_an_end_rewritten_as_no_json_and_chained_again_is_told_not_a_traceback(
    journal: Path,
) -> None:
    victim = run_ids(journal)[0]
    n = len(kinds(journal, victim))
    sql(journal, "UPDATE events SET data = 'not json' WHERE run_id = ? AND seq = ?", victim, n)
    _rechain(journal, victim)
    code, out = ido("verify")
    assert code == 1
    assert f"run {victim}, its row: it says outcome achieved, but its events say" in out


def test_an_upgrade_cut_short_before_chaining_began_is_done_again_when_next_opened(
    journal: Path,
) -> None:
    """Upgrading a journal wrote its new schema version, then when it began chaining: cut
    short between the two (killed, a full disk), the journal said it was up to date, was
    never upgraded again, and never said when chaining began. `ido verify` then passed a
    run later stripped of its hashes off as recorded before chaining. The version is now
    written last: what is cut short before it is done again."""
    _as_before_chaining(journal)
    sql(
        journal,
        "CREATE TRIGGER cut BEFORE INSERT ON meta WHEN NEW.key = 'chained_since' "
        "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END",
    )
    code, out = ido("run", "ship-order")  # the upgrade fails as it writes when chaining began
    assert code != 0 and "disk I/O error" in out
    sql(journal, "DROP TRIGGER cut")
    assert ido("run", "ship-order")[0] == 0
    victim = run_ids(journal)[0]  # recorded since the upgrade
    sql(journal, "UPDATE events SET hash = NULL WHERE run_id = ?", victim)
    code, out = ido("verify")
    assert code == 1, out
    assert f"broken: run {victim}, event 1 (run_started at " in out
    assert "recorded after the journal began chaining" in out


def test_an_upgrade_cut_short_at_its_version_does_not_fault_an_older_ido_s_runs_after(
    journal: Path,
) -> None:
    """Found in review: upgrading wrote when chaining began, then (in a commit of its own)
    the new schema version. Cut short between the two (a full disk), the journal still
    said schema 4, so an older ido sharing it went on recording runs (without hashes, as
    it does) after that moment; the upgrade done later kept the first moment, and `ido
    verify` called those runs broken, their hashes removed. The two are written together:
    chaining begins when the upgrade is done."""
    old = run_ids(journal)[0]
    _as_before_chaining(journal)
    sql(
        journal,
        "CREATE TRIGGER cut BEFORE INSERT ON meta WHEN NEW.key = 'schema_version' "
        "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
    )
    code, out = ido("run", "ship-order")  # the upgrade fails as it writes its version
    assert code != 0 and "disk is full" in out
    sql(journal, "DROP TRIGGER cut")
    time.sleep(0.01)  # (a moment after the cut)
    # An older ido records a run, as it did (no hashes): the journal says schema 4.
    later = datetime.now(UTC).isoformat(timespec="milliseconds")
    sql(
        journal,
        "INSERT INTO runs(id, intent, started_at, ended_at, outcome, reason, cost, duration,"
        " recorded_at) SELECT 'r-older-ido', intent, started_at, ended_at, outcome, reason,"
        " cost, duration, ? FROM runs WHERE id = ?",
        later,
        old,
    )
    sql(
        journal,
        "INSERT INTO events(run_id, seq, at, kind, data) "
        "SELECT 'r-older-ido', seq, at, kind, data FROM events WHERE run_id = ?",
        old,
    )
    assert ido("run", "ship-order")[0] == 0  # upgraded now
    code, out = ido("verify")
    assert code == 0, out
    assert "1 intact, 3 recorded before chaining, 0 broken" in out


def test_a_run_stripped_of_its_hashes_is_not_passed_off_as_recorded_before_chaining(
    journal: Path,
) -> None:
    victim = run_ids(journal)[0]
    sql(journal, "UPDATE events SET hash = NULL WHERE run_id = ?", victim)
    code, out = ido("verify")
    assert code == 1
    assert f"broken: run {victim}, event 1 (run_started at " in out
    assert "recorded after the journal began chaining" in out


def test_a_run_with_no_hashes_since_chaining_names_the_first_ido_as_a_cause_too(
    journal: Path,
) -> None:
    """The first ido (journal schema 1) checks no journal's version: it records runs, with
    no hashes, into a journal a newer ido upgraded. Verify called such a run's hashes
    removed, and an auditor read tampering into an old ido's run; it names both causes."""
    victim = run_ids(journal)[0]
    sql(journal, "UPDATE events SET hash = NULL WHERE run_id = ?", victim)
    code, out = ido("verify")
    assert code == 1
    assert (
        "their hashes were removed, or an older ido recorded it (the first, which writes any "
        "journal whatever its version, or one that had it open as it was upgraded)"
    ) in " ".join(out.split())


def test_an_older_ido_that_had_the_journal_open_may_not_record_a_run_after_the_upgrade(
    journal: Path,
) -> None:
    """An ido of schema 4 opened the journal (a runner, `ido run A B`) before a newer ido
    upgraded it, and went on recording runs with no hashes: verify then called them
    stripped of their hashes. The journal now refuses such a run's first event, saying
    why; a run that older ido began before the upgrade may still finish."""
    before = run_ids(journal)[0]
    _as_before_chaining(journal)
    assert ido("run", "ship-order")[0] == 0  # the newer ido upgrades the journal
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    with pytest.raises(sqlite3.IntegrityError, match="an ido older than the schema of this"):
        sql(journal, "INSERT INTO runs(id, intent, started_at) VALUES ('r-old', 'x', ?)", now)
        sql(
            journal,
            "INSERT INTO events(run_id, seq, at, kind, data) VALUES ('r-old', 1, ?, 'run_started', '{}')",
            now,
        )
    seq = len(kinds(journal, before)) + 1
    sql(
        journal,
        "INSERT INTO events(run_id, seq, at, kind, data) VALUES (?, ?, ?, 'note', '{}')",
        before,
        seq,
        now,
    )
    sql(journal, "DELETE FROM runs WHERE id = 'r-old'")
    code, out = ido("verify")
    assert code == 0, out


def test_an_older_ido_may_not_go_on_with_a_run_a_newer_one_has_written_to(
    journal: Path,
) -> None:
    """A run an ido of schema 4 began before the upgrade, that a newer ido then wrote to
    (an approval given, chained), was still open to the older ido (a runner resuming it):
    its next event, with no hash after a chained one, read in verify as one whose hash was
    removed. The journal refuses it; the run reads as before."""
    before = run_ids(journal)[0]
    _as_before_chaining(journal)
    at = datetime.now(UTC).isoformat(timespec="milliseconds")
    with SqliteJournal(journal) as store:  # the newer ido upgrades it and writes to the run
        seq = store.append(before, "note", at, {"said": "after the upgrade"})
    with pytest.raises(sqlite3.IntegrityError, match="an ido older than the schema of this"):
        sql(
            journal,
            "INSERT INTO events(run_id, seq, at, kind, data) VALUES (?, ?, ?, 'note', '{}')",
            before,
            seq + 1,
            at,
        )
    code, out = ido("verify")
    assert code == 0, out


def test_a_run_an_older_ido_begins_while_the_journal_is_upgraded_may_finish(
    journal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal's chaining start was the time the upgrade began: a run an ido of schema
    4 began while the upgrade was under way (its start committed before the upgrade's
    last commit, the journal's version still 4) read as recorded since chaining, and its
    next event was refused, the run cut short mid-way. The start is taken in the upgrade's
    last commit: the run finishes, recorded before chaining."""
    import ido.journal.opening as opening
    from ido.journal.records import stamp

    _as_before_chaining(journal)
    base = int(time.time()) + 60
    ticks = iter(range(base, base + 100, 10))  # each reading of the clock 10 s on
    clock = SimpleNamespace(time=lambda: next(ticks), sleep=time.sleep)
    monkeypatch.setattr(opening, "time", clock)
    begun = stamp(base + 5)  # after the upgrade began, before it ended
    add_hash = opening._Opened._add_hash

    def meanwhile_an_older_ido_begins_a_run(self: opening._Opened) -> None:
        add_hash(self)
        sql(journal, "INSERT INTO runs(id, intent, started_at) VALUES ('r-old', 'x', ?)", begun)
        sql(
            journal,
            "INSERT INTO events(run_id, seq, at, kind, data) VALUES ('r-old', 1, ?, 'run_started', '{}')",
            begun,
        )

    monkeypatch.setattr(opening._Opened, "_add_hash", meanwhile_an_older_ido_begins_a_run)
    SqliteJournal(journal).close()  # the newer ido upgrades the journal
    sql(
        journal,
        "INSERT INTO events(run_id, seq, at, kind, data) VALUES ('r-old', 2, ?, 'note', '{}')",
        begun,
    )
    code, out = ido("verify")
    assert code == 0, out
    assert "recorded before chaining" in out and "r-old" in out


def test_a_journal_made_before_the_guard_gets_it_when_next_written_not_read(
    journal: Path,
) -> None:
    """A journal of schema 6 made before the guard gets it at the next command that
    writes; one that only reads writes nothing."""
    sql(journal, "DROP TRIGGER IF EXISTS events_chained")
    assert ido("runs")[0] == 0

    def guarded() -> bool:
        db = sqlite3.connect(journal)
        found = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'events_chained'").fetchall()
        db.close()
        return bool(found)

    assert not guarded()
    assert ido("run", "ship-order")[0] == 0
    assert guarded()


def test_an_archive_that_is_not_there_is_an_error_not_a_new_file(
    journal: Path, project: Path
) -> None:
    result = runner.invoke(app, ["verify", "--archive", "nov.db"])
    assert result.exit_code == 2
    assert "no archive at nov.db" in result.output
    assert not (project / "nov.db").exists()


RULE = (
    "    - id: big-spend\n      effect: require_approval\n"
    "      when: \"capability.name == 'ship'\"\n      message: Shipping needs a human.\n"
)


def test_runs_blocked_approved_resumed_failed_and_interrupted_are_intact(project: Path) -> None:
    """Every way ido rewrites a run's row (blocked, resumed, failed) agrees with its events."""
    journal = project / ".ido" / "ido.db"
    policy = project / "policies" / "residency.yaml"
    original = policy.read_text()
    policy.write_text(original + RULE)
    assert ido("run", "ship-order")[0] == 3
    blocked = run_ids(journal)[0]
    assert ido("approve", blocked, "--by", "dave")[0] == 0
    assert ido("resume", blocked)[0] == 0
    policy.write_text(original)
    too_cheap = project / "intents" / "too-cheap.yaml"
    intent = (project / "intents" / "ship-order.yaml").read_text()
    too_cheap.write_text(
        intent.replace("name: ship-order", "name: too-cheap").replace("5.0", "0.1")
    )
    assert ido("run", "too-cheap")[0] == 4  # no plan, nothing performed
    with SqliteJournal(journal) as store:  # one a crash cut short: no outcome yet
        store.start_run("r-cut", "ship-order", "2026-12-07T00:00:00.000+00:00", {})
    code, out = ido("verify")
    assert code == 0, out
    assert "3 runs checked: 3 intact" in out
    assert "run_resumed" in kinds(journal, blocked)


RUNS = ["ship-order"] * 6


def test_runs_of_several_processes_on_one_journal_chain_correctly(project: Path) -> None:
    """`--processes 2`: two processes commit into the journal, each under SQLite's lock."""
    done = subprocess.run(
        [sys.executable, "-m", "ido", "run", *RUNS, "--concurrency", "4", "--processes", "2"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    code, out = ido("verify")
    assert code == 0 and "6 runs checked: 6 intact" in out, out


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        ("UPDATE events SET data = CAST(data AS BLOB) WHERE run_id = ? AND seq = 2", "its data"),
        ("UPDATE events SET kind = CAST(kind AS BLOB) WHERE run_id = ? AND seq = 2", "its kind"),
        ("UPDATE events SET at = x'00ff' WHERE run_id = ? AND seq = 2", "its time"),
        ("UPDATE events SET seq = 'x' WHERE run_id = ? AND kind = 'run_finished'", "number"),
        ("UPDATE events SET seq = x'00' WHERE run_id = ? AND kind = 'run_finished'", "number"),
    ],
)
def test_an_event_rewritten_as_no_text_is_told_not_a_traceback(
    journal: Path, edit: str, said: str
) -> None:
    victim = run_ids(journal)[0]
    sql(journal, edit, victim)
    code, out = ido("verify")
    assert code == 1, out
    assert f"broken: run {victim}, event " in out
    assert said in out and "edited by hand" in out
    code, out = ido("verify", "--format", "json")
    assert code == 1, out
    assert [b["run"] for b in json.loads(out)["broken"]] == [victim]


def test_a_runs_cost_rewritten_as_no_number_is_told_not_a_traceback(journal: Path) -> None:
    victim = run_ids(journal)[0]
    sql(journal, "UPDATE runs SET cost = 'cheap' WHERE id = ?", victim)
    code, out = ido("verify")
    assert code == 1, out
    assert f"broken: run {victim}, its row: it says the run cost 'cheap'" in out


def test_an_end_whose_cost_is_no_number_chained_again_is_told_not_a_traceback(
    journal: Path,
) -> None:
    victim = run_ids(journal)[0]
    sql(
        journal,
        "UPDATE events SET data = json_set(data, '$.cost', 'cheap') "
        "WHERE run_id = ? AND kind = 'run_finished'",
        victim,
    )
    _rechain(journal, victim)
    code, out = ido("verify")
    assert code == 1, out
    assert f"broken: run {victim}, its row: it says the run cost " in out
    assert "its run_finished event 'cheap'" in out


@pytest.mark.parametrize("data", ["not json", "[1, 2]"])
@pytest.mark.parametrize("command", ["explain", "replay"])
def test_reading_an_event_rewritten_as_no_json_object_is_an_error_not_a_traceback(
    journal: Path, data: str, command: str
) -> None:
    victim = run_ids(journal)[0]
    sql(journal, "UPDATE events SET data = ? WHERE run_id = ? AND seq = 2", data, victim)
    code, out = ido(command, victim)
    assert code != 0, out
    assert f"run {victim}, event 2 (observed)" in out
    assert "edited by hand" in out and "ido verify" in out


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        ("UPDATE runs SET cost = 'cheap' WHERE id = ?", "its cost is 'cheap'"),
        (
            "UPDATE runs SET intent = CAST(intent AS BLOB) WHERE id = ?",
            "its intent is b'ship-order'",
        ),
    ],
)
@pytest.mark.parametrize("command", [("runs",), ("explain", "{run}"), ("audit",)])
def test_reading_a_run_row_rewritten_as_another_type_is_an_error_not_a_traceback(
    journal: Path, edit: str, said: str, command: tuple[str, ...]
) -> None:
    victim = run_ids(journal)[0]
    sql(journal, edit, victim)
    code, out = ido(*(part.format(run=victim) for part in command))
    assert code != 0, out
    assert f"run {victim}: {said}, not as ido records it" in out
    assert "edited by hand" in out and "ido verify" in out


@pytest.mark.parametrize("fmt", ["text", "md", "json", "html"])
def test_explaining_a_decision_whose_result_was_edited_to_null_is_an_error_not_a_traceback(
    journal: Path, fmt: str
) -> None:
    victim = run_ids(journal)[0]
    sql(
        journal,
        "UPDATE events SET data = json_set(data, '$.result', json('null')) "
        "WHERE run_id = ? AND kind = 'decided'",
        victim,
    )
    code, out = ido("explain", victim, "--format", fmt)
    assert code == 2, out
    assert f"run {victim}, event 3 (decided): its result is null, not as ido records" in out
    assert "edited by hand" in out and "ido verify" in out


@pytest.mark.parametrize(
    ("path", "value", "said"),
    [
        ("$.result", "{}", "its result has no status"),
        ("$.result.status", "null", "its result has no status"),
        ("$.result.plan.cost", "null", "its plan has no cost"),
        ("$.result.plan.steps", "null", "its plan has no steps"),
        ("$.result.plan.steps[0]", '{"capability": "pay"}', "its plan's step 1 has no provider"),
        ("$.result.plan.steps[1].cost", '"cheap"', "its plan's step 2 has no cost"),
        ("$.result.plan", "[1]", "its plan is no object"),
        ("$.observed", "null", "its observed facts are no object"),
        ("$.result", None, "it has no result"),
        ("$.result.solver", "5", "its solver record is no object"),
        ("$.result.solver.llm", "5", "its model planner's record is no object"),
        ("$.result.solver.llm", '{"calls": []}', "its model planner's record has no planner"),
        (
            "$.result.solver.llm",
            '{"planner": "llm", "verdict": "accepted", "cost": "x"}',
            "its model planner's record has no cost",
        ),
        (
            "$.result.solver.llm",
            '{"planner": "llm", "verdict": "accepted", "calls": 3}',
            "its model calls are not calls with replies",
        ),
        (
            "$.result.solver.llm",
            '{"planner": "llm", "verdict": "accepted", "calls": [{"reply": null}]}',
            "its model calls are not calls with replies",
        ),
    ],
)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_explaining_a_decision_edited_to_lack_what_explain_reads_is_an_error_not_a_traceback(
    journal: Path, fmt: str, path: str, value: str | None, said: str
) -> None:
    """A decision's result without its status, a plan without its figures or a step's
    fields, a model planner's record not as recorded, raised a KeyError, TypeError or
    AttributeError out of `ido explain`; a result removed was told as `null`."""
    victim = run_ids(journal)[0]
    edit = "json_remove(data, ?)" if value is None else "json_set(data, ?, json(?))"
    sql(
        journal,
        f"UPDATE events SET data = {edit} WHERE run_id = ? AND seq = 3",
        *([path] if value is None else [path, value]),
        victim,
    )
    code, out = ido("explain", victim, "--format", fmt)
    assert code == 2, out
    assert f"run {victim}, event 3 (decided): {said}, not as ido records it" in out
    assert "edited by hand" in out and "ido verify" in out


@pytest.mark.parametrize(
    ("path", "value", "said"),
    [
        ("$.result", "null", "its result is null"),
        ("$.result", "{}", "its result has no status"),
        ("$.result.plan.cost", "null", "its plan has no cost"),
        ("$.result.plan.steps", "null", "its plan has no steps"),
        ("$.result.solver.llm", "5", "its model planner's record is no object"),
    ],
)
def test_replaying_a_decision_edited_to_lack_what_replay_reads_is_an_error_not_a_traceback(
    journal: Path, path: str, value: str, said: str
) -> None:
    """`ido replay` raised an AttributeError, KeyError or TypeError on such a decision; of
    several runs, the one edited is said not replayed and why, the others are replayed."""
    victim, other = run_ids(journal)
    sql(
        journal,
        "UPDATE events SET data = json_set(data, ?, json(?)) WHERE run_id = ? AND seq = 3",
        path,
        value,
        victim,
    )
    code, out = ido("replay", victim)
    assert code == 2, out
    assert f"run {victim}, event 3 (decided): {said}, not as ido records it" in out
    assert "edited by hand" in out and "ido verify" in out
    _, out = ido("replay", victim, other)
    assert f"{victim}  ship-order  cannot be replayed: run {victim}, event 3 (decided)" in out
    assert f"{other}  ship-order  identical" in out, out


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_listing_runs_with_a_decision_edited_into_no_json_names_the_run_and_event(
    journal: Path, fmt: str
) -> None:
    victim = run_ids(journal)[0]
    sql(
        journal, "UPDATE events SET data = 'not json' WHERE run_id = ? AND kind = 'decided'", victim
    )
    code, out = ido("runs", "--format", fmt)
    assert code == 2, out
    assert f"run {victim}, event 3 (decided) holds no JSON object" in out
    assert "edited by hand" in out and "ido verify" in out


@pytest.mark.parametrize("calls", ['["abc"]', '"abc"'])
def test_listing_runs_with_model_calls_edited_into_text_names_the_run_and_event(
    journal: Path, calls: str
) -> None:
    """A decision that is JSON as a whole whose model calls were edited into text: SQLite
    read each call as JSON and `ido runs` said only `malformed JSON`, naming nothing."""
    victim = run_ids(journal)[0]
    llm = f'{{"planner": "llm", "verdict": "accepted", "calls": {calls}}}'
    sql(
        journal,
        "UPDATE events SET data = json_set(data, '$.result.solver.llm', json(?)) "
        "WHERE run_id = ? AND seq = 3",
        llm,
        victim,
    )
    code, out = ido("runs")
    assert code == 2, out
    assert f"run {victim}, event 3 (decided): its model calls are not calls with replies" in out
    assert "edited by hand" in out and "ido verify" in out


def test_a_runs_events_all_removed_are_not_passed_off_as_recorded_before_chaining(
    journal: Path,
) -> None:
    victim = run_ids(journal)[0]
    sql(journal, "DELETE FROM events WHERE run_id = ?", victim)
    code, out = ido("verify")
    assert code == 1, out
    assert f"broken: run {victim}, its row: the run has no events" in out
    assert "0 recorded before chaining" in out


def test_a_runs_row_removed_leaving_its_events_is_reported(journal: Path) -> None:
    victim, other = run_ids(journal)
    sql(journal, "DELETE FROM runs WHERE id = ?", victim)
    code, out = ido("verify")
    assert code == 1, out
    assert f"broken: run {victim}, its row: its events are in the journal, its row is not" in out
    assert other not in out
    code, out = ido("verify", "--format", "json")
    assert code == 1 and [b["run"] for b in json.loads(out)["broken"]] == [victim]


def test_a_row_with_no_id_neither_hides_a_runs_removed_row_nor_stops_verify(
    journal: Path,
) -> None:
    """SQLite lets a TEXT primary key be NULL: a run's row removed, and a row with no id
    put in, dated before chaining, read as intact (its events' run, `NOT IN` a list
    holding NULL, was never found missing), and ido verify then stopped on a traceback.
    Both rows are reported now."""
    victim, other = run_ids(journal)
    sql(journal, "DELETE FROM runs WHERE id = ?", victim)
    sql(
        journal,
        "INSERT INTO runs (id, intent, started_at) VALUES (NULL, 'ship-order', ?)",
        "2000-01-01T00:00:00.000+00:00",
    )
    code, out = ido("verify")
    assert code == 1, out
    assert f"broken: run {victim}, its row: its events are in the journal, its row is not" in out
    assert "broken: run (no id), its row: it has no id (NULL), started " in out, out
    assert other not in out
    code, out = ido("verify", "--format", "json")
    assert code == 1, out
    assert sorted(b["run"] for b in json.loads(out)["broken"]) == sorted(["(no id)", victim])


def test_runs_recorded_before_chaining_stay_so_in_an_archive_made_earlier(
    journal: Path, project: Path
) -> None:
    """An archive shared by two journals: made (chained) by pruning the first, it takes
    later the runs of the second, an older journal whose runs were recorded after it was
    made but before that journal began chaining."""
    assert ido("prune", "--keep", "1", "--archive", "shared.db")[0] == 0  # made now
    other = project / "other.db"
    assert ido("run", "ship-order", "ship-order", "--journal", str(other))[0] == 0
    _as_before_chaining(other)
    both = set(run_ids(other))
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    pruned = ido("prune", "--before", tomorrow, "--journal", str(other), "--archive", "shared.db")
    assert pruned[0] == 0 and "pruned 1 run" in pruned[1], pruned[1]
    # The one pruned (the newest stays): the two start in the same second as a rule, and
    # which of two run ids of one second sorts first is chance.
    (old,) = both - set(run_ids(other))
    code, out = ido("verify", "--journal", "shared.db")
    assert code == 0, out
    assert f"recorded before chaining (their events have no hashes; nothing to check): {old}" in out


def test_a_run_begun_before_chaining_and_written_since_moves_into_an_archive_made_earlier(
    journal: Path, project: Path
) -> None:
    """A run an older ido began (no hashes) that the newer one wrote to after upgrading
    the journal (an approval, a resume: chained from there) was refused by the archive's
    guard, its first events recorded after the archive began chaining with no hash, and
    the prune failed saying an older ido may not record runs in it."""
    assert ido("prune", "--keep", "1", "--archive", "shared.db")[0] == 0  # made now
    other = project / "other.db"
    assert ido("run", "ship-order", "ship-order", "--journal", str(other))[0] == 0
    _as_before_chaining(other)
    both = set(run_ids(other))
    at = datetime.now(UTC).isoformat(timespec="milliseconds")
    with SqliteJournal(other) as store:  # upgraded, and each run written since: chained on
        for run_id in both:
            store.append(run_id, "note", at, {"said": "after the upgrade"})
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    pruned = ido("prune", "--before", tomorrow, "--journal", str(other), "--archive", "shared.db")
    assert pruned[0] == 0 and "pruned 1 run" in pruned[1], pruned[1]
    code, out = ido("verify", "--journal", "shared.db")
    assert code == 0, out


def test_a_run_ending_while_it_is_verified_is_not_reported_broken(
    journal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ido verify read every run's row first, each run's events later: a run that ended
    in between (a real write, from another connection) read as a row saying it runs and
    events saying it ended. It reads them all in one snapshot now, the run that ends
    after the first run was checked (the last recorded) as it was."""
    at = "2026-12-07T03:00:00.000+00:00"
    with SqliteJournal(journal) as store:
        store.start_run("r-live", "ship-order", at, {"intent": "ship-order"})
    chains = SqliteJournal.chains

    def then_the_run_ends(self: SqliteJournal) -> Iterator[object]:
        found = chains(self)
        yield next(found)
        with SqliteJournal(journal) as other:
            other.finish_run("r-live", "achieved", None, 0.5, 1.0, at)
        yield from found

    monkeypatch.setattr(SqliteJournal, "chains", then_the_run_ends)
    code, out = ido("verify")
    assert code == 0, out
    assert "3 runs checked: 3 intact" in out


def test_a_kept_scenario_run_of_a_schema_3_journal_reads_as_recorded_before_chaining(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upgrading from schema 3 dates a kept scenario's run (its virtual start ahead) by
    the time of the upgrade, and the journal's chaining start by the same clock: in the
    same millisecond, the run read as recorded since chaining, its hashes removed."""
    import ido.journal.opening as opening

    monkeypatch.chdir(Path(__file__).resolve().parent.parent)  # the demo catalog
    journal = tmp_path / "j.db"
    ido("scenario", "run", "scenarios/stripe-outage.yaml", "--quiet", "--journal", str(journal))
    sql(journal, "DROP TRIGGER events_chained")
    sql(journal, "DROP INDEX runs_recorded")
    sql(journal, "ALTER TABLE runs DROP COLUMN recorded_at")
    _as_before_chaining(journal)
    sql(journal, "UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    clock = SimpleNamespace(time=lambda: 1796612400.0, sleep=time.sleep)  # one moment
    monkeypatch.setattr(opening, "time", clock)
    SqliteJournal(journal).close()  # upgraded to schema 5
    code, out = ido("verify", "--journal", str(journal))
    assert code == 0, out
    assert "0 intact, 1 recorded before chaining, 0 broken" in out


def test_the_counts_of_a_long_journal_have_their_thousands_set_apart(tmp_path: Path) -> None:
    """`19797 runs checked: 19797 intact` read as one number; one run was `1 runs`."""
    from ido.journal import SqliteJournal

    journal = tmp_path / "ido.db"
    with SqliteJournal(journal) as store:
        store.start_run("r-one", "load-eu", "2026-12-06T00:00:00.000+00:00", {})
    out = CliRunner().invoke(app, ["verify", "--journal", str(journal)]).output
    assert "1 run checked: 1 intact" in out, out
    with SqliteJournal(journal) as store:
        for n in range(1000):
            store.start_run(f"r{n:04d}", "load-eu", "2026-12-06T00:00:00.000+00:00", {})
    out = CliRunner().invoke(app, ["verify", "--journal", str(journal)]).output
    assert "1,001 runs checked: 1,001 intact, 0 recorded before chaining, 0 broken" in out, out


def test_verify_holds_a_few_catalogs_at_once_not_every_one_the_journal_names(
    tmp_path: Path,
) -> None:
    """ido verify kept the text of every catalog it had read until it ended: a journal of
    40 runs, each of a catalog of its own, held 40 at once (a year of a big catalog edited
    now and then, gigabytes). It keeps a few, as a run's catalog is most often the last
    one's."""
    import tracemalloc

    path = tmp_path / "ido.db"
    with SqliteJournal(path) as store:
        for i in range(40):
            at = f"2026-12-07T12:00:{i:02d}.000+00:00"
            digests = {f"cap-{k:05d}": f"{k * 7919 + i:012x}" for k in range(10_000)}
            store.start_run(f"r-{i:02d}", "x", at, {"intent": "x", "capabilities": digests})
            store.finish_run(f"r-{i:02d}", "achieved", None, 0.0, 1.0, at)
        text = store.chain_of("r-00")[2] or ""  # (the text of the first run's catalog)
    assert len(text) > 250_000
    assert ido("verify", "--journal", str(path))[0] == 0  # (what it imports, made before)
    tracemalloc.start()
    try:
        code, out = ido("verify", "--journal", str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 0 and "40 runs checked: 40 intact" in out, out
    assert peak < 20 * len(text), f"{peak:,} bytes at most, a catalog {len(text):,}"


@pytest.mark.parametrize("archived", [False, True])
def test_a_damaged_index_the_chains_do_not_read_is_reported_apart_from_broken_runs(
    journal: Path, project: Path, archived: bool
) -> None:
    """verify read the runs and their events, not the file: a damaged index of the runs'
    start times passed as `2 intact`, exit 0. SQLite's check of the file now names it,
    exit 2 (a broken run is 1), nothing written to it, as in an archive."""
    db = sqlite3.connect(journal)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (page,) = db.execute("SELECT pageno FROM dbstat WHERE name = 'runs_started'").fetchone()
    db.close()
    damaged = journal
    if archived:
        damaged = project / "archive.db"
        damaged.write_bytes(journal.read_bytes())
    with damaged.open("r+b") as file:
        file.seek((page - 1) * 4096 + 8)  # where the index's first row is
        file.write(b"\xff\xff")
    before = damaged.read_bytes()
    code, out = ido("verify", *(["--archive", str(damaged)] if archived else []))
    assert code == 2, out
    if archived:  # (the journal's findings first: the archive's damage hid them)
        first, out = out.split("\n", 1)
        assert first.endswith("2 runs checked: 2 intact, 0 recorded before chaining, 0 broken")
    assert out.startswith(  # (what SQLite found: `On tree page 7 cell 0: Offset 65535 …`)
        f"error: journal {damaged.relative_to(project) if not archived else damaged} is damaged ("
    ), out
    assert "; nothing was written to it. Restore it from a copy or an archive" in out
    assert damaged.read_bytes() == before


def test_a_damaged_archive_does_not_hide_the_journal_s_broken_runs(
    journal: Path, project: Path
) -> None:
    """A damaged `--archive` stopped verify before its report: a run of the journal edited
    by hand went untold, in text and JSON."""
    archive = project / "archive.db"
    archive.write_bytes(b"these are my notes, not a journal" * 200)
    victim = run_ids(journal)[0]
    sql(journal, "UPDATE runs SET cost = 0.01 WHERE id = ?", victim)
    code, out = ido("verify", "--archive", str(archive))
    assert code == 2, out
    assert f"broken: run {victim}" in out, out
    assert f"error: journal {archive} is damaged, or no journal" in out, out
    code, out = ido("verify", "--archive", str(archive), "--format", "json")
    assert code == 2, out
    told = json.loads(out[: out.rindex("}") + 1])
    assert [b["run"] for b in told["broken"]] == [victim]
    assert told["damaged"][0]["file"] == str(archive) and not told["ok"]


def test_a_damaged_journal_alone_is_still_told_in_json(journal: Path, project: Path) -> None:
    """With every file damaged (the journal, no archive) `--format json` printed no JSON,
    the error alone, where a damaged archive beside a readable journal is in `damaged`."""
    journal.write_bytes(b"these are my notes, not a journal" * 200)
    code, out = ido("verify", "--format", "json")
    assert code == 2, out
    told = json.loads(out[: out.rindex("}") + 1])
    assert [d["file"] for d in told["damaged"]] == [str(journal.relative_to(project))], told
    assert not told["ok"] and told["runs"] == 0, told
    assert "is damaged, or no journal" in out, out
