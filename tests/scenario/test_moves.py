"""What a counterfactual replay's world reports: what the recording's observers had
reported by the same point of the run, not what they reported at any time in it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.journal.sqlite import SqliteJournal

runner = CliRunner()

LATE_LEDGER = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: pay}
spec:
  provider: payco
  requires: ["!state.x.paid"]
  effects: {x.paid: true}
  cost: 0.30
  timeout: 1s
  run:
    shell: ["sh", "-c", "if [ -e once ]; then cp paid.json ledger.json; else touch once; sleep 5; fi"]
---
apiVersion: ido/v1
kind: Observer
metadata: {name: ledger}
spec: {file: ../ledger.json}
---
apiVersion: ido/v1
kind: Intent
metadata: {name: go}
spec:
  given: {x: {paid: false}}
  goal: ["state.x.paid"]
  observers: [ledger]
"""


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--catalog", "capabilities"])
    return result.exit_code, result.output


def test_a_fact_its_observer_reported_only_later_is_not_reported_early_in_the_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pay timed out, and the ledger, empty then, told nothing of `x.paid`: the run asked a
    person, who approved the repeat, after which the ledger reported it paid. The replay's
    world reported `x.paid` (false, as given) from the start, because the ledger reported
    it at some time: it took the timed-out call as not done, said the question `no longer
    asked` and made a decision 2 the run never made, under the same inputs."""
    (tmp_path / "capabilities").mkdir()
    (tmp_path / "capabilities" / "all.yaml").write_text(LATE_LEDGER)
    (tmp_path / "paid.json").write_text('{"x": {"paid": true}}')
    (tmp_path / "ledger.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDO_JOURNAL", raising=False)
    code, out = ido("run", "go")
    assert code == 3 and "nothing observes its effects (x.paid)" in out, out
    with SqliteJournal(tmp_path / ".ido" / "ido.db") as store:
        (row,) = store.runs()
    approved = runner.invoke(app, ["approve", row.id, "--by", "ops"])
    assert approved.exit_code == 0, approved.output
    code, out = ido("resume", row.id)
    assert code == 0 and "achieved" in out, out
    code, out = ido("replay", row.id, "--fail-on", "decision")
    assert code == 0, out
    assert "decision 1: same choice\n" in out, out
    assert "no longer asked" not in out and "decision 2 changes" not in out, out
    assert "outcome: achieved → achieved\ncost: 0.30 → 0.30;" in out, out


def test_a_fact_first_reported_on_resuming_after_a_wait_is_reported_from_that_wait_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The timed-out pay did go through, and the ledger said so only while the run waited
    for a person: the approved resume saw it paid and did not pay again. The replay's world
    took the payment for pay's own effect, which its timed-out call does not apply, and
    never moved: it paid again, a call the run never made (`unknown outcomes`). It is told
    `x.paid` once it resumes after the same wait, not before (it asks as the run did)."""
    (tmp_path / "capabilities").mkdir()
    (tmp_path / "capabilities" / "all.yaml").write_text(LATE_LEDGER)
    (tmp_path / "ledger.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDO_JOURNAL", raising=False)
    code, out = ido("run", "go")
    assert code == 3 and "nothing observes its effects (x.paid)" in out, out
    (tmp_path / "ledger.json").write_text('{"x": {"paid": true}}')
    with SqliteJournal(tmp_path / ".ido" / "ido.db") as store:
        (row,) = store.runs()
    approved = runner.invoke(app, ["approve", row.id, "--by", "ops"])
    assert approved.exit_code == 0, approved.output
    code, out = ido("resume", row.id)
    assert code == 0 and "achieved" in out and "cost 0.30" in out, out
    code, out = ido("replay", row.id, "--fail-on", "decision")
    assert code == 0, out
    assert "decision 1: same choice\n" in out, out
    assert "no longer asked" not in out and "unknown outcomes" not in out, out
    assert "outcome: achieved → achieved\ncost: 0.30 → 0.30;" in out, out
