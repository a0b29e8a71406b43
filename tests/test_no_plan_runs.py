"""A failed run that found no plan before it did anything (exit 4) is told apart from one
whose steps failed (exit 1) wherever runs are listed or summed up: `ido runs --outcome
no-plan`, `no_plan` in JSON, `ido audit`, `RunReport.found_no_plan`; `failed` still
selects both, as the journal's row says."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido import LocalRuntime, MemoryJournal, load_catalog
from ido.cli import app
from ido.journal.records import Event
from ido.journal.sqlite import SqliteJournal
from ido.run_ends import found_no_plan

runner = CliRunner()


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def three(project: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A journal, made by this ido, of a run that found no plan (`too-cheap`: no plan fits
    its budget) between one achieved and, newest, one whose every provider failed: their
    ids by what they are."""
    intent = project / "intents" / "ship-order.yaml"
    (project / "intents" / "too-cheap.yaml").write_text(
        intent.read_text().replace("name: ship-order", "name: too-cheap").replace("5.0", "0.1")
    )
    ids = {}

    def last() -> str:
        with SqliteJournal(project / ".ido" / "ido.db", reading=True) as store:
            return store.resolve("last")

    assert ido("run", "ship-order")[0] == 0
    ids["achieved"] = last()
    assert ido("run", "too-cheap")[0] == 4
    ids["no-plan"] = last()
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay,priceypay")
    assert ido("run", "ship-order")[0] == 1
    ids["failed"] = last()
    return ids


def listed(*args: str) -> list[dict[str, object]]:
    code, out = ido("runs", "--format", "json", *args)
    assert code == 0, out
    found: list[dict[str, object]] = json.loads(out)
    return found


def test_outcome_no_plan_lists_only_the_runs_that_found_no_plan(three: dict[str, str]) -> None:
    assert [r["id"] for r in listed("--outcome", "no-plan")] == [three["no-plan"]]
    code, out = ido("runs", "--outcome", "no-plan")
    assert code == 0 and three["no-plan"] in out and three["failed"] not in out, out


def test_outcome_failed_still_lists_both_kinds_of_failure(three: dict[str, str]) -> None:
    """What users relied on: `--outcome failed` is every run whose row says failed."""
    runs = listed("--outcome", "failed")
    assert [r["id"] for r in runs] == [three["failed"], three["no-plan"]]
    assert {r["outcome"] for r in runs} == {"failed"}
    assert [r["no_plan"] for r in runs] == [False, True]
    for run in runs:  # `ido explain --format json` says it of the run as `ido runs` does
        view = json.loads(ido("explain", str(run["id"]), "--format", "json")[1])
        assert view["run"]["no_plan"] == run["no_plan"]


def test_the_listing_shows_no_plan_where_it_showed_failed(three: dict[str, str]) -> None:
    out = ido("runs")[1]
    words = {line.split()[0]: line.split()[2] for line in out.splitlines()[1:]}
    assert words == {three["no-plan"]: "no-plan", three["failed"]: "failed",
                     three["achieved"]: "achieved"}  # fmt: skip


def test_no_plan_with_a_limit_counts_the_no_plan_runs(three: dict[str, str]) -> None:
    """Told apart as the rows are read, so the limit counts those asked for, not the
    failed runs SQL picks (the newest failed run failed otherwise)."""
    assert [r["id"] for r in listed("--outcome", "no-plan", "--limit", "1")] == [three["no-plan"]]


def test_audit_counts_the_failed_runs_that_found_no_plan(three: dict[str, str]) -> None:
    report = json.loads(ido("audit", "--format", "json")[1])
    assert report["outcomes"]["failed"] == 2 and report["no_plan"] == 1, report
    assert "  failed: 2 (1 of them no-plan)\n" in ido("audit")[1]


def test_a_run_report_says_whether_the_run_found_no_plan(project: Path) -> None:
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("5.0", "0.1"))
    catalog = load_catalog([project / d for d in ("intents", "capabilities", "policies")])
    runtime = LocalRuntime(catalog, MemoryJournal(), base=project)
    report = runtime.run(catalog.intents["ship-order"])
    assert report.outcome == "failed" and report.found_no_plan, report
    intent.write_text(intent.read_text().replace("0.1", "5.0"))
    catalog = load_catalog([project / d for d in ("intents", "capabilities", "policies")])
    runtime = LocalRuntime(catalog, MemoryJournal(), base=project)
    assert not runtime.run(catalog.intents["ship-order"]).found_no_plan


def test_none_found_says_so_in_words(project: Path) -> None:
    """`no no-plan runs` read as a stutter: the listing says what it looked for."""
    assert ido("runs", "--outcome", "no-plan") == (0, "no runs that found no plan\n")
    code, out = ido("runs", "--outcome", "no-plan", "--outcome", "blocked", "--since", "1d")
    assert code == 0 and out.startswith("no blocked or no-plan runs since "), out


def test_the_ending_of_a_run_holds_no_decision_s_bulk(three: dict[str, str]) -> None:
    """`ido runs` reads each failed run's ending: a decision of a wide catalog weighs
    hundreds of kilobytes, so only its status is read, and none at all of a run whose step
    started (a step started: not a run that found no plan, whatever was decided)."""
    with SqliteJournal(Path(".ido/ido.db"), reading=True) as store:
        failed = store.ending(three["failed"])
        no_plan = store.ending(three["no-plan"])
    assert [(e.kind, e.data) for e in failed] == [("action_started", {})]
    assert [(e.kind, e.data) for e in no_plan] == [
        ("decided", {"result": {"status": "infeasible"}})
    ]


def test_a_decision_edited_by_hand_lists_its_run_without_a_traceback(
    three: dict[str, str],
) -> None:
    """A decision whose `result` is no mapping (a hand edit) stopped `ido runs` on a
    traceback once the listing read decisions: the run is listed, as not a no-plan one."""
    db = Path(".ido/ido.db")
    with sqlite3.connect(db) as edit:
        edit.execute(
            "UPDATE events SET data=json_set(data, '$.result', json('null')) "
            "WHERE kind='decided' AND run_id=?",
            (three["no-plan"],),
        )
    edit.close()
    assert [r["no_plan"] for r in listed("--outcome", "failed")] == [False, False]
    with SqliteJournal(db, reading=True) as store:
        assert not found_no_plan(store.events(three["no-plan"]))


def test_outcome_infeasible_is_pointed_at_no_plan(project: Path) -> None:
    """`infeasible` is what `ido plan` and a decision say of no plan: `did you mean
    'failed'?` would list every failed run."""
    result = runner.invoke(app, ["runs", "--outcome", "infeasible"])
    assert result.exit_code == 2
    assert "'infeasible' is not an outcome; did you mean 'no-plan'?" in result.output


class _CountingJournal(SqliteJournal):
    """A journal that counts how many times a run's events are read whole."""

    reads = 0

    def events(self, run_id: str) -> list[Event]:
        type(self).reads += 1
        return super().events(run_id)


@pytest.mark.parametrize(("fail", "code"), [(False, 4), (True, 1)])
def test_a_failed_runs_exit_code_comes_from_its_report_its_events_not_read_whole(
    project: Path, monkeypatch: pytest.MonkeyPatch, fail: bool, code: int
) -> None:
    """A run that found no plan exits 4, one whose steps failed 1, as its report says:
    `ido run` read all the run's events again for it after the run had read them to end,
    and the run read them all to end (`SqliteJournal.ending` reads the few that tell)."""
    intent = project / "intents" / "ship-order.yaml"
    if fail:
        monkeypatch.setenv("FAKESVC_FAIL", "cheappay,priceypay")
    else:
        intent.write_text(intent.read_text().replace("5.0", "0.1"))
    monkeypatch.setattr("ido.journal.sqlite.SqliteJournal", _CountingJournal)
    monkeypatch.setattr(_CountingJournal, "reads", 0)
    assert ido("run", "ship-order")[0] == code
    assert _CountingJournal.reads == 0
