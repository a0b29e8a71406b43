"""The local runtime loop: observe, decide, act, record, replan."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ido.journal import SqliteJournal
from ido.loading import load_catalog
from ido.runtime.local import LocalRuntime
from ido.testing import MemoryJournal, StepClock


def runtime(project: Path, journal: object | None = None) -> tuple[LocalRuntime, object]:
    catalog = load_catalog(["capabilities", "policies", "intents"])
    store = journal or MemoryJournal()
    return LocalRuntime(
        catalog, store, base=project, clock=StepClock(), new_id=lambda _: "r-test"
    ), store  # type: ignore[arg-type]


def test_run_records_events_in_order(project: Path) -> None:
    """A successful run journals observe/decide/act events in loop order and ends achieved."""
    rt, journal = runtime(project)
    report = rt.run(rt.catalog.intents["ship-order"])
    assert report.outcome == "achieved" and report.cost == pytest.approx(0.8)
    kinds = [e.kind for e in journal.events("r-test")]  # type: ignore[attr-defined]
    assert kinds == [
        "run_started",
        "observed",
        "decided",
        "action_started",
        "action_finished",
        "observed",
        "action_started",
        "action_finished",
        "observed",
        "run_finished",
    ]


def test_outputs_land_in_state_at_the_declared_path(project: Path) -> None:
    """A capability with `output: shipment` stores its binding's result there for later observations."""
    rt, journal = runtime(project)
    rt.run(rt.catalog.intents["ship-order"])
    last = [e for e in journal.events("r-test") if e.kind == "observed"][-1]  # type: ignore[attr-defined]
    assert last.data["state"]["shipment"] == {"by": "carrier", "key": "r-test/2/1"}


def test_action_started_is_committed_before_the_binding_runs(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The binding itself finds its action_started event on disk: events are committed before side effects."""
    (project / "fakesvc" / "peek.py").write_text(
        "import sqlite3\n"
        "def call(ctx):\n"
        "    db = sqlite3.connect('.ido/ido.db')\n"
        "    rows = db.execute(\"SELECT data FROM events WHERE run_id=? AND kind='action_started'\", (ctx.run_id,)).fetchall()\n"
        "    assert any(ctx.idempotency_key in r[0] for r in rows), rows\n"
        "    return {'seen': len(rows)}\n"
    )
    cat = project / "capabilities" / "catalog.yaml"
    cat.write_text(cat.read_text().replace('"fakesvc.impl:call"', '"fakesvc.peek:call"'))
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        rt, _ = runtime(project, store)
        report = rt.run(rt.catalog.intents["ship-order"])
    assert report.outcome == "achieved", report.reason


def test_failed_step_triggers_a_replan_naming_the_failure(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing provider makes the next decision's trigger name the failed step, and another provider is used."""
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    rt, journal = runtime(project)
    report = rt.run(rt.catalog.intents["ship-order"])
    decisions = [e.data for e in journal.events("r-test") if e.kind == "decided"]  # type: ignore[attr-defined]
    assert report.outcome == "achieved"
    assert decisions[1]["trigger"] == "step 1 pay-cheap-eu failed: RuntimeError: cheappay is down"
    assert [s["capability"] for s in decisions[1]["result"]["plan"]["steps"]] == [
        "pay-pricey-eu",
        "ship",
    ]
    calls = (project / "calls.log").read_text().split()
    assert calls[0::2] == ["pay-cheap-eu", "pay-pricey-eu", "ship"]


def test_max_replans_ends_the_run_as_failed(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With max_replans 0 a single failure fails the run with the limit named."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  limits: {max_replans: 0}\n")
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    rt, _ = runtime(project)
    report = rt.run(rt.catalog.intents["ship-order"])
    assert report.outcome == "failed"
    assert report.reason is not None and report.reason.startswith("gave up after 0 replans")


def test_infeasible_intent_fails_without_acting(project: Path) -> None:
    """A policy that denies every way to the goal fails the run, naming the rule, with no action taken."""
    caps = project / "capabilities" / "catalog.yaml"
    caps.write_text(
        caps.read_text().replace(
            "region: eu\n  tags: [payments, pii]", "region: us\n  tags: [payments, pii]"
        )
    )
    rt, journal = runtime(project)
    report = rt.run(rt.catalog.intents["ship-order"])
    assert report.outcome == "failed"
    assert report.reason is not None and "residency/pii-stays-in-eu denies" in report.reason
    assert not [e for e in journal.events("r-test") if e.kind == "action_started"]  # type: ignore[attr-defined]


def test_goal_already_true_achieves_without_a_plan(project: Path) -> None:
    """When the given state already satisfies the goal the run is achieved with no action."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(
        intent.read_text().replace("region: eu}", "region: eu, paid: true, shipped: true}")
    )
    rt, journal = runtime(project)
    assert rt.run(rt.catalog.intents["ship-order"]).outcome == "achieved"
    assert not [e for e in journal.events("r-test") if e.kind == "action_started"]  # type: ignore[attr-defined]


def test_require_approval_blocks_the_run(project: Path) -> None:
    """A require_approval rule on a chosen capability ends the run as blocked, naming the rule."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text()
        + "    - id: big-spend\n      effect: require_approval\n"
        + "      when: \"capability.name == 'ship'\"\n      message: Shipping needs a human.\n"
    )
    rt, _ = runtime(project)
    report = rt.run(rt.catalog.intents["ship-order"])
    assert report.outcome == "blocked"
    assert report.reason == "ship needs approval (residency/big-spend: Shipping needs a human.)"


def test_sqlite_journal_survives_reopening(project: Path) -> None:
    """Runs written by one journal connection are read back by a new one, in WAL mode."""
    path = project / "j.db"
    with SqliteJournal(path) as store:
        rt, _ = runtime(project, store)
        rt.run(rt.catalog.intents["ship-order"])
    with SqliteJournal(path) as store:
        assert store.resolve("last") == "r-test"
        assert store.resolve("r-te") == "r-test"
        assert store.runs()[0].outcome == "achieved"
        assert store.events("r-test")[-1].kind == "run_finished"
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_slow_decision_tells_the_listener_how_planning_goes_and_journals_nothing_of_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reports pass on after `planning_words.AFTER` seconds of planning; made zero here,
    every one does. They reach the listener as `planning` events, and the journal is as
    before; `ido run` prints them as progress lines."""
    from ido import planning_words
    from ido.planner import progress

    monkeypatch.setattr(planning_words, "AFTER", 0.0)
    monkeypatch.setattr(planning_words, "GAP", 0.0)
    monkeypatch.setattr(planning_words, "BEAT", 3600.0)  # the planners' reports only
    monkeypatch.setattr(progress, "EVERY", 1)
    heard: list[tuple[str, dict[str, object]]] = []
    rt, journal = runtime(project)
    rt.listener = lambda kind, data: heard.append((kind, dict(data)))
    report = rt.run(rt.catalog.intents["ship-order"])
    assert report.outcome == "achieved"
    planning = [data for kind, data in heard if kind == "planning"]
    assert planning and {d["run_id"] for d in planning} == {"r-test"}
    decided = [data["number"] for kind, data in heard if kind == "decided"]
    assert {d["decision"] for d in planning} == set(decided) and all(
        d["stage"] == "search" for d in planning
    )
    kinds = [e.kind for e in journal.events("r-test")]  # type: ignore[attr-defined]
    assert "planning" not in kinds
    from ido.cli.progress import _progress_lines

    started, *counted = planning  # the search reports as it starts, then every EVERY
    assert started["expanded"] == 0 and counted
    line = _progress_lines("planning", {**started, "seconds": 1.25})
    assert line == ["  … decision 1: planning 1.2s: exact search started"]
    line = _progress_lines("planning", {**counted[0], "seconds": 3.5})
    assert line == [
        f"  … decision 1: planning 3.5s: exact search, {counted[0]['expanded']:,} of "
        f"{counted[0]['most']:,} states expanded"
    ]


def test_a_decision_with_no_plan_says_no_plan_once() -> None:
    """It said `decision 4 (…): no plan: no plan reaches 'state.app.up': …`."""
    from ido.cli.progress import _progress_lines

    def decided(reason: str) -> dict[str, object]:
        result = {"status": "infeasible", "reason": reason}
        return {"number": 4, "trigger": "step 3 clean failed", "result": result}

    assert _progress_lines("decided", decided("no plan reaches 'state.app.up': …")) == [
        "decision 4 (step 3 clean failed): no plan reaches 'state.app.up': …"
    ]
    assert _progress_lines("decided", decided("raise max_cost to 2.56")) == [
        "decision 4 (step 3 clean failed): no plan: raise max_cost to 2.56"
    ]


def test_a_compensation_starting_says_which_step_it_undoes() -> None:
    """A failed run undoing its steps printed `▶ undrain (attempt 1)` as any step, with
    nothing to tell that the run had failed and was undoing step 1."""
    from ido.cli.progress import _progress_lines

    started = {"capability": "undrain", "attempt": 1, "step": 3, "undoes_step": 1}
    assert _progress_lines("action_started", started) == ["  ▶ undrain (attempt 1, undoing step 1)"]


def test_a_step_settled_on_resume_says_no_duration_it_does_not_know() -> None:
    """A step interrupted after running for seconds, settled on resume, printed `✗ deploy
    after 0ms: interrupted …`: the 0 is the settling's, not how long the step ran."""
    from ido.cli.progress import _progress_lines

    settled = {
        "capability": "deploy",
        "ok": False,
        "duration": 0.0,
        "interrupted": True,
        "timed_out": False,
        "error": "interrupted before its outcome was recorded; its outcome is unknown",
    }
    assert _progress_lines("action_finished", settled) == [
        "  ✗ deploy: interrupted before its outcome was recorded; its outcome is unknown"
    ]


class CommitThenCtrlC(MemoryJournal):
    """Its commit of a step's start after a step's outcome lands, and then Ctrl-C comes,
    before the runtime hears that it landed."""

    fired = False

    def append_many(self, run_id, events, replies=None):  # type: ignore[no-untyped-def]
        super().append_many(run_id, events, replies)
        kinds = [kind for kind, _, _ in events]
        if not self.fired and "action_finished" in kinds and kinds[-1] == "action_started":
            self.fired = True
            raise KeyboardInterrupt


def test_ctrl_c_just_after_a_commit_does_not_record_its_events_twice(project: Path) -> None:
    """A commit that landed before Ctrl-C is not made again on the way out: each step's
    outcome is journaled once, and the run's cost counts it once."""
    rt, journal = runtime(project, CommitThenCtrlC())
    with pytest.raises(KeyboardInterrupt):
        rt.run(rt.catalog.intents["ship-order"])
    kinds = [e.kind for e in journal.events("r-test")]  # type: ignore[attr-defined]
    assert kinds.count("action_finished") == 1 and kinds.count("action_started") == 2, kinds


class CtrlCBeforeCommit(MemoryJournal):
    """Ctrl-C comes before its commit of a step's start after a step's outcome lands."""

    fired = False

    def append_many(self, run_id, events, replies=None):  # type: ignore[no-untyped-def]
        kinds = [kind for kind, _, _ in events]
        if not self.fired and "action_finished" in kinds and kinds[-1] == "action_started":
            self.fired = True
            raise KeyboardInterrupt
        super().append_many(run_id, events, replies)


def test_ctrl_c_before_a_commit_still_saves_the_step_outcome_it_held(project: Path) -> None:
    """A commit Ctrl-C kept from landing leaves the completed step's outcome to be written
    on the way out, so resume does not take the step for an interrupted one."""
    rt, journal = runtime(project, CtrlCBeforeCommit())
    with pytest.raises(KeyboardInterrupt):
        rt.run(rt.catalog.intents["ship-order"])
    kinds = [e.kind for e in journal.events("r-test")]  # type: ignore[attr-defined]
    assert kinds.count("action_finished") == 1, kinds
    # and the next step's start, whose commit never landed, was never called: not written
    # (a start journaled without its call read as a step cut short, for a person to judge)
    assert kinds.count("action_started") == 1 and kinds[-1] != "action_started", kinds
