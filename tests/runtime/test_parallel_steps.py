"""Steps that wait for nothing in common run side by side; the journal stays consistent."""

from __future__ import annotations

from pathlib import Path

import pytest

from ido.loading import load_catalog
from ido.runtime.local import LocalRuntime
from ido.testing import MemoryJournal, StepClock

PARCEL = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: pack}
spec:
  provider: warehouse
  requires: ["!state.parcel.packed"]
  effects: {parcel.packed: true}
  cost: 0.1
  latency: 2s
  run: {python: "fakesvc.meet:call"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: label}
spec:
  provider: printer
  requires: ["!state.parcel.labelled"]
  effects: {parcel.labelled: true}
  cost: 0.1
  latency: 2s
  run: {python: "fakesvc.meet:call"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: label-backup}
spec:
  provider: backup-printer
  requires: ["!state.parcel.labelled"]
  effects: {parcel.labelled: true}
  cost: 0.5
  latency: 2s
  run: {python: "fakesvc.meet:call"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: dispatch}
spec:
  provider: carrier
  requires: ["state.parcel.packed && state.parcel.labelled"]
  effects: {parcel.sent: true}
  cost: 0.2
  latency: 1s
  run: {python: "fakesvc.meet:call"}
"""

INTENT = """\
apiVersion: ido/v1
kind: Intent
metadata: {name: send-parcel}
spec:
  goal: ["state.parcel.sent"]
  constraints: {deadline: 3500ms}
  objective: {cost: 1.0, risk: 2.0}
"""

# pack and label meet at a barrier: if the runtime ran them one after the other, the first
# would wait for a partner that never comes, and fail after 5 s.
MEET = """\
import os
import threading

_pair = threading.Barrier(2, timeout=5)


def call(ctx):
    if ctx.provider in os.environ.get("FAKESVC_FAIL", "").split(","):
        raise RuntimeError(f"{ctx.provider} is jammed")
    if ctx.capability in ("pack", "label") and os.environ.get("MEET") == "1":
        _pair.wait()
    return None
"""


@pytest.fixture
def parcel(project: Path) -> Path:
    (project / "capabilities" / "parcel.yaml").write_text(PARCEL)
    (project / "intents" / "send-parcel.yaml").write_text(INTENT)
    (project / "fakesvc" / "meet.py").write_text(MEET)
    return project


def run(project: Path) -> tuple[object, MemoryJournal]:
    catalog = load_catalog(["capabilities", "policies", "intents"])
    journal = MemoryJournal()
    rt = LocalRuntime(catalog, journal, base=project, clock=StepClock(), new_id=lambda _: "r-p")
    return rt.run(catalog.intents["send-parcel"]), journal


def test_independent_steps_run_side_by_side_to_meet_a_deadline_their_sum_misses(
    parcel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """5 s of work within 3.5 s: pack and label run at once (they meet at a barrier), then dispatch."""
    monkeypatch.setenv("MEET", "1")
    report, journal = run(parcel)
    assert report.outcome == "achieved", report.reason  # type: ignore[attr-defined]
    events = [(e.kind, e.data.get("capability")) for e in journal.events("r-p")]
    acting = [e for e in events if e[0].startswith("action_")]
    assert {e for e in acting[:2]} == {("action_started", "pack"), ("action_started", "label")}
    assert {e for e in acting[2:4]} == {("action_finished", "pack"), ("action_finished", "label")}
    assert acting[4:] == [("action_started", "dispatch"), ("action_finished", "dispatch")]
    (decided,) = [e.data for e in journal.events("r-p") if e.kind == "decided"]
    assert [s["capability"] for s in decided["result"]["plan"]["steps"]][2] == "dispatch"
    assert decided["result"]["plan"]["after"] == [[], [], [0, 1]]
    assert decided["result"]["plan"]["latency"] == 3.0


def test_a_failure_beside_a_success_keeps_the_success_and_replans_the_rest(
    parcel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The printer jams while packing succeeds: the replan labels on the backup and never repacks."""
    monkeypatch.setenv("FAKESVC_FAIL", "printer")
    report, journal = run(parcel)
    assert report.outcome == "achieved", report.reason  # type: ignore[attr-defined]
    started = [e.data["capability"] for e in journal.events("r-p") if e.kind == "action_started"]
    assert sorted(started[:2]) == ["label", "pack"]
    assert started[2:] == ["label-backup", "dispatch"]
    decisions = [e.data for e in journal.events("r-p") if e.kind == "decided"]
    step = started.index("label") + 1
    assert decisions[1]["trigger"] == f"step {step} label failed: RuntimeError: printer is jammed"
    assert [s["capability"] for s in decisions[1]["result"]["plan"]["steps"]] == [
        "label-backup",
        "dispatch",
    ]


def test_steps_that_fail_side_by_side_are_each_named_in_the_replan_s_trigger(
    parcel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both printers' and the warehouse's failures: the trigger named only the first to end."""
    monkeypatch.setenv("FAKESVC_FAIL", "warehouse,printer")
    _, journal = run(parcel)
    started = [e.data["capability"] for e in journal.events("r-p") if e.kind == "action_started"]
    assert sorted(started[:2]) == ["label", "pack"]
    trigger = [e.data for e in journal.events("r-p") if e.kind == "decided"][1]["trigger"]
    pack, label = started.index("pack") + 1, started.index("label") + 1
    assert sorted(trigger.split("; and ")) == [
        f"step {label} label failed: RuntimeError: printer is jammed",
        f"step {pack} pack failed: RuntimeError: warehouse is jammed",
    ]


def test_the_cli_shows_stages_and_what_each_step_waits_for(parcel: Path) -> None:
    """`ido run` prints `a + b → c`; `ido explain` marks steps that start at once."""
    from typer.testing import CliRunner

    from ido.cli import app

    runner = CliRunner()
    ran = runner.invoke(app, ["run", "send-parcel"])
    assert ran.exit_code == 0, ran.output
    stages = next(line for line in ran.output.splitlines() if line.startswith("decision 1"))
    assert stages.split(": ")[1].split(" (")[0] in (
        "pack + label → dispatch",
        "label + pack → dispatch",
    )
    explained = runner.invoke(app, ["explain", "last"])
    assert "latency 3s on the critical path (5s of work)" in explained.output
    assert (
        "dispatch (carrier): cost 0.20, latency 1s, reliability 1.000 · after 1, 2"
        in explained.output
    )
    assert explained.output.count("· starts at once") == 2


RACE = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: roll-back}
spec:
  provider: deployer
  requires: ["state.svc.bad"]
  effects: {svc.bad: false}
  run: {python: "fakesvc.race:roll"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: tick}
spec:
  provider: clock
  requires: ["!state.svc.ticked"]
  effects: {svc.ticked: true}
  run: {python: "fakesvc.race:tick"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: report}
spec:
  provider: pager
  requires: ["state.svc.ticked"]
  effects: {svc.reported: true}
  run: {python: "fakesvc.race:tick"}
---
apiVersion: ido/v1
kind: Observer
metadata: {name: svc-world}
spec: {python: "fakesvc.race:world"}
---
apiVersion: ido/v1
kind: Intent
metadata: {name: heal}
spec:
  goal: ["!state.svc.bad", "state.svc.reported"]
  observers: [svc-world]
"""

# roll-back changes the world at once and reports only once ido has observed it after
# tick ended: the observation between them shows its work done while it is in flight.
RACE_IMPL = """\
import json
import threading
from pathlib import Path

wrote = threading.Event()
ticked = threading.Event()
seen = threading.Event()


def world():
    if ticked.is_set():
        seen.set()
    return json.loads(Path("world.json").read_text())


def roll(ctx):
    world = json.loads(Path("world.json").read_text())
    world["svc"].update(bad=False, version="v1")
    Path("world.json").write_text(json.dumps(world))
    wrote.set()
    seen.wait(5)


def tick(ctx):
    wrote.wait(5)
    ticked.set()
"""


CANARY = """\
---
apiVersion: ido/v1
kind: Capability
metadata: {name: roll-back-canary}
spec:
  provider: canary
  requires: ["state.svc.bad"]
  effects: {svc.bad: false}
  cost: 5
  run: {python: "fakesvc.race:roll"}
"""


@pytest.mark.parametrize("other", ["", CANARY], ids=["its-own-requires", "another-s-requires"])
def test_a_step_in_flight_whose_own_work_shows_early_does_not_replan(
    project: Path, other: str
) -> None:
    """A rollback clears `svc.bad` before it reports; an observation made meanwhile (after
    a step beside it ended) showed its precondition no longer holding, and the run replanned
    a sound plan ("observation changed: svc.bad is now False (planned with True)"), asking
    the model again under `planner: llm`. So did a capability left out of the plan that
    reads the same fact (another way to roll back). What a step in flight declares, shown
    early, is the plan going as planned."""
    (project / "capabilities" / "race.yaml").write_text(RACE + other)
    (project / "fakesvc" / "race.py").write_text(RACE_IMPL)
    (project / "world.json").write_text('{"svc": {"bad": true}}')
    catalog = load_catalog(["capabilities", "policies", "intents"])
    journal = MemoryJournal()
    rt = LocalRuntime(catalog, journal, base=project, clock=StepClock(), new_id=lambda _: "r-p")
    report = rt.run(catalog.intents["heal"])
    assert report.outcome == "achieved", report.reason
    decided = [e.data for e in journal.events("r-p") if e.kind == "decided"]
    assert [d["trigger"] for d in decided] == ["run started"]
    assert decided[0]["result"]["plan"]["after"] == [[], [], [1]]


APPROVED = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: roll-back}
spec:
  provider: deployer
  requires: ["state.svc.bad"]
  effects: {svc.bad: false, svc.version: v1}
  run: {python: "fakesvc.race:roll"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: tick}
spec:
  provider: clock
  requires: ["!state.svc.ticked"]
  effects: {svc.ticked: true}
  run: {python: "fakesvc.race:tick"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: report}
spec:
  provider: pager
  requires: ["state.svc.ticked"]
  effects: {svc.reported: true}
  run: {python: "fakesvc.race:report"}
---
apiVersion: ido/v1
kind: Observer
metadata: {name: svc-world}
spec: {python: "fakesvc.race:world"}
---
apiVersion: ido/v1
kind: Intent
metadata: {name: heal}
spec:
  goal: ["!state.svc.bad", "state.svc.reported"]
  observers: [svc-world]
  rules:
    - id: page-about-a-version
      effect: require_approval
      when: "capability.name == 'report' && state.svc.version != ''"
      message: Paging about a version needs the owner.
"""


def test_an_approved_step_is_not_asked_again_for_a_reading_a_step_in_flight_moved(
    project: Path,
) -> None:
    """report's approval reads svc.version; roll-back, in flight beside it, moves that to
    the v1 it declares before it reports. Held to the reading approved, report "needs
    approval again … what the rule reads moved since the plan was made", though it moved
    as the plan said it would, and the approved run blocked again."""
    from typer.testing import CliRunner

    from ido.cli import app

    (project / "capabilities" / "race.yaml").write_text(APPROVED)
    (project / "fakesvc" / "race.py").write_text(RACE_IMPL + "\n\ndef report(ctx):\n    pass\n")
    (project / "world.json").write_text('{"svc": {"bad": true, "version": "v2"}}')
    cli = CliRunner()
    blocked = cli.invoke(app, ["run", "heal"])
    assert blocked.exit_code == 3 and "report needs approval" in blocked.output, blocked.output
    assert cli.invoke(app, ["approve", "last", "--by", "amy"]).exit_code == 0
    resumed = cli.invoke(app, ["resume", "last"])
    assert resumed.exit_code == 0, resumed.output
    assert "again" not in resumed.output and "decision 3" not in resumed.output, resumed.output


MOVED_BY_ANOTHER = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: tick}
spec:
  provider: clock
  requires: ["!state.svc.ticked"]
  effects: {svc.ticked: true}
  run: {python: "fakesvc.other:tick"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: a-roll-back}
spec:
  provider: deployer
  requires: ["state.svc.ticked"]
  effects: {svc.version: v1, svc.rolled: true}
  run: {python: "fakesvc.other:noop"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: report}
spec:
  provider: pager
  requires: ["state.svc.ticked"]
  effects: {svc.reported: true}
  run: {python: "fakesvc.other:noop"}
---
apiVersion: ido/v1
kind: Observer
metadata: {name: svc-world}
spec: {python: "fakesvc.other:world"}
---
apiVersion: ido/v1
kind: Intent
metadata: {name: heal}
spec:
  goal: ["state.svc.rolled", "state.svc.reported"]
  observers: [svc-world]
  rules:
    - id: page-about-a-version
      effect: require_approval
      when: "capability.name == 'report' && state.svc.version != ''"
      message: Paging about a version needs the owner.
"""

# tick also moves svc.version, which it does not declare: to ido, another actor's doing.
OTHER_IMPL = """\
import json
from pathlib import Path


def world():
    return json.loads(Path("world.json").read_text())


def tick(ctx):
    world = json.loads(Path("world.json").read_text())
    world["svc"].update(ticked=True, version="v1")
    Path("world.json").write_text(json.dumps(world))


def noop(ctx):
    pass
"""


def test_a_step_started_after_the_observation_does_not_account_for_what_it_shows(
    project: Path,
) -> None:
    """report was approved reading svc.version v2; another actor moves it to v1 before
    report and a-roll-back (which declares v1) start side by side. a-roll-back, started
    just before report on that same observation, cannot have done it: report must be asked
    again, not started on the approval of a reading that no longer stands."""
    from typer.testing import CliRunner

    from ido.cli import app

    (project / "capabilities" / "race.yaml").write_text(MOVED_BY_ANOTHER)
    (project / "fakesvc" / "other.py").write_text(OTHER_IMPL)
    (project / "world.json").write_text('{"svc": {"version": "v2"}}')
    cli = CliRunner()
    blocked = cli.invoke(app, ["run", "heal"])
    assert blocked.exit_code == 3 and "report needs approval" in blocked.output, blocked.output
    assert cli.invoke(app, ["approve", "last", "--by", "amy"]).exit_code == 0
    resumed = cli.invoke(app, ["resume", "last"])
    assert "report needs approval again" in resumed.output, resumed.output
