"""Crash-resume: a run killed at any point continues from its journal, doing nothing twice."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ido.errors import IdoError
from ido.journal import SqliteJournal
from ido.loading import load_catalog
from ido.loading.catalog import Catalog
from ido.runtime import stopping
from ido.runtime.local import LocalRuntime
from ido.runtime.procfs import running, started, stat_fields
from ido.runtime.recovery import recover
from ido.testing import MemoryJournal, StepClock

SHOP = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: charge}
spec:
  provider: pay
  requires: ["!state.order.paid"]
  effects: {order.paid: true}
  cost: 1.0
  latency: 1s
  run: {python: "svc.ledger:charge"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: pack}
spec:
  provider: warehouse
  requires: ["!state.parcel.packed"]
  effects: {parcel.packed: true}
  cost: 0.5
  latency: 1s
  idempotent: true
  run: {python: "svc.ledger:pack"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: ship}
spec:
  provider: carrier
  requires: ["state.order.paid && state.parcel.packed"]
  effects: {order.shipped: true}
  cost: 2.0
  latency: 1s
  run: {python: "svc.ledger:ship"}
"""

OBSERVER = """\
apiVersion: ido/v1
kind: Observer
metadata: {name: ledger}
spec: {python: "svc.ledger:observe"}
"""

INTENT = """\
apiVersion: ido/v1
kind: Intent
metadata: {name: deliver}
spec:
  goal: ["state.order.shipped"]
  observers: [ledger]
  planner: search
"""

# Every side effect is a line in ledger.txt, written and synced before the call returns.
# charge and ship are not idempotent; pack is, because it skips a key it has seen.
LEDGER = """\
import contextlib
import os
import signal
from pathlib import Path

LEDGER = Path("ledger.txt")


def _lines():
    return LEDGER.read_text().splitlines() if LEDGER.exists() else []


def _write(kind, key):
    if os.environ.get("SVC_DIE_BEFORE") == kind:
        os.kill(os.getpid(), signal.SIGKILL)
    with LEDGER.open("a") as f:
        f.write(f"{kind} {key}\\n")
        f.flush()
        os.fsync(f.fileno())
    if os.environ.get("SVC_DIE_AFTER") == kind:
        os.kill(os.getpid(), signal.SIGKILL)


def charge(ctx):
    _write("charge", ctx.idempotency_key)


def pack(ctx):
    if f"pack {ctx.idempotency_key}" not in _lines():
        _write("pack", ctx.idempotency_key)


def ship(ctx):
    _write("ship", ctx.idempotency_key)


def observe():
    if os.environ.get("SVC_LEDGER_DOWN"):
        raise RuntimeError("ledger unreachable")
    kinds = {line.split()[0] for line in _lines()}
    return {
        "order": {"paid": "charge" in kinds, "shipped": "ship" in kinds},
        "parcel": {"packed": "pack" in kinds},
    }
"""


COSTS = {"charge": 1.0, "pack": 0.5, "ship": 2.0}  # as SHOP declares them


def make_project(root: Path) -> Path:
    for folder in ("capabilities", "intents", "svc"):
        (root / folder).mkdir(parents=True)
    (root / "capabilities" / "shop.yaml").write_text(SHOP)
    (root / "capabilities" / "ledger.yaml").write_text(OBSERVER)
    (root / "intents" / "deliver.yaml").write_text(INTENT)
    (root / "svc" / "__init__.py").write_text("")
    (root / "svc" / "ledger.py").write_text(LEDGER)
    return root


def ido(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **env}
    for name in ("IDO_CRASH_AFTER_EVENTS", "SVC_DIE_AFTER", "SVC_DIE_BEFORE", "SVC_LEDGER_DOWN"):
        if name not in env:
            environ.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "ido", *args],
        check=False,
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def unpacked(lines: list[str]) -> list[str]:
    """The ledger's lines other than pack's."""
    return [line for line in lines if not line.startswith("pack ")]


def ledger(project: Path) -> list[str]:
    path = project / "ledger.txt"
    return path.read_text().splitlines() if path.exists() else []


def check_journal(project: Path) -> tuple[str, list[str]]:
    """The run's outcome and event kinds, after asserting the journal is consistent."""
    with SqliteJournal(project / ".ido" / "ido.db") as journal:
        (row,) = journal.runs()
        events = journal.events(row.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_started" and kinds.count("run_finished") == 1
    assert kinds[-1] == "run_finished"
    started = [e.data["step"] for e in events if e.kind == "action_started"]
    finished = [e.data["step"] for e in events if e.kind == "action_finished"]
    assert sorted(started) == sorted(finished) and len(set(started)) == len(started)
    assert row.outcome is not None
    return row.outcome, kinds


def kinds_of(lines: list[str]) -> list[str]:
    return sorted(line.split()[0] for line in lines)


def test_an_uninterrupted_run_performs_each_side_effect_once(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    done = ido(project, "run", "deliver")
    assert done.returncode == 0, done.stdout + done.stderr
    assert kinds_of(ledger(project)) == ["charge", "pack", "ship"]
    assert check_journal(project)[0] == "achieved"


def test_a_run_killed_after_any_event_resumes_and_does_each_side_effect_once(
    tmp_path: Path,
) -> None:
    """Kill the run (SIGKILL) right after its N-th journal commit, for every N; resume it.

    Each time: the outcome is reached, charge and ship (not idempotent) happened exactly
    once, pack happened once under one key, and the journal is consistent.
    """
    reference = make_project(tmp_path / "reference")
    assert ido(reference, "run", "deliver").returncode == 0
    total = len(check_journal(reference)[1])
    assert total >= 10
    settled: set[str] = set()
    for n in range(1, total):  # after the last commit the run has ended: nothing to resume
        project = make_project(tmp_path / f"crash-{n}")
        killed = ido(project, "run", "deliver", IDO_CRASH_AFTER_EVENTS=str(n))
        assert killed.returncode == -signal.SIGKILL, (n, killed.stdout, killed.stderr)
        with SqliteJournal(project / ".ido" / "ido.db") as journal:
            (row,) = journal.runs()
            finished = [e.data for e in journal.events(row.id) if e.kind == "action_finished"]
        if row.outcome is not None:  # event n was committed with the run's end
            assert kinds_of(ledger(project)) == ["charge", "pack", "ship"], n
            continue
        # What it paid for so far (the row's cost is written as a run ends: it read 0.00)
        paid = sum(COSTS[f["capability"]] for f in finished)
        assert row.cost == pytest.approx(paid), (n, row.cost, finished)
        runs = ido(project, "runs")
        assert "interrupted" in runs.stdout, (n, runs.stdout)
        resumed = ido(project, "resume", "last")
        assert resumed.returncode == 0, (n, resumed.stdout, resumed.stderr)
        assert kinds_of(ledger(project)) == ["charge", "pack", "ship"], (n, ledger(project))
        outcome, kinds = check_journal(project)
        assert outcome == "achieved", n
        assert kinds.count("run_resumed") == 1, n
        with SqliteJournal(project / ".ido" / "ido.db") as journal:
            (row,) = journal.runs()
            settled |= {e.data.get("resumed") for e in journal.events(row.id)} - {None}
            health = journal.health()
        # What the run learnt before the crash is kept, and nothing is learnt twice.
        for name in ("charge", "pack", "ship"):
            assert health[name].successes == pytest.approx(1.0, abs=0.01), (n, name, health)
    # Crashes after a step's start settle it both ways: pack (idempotent) is performed
    # again, ship (not idempotent, effects absent) is left to the next decision.
    assert {"repeated", "interrupted"} <= settled


def test_a_step_that_dies_after_its_side_effect_is_recognised_by_its_effects(
    tmp_path: Path,
) -> None:
    """charge writes the ledger and the process dies before recording it: on resume the
    observer shows the charge, so it is settled as done, not charged again. The resume
    says so as explain does (it said `✓ charge in 0ms`, a call it never timed)."""
    project = make_project(tmp_path)
    killed = ido(project, "run", "deliver", SVC_DIE_AFTER="charge")
    assert killed.returncode == -signal.SIGKILL
    resumed = ido(project, "resume", "last")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "  ✓ charge: interrupted; its effects were observed on resume\n" in resumed.stdout
    assert kinds_of(ledger(project)) == ["charge", "pack", "ship"]
    outcome, _ = check_journal(project)
    assert outcome == "achieved"
    explained = ido(project, "explain", "last")
    assert "charge: interrupted; its effects were observed on resume" in explained.stdout


def test_a_step_cut_short_before_its_side_effect_is_said_not_done_once(
    tmp_path: Path,
) -> None:
    """charge's start is on disk, its call never made. Resume said "its effects are
    observed not to hold, and it is not idempotent, so it is not repeated blindly", then
    charged at once (the next decision's own call), and explain said "interrupted; on
    resume interrupted before its outcome was recorded"."""
    for n in range(1, 30):  # the first crash that leaves `charge` in flight
        project = make_project(tmp_path / f"crash-{n}")
        assert ido(project, "run", "deliver", IDO_CRASH_AFTER_EVENTS=str(n)).returncode
        with SqliteJournal(project / ".ido" / "ido.db") as journal:
            (row,) = journal.runs()
            last = journal.events(row.id)[-1]
        if last.kind == "action_started" and last.data["capability"] == "charge":
            break
    else:
        pytest.fail("no crash left charge in flight")
    resumed = ido(project, "resume", "last")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    said = "its effects are observed not to hold: not done, and the next decision plans from there"
    assert f"  ✗ charge: interrupted before its outcome was recorded; {said}\n" in resumed.stdout
    told = ido(project, "explain", "last").stdout
    assert f"charge: interrupted before its outcome was recorded; on resume {said}\n" in told
    assert kinds_of(unpacked(ledger(project))) == ["charge", "ship"]


def started_step(project: Path, capability: str) -> int:
    """The step `capability` was started as in the run's journal."""
    with SqliteJournal(project / ".ido" / "ido.db") as journal:
        (row,) = journal.runs()
        events = journal.events(row.id)
    (step,) = [
        e.data["step"]
        for e in events
        if e.kind == "action_started" and e.data["capability"] == capability
    ]
    return int(step)


def test_an_idempotent_step_is_performed_again_under_the_same_key(tmp_path: Path) -> None:
    """pack dies after writing: on resume it runs again with the same idempotency key, and
    the provider's own deduplication keeps one pack."""
    project = make_project(tmp_path)
    killed = ido(project, "run", "deliver", SVC_DIE_AFTER="pack")
    assert killed.returncode == -signal.SIGKILL
    resumed = ido(project, "resume", "last")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    # Said as it starts (it was only its end, however long it took), and watched as it runs.
    again = f"  ▶ pack (step {started_step(project, 'pack')} again, on resume: idempotent)\n"
    assert again in resumed.stdout
    packs = [line for line in ledger(project) if line.startswith("pack")]
    assert len(packs) == 1
    with SqliteJournal(project / ".ido" / "ido.db") as journal:
        (row,) = journal.runs()
        events = journal.events(row.id)
    started = [
        e.data for e in events if e.kind == "action_started" and e.data["capability"] == "pack"
    ]
    (repeat,) = [
        e.data
        for e in events
        if e.kind == "action_finished" and e.data.get("resumed") == "repeated"
    ]
    assert len(started) == 1 and repeat["step"] == started[0]["step"]
    assert packs == [f"pack {started[0]['idempotency_key']}"]


def test_a_finished_run_does_not_resume(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    assert ido(project, "run", "deliver").returncode == 0
    again = ido(project, "resume", "last")
    assert again.returncode == 2
    assert "already ended (achieved); only an interrupted or blocked run can resume" in again.stderr
    assert "Traceback" not in again.stderr


def test_a_malformed_crash_hook_is_a_clear_error(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    bad = ido(project, "run", "deliver", IDO_CRASH_AFTER_EVENTS="soon")
    assert bad.returncode == 2
    assert "IDO_CRASH_AFTER_EVENTS must be a positive whole number, not 'soon'" in bad.stderr
    assert ledger(project) == []


def test_a_run_whose_process_still_lives_is_not_resumed(tmp_path: Path) -> None:
    """The run's recorded owner (here: the test's parent process) is alive: resuming refuses."""
    project = make_project(tmp_path)
    catalog = load_catalog([project / "capabilities", project / "intents"])
    journal = MemoryJournal()
    owner = {
        "pid": os.getppid(),
        "host": socket.gethostname(),
        "since": started(stat_fields(os.getppid())),
    }
    intent = catalog.intents["deliver"].model_dump(mode="json", by_alias=True)
    journal.start_run(
        "r-live", "deliver", "2026-11-23T10:00:00+00:00", {"intent": intent, "process": owner}
    )
    with pytest.raises(
        IdoError, match=r"run r-live is still running \(process \d+ on this machine\)"
    ):
        recover(journal.run("r-live"), journal.events("r-live"), catalog)
    runtime = LocalRuntime(catalog, journal, base=project)
    with pytest.raises(IdoError, match="still running"):
        runtime.resume("r-live")


def test_a_run_whose_process_was_killed_and_not_yet_reaped_may_be_resumed(
    tmp_path: Path,
) -> None:
    """A process killed with SIGKILL whose parent has not waited for it (a container's
    first process that reaps nothing) still answers a signal: its run read as `running`
    and `ido resume` refused it for good."""
    project = make_project(tmp_path)
    catalog = load_catalog([project / "capabilities", project / "intents"])
    journal = MemoryJournal()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owner = {
            "pid": child.pid,
            "host": socket.gethostname(),
            "since": started(stat_fields(child.pid)),
        }
        intent = catalog.intents["deliver"].model_dump(mode="json", by_alias=True)
        journal.start_run(
            "r-dead", "deliver", "2026-11-23T10:00:00+00:00", {"intent": intent, "process": owner}
        )
        os.kill(child.pid, signal.SIGKILL)
        while running(child.pid):  # until it is a zombie
            time.sleep(0.01)
        recover(journal.run("r-dead"), journal.events("r-dead"), catalog)
    finally:
        child.kill()
        child.wait()


def test_a_resume_refused_for_a_step_no_longer_in_the_catalog_writes_nothing(
    tmp_path: Path,
) -> None:
    """It said "restore it to resume" after it had written `run_resumed`, so the run's
    explanation showed a resume that never happened (and one more for each try)."""
    for n in range(1, 30):  # the first crash that leaves `charge` in flight
        project = make_project(tmp_path / f"crash-{n}")
        assert ido(project, "run", "deliver", IDO_CRASH_AFTER_EVENTS=str(n)).returncode
        with SqliteJournal(project / ".ido" / "ido.db") as journal:
            (row,) = journal.runs()
            events = journal.events(row.id)
        if events[-1].kind == "action_started" and events[-1].data["capability"] == "charge":
            break
    else:
        pytest.fail("no crash left charge in flight")
    shop = project / "capabilities" / "shop.yaml"
    shop.write_text(shop.read_text().split("---\n", 1)[1])  # charge's document gone
    refused = ido(project, "resume", "last")
    assert refused.returncode == 2 and "no longer in the catalog" in refused.stderr
    with SqliteJournal(project / ".ido" / "ido.db") as journal:
        assert len(journal.events(row.id)) == len(events)


def test_each_wait_for_approval_is_left_out_of_the_time_the_deadline_counts(
    tmp_path: Path,
) -> None:
    """Blocked 10 s, resumed, blocked again: the first wait is measured between its events,
    and the one in progress from when it began (`Recovered.blocked_at`)."""
    project = make_project(tmp_path)
    catalog = load_catalog([project / "capabilities", project / "intents"])
    journal = MemoryJournal()
    intent = catalog.intents["deliver"].model_dump(mode="json", by_alias=True)
    journal.start_run("r-w", "deliver", "2026-11-23T10:00:00+00:00", {"intent": intent})
    journal.finish_run("r-w", "blocked", "needs approval", 0.0, 1.0, "2026-11-23T10:00:01+00:00")
    journal.take_over("r-w", 2, "2026-11-23T10:00:11+00:00", {"after": "approval"})
    journal.finish_run("r-w", "blocked", "needs approval", 0.0, 12.0, "2026-11-23T10:00:12+00:00")
    recovered = recover(journal.run("r-w"), journal.events("r-w"), catalog)
    assert recovered.run.waited == pytest.approx(10.0)
    assert recovered.blocked_at == pytest.approx(recovered.run.started + 12.0)
    assert recovered.run.elapsed(recovered.run.started + 15.0) == pytest.approx(5.0)


def test_a_report_read_again_unchanged_stands_where_it_was_last_read_on_resume(
    tmp_path: Path,
) -> None:
    """The ledger reported the order unpaid, charge paid it, and the ledger was read again,
    unchanged (journaled by name only). Should it fail on resume, its report stands above
    charge's effect, as it did in the run: placed where it was first read, below charge,
    the order would read paid."""
    project = make_project(tmp_path)
    catalog = load_catalog([project / "capabilities", project / "intents"])
    journal = MemoryJournal()
    intent = catalog.intents["deliver"].model_dump(mode="json", by_alias=True)
    at = "2026-11-23T10:00:00+00:00"
    journal.start_run("r-u", "deliver", at, {"intent": intent})
    unpaid = {"order": {"paid": False}}
    journal.append("r-u", "observed", at, {"state": unpaid, "reports": {"ledger": unpaid}})
    started = {"step": 1, "capability": "charge", "attempt": 1, "decision": 1}
    journal.append("r-u", "action_started", at, {**started, "idempotency_key": "r-u/1/1"})
    paid = {**started, "ok": True, "effects": {"order.paid": True}}
    journal.append("r-u", "action_finished", at, paid)
    journal.append("r-u", "observed", at, {"state": unpaid, "unchanged": ["ledger"]})
    recovered = recover(journal.run("r-u"), journal.events("r-u"), catalog)
    assert recovered.run.effect_log == [("order.paid", True)]
    assert recovered.run.reports["ledger"] == (1, unpaid)  # above charge's effect


@pytest.mark.parametrize("verdict", ["approve", "reject"])
def test_an_interrupted_step_no_observer_can_settle_waits_for_a_person(
    tmp_path: Path, verdict: str
) -> None:
    """charge was called, then the process died. With no observer, its effects "did not
    hold", so the next decision charged again, under a new idempotency key. Now the run
    blocks for a person: approved, charge is performed again under its own key (a provider
    that honours keys does it once); rejected, the run fails and nothing is repeated."""
    project = make_project(tmp_path)
    intent = project / "intents" / "deliver.yaml"
    intent.write_text(INTENT.replace("  observers: [ledger]\n", ""))
    killed = ido(project, "run", "deliver", SVC_DIE_AFTER="charge")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    before = ledger(project)
    (charged,) = [line for line in before if line.startswith("charge ")]
    blocked = ido(project, "resume", "last")
    assert blocked.returncode == 3, blocked.stdout + blocked.stderr
    assert "charge needs approval (resume/outcome-unknown: step 1 (charge) was interrupted" in (
        blocked.stdout
    )
    # Not repeated unasked. pack (idempotent) may have been in flight beside charge: the
    # resume then performs it again under its own key, as any interrupted idempotent step.
    assert unpacked(ledger(project)) == unpacked(before)
    assert "step 1 charge  resume/outcome-unknown" in ido(project, "approvals").stdout
    said = ido(project, verdict, "last", "--by", "ops", "--comment", "checked with the PSP")
    assert said.returncode == 0, said.stdout + said.stderr
    done = ido(project, "resume", "last")
    if verdict == "approve":
        assert done.returncode == 0, done.stdout + done.stderr
        after = ledger(project)
        assert after.count(charged) == 2  # the same call again, under its own key
        assert kinds_of(after) == ["charge", "charge", "pack", "ship"]
        told = ido(project, "explain", "last").stdout
        assert "performed again on resume, as approved: its outcome was unknown" in told
    else:
        assert done.returncode == 1, done.stdout + done.stderr
        assert "ops rejected performing it again (resume/outcome-unknown): checked with" in (
            done.stdout
        )
        assert unpacked(ledger(project)) == unpacked(before)


def test_an_approved_repeat_cut_short_again_is_not_made_a_third_time(tmp_path: Path) -> None:
    """ops approved charging once more, and the repeat was killed too. The next resume
    found the approval and charged a third time, asking nobody; now the repeat's start is
    in the journal, and an outcome still unknown fails the run, as a repeat that times out
    again does."""
    project = make_project(tmp_path)
    intent = project / "intents" / "deliver.yaml"
    intent.write_text(INTENT.replace("  observers: [ledger]\n", ""))
    assert ido(project, "run", "deliver", SVC_DIE_AFTER="charge").returncode == -signal.SIGKILL
    assert ido(project, "resume", "last").returncode == 3
    assert ido(project, "approve", "last", "--by", "ops").returncode == 0
    again = ido(project, "resume", "last", SVC_DIE_AFTER="charge")
    assert again.returncode == -signal.SIGKILL, again.stdout + again.stderr
    assert "charge (step 1 again, as approved)" in again.stdout
    done = ido(project, "resume", "last")
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "step 1 charge was performed again as approved, and was interrupted again: "
        "its outcome is still unknown"
    ) in done.stdout
    assert kinds_of(unpacked(ledger(project))) == ["charge", "charge"]
    told = ido(project, "explain", "last").stdout
    assert "step 1 (charge) performed again, as approved" in told


def test_an_approved_repeat_cut_short_again_is_no_failure_of_its_provider(
    tmp_path: Path,
) -> None:
    """ops approved charging once more, and the repeat was killed before it charged. The
    next resume observed the order unpaid and recorded the kill as the provider's
    failure: one failure counted, and a failure lesson saved to the journal's beliefs.
    Now it is settled as any step an interruption cut short: interrupted."""
    project = make_project(tmp_path)
    assert ido(project, "run", "deliver", SVC_DIE_BEFORE="charge").returncode == -signal.SIGKILL
    assert ido(project, "resume", "last", SVC_LEDGER_DOWN="1").returncode == 3
    assert ido(project, "approve", "last", "--by", "ops").returncode == 0
    again = ido(project, "resume", "last", SVC_DIE_BEFORE="charge")
    assert again.returncode == -signal.SIGKILL, again.stdout + again.stderr
    assert "charge (step 1 again, as approved)" in again.stdout
    done = ido(project, "resume", "last")
    assert done.returncode == 0, done.stdout + done.stderr
    assert kinds_of(unpacked(ledger(project))) == ["charge", "ship"]
    with SqliteJournal(project / ".ido" / "ido.db") as journal:
        (row,) = journal.runs()
        events = journal.events(row.id)
        health = journal.health()
    cut = [e.data for e in events if e.data.get("resumed") and e.data["capability"] == "charge"]
    assert [(c["ok"], c["interrupted"]) for c in cut] == [(False, True)]
    assert health["charge"].failures == 0.0
    assert health["charge"].successes == pytest.approx(1.0, abs=0.01)


def test_a_person_asked_about_a_step_is_told_the_observer_that_failed(tmp_path: Path) -> None:
    """The ledger observer was down as the run resumed: the request said "nothing observes
    its effects (order.paid)", of an intent that has an observer for them."""
    project = make_project(tmp_path)
    assert ido(project, "run", "deliver", SVC_DIE_AFTER="charge").returncode == -signal.SIGKILL
    blocked = ido(project, "resume", "last", SVC_LEDGER_DOWN="1")
    assert blocked.returncode == 3, blocked.stdout + blocked.stderr
    assert (
        "step 1 (charge) was interrupted, and nothing observes its effects (order.paid; "
        "observer ledger failed): whether it ran is unknown"
    ) in blocked.stdout


def test_an_approved_repeat_is_not_made_when_the_observer_now_shows_it_done(
    tmp_path: Path,
) -> None:
    """The ledger was down as the run resumed, so a person approved charging again; by the
    next resume it was back and showed the order paid, and the charge was made twice."""
    project = make_project(tmp_path)
    assert ido(project, "run", "deliver", SVC_DIE_AFTER="charge").returncode == -signal.SIGKILL
    assert ido(project, "resume", "last", SVC_LEDGER_DOWN="1").returncode == 3
    assert ido(project, "approve", "last", "--by", "ops").returncode == 0
    done = ido(project, "resume", "last")
    assert done.returncode == 0, done.stdout + done.stderr
    assert kinds_of(ledger(project)).count("charge") == 1
    told = ido(project, "explain", "last").stdout
    assert "charge: interrupted; its effects were observed on resume" in told, told
    assert "as approved" not in told.split("approved by ops")[1], told


HOLD_PY = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: hold-py}
spec:
  provider: holder
  effects: {held: true}
  timeout: 60s
  run: {python: "holdsvc:hold"}
---
apiVersion: ido/v1
kind: Intent
metadata: {name: hold-py}
spec:
  goal: [state.held]
"""

HOLD_MODULE = """\
import os
import time
from pathlib import Path


def hold(ctx):
    here = Path(os.environ["HANG_DIR"])
    (here / "started").touch()
    while not (here / "go").exists():
        time.sleep(0.02)
    with (here / "done").open("a") as done:
        done.write(ctx.idempotency_key + "\\n")
"""


def _holding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str) -> tuple[Catalog, Path]:
    """A project at `tmp_path` whose one capability calls `holdsvc.hold` (`module`), and
    the folder its call signals in (`HANG_DIR`): its catalog and that folder."""
    (tmp_path / "capabilities").mkdir()
    (tmp_path / "capabilities" / "hold.yaml").write_text(HOLD_PY)
    (tmp_path / "holdsvc.py").write_text(module)
    hang = tmp_path / "hang"
    hang.mkdir()
    monkeypatch.setenv("HANG_DIR", str(hang))
    monkeypatch.delitem(sys.modules, "holdsvc", raising=False)
    return load_catalog([tmp_path / "capabilities"]), hang


def test_a_run_a_thread_carries_on_is_not_resumed_by_another_thread_of_its_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's owner was never this process itself: a program embedding ido that resumed
    a run one of its threads was in the middle of took it over (nothing had been written
    since its step started) and settled that step while it was still being performed, the
    first thread then writing its end after the other's. It is refused as still running."""
    catalog, hang = _holding(tmp_path, monkeypatch, HOLD_MODULE)
    path = tmp_path / "ido.db"
    reports: list[Any] = []
    with SqliteJournal(path) as journal, SqliteJournal(path) as other:
        first = LocalRuntime(catalog, journal, base=tmp_path)
        carrier = threading.Thread(
            target=lambda: reports.append(first.run(catalog.intents["hold-py"]))
        )
        carrier.start()
        try:
            while not (hang / "started").exists():
                assert carrier.is_alive()
                time.sleep(0.02)
            run_id = other.resolve("last")
            with pytest.raises(IdoError, match=f"run {run_id} is still running"):
                LocalRuntime(catalog, other, base=tmp_path).resume(run_id)
        finally:
            (hang / "go").touch()
            carrier.join(60)
        kinds = [e.kind for e in journal.events(run_id)]
    assert [r.outcome for r in reports] == ["achieved"]
    assert "run_resumed" not in kinds
    assert len((hang / "done").read_text().splitlines()) == 1
    monkeypatch.delitem(sys.modules, "holdsvc", raising=False)


LINGER_MODULE = """\
import os
import time
from pathlib import Path


def hold(ctx):
    here = Path(os.environ["HANG_DIR"])
    if ctx.step == 1:  # the first call lingers, on its thread, until told to end
        (here / "started").touch()
        while not (here / "go").exists():
            time.sleep(0.02)
    with (here / "done").open("a") as done:
        done.write(ctx.idempotency_key + "\\n")
"""


def test_a_run_stopped_while_its_python_step_goes_on_is_not_resumed_under_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review: a run stopped (Ctrl-C, `stopping.stop`) while a Python binding was
    in flight left the call going on its worker thread (a thread cannot be killed), and
    the run no longer counted as carried on here: `resume` in the same process (as the
    Python API page says to do after Ctrl-C) took it over and performed the step again
    while the first call was still doing it. The run is carried on while any call of it
    is in flight: the resume is refused as still running until the call has ended."""
    catalog, hang = _holding(tmp_path, monkeypatch, LINGER_MODULE)
    stopped: list[BaseException] = []

    def carry(runtime: LocalRuntime) -> None:
        try:
            runtime.run(catalog.intents["hold-py"])
        except KeyboardInterrupt as exc:
            stopped.append(exc)

    with SqliteJournal(tmp_path / "ido.db") as journal:
        carrier = threading.Thread(
            target=carry, args=(LocalRuntime(catalog, journal, base=tmp_path),)
        )
        carrier.start()
        try:
            while not (hang / "started").exists():
                assert carrier.is_alive()
                time.sleep(0.02)
            stopping.stop()
            carrier.join(30)
            stopping.reset()
            assert stopped, "the run was not stopped"
            run_id = journal.resolve("last")
            runtime = LocalRuntime(catalog, journal, base=tmp_path)
            said = f"run {run_id} is still running in this process .* a Python call of it"
            with pytest.raises(IdoError, match=said):
                runtime.resume(run_id)
        finally:
            stopping.reset()
            (hang / "go").touch()
        deadline = time.monotonic() + 30
        while True:  # once the call has ended, the run may be resumed
            try:
                report = runtime.resume(run_id)
                break
            except IdoError:
                assert time.monotonic() < deadline, "still refused after the call ended"
                time.sleep(0.05)
    assert report.run_id == run_id
    monkeypatch.delitem(sys.modules, "holdsvc", raising=False)


def test_a_run_its_process_gave_up_on_an_error_may_be_resumed_while_it_lives(
    tmp_path: Path,
) -> None:
    """A runner whose resume broke on an error (a closed output pipe) lived on as the
    run's owner: `ido resume` refused it as "still running", and the runner never tried
    it again. Giving a run up on an error is recorded, and frees it."""
    project = make_project(tmp_path)
    catalog = load_catalog([project / "capabilities", project / "intents"])
    journal = MemoryJournal()

    def broken(kind: str, data: object) -> None:
        if kind == "action_started":
            raise BrokenPipeError("the output was closed")

    runtime = LocalRuntime(catalog, journal, base=project, listener=broken)
    with pytest.raises(BrokenPipeError):
        runtime.run(catalog.intents["deliver"])
    (row,) = journal.runs()
    events = journal.events(row.id)
    assert events[-1].kind == "run_released" and "output was closed" in events[-1].data["error"]
    owner = {
        "pid": os.getppid(),
        "host": socket.gethostname(),
        "since": started(stat_fields(os.getppid())),
    }
    journal._events[row.id][0].data["process"] = owner  # as if a live runner had started it
    recover(journal.run(row.id), journal.events(row.id), catalog)  # not "still running"


def test_a_rejection_stands_when_the_catalog_changes_before_the_resume(tmp_path: Path) -> None:
    """Rejected, then charge was made idempotent in the catalog: resuming charged again,
    the rejection unread (the idempotent branch came first)."""
    project = make_project(tmp_path)
    intent = project / "intents" / "deliver.yaml"
    intent.write_text(INTENT.replace("  observers: [ledger]\n", ""))
    ido(project, "run", "deliver", SVC_DIE_AFTER="charge")
    before = ledger(project)
    assert ido(project, "resume", "last").returncode == 3
    said = ido(project, "reject", "last", "--by", "ops", "--comment", "do not charge again")
    assert said.returncode == 0, said.stderr
    shop = project / "capabilities" / "shop.yaml"
    shop.write_text(
        shop.read_text().replace("  cost: 1.0\n", "  cost: 1.0\n  idempotent: true\n", 1)
    )
    done = ido(project, "resume", "last")
    assert done.returncode == 1 and "ops rejected performing it again" in done.stdout, done.stdout
    assert unpacked(ledger(project)) == unpacked(before)  # pack: see the test above


def test_a_resume_after_a_block_learns_each_outcome_once(tmp_path: Path) -> None:
    """What the run learnt before it blocked was saved as it blocked; resuming added it to
    the journal's beliefs again: one pack counted as two successes."""
    project = make_project(tmp_path)
    intent = project / "intents" / "deliver.yaml"
    intent.write_text(INTENT.replace("  observers: [ledger]\n", ""))
    ido(project, "run", "deliver", SVC_DIE_AFTER="charge")  # pack done, charge cut short
    assert ido(project, "resume", "last").returncode == 3  # charge: a person decides
    with SqliteJournal(project / ".ido" / "ido.db") as journal:
        packed = journal.health()["pack"].successes
    assert ido(project, "approve", "last", "--by", "ops").returncode == 0
    assert ido(project, "resume", "last").returncode == 0
    with SqliteJournal(project / ".ido" / "ido.db") as journal:
        assert journal.health()["pack"].successes == pytest.approx(packed, abs=0.01)


def test_a_resume_that_breaks_as_it_goes_on_releases_the_run(tmp_path: Path) -> None:
    """An error after the run was taken over, before its loop (a listener that fails as
    the resume is told), left the run held by the process that gave it up."""
    project = make_project(tmp_path)
    killed = ido(project, "run", "deliver", SVC_DIE_AFTER="charge")
    assert killed.returncode == -signal.SIGKILL
    catalog = load_catalog([project / "capabilities", project / "intents"])

    def broken(kind: str, data: object) -> None:
        if kind == "run_resumed":
            raise OSError("the telemetry pipe broke")

    with SqliteJournal(project / ".ido" / "ido.db") as journal:
        run_id = journal.resolve("last")
        runtime = LocalRuntime(catalog, journal, base=project, listener=broken)
        with pytest.raises(OSError, match="telemetry pipe"):
            runtime.resume(run_id)
        kinds = [e.kind for e in journal.events(run_id)]
    assert kinds[-2:] == ["run_resumed", "run_released"], kinds


def test_a_resume_whose_output_is_closed_goes_on_to_its_outcome(tmp_path: Path) -> None:
    """`ido resume … | head -1`: the closed pipe broke the resume as it began."""
    project = make_project(tmp_path)
    killed = ido(project, "run", "deliver", SVC_DIE_AFTER="charge")
    assert killed.returncode == -signal.SIGKILL
    resume = subprocess.Popen(
        [sys.executable, "-m", "ido", "resume", "last"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert resume.stdout is not None
    resume.stdout.close()  # the first line it prints meets a closed pipe
    assert resume.wait(timeout=60) == 0
    assert check_journal(project)[0] == "achieved"


HELD = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: hold}
spec:
  provider: holder
  effects: {held: true}
  cost: 0.1
  idempotent: true
  timeout: 120s
  run:
    shell:
      - sh
      - -c
      - |
        if mkdir "$HANG_DIR/held" 2>/dev/null; then echo $$ > "$HANG_DIR/pid"; sleep 60; fi
        echo "$IDO_IDEMPOTENCY_KEY" >> "$HANG_DIR/effects"
"""


def _hold_killed_mid_step(project: Path, hang: Path) -> int:
    """`ido run hold` killed (`kill -9`, ido alone) while its shell step's process runs;
    that process's id."""
    (project / "capabilities" / "hold.yaml").write_text(HELD)
    (project / "intents" / "hold.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: hold}\nspec:\n  goal: [state.held]\n"
    )
    hang.mkdir()
    env = {**os.environ, "HANG_DIR": str(hang)}
    env.pop("IDO_CRASH_AFTER_EVENTS", None)
    killed = subprocess.Popen(
        [sys.executable, "-m", "ido", "run", "hold"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pid_file = hang / "pid"
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert killed.poll() is None
        time.sleep(0.02)
    killed.kill()  # ido alone, as `kill -9 PID` does: its step's process lives on
    killed.wait()
    return int(pid_file.read_text())


def test_a_step_process_left_running_by_a_killed_ido_is_stopped_before_the_step_is_settled(
    tmp_path: Path,
) -> None:
    """`kill -9` of ido alone leaves its shell step's process running: resume settled the
    step (performed again, or planned again under a new key when not idempotent) while the
    orphan went on to do the side effect too. Now resume kills the orphan first, says so,
    and the step's effect is done once."""
    project = make_project(tmp_path)
    hang = project / "hang"
    orphan = _hold_killed_mid_step(project, hang)
    try:
        resumed = ido(project, "resume", "last", HANG_DIR=str(hang))
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert f"was still running from before the interruption (process {orphan}" in (
            resumed.stdout
        )
        assert not running(orphan)
        assert len((hang / "effects").read_text().splitlines()) == 1
        explained = ido(project, "explain", "last", "--color", "never")
        assert "killed before the step was settled" in explained.stdout
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(orphan, signal.SIGKILL)


def test_a_step_process_left_running_is_stopped_though_its_binding_is_no_longer_shell(
    tmp_path: Path,
) -> None:
    """The leftover process was looked for only when the capability's binding was still a
    shell one: one moved to Python between the crash and the resume (the step performed
    again in-process) left the old shell process running, to do the step's side effect
    once more after the resume. What a step left running is found by its environment,
    whatever the binding says now."""
    project = make_project(tmp_path)
    hang = project / "hang"
    orphan = _hold_killed_mid_step(project, hang)
    try:
        moved = HELD.partition("  run:")[0] + '  run: {python: "svc.ledger:pack"}\n'
        (project / "capabilities" / "hold.yaml").write_text(moved)
        resumed = ido(project, "resume", "last", HANG_DIR=str(hang))
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert f"was still running from before the interruption (process {orphan}" in (
            resumed.stdout
        )
        assert not running(orphan)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(orphan, signal.SIGKILL)


def test_resume_run_from_a_shell_with_the_step_s_variables_does_not_stop_itself() -> None:
    """Found in review: a shell that had a step's IDO_RUN_ID and IDO_IDEMPOTENCY_KEY (set by
    hand to try the step) and ran `ido resume` was taken for the step's leftover process;
    stopping it and what is below it stopped the resume too, for good."""
    import subprocess
    import sys
    import uuid

    # A run id of this test's own: another suite running this test at the same time on the
    # same machine has a probe of its own with the same variables, which this one would stop.
    run = f"r-{uuid.uuid4().hex}"
    probe = (
        "from ido.runtime.process_tree import stop_left_running; "
        f"print(stop_left_running('{run}', '{run}/1/1'))"
    )
    env = {**os.environ, "IDO_RUN_ID": run, "IDO_IDEMPOTENCY_KEY": f"{run}/1/1"}
    done = subprocess.run(
        ["bash", "-c", f'{sys.executable} -c "{probe}"; echo after'],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.split() == ["[]", "after"], done


PAIR = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: pack}
spec:
  provider: warehouse
  requires: ["!state.parcel.packed"]
  effects: {parcel.packed: true}
  run: {python: "pairsvc.calls:call"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: label}
spec:
  provider: printer
  requires: ["!state.parcel.labelled"]
  effects: {parcel.labelled: true}
  run: {python: "pairsvc.calls:call"}
---
apiVersion: ido/v1
kind: Intent
metadata: {name: both}
spec:
  goal: ["state.parcel.packed", "state.parcel.labelled"]
"""


class _LosingOutcomes(MemoryJournal):
    """A journal that fails to record any step's end while `losing`."""

    losing = True

    def append(self, run_id: str, kind: str, at: str, data: Any) -> int:
        if self.losing and kind == "action_finished":
            raise RuntimeError("the disk is full")
        return super().append(run_id, kind, at, data)


def test_a_resume_blocked_on_two_steps_counts_the_second_as_a_run_does(tmp_path: Path) -> None:
    """Two steps in flight, neither observed: the resume blocked naming the first alone,
    where a run says "(and 1 more)"; it words them as a run does now."""
    (tmp_path / "pairsvc").mkdir()
    (tmp_path / "pairsvc" / "__init__.py").write_text("")
    (tmp_path / "pairsvc" / "calls.py").write_text("def call(ctx):\n    return {}\n")
    (tmp_path / "pair.yaml").write_text(PAIR)
    catalog = load_catalog([tmp_path / "pair.yaml"])
    journal = _LosingOutcomes()
    with pytest.raises(RuntimeError, match="the disk is full"):
        LocalRuntime(catalog, journal, base=tmp_path, clock=StepClock()).run(
            catalog.intents["both"]
        )
    journal.losing = False
    run = journal.resolve("last")
    report = LocalRuntime(catalog, journal, base=tmp_path, clock=StepClock()).resume(run)
    assert report.outcome == "blocked"
    assert report.reason is not None and report.reason.endswith("the run) (and 1 more)")
    asked = [e for e in journal.events(run) if e.kind == "approval_required"]
    assert len(asked) == 2


def test_an_approved_plan_goes_on_after_a_crash_without_asking_again(tmp_path: Path) -> None:
    """A plan over 3.00 needs a person. Approved, it started, and the process died after
    the charge: resumed, the rest of the same plan (the same 3.50 with what was spent)
    asked for approval again, as if it were another plan. It goes on now."""
    project = make_project(tmp_path)
    (project / "policies").mkdir()
    (project / "policies" / "gate.yaml").write_text(
        "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: gate}\nspec:\n  rules:\n"
        "    - {id: big, effect: require_approval, when: 'plan.cost > 3.0', message: big}\n"
    )
    intent = project / "intents" / "deliver.yaml"
    intent.write_text(intent.read_text() + "  policies: [gate]\n")
    assert ido(project, "run", "deliver").returncode == 3
    assert ido(project, "approve", "last", "--by", "lead").returncode == 0
    assert ido(project, "resume", "last", SVC_DIE_AFTER="charge").returncode != 0
    resumed = ido(project, "resume", "last")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert unpacked(ledger(project))[0].startswith("charge ")
    assert [line.split()[0] for line in unpacked(ledger(project))] == ["charge", "ship"]


def test_an_observer_failing_the_same_way_after_a_resume_is_told_once(tmp_path: Path) -> None:
    """The ledger observer was down before and after a resume: the first failure after
    each resume was not marked `again`, and explain told it once more per resume."""
    project = make_project(tmp_path)
    assert ido(project, "run", "deliver", SVC_DIE_AFTER="charge").returncode == -signal.SIGKILL
    assert ido(project, "resume", "last", SVC_LEDGER_DOWN="1").returncode == 3
    assert ido(project, "approve", "last", "--by", "ops").returncode == 0
    ido(project, "resume", "last", SVC_LEDGER_DOWN="1")
    with SqliteJournal(project / ".ido" / "ido.db") as journal:
        events = journal.events(journal.runs()[0].id)
    failed = [e.data for e in events if e.kind == "observer_failed"]
    assert len(failed) >= 2 and len({f["reason"] for f in failed}) == 1, failed
    assert "again" not in failed[0] and all(f.get("again") for f in failed[1:]), failed
    told = ido(project, "explain", "last").stdout
    lines = [line for line in told.splitlines() if line.strip().startswith("observer ledger")]
    assert len(lines) == 1, told


FREEZE = """\
apiVersion: ido/v1
kind: Policy
metadata: {name: freeze}
spec:
  enforced: true
  rules:
    - id: no-CAPABILITY
      effect: deny
      when: "capability.name == 'CAPABILITY'"
      message: CAPABILITY is frozen.
"""


def freeze(project: Path, capability: str) -> None:
    """Put an enforced policy in place that denies `capability`, as a freeze would."""
    (project / "policies").mkdir(exist_ok=True)
    (project / "policies" / "freeze.yaml").write_text(FREEZE.replace("CAPABILITY", capability))


def test_an_approved_repeat_is_not_made_once_a_rule_denies_it(tmp_path: Path) -> None:
    """ops approved charging again a charge whose outcome was unknown; a freeze denying
    charge came in before the resume, and the charge was made all the same: the repeat
    was checked against no rule. Now it is not made, and the run fails saying why."""
    project = make_project(tmp_path)
    intent = project / "intents" / "deliver.yaml"
    intent.write_text(INTENT.replace("  observers: [ledger]\n", ""))
    assert ido(project, "run", "deliver", SVC_DIE_AFTER="charge").returncode == -signal.SIGKILL
    assert ido(project, "resume", "last").returncode == 3
    assert ido(project, "approve", "last", "--by", "ops").returncode == 0
    freeze(project, "charge")
    done = ido(project, "resume", "last")
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "is not performed again, though ops approved it: charge now denied by "
        "freeze/no-charge: charge is frozen."
    ) in done.stdout
    assert kinds_of(unpacked(ledger(project))) == ["charge"]


def test_an_idempotent_step_cut_short_is_not_made_again_once_a_rule_denies_it(
    tmp_path: Path,
) -> None:
    """pack was cut short before it packed; a freeze denying pack came in before the
    resume, which packed all the same, as an idempotent step is made again unasked."""
    project = make_project(tmp_path)
    assert ido(project, "run", "deliver", SVC_DIE_BEFORE="pack").returncode == -signal.SIGKILL
    freeze(project, "pack")
    done = ido(project, "resume", "last")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "not performed again (the next decision plans from there): pack now denied" in (
        done.stdout
    )
    assert "pack" not in kinds_of(ledger(project))


def test_a_resumed_run_that_finds_no_plan_before_any_step_exits_4(tmp_path: Path) -> None:
    """Interrupted before its first decision, a run whose limits admit no plan is resumed
    to `failed` with exit 4 (no plan, nothing performed), as `ido run` exits for it, not 1
    (a run tried and failed)."""
    project = make_project(tmp_path / "p")
    intent = project / "intents" / "deliver.yaml"
    intent.write_text(intent.read_text() + "  constraints: {max_cost: 0.5}\n")
    killed = ido(project, "run", "deliver", IDO_CRASH_AFTER_EVENTS="1")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    with SqliteJournal(project / ".ido" / "ido.db") as journal:
        (row,) = journal.runs()
        assert row.outcome is None and "decided" not in [e.kind for e in journal.events(row.id)]
    resumed = ido(project, "resume", "last", "-f", "json")
    assert resumed.returncode == 4, resumed.stdout + resumed.stderr
    (listed,) = json.loads(resumed.stdout)
    assert listed["outcome"] == "failed" and "max_cost" in listed["reason"]
    assert ledger(project) == []
