"""A run handed over before a decision (a Temporal workflow continuing as new) is carried
on by another runtime as if it had never stopped: the same journal, no step twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ido.approval_verdicts import verdict_data
from ido.approvals import requests
from ido.errors import JournalError
from ido.loading import load_catalog
from ido.runtime.handover import HandedOver
from ido.runtime.local import LocalRuntime
from ido.testing import MemoryJournal

# b fails twice, then succeeds: three decisions, so three points to hand the run over at.
CATALOG = """\
apiVersion: ido/v1
kind: Capability
metadata: {{name: step-a}}
spec:
  provider: a
  requires: ['!state.a.done']
  effects: {{a.done: true}}
  idempotent: true
  run: {{shell: [sh, -c, 'echo "a $IDO_IDEMPOTENCY_KEY" >> {log}']}}
---
apiVersion: ido/v1
kind: Capability
metadata: {{name: flaky-b}}
spec:
  provider: b
  requires: ['state.a.done']
  effects: {{b.done: true}}
  idempotent: true
  run: {{shell: [sh, -c, 'echo "b $IDO_IDEMPOTENCY_KEY" >> {log}; [ $(grep -c "^b " {log}) -gt 2 ]']}}
---
apiVersion: ido/v1
kind: Capability
metadata: {{name: step-c}}
spec:
  provider: c
  requires: ['state.b.done']
  effects: {{c.done: true}}
  idempotent: true
  run: {{shell: [sh, -c, 'echo "c $IDO_IDEMPOTENCY_KEY" >> {log}']}}
---
apiVersion: ido/v1
kind: Intent
metadata: {{name: flaky}}
spec:
  goal: ["state.a.done", "state.b.done", "state.c.done"]
  limits: {{backoff: 10ms}}
"""


def _pursue(folder: Path, hand_over_at: int | None) -> tuple[list[str], list[Any], list[str]]:
    """Run `flaky` in `folder`, handed over before decision `hand_over_at` (None: never)
    and carried on by a runtime of its own; the journal's event kinds, its decisions'
    triggers and plans, and the steps performed (name, and key without the run id)."""
    folder.mkdir()
    log = folder / "side.log"
    (folder / "all.yaml").write_text(CATALOG.format(log=log))
    catalog = load_catalog([folder / "all.yaml"])
    journal = MemoryJournal()
    runtime = LocalRuntime(catalog, journal, base=folder)
    asked = iter(range(1, 100))
    runtime.handover = lambda: next(asked) == hand_over_at
    try:
        report = runtime.run(catalog.intents["flaky"])
    except HandedOver as over:
        assert hand_over_at is not None
        run_id = journal.runs()[0].id
        report = LocalRuntime(catalog, journal, base=folder).carry_on(run_id, over.trigger)
    assert report.outcome == "achieved", report
    events = journal.events(report.run_id)
    decisions = [
        (e.data["trigger"], [s["capability"] for s in e.data["result"]["plan"]["steps"]])
        for e in events
        if e.kind == "decided"
    ]
    steps = [
        f"{n} {k.split('/', 1)[1]}" for n, k in (x.split() for x in log.read_text().splitlines())
    ]
    return [e.kind for e in events], decisions, steps


def test_a_run_handed_over_before_any_decision_is_carried_on_as_if_it_never_stopped(
    tmp_path: Path,
) -> None:
    """Handed over before its first decision, or after a failed step before the replan:
    the carried-on run's journal, decisions and steps are those of a run never stopped."""
    kinds, decisions, steps = _pursue(tmp_path / "never", None)
    assert [name.split()[0] for name in steps] == ["a", "b", "b", "b", "c"]
    assert len(decisions) == 3
    for at in (1, 2, 3):
        assert _pursue(tmp_path / f"at-{at}", at) == (kinds, decisions, steps), at


def test_carrying_on_a_run_with_a_step_in_flight_is_refused(tmp_path: Path) -> None:
    """Only a run handed over between decisions is carried on unseen: one whose step
    started without an end must be resumed, which settles that step first."""
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "all.yaml").write_text(CATALOG.format(log=folder / "side.log"))
    catalog = load_catalog([folder / "all.yaml"])
    journal = MemoryJournal()
    report = LocalRuntime(catalog, journal, base=folder).run(catalog.intents["flaky"])
    cut = MemoryJournal()
    events = journal.events(report.run_id)
    started = journal.run(report.run_id)
    cut.start_run(report.run_id, "flaky", started.started_at, events[0].data)
    first_start = next(i for i, e in enumerate(events) if e.kind == "action_started")
    cut.append_many(report.run_id, [(e.kind, e.at, e.data) for e in events[1 : first_start + 1]])
    with pytest.raises(JournalError, match="was not handed over between decisions"):
        LocalRuntime(catalog, cut, base=folder).carry_on(report.run_id, "run started")


GATE = """\
  rules:
    - {id: a-ok, effect: require_approval, when: "capability.name == 'step-a'", message: Ask.}
"""


def _approved(folder: Path, hand_over: bool) -> tuple[list[str], list[Any]]:
    """Run `flaky` with step a gated, approve it, and resume it: handed over before the
    first decision of the resume (and carried on), or not; its event kinds, and its
    decisions' triggers, plans and approval checks."""
    folder.mkdir()
    (folder / "all.yaml").write_text(CATALOG.format(log=folder / "side.log") + GATE)
    catalog = load_catalog([folder / "all.yaml"])
    journal = MemoryJournal()
    blocked = LocalRuntime(catalog, journal, base=folder).run(catalog.intents["flaky"])
    assert blocked.outcome == "blocked", blocked
    run_id = blocked.run_id
    (asked,) = requests(journal.events(run_id))
    journal.append(
        run_id, "approval_given", "2026-11-23T10:00:00+00:00", verdict_data(asked, "ops", None, 0.0)
    )
    runtime = LocalRuntime(catalog, journal, base=folder)
    runtime.handover = lambda: hand_over
    try:
        report = runtime.resume(run_id)
    except HandedOver as over:
        report = LocalRuntime(catalog, journal, base=folder).carry_on(run_id, over.trigger)
    assert report.outcome == "achieved", report
    events = journal.events(run_id)
    decisions = [
        (
            e.data["trigger"],
            [s["capability"] for s in e.data["result"]["plan"]["steps"]],
            e.data.get("approved"),
        )
        for e in events
        if e.kind == "decided"
    ]
    return [e.kind for e in events], decisions


def test_a_run_handed_over_as_it_resumes_after_approval_goes_on_with_the_plan_approved(
    tmp_path: Path,
) -> None:
    """The first decision after an approval checks the plan approved still holds (and
    records so); handed over before that decision, the carried-on run checks it too."""
    plain = _approved(tmp_path / "plain", False)
    assert plain[1][1][2] is not None  # (the check the resume's decision records)
    assert _approved(tmp_path / "handed", True) == plain
