"""`ido runs` filtered: by intent, outcome and day, the limit counting the runs asked for."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.journal import SqliteJournal
from ido.runtime.procfs import started, stat_fields

runner = CliRunner()


def ido(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def record(
    journal: Path, run_id: str, intent: str, day: str, outcome: str | None, process: object = None
) -> None:
    """A run of `intent` started on `day` (at noon, UTC), ended with `outcome` (None: not
    ended), its start naming `process` as the one carrying it on."""
    at = f"{day}T12:00:00.000+00:00"
    with SqliteJournal(journal) as store:
        store.start_run(run_id, intent, at, {"process": process} if process else {})
        if outcome is not None:
            store.finish_run(run_id, outcome, None, 1.0, 1.0, at)


def listed(journal: Path, *args: str) -> list[str]:
    """The ids `ido runs --format json` lists, newest first."""
    code, out, err = ido("runs", "--journal", str(journal), "--format", "json", *args)
    assert code == 0, out + err
    return [row["id"] for row in json.loads(out)]


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    """Runs of load-eu and load-us over December: achieved, failed, blocked, shadow."""
    path = tmp_path / "ido.db"
    for run_id, intent, day, outcome in [
        ("r01", "load-eu", "2026-11-30", "failed"),
        ("r02", "load-us", "2026-12-01", "failed"),
        ("r03", "load-eu", "2026-12-01", "achieved"),
        ("r04", "load-eu", "2026-12-02", "failed"),
        ("r05", "load-us", "2026-12-03", "blocked"),
        ("r06", "load-eu", "2026-12-04", "shadow"),
    ]:
        record(path, run_id, intent, day, outcome)
    return path


@pytest.fixture
def alive() -> Iterator[dict[str, object]]:
    """A process on this machine, as a run's start names the one carrying it on."""
    process = subprocess.Popen(["sleep", "60"])
    try:
        fields = stat_fields(process.pid)
        yield {"pid": process.pid, "host": socket.gethostname(), "since": started(fields)}
    finally:
        process.kill()
        process.wait()


def test_runs_of_an_intent_with_an_outcome_since_a_day_are_listed(journal: Path) -> None:
    """The filters combine with AND; each repeated takes any of its values."""
    assert listed(journal, "--intent", "load-eu") == ["r06", "r04", "r03", "r01"]
    assert listed(journal, "--outcome", "failed") == ["r04", "r02", "r01"]
    assert listed(journal, "--since", "2026-12-02") == ["r06", "r05", "r04"]
    assert listed(journal, "--intent", "load-eu", "--outcome", "failed") == ["r04", "r01"]
    assert listed(
        journal, "--intent", "load-eu", "--outcome", "failed", "--since", "2026-12-01"
    ) == ["r04"]
    assert listed(journal, "--outcome", "blocked", "--outcome", "shadow") == ["r06", "r05"]
    assert listed(journal, "--intent", "load-us", "--intent", "load-eu", "--limit", "2") == [
        "r06",
        "r05",
    ]


def test_since_takes_any_iso_date_as_audit_does(journal: Path) -> None:
    """20261202 and 2026-W49-3 are the day 2026-12-02, as `ido audit --since` reads them."""
    assert listed(journal, "--since", "20261202") == ["r06", "r05", "r04"]
    assert listed(journal, "--since", "2026-W49-3") == ["r06", "r05", "r04"]
    code, out, err = ido("runs", "--journal", str(journal), "--since", "last week")
    assert code == 2 and "'last week' is not a date" in err, out + err


def test_until_lists_the_runs_up_to_a_day_itself_included(journal: Path) -> None:
    """A month's report is a closed period: `--since 2026-12-01 --until 2026-12-02` took
    no `--until`, so a period ended only where the journal did."""
    assert listed(journal, "--until", "2026-12-01") == ["r03", "r02", "r01"]
    assert listed(journal, "--since", "2026-12-01", "--until", "20261202") == ["r04", "r03", "r02"]
    code, out, err = ido("runs", "--journal", str(journal), "--until", "2026-11-29")
    assert (code, out) == (0, "no runs up to 2026-11-29\n"), out + err
    code, out, err = ido("runs", "--journal", str(journal), "--until", "end of month")
    assert code == 2 and "'end of month' is not a date" in err, out + err
    audited = ido("audit", "--journal", str(journal), "--until", "2026-12-01", "-f", "json")[1]
    report = json.loads(audited)
    assert (report["runs"], report["until"]) == (3, "2026-12-01")
    code, out, err = ido(
        "audit", "--journal", str(journal), "--since", "2026-12-01", "--until", "2026-12-02"
    )
    assert "(runs started from 2026-12-01 to 2026-12-02 (UTC))" in out, out + err


def test_the_text_listing_is_filtered_too(journal: Path) -> None:
    code, out, err = ido("runs", "--journal", str(journal), "--outcome", "failed")
    assert code == 0, err
    assert [line.split()[0] for line in out.splitlines()] == ["RUN", "r04", "r02", "r01"]


def test_the_limit_counts_the_runs_asked_for_in_a_long_journal(tmp_path: Path) -> None:
    """Among 300 runs, the 3 failed ones are the oldest: `--limit 2` lists the newest two
    of them, not the failed among the newest two runs (none)."""
    path = tmp_path / "ido.db"
    with SqliteJournal(path) as store:
        for n in range(300):
            at = f"2026-12-{1 + n // 100:02d}T{n % 24:02d}:{n % 60:02d}:00.{n:03d}+00:00"
            store.start_run(f"r{n:03d}", "load-eu" if n % 2 else "load-us", at, {})
            store.finish_run(f"r{n:03d}", "failed" if n < 3 else "achieved", None, 0.0, 1.0, at)
    assert listed(path, "--outcome", "failed", "--limit", "2") == ["r002", "r001"]
    assert listed(path, "--outcome", "failed", "--intent", "load-eu", "--limit", "2") == ["r001"]
    assert len(listed(path, "--intent", "load-us", "--limit", "500")) == 150
    assert len(listed(path, "--since", "2026-12-03", "--limit", "500")) == 100


def test_running_and_interrupted_runs_are_told_apart(
    journal: Path, alive: dict[str, object]
) -> None:
    """A run not ended is running while a process here carries it on, else interrupted,
    as the listing says; the limit counts the ones asked for."""
    record(journal, "r07", "load-eu", "2026-12-05", None, alive)
    record(journal, "r08", "load-eu", "2026-12-06", None)  # its process is gone
    record(journal, "r09", "load-eu", "2026-12-07", None)
    assert listed(journal, "--outcome", "running") == ["r07"]
    assert listed(journal, "--outcome", "interrupted") == ["r09", "r08"]
    assert listed(journal, "--outcome", "running", "--outcome", "interrupted") == [
        "r09",
        "r08",
        "r07",
    ]
    assert listed(journal, "--outcome", "running", "--outcome", "shadow", "--limit", "1") == ["r07"]
    assert listed(journal, "--outcome", "interrupted", "--limit", "1") == ["r09"]


def test_a_run_listed_as_running_is_shown_running_though_its_process_exits_meanwhile(
    journal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--outcome running` asked whether a process carries each run not ended on, then
    asked again for what to show: a process exiting in between listed a run asked for as
    running shown as interrupted. Each run is asked about once."""
    import ido.cli.journal as runs_command

    record(journal, "r07", "load-eu", "2026-12-05", None)
    asked: list[str] = []

    def exits_once_asked(row: Any, events: Any) -> bool:
        asked.append(row.id)
        return len(asked) == 1  # carried on when first asked, gone after

    monkeypatch.setattr(runs_command, "_running", exits_once_asked)
    code, out, err = ido(
        "runs", "--journal", str(journal), "--format", "json", "--outcome", "running"
    )
    assert code == 0, out + err
    assert [(row["id"], row["running"]) for row in json.loads(out)] == [("r07", True)]
    assert asked == ["r07"]


def test_a_bad_outcome_is_refused_naming_those_allowed(journal: Path) -> None:
    code, out, err = ido("runs", "--journal", str(journal), "--outcome", "faild")
    assert code == 2, out
    assert "'faild' is not an outcome; did you mean 'failed'?" in err
    assert "achieved, failed, blocked, shadow, no-plan, running, interrupted" in err


def test_no_runs_found_says_what_was_asked(journal: Path) -> None:
    code, out, err = ido(
        "runs", "--journal", str(journal), "--outcome", "failed", "--intent", "load-eu",
        "--since", "2026-12-03",
    )  # fmt: skip
    assert (code, out, err) == (0, "no failed runs of load-eu since 2026-12-03\n", "")
    code, out, _ = ido("runs", "--journal", str(journal), "--outcome", "running")
    assert out == "no running runs\n"


def test_an_intent_no_run_is_of_is_warned_of_with_the_closest_name(journal: Path) -> None:
    """`--intent lod-eu` listed no runs, as if load-eu had none."""
    code, out, err = ido("runs", "--journal", str(journal), "--intent", "lod-eu")
    assert code == 0
    assert out == "no runs of lod-eu\n"
    assert err == (
        "warning: no run in the journal is of intent 'lod-eu'; did you mean 'load-eu'?\n"
    )
    code, out, err = ido("runs", "--journal", str(journal), "--intent", "ship", "-f", "json")
    assert (code, json.loads(out)) == (0, [])
    assert err == (
        "warning: no run in the journal is of intent 'ship' (its runs are of load-eu, load-us)\n"
    )


def test_since_and_until_take_a_moment_so_last_night_can_be_asked_for(journal: Path) -> None:
    """The night from 22:00 to 03:00 spans two days, which a day could not ask for: a
    moment (UTC unless it gives its offset) is taken, `--until`'s itself included."""
    assert listed(journal, "--since", "2026-12-01T12:00", "--until", "2026-12-02T12:00") == [
        "r04",
        "r03",
        "r02",
    ]
    assert listed(journal, "--since", "2026-12-01T12:00:00.001") == ["r06", "r05", "r04"]
    assert listed(journal, "--until", "2026-12-01T11:59:59") == ["r01"]
    assert listed(journal, "--since", "2026-12-03T13:00+01:00") == ["r06", "r05"]
    code, out, err = ido("runs", "--journal", str(journal), "--since", "2026-12-05T00:00")
    assert (code, out) == (0, "no runs since 2026-12-05T00:00:00+00:00\n"), out + err
    report = json.loads(
        ido("audit", "--journal", str(journal), "--since", "2026-12-03T12:00", "-f", "json")[1]
    )
    assert (report["runs"], report["since"]) == (2, "2026-12-03T12:00:00+00:00")


def test_since_takes_a_time_ago(tmp_path: Path) -> None:
    """At 3 a.m. the runs of the last 12 hours are asked as `--since 12h`, not worked out
    as a date by hand."""
    from datetime import UTC, datetime, timedelta

    path = tmp_path / "ido.db"
    now = datetime.now(UTC)
    with SqliteJournal(path) as store:
        for run_id, hours in [("old", 30), ("night", 2)]:
            at = (now - timedelta(hours=hours)).isoformat(timespec="milliseconds")
            store.start_run(run_id, "load-eu", at, {})
            store.finish_run(run_id, "failed", None, 0.0, 1.0, at)
    assert listed(path, "--since", "12h") == ["night"]
    assert listed(path, "--since", "2d") == ["night", "old"]
    assert listed(path, "--until", "1d") == ["old"]
    code, out, err = ido("runs", "--journal", str(path), "--since", "12 hours")
    assert code == 2 and "or a time ago (12h, 30m, 2d)" in err, out + err


@pytest.mark.parametrize("command", ["runs", "audit"])
def test_an_until_before_the_since_is_refused_not_listed_as_no_runs(
    journal: Path, command: str
) -> None:
    """`--since 2026-12-03 --until 2026-12-01`, swapped, said "no runs" (an audit of 0
    runs), as if nothing had run; the same day twice is that day's runs."""
    code, out, err = ido(
        command, "--journal", str(journal), "--since", "2026-12-03", "--until", "2026-12-01"
    )
    assert code == 2, out + err
    assert "2026-12-01 is before --since 2026-12-03: no run can be from both" in err
    assert listed(journal, "--since", "2026-12-01", "--until", "2026-12-01") == ["r03", "r02"]


def test_an_outcome_is_taken_whatever_its_case(journal: Path) -> None:
    """`--outcome FAILED` was "not an outcome", without even a guess: the word is the
    outcome whatever its case."""
    assert listed(journal, "--outcome", "FAILED") == ["r04", "r02", "r01"]
    assert listed(journal, "--outcome", "Blocked") == ["r05"]


def test_runs_are_sorted_oldest_first_or_by_cost_or_duration(tmp_path: Path) -> None:
    """At 3 a.m. what failed first in the night, and the costliest or longest runs, are
    asked for, not found by reading the newest 50; a run not ended (no final cost or
    duration yet) comes last, and ties go newest first."""
    path = tmp_path / "ido.db"
    runs = [  # id, hour, outcome, cost, duration
        ("r1", 22, "failed", 0.40, 2.0),
        ("r2", 23, "achieved", 1.50, 9.0),
        ("r3", 0, None, 0.0, None),
        ("r4", 1, "failed", 1.50, 1.0),
        ("r5", 2, "achieved", 0.10, 30.0),
    ]
    with SqliteJournal(path) as store:
        for run_id, hour, outcome, cost, duration in runs:
            day = "2026-12-06" if hour >= 22 else "2026-12-07"
            at = f"{day}T{hour:02d}:00:00.000+00:00"
            store.start_run(run_id, "nightly-report", at, {})
            if outcome is not None:
                store.finish_run(run_id, outcome, None, cost, duration or 0.0, at)
    assert listed(path) == ["r5", "r4", "r3", "r2", "r1"]
    assert listed(path, "--sort", "oldest") == ["r1", "r2", "r3", "r4", "r5"]
    assert listed(path, "--sort", "oldest", "--outcome", "failed", "--limit", "1") == ["r1"]
    assert listed(path, "--sort", "cost") == ["r4", "r2", "r1", "r5", "r3"]
    assert listed(path, "--sort", "duration", "--limit", "2") == ["r5", "r2"]
    code, _out, err = ido("runs", "--journal", str(path), "--sort", "cheapest")
    assert code == 2 and "'cheapest' is not one of newest, oldest, cost, duration" in err


@pytest.mark.parametrize(
    ("flag", "moment"),
    [
        ("--since", "0001-01-01T00:00+01:00"),
        ("--until", "9999-12-31T23:59:59.9999"),
        ("--until", "9999-12-31T23:59:59.999+00:00"),
        ("--since", "9999-12-31T23:00-01:00"),
    ],
)
@pytest.mark.parametrize("command", ["runs", "audit"])
def test_a_moment_at_the_end_of_the_calendar_is_a_usage_error_not_a_traceback(
    journal: Path, command: str, flag: str, moment: str
) -> None:
    """A moment whose UTC (or the millisecond after it, which `--until` bounds with) lies
    before year 1 or after 9999 ended in an OverflowError traceback."""
    result = runner.invoke(app, [command, "--journal", str(journal), flag, moment])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"'{moment}' is out of the calendar's range" in result.stderr, result.stderr


def test_prune_before_a_moment_at_the_end_of_the_calendar_is_a_usage_error(
    journal: Path,
) -> None:
    result = runner.invoke(
        app, ["prune", "--journal", str(journal), "--before", "0001-01-01T00:00+01:00"]
    )
    assert result.exit_code == 2 and "out of the calendar's range" in result.stderr


def test_the_runs_help_says_failed_lists_the_runs_that_found_no_plan_too() -> None:
    """The help listed `failed` and `no-plan` side by side, as if a run were one or the
    other: an analyst counting `--outcome failed` could not tell the no-plan runs are in it."""
    result = CliRunner().invoke(app, ["runs", "--help"], terminal_width=200)
    assert result.exit_code == 0
    said = " ".join(result.stdout.split())
    assert "failed lists the runs that found no plan too, no-plan those alone" in said, said
