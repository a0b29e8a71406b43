"""Crash-resume while a failed run undoes its steps: each compensation is done once."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from ido.errors import JournalError
from ido.journal import SqliteJournal
from ido.loading import load_catalog
from ido.runtime.folds import fold_undone
from ido.runtime.local import LocalRuntime
from ido.testing import MemoryJournal
from tests.runtime.test_resume import LEDGER, ido, ledger, make_project

SAGA = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: charge}
spec:
  provider: pay
  requires: ["!state.order.paid"]
  effects: {order.paid: true}
  cost: 1.0
  compensate: refund
  run: {python: "svc.saga:charge"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: refund}
spec:
  provider: pay
  effects: {order.refunded: true}
  cost: 0.1
  run: {python: "svc.saga:refund"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: pack}
spec:
  provider: warehouse
  requires: ["state.order.paid"]
  effects: {parcel.packed: true}
  cost: 0.5
  compensate: unpack
  run: {python: "svc.saga:pack"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: unpack}
spec:
  provider: warehouse
  effects: {parcel.unpacked: true}
  cost: 0.1
  idempotent: true
  run: {python: "svc.saga:unpack"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: ship}
spec:
  provider: carrier
  requires: ["state.parcel.packed"]
  effects: {order.shipped: true}
  cost: 2.0
  run: {python: "svc.saga:ship"}
"""

INTENT = """\
apiVersion: ido/v1
kind: Intent
metadata: {name: deliver}
spec:
  goal: ["state.order.shipped"]
  observers: [ledger]
  planner: search
  on_failure: compensate
  limits: {max_attempts: 1}
"""

# svc.ledger's calls (each a synced line in ledger.txt), and the saga's: unpack
# (idempotent) skips a key it has seen; ship always fails; observe reads the undoing too.
CALLS = (
    LEDGER
    + """

def refund(ctx):
    _write("refund", ctx.idempotency_key)


def unpack(ctx):
    if f"unpack {ctx.idempotency_key}" not in _lines():
        _write("unpack", ctx.idempotency_key)


def ship(ctx):
    raise RuntimeError("the carrier is down")


def observe():
    kinds = {line.split()[0] for line in _lines()}
    return {
        "order": {"paid": "charge" in kinds, "refunded": "refund" in kinds},
        "parcel": {"packed": "pack" in kinds, "unpacked": "unpack" in kinds},
    }
"""
)


def saga(root: Path) -> Path:
    project = make_project(root)
    (project / "capabilities" / "shop.yaml").write_text(SAGA)
    (project / "intents" / "deliver.yaml").write_text(INTENT)
    (project / "svc" / "saga.py").write_text(CALLS)
    observer = project / "capabilities" / "ledger.yaml"
    observer.write_text(observer.read_text().replace("svc.ledger:", "svc.saga:"))
    return project


def test_a_run_killed_while_undoing_its_steps_undoes_each_once_on_resume(tmp_path: Path) -> None:
    """Killed after each commit from its first compensation on, then resumed: the resume
    decided again, failed again and undid every step again, refunding twice under two
    keys. Now it goes on undoing what is left, and the run fails as it had."""
    reference = saga(tmp_path / "reference")
    failed = ido(reference, "run", "deliver")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert sorted(line.split()[0] for line in ledger(reference)) == [
        "charge",
        "pack",
        "refund",
        "unpack",
    ]
    with SqliteJournal(reference / ".ido" / "ido.db") as journal:
        (row,) = journal.runs()
        events = journal.events(row.id)
    first = next(i for i, e in enumerate(events) if "undoes_step" in e.data)
    for n in range(first, len(events) - 1):  # commits: the run's first is two events
        project = saga(tmp_path / f"crash-{n}")
        killed = ido(project, "run", "deliver", IDO_CRASH_AFTER_EVENTS=str(n))
        assert killed.returncode == -signal.SIGKILL, (n, killed.stdout, killed.stderr)
        resumed = ido(project, "resume", "last")
        assert resumed.returncode == 1, (n, resumed.stdout, resumed.stderr)
        with SqliteJournal(project / ".ido" / "ido.db") as journal:
            assert journal.runs()[0].reason == row.reason, n  # it fails as it had
        calls = [line.split() for line in ledger(project)]
        assert sorted({kind for kind, _ in calls}) == ["charge", "pack", "refund", "unpack"], n
        for kind in ("charge", "pack", "refund", "unpack"):
            assert [k for k, _ in calls].count(kind) == 1, (n, kind, calls)


def test_a_rejected_compensation_is_not_done_again(tmp_path: Path) -> None:
    """A refund interrupted, nothing observing it, the person rejects doing it again: the
    resume undid `charge` again, refunding under a new key, and lost why the run failed."""
    project = saga(tmp_path)
    calls = project / "svc" / "saga.py"
    calls.write_text(calls.read_text().replace('"refunded": "refund" in kinds', '"x": 1'))
    killed = ido(project, "run", "deliver", SVC_DIE_AFTER="refund")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert ido(project, "resume", "last").returncode == 3  # a person decides
    assert ido(project, "reject", "last", "--by", "ops", "--comment", "sent").returncode == 0
    done = ido(project, "resume", "last")
    assert done.returncode == 1, done.stdout + done.stderr
    assert [line.split()[0] for line in ledger(project)].count("refund") == 1
    with SqliteJournal(project / ".ido" / "ido.db") as journal:
        reason = str(journal.runs()[0].reason)
    assert "used up by ship" in reason and "; then step" in reason and "rejected" in reason
    # cut short, the refund may have been made: not "refund failed"
    assert reason.endswith("; charge (step 1) may not be undone: refund's outcome is unknown")


def test_an_approved_refund_cut_short_again_is_not_made_again(tmp_path: Path) -> None:
    """A refund interrupted, nothing observing it, the person approves doing it again, and
    that repeat is killed too: the next resume left the compensation to be tried again and
    refunded once more under a new key. Now it is settled for good, its outcome unknown."""
    project = saga(tmp_path)
    calls = project / "svc" / "saga.py"
    calls.write_text(calls.read_text().replace('"refunded": "refund" in kinds', '"x": 1'))
    killed = ido(project, "run", "deliver", SVC_DIE_AFTER="refund")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert ido(project, "resume", "last").returncode == 3  # a person decides
    assert ido(project, "approve", "last", "--by", "ops").returncode == 0
    again = ido(project, "resume", "last", SVC_DIE_BEFORE="refund")
    assert again.returncode == -signal.SIGKILL, again.stdout + again.stderr
    done = ido(project, "resume", "last")
    assert done.returncode == 1, done.stdout + done.stderr
    assert [line.split()[0] for line in ledger(project)].count("refund") == 1
    with SqliteJournal(project / ".ido" / "ido.db") as journal:
        reason = str(journal.runs()[0].reason)
    assert "step 5 refund was performed again as approved, and was interrupted again" in reason
    assert reason.endswith("; charge (step 1) may not be undone: refund's outcome is unknown")


def test_a_journal_that_fails_a_write_stops_the_run_and_undoes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write the journal failed (a full disk, a moment's I/O error) was taken as the
    run's own failure: the run was compensated, the order refunded, over a disk hiccup."""
    project = saga(tmp_path)
    (project / "intents" / "deliver.yaml").write_text(
        INTENT.replace('goal: ["state.order.shipped"]', 'goal: ["state.parcel.packed"]')
    )
    catalog = load_catalog([project / "capabilities", project / "intents"])

    class Failing(MemoryJournal):
        def append(self, run_id: str, kind: str, at: str, data: Any) -> int:
            if kind == "action_started" and data.get("capability") == "pack":
                raise JournalError("journal j.db: disk I/O error")
            return super().append(run_id, kind, at, data)

    journal = Failing()
    runtime = LocalRuntime(catalog, journal, base=project)
    monkeypatch.chdir(project)  # svc's ledger.txt is relative: keep it out of the checkout
    for name in [m for m in sys.modules if m == "svc" or m.startswith("svc.")]:
        monkeypatch.delitem(sys.modules, name)  # this project's `svc`, not another test's
    with pytest.raises(JournalError, match="disk I/O error"):
        runtime.run(catalog.intents["deliver"])
    (row,) = journal.runs()
    assert row.outcome is None  # left for ido resume, not failed
    kinds = [e.kind for e in journal.events(row.id)]
    assert "compensation_started" not in kinds and kinds[-1] == "run_released"


def test_an_error_while_undoing_gives_the_run_up_as_one_before_it_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listener's error (a closed output pipe) while the run undid its steps left the run
    held by a process that lives on (`ido runner`: "still running"), and the refund's
    outcome, held back, unwritten; the loop's errors gave the run up, undoing's did not."""
    project = saga(tmp_path)
    catalog = load_catalog([project / "capabilities", project / "intents"])

    def broken(kind: str, data: Any) -> None:
        if kind == "action_started" and data.get("capability") == "unpack":
            raise BrokenPipeError("the output was closed")

    journal = MemoryJournal()
    runtime = LocalRuntime(catalog, journal, base=project, listener=broken)
    monkeypatch.chdir(project)
    for name in [m for m in sys.modules if m == "svc" or m.startswith("svc.")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(BrokenPipeError):
        runtime.run(catalog.intents["deliver"])
    (row,) = journal.runs()
    assert row.outcome is None  # left for ido resume
    kinds = [e.kind for e in journal.events(row.id)]
    assert kinds[-1] == "run_released", kinds


def test_the_completed_steps_fold_as_the_runtime_keeps_them() -> None:
    """One fold for the runtime, resume and replay (replay added compensations and kept
    undone steps)."""
    from ido.runtime.folds import fold_done

    events = [
        ("action_finished", {"step": 1, "capability": "charge", "ok": True}),
        ("action_finished", {"step": 2, "capability": "pack", "ok": True}),
        ("effects_missing", {"step": 2, "capability": "pack"}),
        ("action_finished", {"step": 3, "capability": "pack", "ok": True}),
        ("action_started", {"step": 4, "capability": "unpack", "undoes_step": 3}),
        ("action_finished", {"step": 4, "capability": "unpack", "ok": True}),
        ("compensation_skipped", {"undoes_step": 1, "capability": "refund"}),
    ]
    completed: list[tuple[int, str]] = []
    undoing: dict[int, int] = {}
    seen = []
    for kind, data in events:
        completed = fold_done(completed, undoing, kind, data)
        seen.append([step for step, _ in completed])
    assert seen == [[1], [1, 2], [1], [1, 3], [1, 3], [1], []]


def test_a_rejected_compensation_stays_rejected_after_another_crash(tmp_path: Path) -> None:
    """The rejection lived in memory only: a second crash before the run ended, and the
    next resume undid `pack` again under a new key."""
    project = saga(tmp_path)
    (project / "capabilities" / "shop.yaml").write_text(SAGA.replace("  idempotent: true\n", ""))
    calls = project / "svc" / "saga.py"
    calls.write_text(calls.read_text().replace('"unpacked": "unpack" in kinds', '"y": 1'))
    killed = ido(project, "run", "deliver", SVC_DIE_AFTER="unpack")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert ido(project, "resume", "last").returncode == 3
    assert ido(project, "reject", "last", "--by", "ops", "--comment", "no").returncode == 0
    killed = ido(project, "resume", "last", SVC_DIE_AFTER="refund")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    done = ido(project, "resume", "last")
    assert done.returncode == 1, done.stdout + done.stderr
    assert [line.split()[0] for line in ledger(project)].count("unpack") == 1


def test_a_compensation_settled_on_resume_is_recorded_and_counted_as_one(tmp_path: Path) -> None:
    """Killed while undoing its steps, then resumed: a compensation the resume performed
    again had no `compensation_finished` (explain left it out), and the note on what undoing
    cost over max_cost counted only what was undone after the resume, or was gone when
    everything had been undone before the crash. Now every crash point ends as the run
    does uninterrupted: each compensation recorded once, the same reason, its note counting
    every compensation's cost (a refund cut short before it began counts too, as spent)."""
    over = INTENT.replace("  on_failure:", "  constraints: {max_cost: 3.6}\n  on_failure:")
    reference = saga(tmp_path / "reference")
    (reference / "intents" / "deliver.yaml").write_text(over)
    assert ido(reference, "run", "deliver").returncode == 1
    with SqliteJournal(reference / ".ido" / "ido.db") as journal:
        (row,) = journal.runs()
        events = journal.events(row.id)
    assert "undoing its steps cost 0.20 more, 3.70 in all" in str(row.reason)
    first = next(i for i, e in enumerate(events) if "undoes_step" in e.data)
    for n in range(first, len(events) - 1):
        project = saga(tmp_path / f"crash-{n}")
        (project / "intents" / "deliver.yaml").write_text(over)
        killed = ido(project, "run", "deliver", IDO_CRASH_AFTER_EVENTS=str(n))
        assert killed.returncode == -signal.SIGKILL, (n, killed.stdout, killed.stderr)
        assert ido(project, "resume", "last").returncode == 1, n
        with SqliteJournal(project / ".ido" / "ido.db") as journal:
            (run,) = journal.runs()
            kept = journal.events(run.id)
        undoing = {e.data["step"] for e in kept if "undoes_step" in e.data}
        cost = sum(
            e.data["cost"]
            for e in kept
            if e.kind == "action_finished" and e.data["step"] in undoing
        )
        note = f"undoing its steps cost {cost:.2f} more, {run.cost:.2f} in all, over max_cost 3.60"
        assert run.reason == str(row.reason).split("; undoing")[0] + "; " + note, n
        undone = [
            (e.data["capability"], e.data["ok"]) for e in kept if e.kind == "compensation_finished"
        ]
        assert sorted(undone) == [("refund", True), ("unpack", True)], (n, undone)


def test_a_step_a_compensation_failed_to_undo_is_named_in_the_reason(tmp_path: Path) -> None:
    """The refund failed and the run's reason said only why the run failed: the order
    stayed charged, said in one line of `ido explain`. Now the reason names each step left
    undone, and says it the same after a crash while undoing and a resume. Its failure
    says it did not take effect, so it is tried again, three times in all (the default
    `limits.max_compensation_attempts`), and a crash between attempts resumes counting
    them: three calls whatever the crash point, none cut short counted."""
    reference = saga(tmp_path / "reference")
    calls = reference / "svc" / "saga.py"
    failing = calls.read_text().replace(
        '    _write("refund", ctx.idempotency_key)',
        '    _write("refused", ctx.idempotency_key)\n    raise RuntimeError("refunds are down")',
    )
    calls.write_text(failing)
    assert ido(reference, "run", "deliver").returncode == 1
    with SqliteJournal(reference / ".ido" / "ido.db") as journal:
        (row,) = journal.runs()
        events = journal.events(row.id)
    reason = str(row.reason)
    assert reason.endswith("; charge (step 1) is not undone: refund failed 3 times"), reason
    assert [line.split()[0] for line in ledger(reference)].count("refused") == 3
    told = ido(reference, "explain", "last").stdout  # not "refund undid charge …: failed"
    assert "compensation: refund could not undo charge (step 1) on attempt 1: failed:" in told
    said = "compensation: refund could not undo charge (step 1): failed after 3 attempts: Runt"
    assert said in told, told
    first = next(i for i, e in enumerate(events) if "undoes_step" in e.data)
    for n in range(first, len(events) - 1):
        project = saga(tmp_path / f"crash-{n}")
        (project / "svc" / "saga.py").write_text(failing)
        killed = ido(project, "run", "deliver", IDO_CRASH_AFTER_EVENTS=str(n))
        assert killed.returncode == -signal.SIGKILL, (n, killed.stdout, killed.stderr)
        resumed = ido(project, "resume", "last")
        assert resumed.returncode == 1, (n, resumed.stdout, resumed.stderr)
        with SqliteJournal(project / ".ido" / "ido.db") as journal:
            assert journal.runs()[0].reason == row.reason, n
        assert [line.split()[0] for line in ledger(project)].count("refused") == 3, n


def test_a_compensation_whose_outcome_is_unknown_says_what_rejecting_it_does(
    tmp_path: Path,
) -> None:
    """The request for a refund cut short said "reject to end the run", though a rejected
    compensation is left undone and undoing goes on: a person who meant to stop the saga
    was told wrong."""
    project = saga(tmp_path)
    calls = project / "svc" / "saga.py"
    calls.write_text(calls.read_text().replace('"refunded": "refund" in kinds', '"x": 1'))
    killed = ido(project, "run", "deliver", SVC_DIE_AFTER="refund")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    blocked = ido(project, "resume", "last")
    assert blocked.returncode == 3, blocked.stdout + blocked.stderr
    said = "or reject to leave charge (step 1) not undone and go on undoing the steps before it"
    assert said in blocked.stdout and "end the run" not in blocked.stdout, blocked.stdout


def test_a_compensation_whose_error_says_its_outcome_is_unknown_is_said_to_have_failed(
    tmp_path: Path,
) -> None:
    """The refund failed with an error that happened to say "its outcome is unknown": the
    run's reason, read from the error's words, said the charge may not be undone, as for a
    refund cut short. Now what the compensation's end records tells: it failed."""
    project = saga(tmp_path)
    calls = project / "svc" / "saga.py"
    calls.write_text(
        calls.read_text().replace(
            '    _write("refund", ctx.idempotency_key)',
            '    raise RuntimeError("the bank timed out: its outcome is unknown")',
        )
    )
    assert ido(project, "run", "deliver").returncode == 1
    with SqliteJournal(project / ".ido" / "ido.db") as journal:
        reason = str(journal.runs()[0].reason)
    assert reason.endswith("; charge (step 1) is not undone: refund failed 3 times"), reason


def test_a_journal_from_before_compensations_recorded_how_they_settled_reads_as_then() -> None:
    """A compensation's end recorded before `settled` was: its error's words still tell a
    refund cut short and not made again."""
    ended = {"undoes": "charge", "undoes_step": 1, "capability": "refund", "ok": False}
    error = "interrupted; its outcome is unknown, and repeating it was rejected"
    told = fold_undone([], "compensation_finished", {**ended, "error": error})
    assert told == ["charge (step 1) may not be undone: refund's outcome is unknown"]
    new = {**ended, "error": error, "settled": None, "resumed": "approved"}
    assert fold_undone([], "compensation_finished", new) == [
        "charge (step 1) is not undone: refund failed"
    ]
