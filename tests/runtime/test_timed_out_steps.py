"""A call that timed out may have done its side effect: how a run settles one that is not safe to repeat."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ido.journal import SqliteJournal

LOADS = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: load-primary}
spec:
  provider: primary
  effects: {data.loaded: true}
  cost: 1.0
  latency: 100ms
  timeout: 1s
  run: {shell: [sh, svc/load.sh, primary]}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: load-fallback}
spec:
  provider: fallback
  effects: {data.loaded: true}
  cost: 2.0
  latency: 100ms
  timeout: 1s
  run: {shell: [sh, svc/load.sh, fallback]}
"""

OBSERVER = """\
apiVersion: ido/v1
kind: Observer
metadata: {name: warehouse}
spec: {python: "svc.warehouse:observe"}
"""

INTENT = """\
apiVersion: ido/v1
kind: Intent
metadata: {name: load}
spec:
  goal: ["state.data.loaded"]
  planner: search
"""

# A warehouse that honours idempotency keys: a key it has seen is answered at once, and
# loads nothing. Its first call answers too late (past the 1s timeout): the load is done
# before it sleeps (LATE=after) or not at all (LATE=before: ido stopped it first). With
# LATE=always, every call loads and answers too late.
LOAD = """\
key="$IDO_IDEMPOTENCY_KEY"
if [ "$LATE" = always ]; then echo "$1 $key" >> ledger.txt; sleep 30; fi
if grep -q " $key\\$" ledger.txt 2>/dev/null; then echo '{}'; exit 0; fi
if [ ! -e answered-late ]; then
  touch answered-late
  if [ "$LATE" = after ]; then echo "$1 $key" >> ledger.txt; fi
  sleep 30
fi
echo "$1 $key" >> ledger.txt
echo '{}'
"""

WAREHOUSE = """\
from pathlib import Path


def observe():
    ledger = Path("ledger.txt")
    return {"data": {"loaded": ledger.exists() and ledger.read_text().strip() != ""}}
"""


def make_project(root: Path, observed: bool = False, idempotent: bool = False) -> Path:
    for folder in ("capabilities", "intents", "svc"):
        (root / folder).mkdir(parents=True)
    loads = LOADS.replace("  cost:", "  idempotent: true\n  cost:") if idempotent else LOADS
    (root / "capabilities" / "loads.yaml").write_text(loads)
    (root / "capabilities" / "warehouse.yaml").write_text(OBSERVER)
    intent = INTENT + ("  observers: [warehouse]\n" if observed else "")
    (root / "intents" / "load.yaml").write_text(intent)
    (root / "svc" / "__init__.py").write_text("")
    (root / "svc" / "load.sh").write_text(LOAD)
    (root / "svc" / "warehouse.py").write_text(WAREHOUSE)
    return root


def ido(project: Path, *args: str, late: str = "after") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ido", *args],
        check=False,
        cwd=project,
        env={**os.environ, "LATE": late},
        capture_output=True,
        text=True,
        timeout=120,
    )


def ledger(project: Path) -> list[str]:
    path = project / "ledger.txt"
    return path.read_text().splitlines() if path.exists() else []


def finished(project: Path) -> list[dict[str, object]]:
    with SqliteJournal(project / ".ido" / "ido.db") as journal:
        (row,) = journal.runs()
        return [e.data for e in journal.events(row.id) if e.kind == "action_finished"]


@pytest.mark.parametrize("verdict", ["approve", "reject"])
def test_a_timed_out_call_no_observer_can_settle_waits_for_a_person(
    tmp_path: Path, verdict: str
) -> None:
    """load-primary loaded, then answered past its timeout. Counted as a plain failure,
    the replan loaded again under a new key (the data in both warehouses). Now the run
    blocks for a person: approved, the call is made again under its own key (the warehouse
    recognises it); rejected, the run fails, and nothing is loaded again."""
    project = make_project(tmp_path)
    blocked = ido(project, "run", "load")
    assert blocked.returncode == 3, blocked.stdout + blocked.stderr
    assert (
        "load-primary needs approval (resume/outcome-unknown: step 1 (load-primary) timed "
        "out after 1s, and nothing observes its effects (data.loaded): its outcome is unknown"
    ) in blocked.stdout
    (loaded,) = ledger(project)
    assert "step 1 load-primary  resume/outcome-unknown" in ido(project, "approvals").stdout
    told = ido(project, "explain", "last").stdout
    assert "load-primary: timed out after 1s; its outcome is unknown, and a person" in told
    said = ido(project, verdict, "last", "--by", "ops", "--comment", "asked the warehouse")
    assert said.returncode == 0, said.stdout + said.stderr
    done = ido(project, "resume", "last")
    assert ledger(project) == [loaded]  # loaded once, in one warehouse
    if verdict == "approve":
        assert done.returncode == 0, done.stdout + done.stderr
        (again,) = finished(project)
        assert again["ok"] and again["resumed"] == "approved"
        told = ido(project, "explain", "last").stdout
        assert "performed again on resume, as approved: its outcome was unknown" in told
    else:
        assert done.returncode == 1, done.stdout + done.stderr
        assert (
            "step 1 load-primary timed out after 1s with its outcome unknown, and ops "
            "rejected performing it again (resume/outcome-unknown): asked the warehouse"
        ) in done.stdout
        told = ido(project, "explain", "last").stdout
        assert "load-primary: timed out after 1s; its outcome is unknown, and repeating" in told


def test_a_timed_out_call_whose_effects_an_observer_shows_is_done(tmp_path: Path) -> None:
    """The next observation shows the load: the step is done, nothing is loaded again."""
    project = make_project(tmp_path, observed=True)
    done = ido(project, "run", "load")
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(ledger(project)) == 1
    (step,) = finished(project)
    assert step["ok"] and step["timed_out"] and step["settled"] == "its effects were observed"
    told = ido(project, "explain", "last").stdout
    assert "load-primary: timed out after 1s; its effects were observed: done" in told


def test_a_timed_out_call_an_observer_shows_not_done_is_tried_again(tmp_path: Path) -> None:
    """Stopped before it loaded, as the next observation shows: a failure, tried again."""
    project = make_project(tmp_path, observed=True)
    done = ido(project, "run", "load", late="before")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [line.split()[0] for line in ledger(project)] == ["primary"]
    first, second = finished(project)
    assert not first["ok"] and first["settled"] == "its effects are observed not to hold"
    assert second["ok"] and second["attempt"] == 2
    assert "step 1 load-primary timed out after 1s; its effects are observed not to hold" in (
        done.stdout
    )


def test_an_idempotent_call_that_timed_out_is_tried_again_at_once(tmp_path: Path) -> None:
    """Repeating an idempotent call is safe: its timeout is a failure, tried again."""
    project = make_project(tmp_path, idempotent=True)
    done = ido(project, "run", "load")
    assert done.returncode == 0, done.stdout + done.stderr
    first, second = finished(project)
    assert not first["ok"] and first["timed_out"] and "settled" not in first
    assert second["ok"]
    assert len(ledger(project)) == 2  # under two keys: the provider was told it is safe


def deadline_project(root: Path, observed: bool) -> Path:
    """A 1s deadline, which cuts the first load short (its own timeout is a minute)."""
    project = make_project(root, observed=observed)
    loads = project / "capabilities" / "loads.yaml"
    loads.write_text(loads.read_text().replace("timeout: 1s", "timeout: 60s"))
    intent = project / "intents" / "load.yaml"
    intent.write_text(intent.read_text() + "  constraints: {deadline: 1s}\n")
    return project


def test_a_call_the_deadline_stopped_is_done_when_its_effects_show(tmp_path: Path) -> None:
    """Stopped at the run's deadline, a load is as unknown as after its own timeout: the
    observation after it shows it done, and the run is achieved (it failed, the data
    loaded)."""
    project = deadline_project(tmp_path, observed=True)
    done = ido(project, "run", "load")
    assert done.returncode == 0, done.stdout + done.stderr
    (step,) = finished(project)
    assert step["ok"] and step["deadline"] and str(step["error"]).startswith("stopped at the")
    assert len(ledger(project)) == 1


def test_a_call_the_deadline_stopped_that_nothing_observes_fails_the_run_as_unknown(
    tmp_path: Path,
) -> None:
    """No step may start past the deadline, so nothing can repeat it: no person is asked,
    and the run fails on its deadline, saying the load's outcome is unknown."""
    project = deadline_project(tmp_path, observed=False)
    done = ido(project, "run", "load")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "nothing observes its effects: its outcome is unknown" in done.stdout
    (step,) = finished(project)
    assert not step["ok"] and step["deadline"]
    assert len(ledger(project)) == 1


def test_a_call_made_again_as_approved_that_times_out_again_fails_the_run(
    tmp_path: Path,
) -> None:
    """Approved, made again under its own key, and timed out again: its outcome is still
    unknown. The run fails, instead of planning it again under a new key."""
    project = make_project(tmp_path)
    assert ido(project, "run", "load", late="always").returncode == 3
    assert ido(project, "approve", "last", "--by", "ops").returncode == 0
    done = ido(project, "resume", "last", late="always")
    assert done.returncode == 1, done.stdout + done.stderr
    assert (
        "step 1 load-primary was performed again as approved, and timed out after 1s again: "
        "its outcome is still unknown"
    ) in done.stdout
    assert len(set(line.split()[1] for line in ledger(project))) == 1  # one key only


def test_a_run_says_as_it_happens_that_a_call_timed_out_with_its_outcome_unknown(
    tmp_path: Path,
) -> None:
    """The run printed `▶ load-primary (attempt 1)` and then only that it was blocked: the
    step's end was not told, as any other's is."""
    project = make_project(tmp_path)
    blocked = ido(project, "run", "load")
    assert blocked.returncode == 3, blocked.stdout + blocked.stderr
    assert (
        "  ▶ load-primary (attempt 1)\n  ? load-primary timed out after 1s; its outcome is "
        "unknown, and a person decides whether to perform it again\nblocked: run"
    ) in blocked.stdout, blocked.stdout
