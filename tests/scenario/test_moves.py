"""What a counterfactual replay's world reports: what the recording's observers had
reported by the same point of the run, not what they reported at any time in it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.journal.records import Event
from ido.journal.sqlite import SqliteJournal
from ido.testing import MemoryJournal
from tests.crashes import killed_when

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


CATALOG = ("--catalog", "capabilities")

CUT_PAY = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: pay}
spec:
  provider: payco
  requires: ["!state.x.paid"]
  effects: {x.paid: true}
  cost: 0.30
  run: {shell: ["true"]}
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


def test_an_approved_repeat_a_crash_cut_short_is_its_own_effect_not_the_world_moving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pay, cut short by a crash, was left to a person, who approved the repeat; the
    repeat was cut short too, and the resume after it saw the payment (the repeat's doing)
    and settled it done. Taken for the world moving while the run waited (the request
    ended the first call, and the repeat was in flight no more), the payment settled the
    replay's first call as done on its resume, and the replay never made the repeat the
    run made. It is the repeat's own doing: the replay makes the repeat, as the run did."""
    (tmp_path / "capabilities").mkdir()
    (tmp_path / "capabilities" / "all.yaml").write_text(CUT_PAY)
    (tmp_path / "ledger.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDO_JOURNAL", raising=False)
    run_id = killed_when(tmp_path, ("run", "go", *CATALOG), lambda e: e.kind == "action_started")
    code, out = ido("resume", run_id)
    assert code == 3 and "resume/outcome-unknown" in out, out
    approved = runner.invoke(app, ["approve", run_id, "--by", "ops"])
    assert approved.exit_code == 0, approved.output
    repeated = killed_when(
        tmp_path, ("resume", run_id, *CATALOG), lambda e: e.kind == "action_repeated"
    )
    assert repeated == run_id
    (tmp_path / "ledger.json").write_text('{"x": {"paid": true}}')  # the repeat went through
    code, out = ido("resume", run_id)
    assert code == 0 and "its effects were observed" in out and "cost 0.30" in out, out
    replayed: list[MemoryJournal] = []

    class Kept(MemoryJournal):
        """The replay's own journal, kept to read (a MemoryJournal, as it is)."""

        def __init__(self) -> None:
            super().__init__()
            replayed.append(self)

    monkeypatch.setattr("ido.testing.MemoryJournal", Kept)
    code, out = ido("replay", run_id, "--fail-on", "decision")
    assert code == 0 and "outcome: achieved → achieved\ncost: 0.30 → 0.30;" in out, out
    with SqliteJournal(tmp_path / ".ido" / "ido.db") as store:
        recorded = _ends(store.events(run_id))
    (journal,) = replayed
    assert recorded == [("action_repeated", None), ("action_finished", True)], recorded
    assert _ends(journal.events(f"{run_id}-counterfactual")) == recorded


def _ends(events: Sequence[Event]) -> list[tuple[str, object]]:
    """The repeats and ends of step 1 after its request to a person, and whether each
    end was a success."""
    asked = next(n for n, e in enumerate(events) if e.kind == "approval_required")
    kinds = ("action_repeated", "action_finished")
    return [(e.kind, e.data.get("ok")) for e in events[asked:] if e.kind in kinds]
