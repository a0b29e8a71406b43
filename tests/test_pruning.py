"""Pruning the journal: old ended runs go (into an archive, if asked), the rest stays."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.journal import SqliteJournal

runner = CliRunner()
OLD = "2020-01-01T00:00:00.000+00:00"
RULE = (
    "    - id: big-spend\n      effect: require_approval\n"
    "      when: \"capability.name == 'ship'\"\n      message: Shipping needs a human.\n"
)


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def ido_process(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """ido as a process of its own: one a crash hook kills, or one writing beside a test."""
    return subprocess.run(
        [sys.executable, "-m", "ido", *args],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def age(journal: Path, run_ids: list[str]) -> None:
    """Make these runs old: started on New Year's Day 2020."""
    with sqlite3.connect(journal) as db:
        db.executemany("UPDATE runs SET started_at = ? WHERE id = ?", [(OLD, r) for r in run_ids])
    db.close()


def outcomes(journal: Path) -> dict[str, str | None]:
    with SqliteJournal(journal) as store:
        return {row.id: row.outcome for row in store.runs(1000)}


@pytest.fixture
def history(project: Path) -> dict[str, str]:
    """Old runs of every kind (achieved, failed, blocked, interrupted) and one recent
    achieved run, recorded last; run ids by kind."""
    journal = project / ".ido" / "ido.db"
    ids: dict[str, str] = {}
    intent = project / "intents" / "ship-order.yaml"  # an old run is past any deadline
    intent.write_text(intent.read_text().replace(" deadline: 30s,", ""))

    def last() -> str:
        with SqliteJournal(journal) as store:
            return store.resolve("last")

    assert ido("run", "ship-order")[0] == 0
    ids["achieved"] = last()
    (project / "intents" / "too-cheap.yaml").write_text(
        intent.read_text().replace("name: ship-order", "name: too-cheap").replace("5.0", "0.1")
    )
    assert ido("run", "too-cheap")[0] == 4  # no plan, nothing performed
    ids["failed"] = last()
    policy = project / "policies" / "residency.yaml"
    original = policy.read_text()
    policy.write_text(original + RULE)
    assert ido("run", "ship-order")[0] == 3
    ids["blocked"] = last()
    policy.write_text(original)
    killed = ido_process(project, "run", "ship-order", IDO_CRASH_AFTER_EVENTS="1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    ids["interrupted"] = last()
    age(journal, list(ids.values()))
    assert ido("run", "ship-order")[0] == 0
    ids["recent"] = last()
    return ids


def test_only_ended_unblocked_runs_started_before_the_date_go(
    project: Path, history: dict[str, str]
) -> None:
    journal = project / ".ido" / "ido.db"
    with SqliteJournal(journal) as store:
        store.put("a-request", {"answer": 42})
        health = store.health()
    assert health  # the runs taught it something
    code, out = ido("prune", "--before", "2021-01-01")
    assert code == 0, out
    assert out.startswith("pruned 2 runs from before 2021-01-01 (")
    assert "MB → " in out and "MB\n" in out
    left = outcomes(journal)
    assert set(left) == {history["blocked"], history["interrupted"], history["recent"]}
    with SqliteJournal(journal) as store:
        assert store.health() == health
        assert store.get("a-request") == {"answer": 42}
        assert store.events(history["achieved"]) == []
    ido("approve", history["blocked"], "--by", "alice", "--comment", "fine")
    code, out = ido("resume", history["blocked"])
    assert code == 0, out
    code, out = ido("resume", history["interrupted"])
    assert code == 0, out
    assert outcomes(journal)[history["interrupted"]] == "achieved"


def test_the_archive_is_a_journal_that_runs_explain_and_audit_read(
    project: Path, history: dict[str, str]
) -> None:
    archive = project / "old" / "2020.db"
    code, out = ido("prune", "--before", "2021-01-01", "--archive", str(archive))
    assert code == 0, out
    assert out.rstrip().endswith(f"; archived to {archive}")
    assert outcomes(archive) == {history["achieved"]: "achieved", history["failed"]: "failed"}
    code, listed = ido("runs", "--journal", str(archive))
    assert code == 0 and history["achieved"] in listed and history["failed"] in listed
    code, told = ido("explain", history["failed"], "--journal", str(archive))
    assert code == 0 and "failed" in told and "decision 1" in told
    code, report = ido("audit", "--journal", str(archive))
    assert code == 0 and "2 run(s)" in report


def test_pruning_again_after_a_crash_between_copy_and_removal_copies_nothing_twice(
    project: Path, history: dict[str, str]
) -> None:
    """The archive commits first: a crash before the journal's removal left the runs in
    both, as restoring the journal's copy from before the prune does here."""
    journal = project / ".ido" / "ido.db"
    archive = project / "archive.db"
    shutil.copy(journal, project / "before.db")
    assert ido("prune", "--before", "2021-01-01", "--archive", str(archive))[0] == 0
    with SqliteJournal(archive) as store:
        kept = {row.id: store.events(row.id) for row in store.runs()}
    shutil.copy(project / "before.db", journal)
    code, out = ido("prune", "--before", "2021-01-01", "--archive", str(archive))
    assert code == 0 and out.startswith("pruned 2 runs"), out
    with SqliteJournal(archive) as store:
        assert {row.id: store.events(row.id) for row in store.runs()} == kept
    code, out = ido("prune", "--before", "2021-01-01", "--archive", str(archive))
    assert (code, out) == (0, "no ended run from before 2021-01-01; nothing pruned\n")


def test_a_dry_run_says_what_would_go_and_changes_nothing(
    project: Path, history: dict[str, str]
) -> None:
    journal = project / ".ido" / "ido.db"
    digest = hashlib.sha256(journal.read_bytes()).hexdigest()
    code, out = ido("prune", "--before", "2021-01-01", "--dry-run")
    assert code == 0, out
    assert out.startswith(f"would prune 2 runs from before 2021-01-01 (from {OLD} to {OLD};")
    assert out.rstrip().endswith("of event data); nothing removed")
    assert hashlib.sha256(journal.read_bytes()).hexdigest() == digest
    assert len(outcomes(journal)) == 5


SOON = "in three days"


@pytest.mark.parametrize(
    ("before", "said"),
    [
        ("2019-12-31", "no ended run from before 2019-12-31; nothing pruned"),
        ("2999-01-01", "2999-01-01 is in the future (today is "),
        (SOON, "{} is in the future (today is "),
    ],
)
def test_a_date_with_nothing_before_it_or_in_the_future_prunes_nothing(
    project: Path, history: dict[str, str], before: str, said: str
) -> None:
    """A date a few days ahead is reckoned when the test runs, not when it is
    collected: a suite started before midnight once found its "day after tomorrow"
    had become tomorrow, and runs from today pruned. Three days ahead stays in the
    future across one midnight between reckoning and asking."""
    if before == SOON:
        before = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
        said = said.format(before)
    journal = project / ".ido" / "ido.db"
    digest = hashlib.sha256(journal.read_bytes()).hexdigest()
    code, out = ido("prune", "--before", before)
    assert code == 0 and out.startswith(said), out
    assert hashlib.sha256(journal.read_bytes()).hexdigest() == digest


def test_nothing_pruned_names_the_newest_run_only_when_it_alone_stayed(
    project: Path, history: dict[str, str]
) -> None:
    """ "but for the newest (it always stays)" was said of every prune that removed
    nothing, also when no run had started before the date: as if one had been kept."""
    journal = project / ".ido" / "ido.db"
    assert ido("prune", "--before", "2021-01-01")[1].startswith("pruned 2 runs")
    code, out = ido("prune", "--before", "2021-01-01")
    assert (code, out) == (0, "no ended run from before 2021-01-01; nothing pruned\n")
    age(journal, [history["recent"]])
    code, out = ido("prune", "--before", "2021-01-01")
    assert (code, out) == (
        0,
        "no ended run from before 2021-01-01, but for the newest (it always stays); "
        "nothing pruned\n",
    )


def test_a_missing_journal_a_bad_date_and_a_foreign_archive_are_errors(
    project: Path, history: dict[str, str]
) -> None:
    journal = project / ".ido" / "ido.db"
    code, out = ido("prune", "--before", "2021-01-01", "--journal", "nowhere.db")
    assert code == 2 and "error: no journal at nowhere.db" in out
    code, out = ido("prune", "--before", "last year")
    assert code == 2 and "'last year' is not a date" in out
    foreign = project / "other.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE orders (id INTEGER)")
    db.close()
    code, out = ido("prune", "--before", "2021-01-01", "--archive", str(foreign))
    assert code == 2 and "is a SQLite database but not an ido journal" in out
    code, out = ido("prune", "--before", "2021-01-01", "--archive", str(journal))
    assert code == 2 and "is the journal itself" in out
    assert len(outcomes(journal)) == 5


def test_a_write_that_holds_the_lock_during_the_prune_waits_and_both_land(
    project: Path, history: dict[str, str]
) -> None:
    """Another process holds the journal's write lock as the prune begins: the prune waits
    on SQLite's busy timeout instead of failing, and the other write is kept."""
    journal = project / ".ido" / "ido.db"
    holding, release = threading.Event(), threading.Event()

    def write() -> None:
        db = sqlite3.connect(journal, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO health VALUES ('elsewhere', 1, 0, NULL, 0)")
        holding.set()
        release.wait(10)
        db.execute("COMMIT")
        db.close()

    other = threading.Thread(target=write)
    other.start()
    assert holding.wait(10)
    threading.Timer(0.5, release.set).start()
    code, out = ido("prune", "--before", "2021-01-01")
    other.join()
    assert code == 0 and out.startswith("pruned 2 runs"), out
    with SqliteJournal(journal) as store:
        assert "elsewhere" in store.health()


def test_runs_recorded_while_pruning_all_land(project: Path, history: dict[str, str]) -> None:
    """`ido run` in another process goes on while runs are pruned and the journal rewritten
    (VACUUM): its writes wait for the lock, none fails."""
    journal = project / ".ido" / "ido.db"
    writer = subprocess.Popen(
        [sys.executable, "-m", "ido", "run", *["ship-order"] * 40, "--quiet"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    prunes = 0
    while writer.poll() is None:
        with SqliteJournal(journal) as store:  # the runs ended so far become old
            ended = [r.id for r in store.runs(1000) if r.outcome == "achieved"]
        age(journal, ended)
        code, out = ido("prune", "--before", "2021-01-01")
        assert code == 0, out
        prunes += out.startswith("pruned")
    out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    assert out.count("achieved: run") == 40
    assert prunes >= 2
    left = outcomes(journal)
    assert history["blocked"] in left and history["interrupted"] in left


def test_the_run_holding_the_newest_event_stays_so_event_numbers_only_grow(
    project: Path, history: dict[str, str]
) -> None:
    """`ido runner` reads the approvals recorded after the newest event it saw; SQLite
    numbers a new event one past the largest left, so that one must never go."""
    journal = project / ".ido" / "ido.db"
    age(journal, [history["recent"]])
    with SqliteJournal(journal) as store:
        mark, _ = store.approvals_since(-1)
    code, out = ido("prune", "--before", "2021-01-01")
    assert code == 0 and out.startswith("pruned 2 runs"), out
    assert history["recent"] in outcomes(journal)
    with SqliteJournal(journal) as store:
        assert store.approvals_since(-1)[0] == mark


def test_an_archive_that_cannot_be_written_is_named_and_nothing_is_removed(
    project: Path, history: dict[str, str]
) -> None:
    """The archive's disk full (here: a trigger that fails its writes as a full disk does)
    was told as the journal's, `journal .ido/ido.db: disk I/O error`, though the journal
    was only read."""
    archive = project / "2020.db"
    SqliteJournal(archive).close()
    with sqlite3.connect(archive) as db:
        db.execute(
            "CREATE TRIGGER full BEFORE INSERT ON events "
            "BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END"
        )
    db.close()
    code, out = ido("prune", "--before", "2021-01-01", "--archive", str(archive))
    assert code == 2, out
    assert out == (
        f"error: cannot copy the runs into archive {archive}: database or disk is full; "
        "nothing was removed from journal .ido/ido.db\n"
    )
    assert history["achieved"] in outcomes(project / ".ido" / "ido.db")


def test_a_removal_the_journal_refuses_says_nothing_was_removed(
    project: Path, history: dict[str, str]
) -> None:
    """The journal's disk full as the runs were removed (here: a trigger that fails the
    removal as a full disk does) said `journal .ido/ido.db: disk I/O error` alone, leaving
    whether some runs were gone to guesswork."""
    journal = project / ".ido" / "ido.db"
    with sqlite3.connect(journal) as db:
        db.execute(
            "CREATE TRIGGER full BEFORE DELETE ON events "
            "BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END"
        )
    db.close()
    code, out = ido("prune", "--before", "2021-01-01")
    assert (code, out) == (
        2,
        "error: journal .ido/ido.db: database or disk is full; nothing was removed\n",
    )
    assert history["achieved"] in outcomes(journal)


@pytest.mark.parametrize("where", ["file", "folder"])
def test_an_archive_ido_may_not_write_is_named_as_the_archive(
    project: Path, history: dict[str, str], where: str
) -> None:
    """It was told as a journal, with a journal's advice: `journal a.db can be read but not
    written …; to run, give --journal a journal ido may write`, or, in a read-only folder,
    `cannot open journal ro/new.db: unable to open database file`."""
    if shutil.which("chattr") is None:
        pytest.skip("no chattr to make a file read-only")
    folder = project / "ro"
    folder.mkdir()
    archive = folder / "2020.db"
    if where == "file":
        SqliteJournal(archive).close()
    frozen = archive if where == "file" else folder
    if subprocess.run(["chattr", "+i", str(frozen)], check=False).returncode != 0:
        pytest.skip("chattr +i is not supported here")
    try:
        code, out = ido("prune", "--before", "2021-01-01", "--archive", str(archive))
    finally:
        subprocess.run(["chattr", "-i", str(frozen)], check=True)
    made = "written" if where == "file" else f"made in {folder}"
    assert (code, out) == (
        2,
        f"error: archive {archive} cannot be {made} (permission denied: a read-only file, "
        "folder or mount?); nothing was pruned: give --archive a file ido may write\n",
    )
    assert history["achieved"] in outcomes(project / ".ido" / "ido.db")


def test_the_journal_under_another_name_is_no_archive(
    project: Path, history: dict[str, str]
) -> None:
    """Found in review: a hard link to the journal passed the check of names, the copy
    into it copied nothing (the runs were there already), and then the runs were removed
    from both."""
    journal = project / ".ido" / "ido.db"
    linked = project / "linked.db"
    os.link(journal, linked)
    for extra in ([], ["--dry-run"]):
        code, out = ido("prune", "--before", "2021-01-01", "--archive", str(linked), *extra)
        assert code == 2 and "is the journal itself" in out, out
    assert history["achieved"] in outcomes(journal)


def test_a_runner_watching_the_journal_goes_on_past_a_prune(
    project: Path, history: dict[str, str]
) -> None:
    """Found in review: the runner asked after a run it remembered that the prune had
    removed, and stopped with `run … not found`; and giving the space back may number the
    events afresh, under the mark of the newest event it had seen."""
    import time

    from ido.runner import Runner

    journal = project / ".ido" / "ido.db"
    resumed: list[str] = []
    with SqliteJournal(journal) as store:
        watcher = Runner(store, resumed.append, time.time)
        watcher.poll()
        watcher._again.add(history["achieved"])  # a run it would look at again
        assert ido("prune", "--before", "2021-01-01")[0] == 0
        ido("approve", history["blocked"], "--by", "alice")
        assert watcher.poll() == [history["blocked"]]  # seen, though the journal was rewritten
        assert watcher._mark is not None and store.prunes() == 1


ROOT = Path(__file__).resolve().parents[1]


def keep_scenario(journal: Path, recorded: str) -> str:
    """Run a shipped scenario kept in `journal`, as if recorded at `recorded`; its run id."""
    from ido.journal import epoch
    from ido.scenario.runner import load_scenarios, run_scenario

    ((scenario, catalog),) = load_scenarios(
        ROOT / "scenarios" / "stripe-outage.yaml",
        [ROOT / d for d in ("intents", "capabilities", "policies")],
    )
    with SqliteJournal(journal) as store:
        result = run_scenario(
            scenario, catalog, base=ROOT, journal=store, wall_clock=lambda: epoch(recorded)
        )
    return result.report.run_id


def test_a_kept_scenario_run_goes_by_when_it_was_recorded_not_its_virtual_clock(
    tmp_path: Path,
) -> None:
    """A scenario's run is stamped with its virtual clock (2027): pruning and `ido runs`
    go by when it was recorded, so one kept in 2020 is pruned before 2021 and listed
    below one kept since, whatever their virtual times."""
    journal = tmp_path / "ido.db"
    recent = keep_scenario(journal, "2026-12-01T10:00:00.000+00:00")
    old = keep_scenario(journal, OLD)
    newest = keep_scenario(journal, "2026-12-02T10:00:00.000+00:00")
    assert old.startswith("s-stripe-outage-1-r20200101-000000-")  # its id says when, too
    code, out = ido("runs", "--journal", str(journal))
    assert code == 0, out
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == [newest, recent, old]
    assert lines[3].endswith(f"{OLD} (scenario)")
    code, out = ido("prune", "--before", "2021-01-01", "--journal", str(journal))
    assert code == 0, out
    assert out.startswith("pruned 1 run from before 2021-01-01 (")
    assert set(outcomes(journal)) == {recent, newest}
    with SqliteJournal(journal) as store:  # its own times are still the virtual clock's
        assert store.run(recent).started_at.startswith("2027-01-15T08:00:00")


def test_a_scenario_run_kept_before_schema_4_counts_as_recorded_when_upgraded(
    tmp_path: Path,
) -> None:
    """A journal an older ido kept a scenario's run in said only its virtual start: the
    upgrade stamps it with the upgrade's time, so that it can be pruned at all."""
    journal = tmp_path / "ido.db"
    kept = keep_scenario(journal, "2026-12-01T10:00:00.000+00:00")
    with sqlite3.connect(journal) as db:  # as schema 3 held it
        db.execute("DROP TRIGGER events_chained")
        db.execute("DROP INDEX runs_recorded")
        db.execute("ALTER TABLE runs DROP COLUMN recorded_at")
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    db.close()
    with SqliteJournal(journal) as store:
        (row,) = store.runs()
    assert row.id == kept and row.recorded_at is not None
    assert row.recorded_at < "2027" and row.started_at.startswith("2027-01-15")


def test_tomorrow_prunes_today_s_runs(project: Path, history: dict[str, str]) -> None:
    """Any DATE past today was refused as in the future, so a run started today could
    never be pruned; tomorrow takes them (but the newest, which always stays)."""
    journal = project / ".ido" / "ido.db"
    assert ido("run", "ship-order")[0] == 0  # today's, and now the newest
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    code, out = ido("prune", "--before", tomorrow)
    assert code == 0 and out.startswith(f"pruned 3 runs from before {tomorrow}"), out
    assert history["recent"] not in outcomes(journal)


def test_nothing_pruned_names_a_kept_scenario_run_spared_as_the_newest(tmp_path: Path) -> None:
    """A kept scenario run is pruned by when it was recorded, but whether it was the newest
    run spared was asked of its virtual start (2027): "but for the newest" went unsaid."""
    journal = tmp_path / "ido.db"
    keep_scenario(journal, OLD)
    for dry in ([], ["--dry-run"]):
        code, out = ido("prune", "--before", "2021-01-01", "--journal", str(journal), *dry)
        assert (code, out) == (
            0,
            "no ended run from before 2021-01-01, but for the newest (it always stays); "
            "nothing pruned\n",
        )


def journal_of(path: Path, runs: list[tuple[str, str | None]]) -> Path:
    """A journal of these runs (id, outcome: None not ended), one a day from 2026-11-01,
    in order: the last is the newest."""
    with SqliteJournal(path) as store:
        for n, (run_id, outcome) in enumerate(runs):
            at = (datetime(2026, 11, 1, 12, tzinfo=UTC) + timedelta(days=n)).isoformat(
                timespec="milliseconds"
            )
            store.start_run(run_id, "load-eu", at, {})
            if outcome is not None:
                store.finish_run(run_id, outcome, None, 0.0, 1.0, at)
    return path


KINDS: list[tuple[str, str | None]] = [
    ("r1", "achieved"),
    ("r2", "blocked"),
    ("r3", None),
    ("r4", "failed"),
    ("r5", "shadow"),
    ("r6", "achieved"),
    ("r7", "blocked"),
    ("r8", "achieved"),
]


def test_keep_prunes_the_ended_runs_older_than_the_newest_n(tmp_path: Path) -> None:
    """The newest N runs stay, whatever their outcome; of the older ones, the blocked and
    the not ended stay too."""
    journal = journal_of(tmp_path / "ido.db", KINDS)
    code, out = ido("prune", "--keep", "3", "--journal", str(journal))
    assert code == 0 and out.startswith(
        "pruned 3 runs older than the newest 3 (6 events); 5 runs kept; journal "
    ), out
    assert sorted(outcomes(journal)) == ["r2", "r3", "r6", "r7", "r8"]
    code, out = ido("prune", "--keep", "3", "--journal", str(journal))
    assert (code, out) == (0, "no ended run older than the newest 3; nothing pruned\n")


def test_keep_with_before_prunes_only_the_runs_both_allow(tmp_path: Path) -> None:
    """r1 and r4 started before 2026-11-05 and are older than the newest 2; r5 and r6 are
    older than the newest 2 but started on or after that day."""
    journal = journal_of(tmp_path / "ido.db", KINDS)
    code, out = ido("prune", "--before", "2026-11-05", "--keep", "2", "--journal", str(journal))
    assert code == 0 and out.startswith(
        "pruned 2 runs from before 2026-11-05 and older than the newest 2 (4 events); 6 runs kept;"
    ), out
    assert sorted(outcomes(journal)) == ["r2", "r3", "r5", "r6", "r7", "r8"]


def test_keep_in_a_dry_run_removes_nothing_and_with_an_archive_copies_first(
    tmp_path: Path,
) -> None:
    journal = journal_of(tmp_path / "ido.db", KINDS)
    code, out = ido("prune", "--keep", "4", "--dry-run", "--journal", str(journal))
    assert (code, out.split(" (")[0]) == (0, "would prune 2 runs older than the newest 4"), out
    assert out.endswith("; 6 runs would stay; nothing removed\n"), out
    assert len(outcomes(journal)) == 8
    archive = tmp_path / "archive.db"
    code, out = ido("prune", "--keep", "4", "--archive", str(archive), "--journal", str(journal))
    assert code == 0 and out.endswith(f"; archived to {archive}\n"), out
    assert sorted(outcomes(archive)) == ["r1", "r4"]
    assert sorted(outcomes(journal)) == ["r2", "r3", "r5", "r6", "r7", "r8"]


def test_keep_counts_the_newest_of_a_long_journal(tmp_path: Path) -> None:
    """Of 300 ended runs, the newest 50 stay: those `ido runs --limit 50` lists."""
    journal = journal_of(tmp_path / "ido.db", [(f"r{n:03d}", "achieved") for n in range(300)])
    code, out = ido("prune", "--keep", "50", "--journal", str(journal))
    assert code == 0 and out.startswith("pruned 250 runs older than the newest 50"), out
    assert sorted(outcomes(journal)) == [f"r{n:03d}" for n in range(250, 300)]


def test_prune_without_before_or_keep_is_refused(tmp_path: Path) -> None:
    journal = journal_of(tmp_path / "ido.db", KINDS)
    code, out = ido("prune", "--journal", str(journal))
    assert code == 2 and "give --before DATE, --keep N or both" in out, out
    assert len(outcomes(journal)) == 8


def test_an_archive_that_is_a_folder_is_named_as_the_archive(
    project: Path, history: dict[str, str]
) -> None:
    """`--archive dir.db`, a folder, was told as the journal ("journal dir.db is a
    folder"), though the journal was fine and the archive was the one to change."""
    folder = project / "dir.db"
    folder.mkdir()
    code, out = ido("prune", "--keep", "1", "--archive", str(folder))
    assert code == 2, out
    assert f"--archive {folder}: " in out and "nothing was pruned" in out, out
    assert len(outcomes(project / ".ido" / "ido.db")) == 5


@pytest.mark.parametrize("archive", ["other.db", "dir.db"])
def test_a_dry_run_refuses_the_archive_the_prune_would_refuse(
    project: Path, history: dict[str, str], archive: str
) -> None:
    """`--dry-run --archive` checked only that the archive was not the journal: it said
    "would prune 4 runs" of an archive that is another app's database or a folder, and the
    prune itself then refused it."""
    if archive == "dir.db":
        (project / archive).mkdir()
    else:
        with sqlite3.connect(project / archive) as db:
            db.execute("CREATE TABLE orders (id INTEGER)")
        db.close()
    code, out = ido("prune", "--before", "2021-01-01", "--archive", archive, "--dry-run")
    assert code == 2 and "would prune" not in out, out
    assert f"--archive {archive}: " in out and "nothing was pruned" in out, out
    assert ido("prune", "--before", "2021-01-01", "--archive", archive)[0] == 2


def test_an_archive_that_cannot_be_made_is_named_as_the_archive(
    project: Path, history: dict[str, str]
) -> None:
    """An archive named under a file said `cannot make journal notes/old.db (…); nothing was
    done: give --journal (or IDO_JOURNAL) a file …`, a journal's advice, for the archive."""
    (project / "notes").write_text("")
    code, out = ido("prune", "--before", "2021-01-01", "--archive", "notes/old.db")
    assert (code, out) == (
        2,
        "error: archive notes/old.db cannot be made (not a directory); nothing was pruned: "
        "give --archive a file ido may write\n",
    )


def test_an_archive_that_is_a_loop_of_links_is_said_so_without_a_traceback(
    project: Path, history: dict[str, str]
) -> None:
    """A link to itself as the archive: the check that it is not the journal stopped on a
    RuntimeError (Python 3.11's word for a loop of links) and ido printed a traceback."""
    (project / "loop").symlink_to("loop")
    code, out = ido("prune", "--before", "2021-01-01", "--archive", "loop")
    assert (code, out) == (
        2,
        "error: --archive loop: cannot open journal loop: unable to open database file; "
        "nothing was pruned\n",
    )
    assert history["achieved"] in outcomes(project / ".ido" / "ido.db")


@pytest.mark.parametrize("suffix", ["-wal", "-shm"])
def test_a_file_sqlite_keeps_beside_the_journal_is_no_archive(
    project: Path, history: dict[str, str], suffix: str
) -> None:
    """`--archive .ido/ido.db-wal` was taken: the runs were copied into the journal's
    write-ahead log, which SQLite removed as the journal closed, and the prune said
    `archived to .ido/ido.db-wal` of runs that were nowhere any more."""
    archive = f".ido/ido.db{suffix}"
    for extra in ([], ["--dry-run"]):
        code, out = ido("prune", "--before", "2021-01-01", "--archive", archive, *extra)
        assert (code, out) == (
            2,
            f"error: --archive {archive} is the journal itself (its {suffix} file); "
            "name another file\n",
        )
    assert history["achieved"] in outcomes(project / ".ido" / "ido.db")


SCHEMA_5 = Path(__file__).parent / "journal" / "schema5.sql"
"""Two runs as the ido of schema 5 journaled them (`tests/journal/test_catalogs.py`)."""


def older_journal(path: Path, version: int) -> Path:
    """A journal an older ido wrote, in WAL mode as ido keeps it: schema 5, or 3 (no
    `recorded_at`, no `hash`)."""
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA_5.read_text())
        if version == 3:
            db.execute("DROP INDEX runs_recorded")
            db.execute("ALTER TABLE runs DROP COLUMN recorded_at")
            db.execute("ALTER TABLE events DROP COLUMN hash")
            db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    return path


@pytest.mark.parametrize("version", [5, 3])
def test_a_dry_run_leaves_a_journal_of_an_older_schema_byte_for_byte(
    tmp_path: Path, version: int
) -> None:
    """`ido prune --dry-run` upgraded a journal an older ido wrote (a write), and that ido
    refused it from then on (`newer than this ido understands`): it is read as it is, says
    what would go, and the file is the same byte for byte; the prune itself upgrades it."""
    journal = older_journal(tmp_path / "ido.db", version)
    digest = hashlib.sha256(journal.read_bytes()).hexdigest()
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    for bound in (["--before", tomorrow], ["--keep", "1"]):
        code, out = ido("prune", *bound, "--journal", str(journal), "--dry-run")
        assert code == 0, out
        assert out.startswith("would prune 1 run "), out
        assert "(from 2026-12-07T05:07:25.346+00:00 to 2026-12-07T05:07:25.346+00:00;" in out
        assert hashlib.sha256(journal.read_bytes()).hexdigest() == digest
    with sqlite3.connect(journal) as db:
        version_kept = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    db.close()
    assert version_kept == [(str(version),)]
    code, out = ido("prune", "--keep", "1", "--journal", str(journal))
    assert code == 0 and out.startswith("pruned 1 run older than the newest 1"), out


def test_before_takes_a_moment_and_a_time_ago(tmp_path: Path) -> None:
    """A retention of 30 days is `--before 30d`, not a date worked out by hand; a moment
    goes to the millisecond: r1 started at noon on 2026-11-01, r4 three days later."""
    journal = journal_of(tmp_path / "ido.db", KINDS)
    code, out = ido("prune", "--before", "2026-11-01T12:00", "--dry-run", "--journal", str(journal))
    assert (code, out) == (
        0,
        "no ended run from before 2026-11-01T12:00:00+00:00; nothing pruned\n",
    )
    code, out = ido("prune", "--before", "2026-11-01T12:00:01", "--journal", str(journal))
    assert code == 0 and out.startswith(
        "pruned 1 run from before 2026-11-01T12:00:01+00:00 (2 events); journal"
    ), out
    days = (datetime.now(UTC) - datetime(2026, 11, 4, 12, tzinfo=UTC)).days  # r4's age
    code, out = ido("prune", "--before", f"{days}d", "--journal", str(journal))
    assert code == 0 and out.startswith("pruned 1 run from before "), out
    assert sorted(outcomes(journal)) == ["r2", "r3", "r5", "r6", "r7", "r8"]


def test_a_dry_run_counts_events_as_it_counts_runs(tmp_path: Path) -> None:
    """`16,636 runs … 143452 events`: the events are counted with their thousands set
    apart too."""
    journal = journal_of(tmp_path / "ido.db", [(f"r{n:04d}", "achieved") for n in range(600)])
    code, out = ido("prune", "--keep", "1", "--dry-run", "--journal", str(journal))
    assert code == 0 and "would prune 599 runs older than the newest 1 (from " in out, out
    assert "; 1,198 events, " in out, out


def test_the_first_moment_of_tomorrow_prunes_as_tomorrow_does(
    project: Path, history: dict[str, str]
) -> None:
    """`--before` is at latest tomorrow, but its first moment (`2026-12-08T00:00`, or the
    same moment in another zone) was refused as in the future, the refusal naming that
    very day as the latest allowed; a moment past it is refused still."""
    journal = project / ".ido" / "ido.db"
    assert ido("run", "ship-order")[0] == 0  # today's, and now the newest
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    later = f"{tomorrow.isoformat()}T00:00:00.001"
    code, out = ido("prune", "--before", later, "--dry-run")
    assert code == 0 and out.startswith(f"{tomorrow.isoformat()}T00:00:00+00:00 is in the fut")
    code, out = ido("prune", "--before", f"{tomorrow.isoformat()}T01:00+01:00")
    assert code == 0, out
    assert out.startswith(f"pruned 3 runs from before {tomorrow.isoformat()}T00:00:00+00:00"), out
    assert history["recent"] not in outcomes(journal)
