"""Adaptive execution: beliefs that persist, triggers that replan, limits on actual spend and
time, retries with backoff, attempts that run out, and compensation when a run fails."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from ido.approval_verdicts import verdict_data
from ido.approvals import requests
from ido.audit import audit
from ido.audit import render as render_audit
from ido.errors import JournalError, NotFoundError
from ido.explain import render, run_view
from ido.journal import SqliteJournal
from ido.journal.schema import SCHEMA_VERSION
from ido.loading import load_catalog
from ido.runtime.local import LocalRuntime
from ido.runtime.recovery import recover
from ido.testing import MemoryJournal, StepClock

FLAKY = '''\
"""Fails the first FLAKY_FAILS calls of each capability (counted in files), then succeeds."""
import json
import os
import time
from pathlib import Path
from typing import Any


def call(ctx):
    counter = Path(f"calls-{ctx.capability}.txt")
    n = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(n + 1))
    if n < int(os.environ.get("FLAKY_FAILS", "0")):
        raise RuntimeError(f"{ctx.capability} flaked ({n + 1})")
    if ctx.capability == "close-shop":
        Path("world.json").write_text(json.dumps({"shop": {"open": False}}))
    return None


def lie(ctx):
    return None  # says it worked; the world says otherwise


def timed(ctx):
    return {"timeout": ctx.timeout}  # what the call was given


def scripted():
    """Each read says the next report of reports.json; past the last, it fails."""
    path = Path("reports.json")
    reports = json.loads(path.read_text())
    if not reports:
        raise ConnectionError("the shop's sensor is offline")
    path.write_text(json.dumps(reports[1:]))
    return reports[0]


def sell_out(ctx):
    Path("stock.json").write_text(json.dumps({"stock": {"count": 0}}))


def stock():
    return json.loads(Path("stock.json").read_text())


def slow(ctx):
    time.sleep(2)


def counter():
    """Stock that drops by one at each read."""
    read = Path("reads.txt")
    n = int(read.read_text()) if read.exists() else 0
    read.write_text(str(n + 1))
    return {"inv": {"level": 100 - n}}


def once(ctx=None):
    """Reports the world once, then is unreachable."""
    asked = Path("asked.txt")
    if asked.exists():
        raise ConnectionError("payments API unreachable")
    asked.write_text("1")
    return world()


def world():
    path = Path("world.json")
    return json.loads(path.read_text()) if path.exists() else {}
'''


def runtime(
    project: Path, journal: object | None = None, **kwargs: object
) -> tuple[LocalRuntime, MemoryJournal]:
    catalog = load_catalog(["capabilities", "policies", "intents"])
    store = journal or MemoryJournal()
    rt = LocalRuntime(
        catalog,
        store,  # type: ignore[arg-type]
        base=project,
        clock=kwargs.pop("clock", StepClock()),  # type: ignore[arg-type]
        new_id=lambda _: "r-test",
        **kwargs,  # type: ignore[arg-type]
    )
    return rt, store  # type: ignore[return-value]


def kinds(journal: MemoryJournal, kind: str) -> list[dict[str, object]]:
    return [e.data for e in journal.events("r-test") if e.kind == kind]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def add_capability(project: Path, name: str, body: str) -> None:
    (project / "capabilities" / f"{name}.yaml").write_text(
        f"apiVersion: ido/v1\nkind: Capability\nmetadata: {{name: {name}}}\nspec:\n{body}"
    )


@pytest.fixture
def flaky(project: Path) -> Path:
    (project / "fakesvc" / "flaky.py").write_text(FLAKY)
    return project


# --- beliefs -----------------------------------------------------------------------------


def test_beliefs_learnt_in_one_run_steer_the_next(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cheappay fails in run 1; run 2 (same SQLite journal) starts distrusting it."""
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    with SqliteJournal(project / "j.db") as store:
        rt, _ = runtime(project, store)
        assert rt.run(rt.catalog.intents["ship-order"]).outcome == "achieved"
    monkeypatch.delenv("FAKESVC_FAIL")
    with SqliteJournal(project / "j.db") as store:
        assert store.health()["pay-cheap-eu"].failures == 1
        rt, _ = runtime(project, store)
        rt.new_id = lambda _: "r-next"
        rt.run(rt.catalog.intents["ship-order"])
        first = next(e.data for e in store.events("r-next") if e.kind == "decided")
    belief = first["beliefs"]["pay-cheap-eu"]
    assert belief["reliability"] < 0.99
    assert "after 1 failure" in belief["why"]
    assert first["result"]["plan"]["steps"][0]["capability"] == "pay-pricey-eu"


def test_observed_provider_health_lowers_a_belief(project: Path) -> None:
    """An observer reporting `health.cheappay.error_rate` makes the planner avoid it."""
    (project / "health.json").write_text(json.dumps({"cheappay": {"error_rate": 0.5}}))
    (project / "capabilities" / "health.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: health}\n"
        "spec: {file: ../health.json, at: health}\n"
    )
    edit(
        project / "intents" / "ship-order.yaml",
        "  policies: [residency]",
        "  policies: [residency]\n  observers: [health]",
    )
    rt, journal = runtime(project)
    rt.run(rt.catalog.intents["ship-order"])
    (first, *_) = kinds(journal, "decided")
    assert first["beliefs"]["pay-cheap-eu"]["why"] == "observed error rate 0.50"  # type: ignore[index]
    assert first["result"]["plan"]["steps"][0]["capability"] == "pay-pricey-eu"  # type: ignore[index]


# --- retries, backoff, attempts ----------------------------------------------------------


def mint_project(project: Path, limits: str) -> None:
    """One flaky capability, `mint`, the only way to the goal `state.token.minted`."""
    add_capability(
        project,
        "mint",
        "  provider: mint\n  requires: ['!state.token.minted']\n  effects: {token.minted: true}\n"
        "  run: {python: 'fakesvc.flaky:call'}\n",
    )
    (project / "intents" / "mint-token.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: mint-token}\nspec:\n"
        f"  goal: ['state.token.minted']\n  limits: {limits}\n"
    )


def test_a_retry_emerges_with_backoff_doubling_per_failure(
    flaky: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The only provider fails twice: it is chosen again each time, after 1 s then 2 s."""
    mint_project(flaky, "{backoff: 1s}")
    monkeypatch.setenv("FLAKY_FAILS", "2")
    slept: list[float] = []
    rt, journal = runtime(flaky, sleep=slept.append)
    report = rt.run(rt.catalog.intents["mint-token"])
    assert report.outcome == "achieved", report.reason
    assert [d["capability"] for d in kinds(journal, "action_started")] == ["mint"] * 3
    assert [d["backoff"] for d in kinds(journal, "action_started")] == [0.0, 1.0, 2.0]
    assert [d.get("waited") for d in kinds(journal, "action_started")] == [None, True, True]
    # each wait is its backoff less what the run took meanwhile (real time: not pinned)
    assert len(slept) == 2 and 0.5 < slept[0] <= 1.0 and 1.5 < slept[1] <= 2.0, slept


def test_a_retry_that_backs_off_beside_a_running_step_is_recorded_as_starting_after_it(
    flaky: Path,
) -> None:
    """mint failed once; the replan retries it beside stamp, after a 5 s backoff waited
    before the call. Its start was stamped before the wait (with stamp's, 5 s early); it
    is stamped as of the wait's end now, when the call starts, and says so (`waited`)."""
    from ido.journal import epoch
    from ido.scenario.runner import load_scenarios, run_scenario

    for name, needs, sets, latency in (
        ("mint", "[]", "token.minted", "100ms"),
        ("print", "[]", "token.printed", "1s"),
        ("stamp", "['state.token.printed']", "token.stamped", "1s"),
    ):
        add_capability(
            flaky,
            name,
            f"  provider: {name}\n  requires: {needs}\n  effects: {{{sets}: true}}\n"
            f"  latency: {latency}\n  run: {{python: 'fakesvc.flaky:call'}}\n",
        )
    (flaky / "beside.yaml").write_text(
        "apiVersion: ido/v1\nkind: Scenario\nmetadata: {name: beside}\nspec:\n"
        "  intent:\n    goal: ['state.token.minted', 'state.token.stamped']\n"
        "    limits: {backoff: 5s}\n"
        "  faults: [{capability: mint, fail_next: 1}]\n"
    )
    catalog_paths = [flaky / "capabilities", flaky / "policies"]
    ((scenario, catalog),) = load_scenarios(flaky / "beside.yaml", catalog_paths)
    result = run_scenario(scenario, catalog, base=flaky)
    assert result.report.outcome == "achieved", result.report.reason
    started = {
        (e.data["capability"], e.data["attempt"]): e
        for e in result.journal.events(result.report.run_id)
        if e.kind == "action_started"
    }
    retry, beside = started[("mint", 2)], started[("stamp", 1)]
    assert retry.data["backoff"] == 5.0 and retry.data["waited"] is True
    assert epoch(retry.at) - epoch(beside.at) == pytest.approx(5.0, abs=0.01)


def test_a_run_stopped_in_a_retry_s_backoff_has_no_step_in_flight(
    flaky: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retry's start was recorded before its backoff: stopped (killed) in the wait,
    the resume found it in flight, its outcome "unknown", and asked a person about a call
    never made. The wait comes first now."""
    mint_project(flaky, "{backoff: 5s}")
    monkeypatch.setenv("FLAKY_FAILS", "1")

    def killed(seconds: float) -> None:
        raise KeyboardInterrupt

    rt, journal = runtime(flaky, sleep=killed)
    with pytest.raises(KeyboardInterrupt):
        rt.run(rt.catalog.intents["mint-token"])
    recovered = recover(journal.run("r-test"), journal.events("r-test"), rt.catalog)
    assert recovered.interrupted == ()
    assert [d["capability"] for d in kinds(journal, "action_started")] == ["mint"]


def test_a_retry_s_backoff_is_part_of_its_step_s_time_and_of_the_deadline(
    flaky: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planned as if the retry took its latency alone, a 2 s backoff under a 1 s deadline
    was waited anyway: the run ended achieved, past its deadline. The wait is planned now,
    and with no time for it, no plan is."""
    mint_project(flaky, "{backoff: 500ms}")
    monkeypatch.setenv("FLAKY_FAILS", "1")
    rt, journal = runtime(flaky, sleep=lambda _: None)
    assert rt.run(rt.catalog.intents["mint-token"]).outcome == "achieved"
    plans = [d["result"]["plan"] for d in kinds(journal, "decided")]  # type: ignore[index]
    # The retry's step: the call's latency as learnt (well under a millisecond) + 500 ms.
    assert plans[0]["latency"] == 0.0 and plans[1]["latency"] == pytest.approx(0.5, abs=0.01)
    edit(flaky / "intents" / "mint-token.yaml", "{backoff: 500ms}", "{backoff: 2s}")
    intent = flaky / "intents" / "mint-token.yaml"
    intent.write_text(intent.read_text() + "  constraints: {deadline: 1s}\n")
    (flaky / "calls-mint.txt").unlink()
    rt, journal = runtime(flaky, sleep=lambda _: None, clock=StepClock(step=0.01))
    report = rt.run(rt.catalog.intents["mint-token"])
    assert report.outcome == "failed" and "no plan within deadline" in str(report.reason)
    # its 2 s backoff and its call, as the first run learnt it on the real clock (a
    # millisecond or two on a busy machine: `mint 2.002s`)
    assert re.search(r"\(mint 2(\.0[0-4]\d*)?s\)", str(report.reason)), report.reason
    assert len(kinds(journal, "action_started")) == 1


def test_a_call_may_not_outlast_the_deadline(flaky: Path) -> None:
    """A step's timeout is cut to the time left to the deadline: a 30 s timeout under a
    1 s deadline let a slow last step end the run "achieved" 4 s in."""
    add_capability(
        flaky,
        "mint",
        "  provider: mint\n  effects: {token.minted: true}\n  timeout: 30s\n"
        "  output: call\n  run: {python: 'fakesvc.flaky:timed'}\n",
    )
    (flaky / "intents" / "mint-token.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: mint-token}\nspec:\n"
        "  goal: ['state.token.minted']\n  constraints: {deadline: 10s}\n"
    )
    rt, journal = runtime(flaky, clock=StepClock(step=1.0))
    assert rt.run(rt.catalog.intents["mint-token"]).outcome == "achieved"
    (finished,) = kinds(journal, "action_finished")
    given = finished["output"]["timeout"]  # type: ignore[index]
    assert 0 < given < 10


def test_an_output_not_kept_is_noted_where_the_capability_declares_one(flaky: Path) -> None:
    """Its `output` path is left unset: the step's record and its explanation say why."""
    add_capability(
        flaky,
        "mint",
        "  provider: mint\n  effects: {token.minted: true}\n  output: token.receipt\n"
        "  run: {shell: [python3, -c, 'print(\"minted\")']}\n",
    )
    (flaky / "intents" / "mint-token.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: mint-token}\nspec:\n"
        "  goal: ['state.token.minted']\n"
    )
    rt, journal = runtime(flaky)
    assert rt.run(rt.catalog.intents["mint-token"]).outcome == "achieved"
    (finished,) = kinds(journal, "action_finished")
    assert finished["note"] == "its output was not a JSON object, and not kept"
    told = render(run_view(journal.run("r-test"), journal.events("r-test")), "text")
    assert "mint: succeeded in" in told and "; its output was not a JSON object" in told


def test_an_output_not_kept_is_said_as_the_step_ends_too() -> None:
    """`ido run` printed `✓ mint in 3ms`, and only `ido explain` said its output was lost,
    which later steps reading it would not find."""
    from ido.cli.progress import _progress_lines

    note = "its output was not a JSON object, and not kept"
    finished = {"capability": "mint", "ok": True, "duration": 0.003, "note": note}
    assert _progress_lines("action_finished", finished) == [f"  ✓ mint in 3ms; {note}"]


def test_a_call_the_deadline_stops_is_no_news_of_its_provider(flaky: Path) -> None:
    """Cut short at the deadline, a call was learnt as its provider's timeout: a failure
    in the shared beliefs, a latency of the deadline's length, an attempt used up. (mint
    is idempotent: one that is not waits for a person, its outcome unknown.)"""
    add_capability(
        flaky,
        "mint",
        "  provider: mint\n  effects: {token.minted: true}\n  timeout: 30s\n  idempotent: true\n"
        "  run: {python: 'fakesvc.flaky:slow'}\n",
    )
    (flaky / "intents" / "mint-token.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: mint-token}\nspec:\n"
        "  goal: ['state.token.minted']\n  constraints: {deadline: 300ms}\n"
    )
    rt, journal = runtime(flaky, clock=time.time)
    report = rt.run(rt.catalog.intents["mint-token"])
    # Past the deadline, the next plan (mint, believed to take no time) cannot start.
    assert report.outcome == "failed" and "past the 300ms deadline" in str(report.reason)
    (finished,) = kinds(journal, "action_finished")
    assert finished["deadline"] is True and "learnt_at" not in finished
    assert str(finished["error"]).startswith("stopped at the deadline after ")
    assert "mint" not in journal.health()


def test_a_capability_out_of_attempts_is_left_out_and_the_run_fails_naming_the_limit(
    flaky: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mint_project(flaky, "{max_attempts: 2}")
    monkeypatch.setenv("FLAKY_FAILS", "5")
    rt, journal = runtime(flaky)
    report = rt.run(rt.catalog.intents["mint-token"])
    assert report.outcome == "failed"
    assert len(kinds(journal, "action_started")) == 2
    assert report.reason is not None
    assert "mint used up limits.max_attempts" in report.reason
    assert "or raise limits.max_attempts (used up by mint)" in report.reason
    last = kinds(journal, "decided")[-1]
    (rejection,) = [r for r in last["result"]["rejections"] if r["rule"]]  # type: ignore[index]
    assert rejection["rule"] == "limits.max_attempts"
    assert (
        rejection["detail"] == "failed 2 time(s) in this run, the most limits.max_attempts allows"
    )


# --- triggers ----------------------------------------------------------------------------


def test_effects_that_do_not_show_are_a_silent_failure_that_replans(flaky: Path) -> None:
    """pay-liar says it charged, but the payments observer still reports unpaid."""
    (flaky / "world.json").write_text(json.dumps({"order": {"paid": False}}))
    (flaky / "capabilities" / "world.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: world}\n"
        "spec: {python: 'fakesvc.flaky:world'}\n"
    )
    add_capability(
        flaky,
        "pay-liar",
        "  provider: liar\n  region: eu\n  requires: ['!state.order.paid']\n"
        "  effects: {order.paid: true}\n  cost: 0.01\n  run: {python: 'fakesvc.flaky:lie'}\n",
    )
    edit(
        flaky / "intents" / "ship-order.yaml",
        '  goal: ["state.order.paid", "state.order.shipped"]',
        '  goal: ["state.order.paid"]\n  observers: [world]',
    )
    intent = flaky / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  limits: {max_replans: 2}\n")
    rt, journal = runtime(flaky)
    report = rt.run(rt.catalog.intents["ship-order"])
    (missing, *_) = kinds(journal, "effects_missing")
    assert missing["capability"] == "pay-liar"
    assert missing["reason"] == (
        "pay-liar reported success but its effects did not show: order.paid is False, expected True"
    )
    decisions = kinds(journal, "decided")
    assert decisions[1]["trigger"] == missing["reason"]
    assert decisions[1]["beliefs"]["pay-liar"]["reliability"] < 0.99  # type: ignore[index]
    assert report.outcome == "failed"  # every payment lies to this observer in the end
    # Each lie is learnt as one failure, not as a success and a failure besides it.
    lies = [d for d in kinds(journal, "action_started") if d["capability"] == "pay-liar"]
    learnt = journal.health()["pay-liar"]
    assert learnt.successes == pytest.approx(0.0, abs=0.01)
    assert learnt.failures == pytest.approx(len(lies), abs=0.05)


def test_an_observer_that_fails_leaves_its_last_report_standing(flaky: Path) -> None:
    """It reported the order paid, then failed: its facts were gone, the closed world made
    the order unpaid, and the run charged again ("observation changed: order.paid is now
    False"). Its last report now stands, below what steps did since."""
    (flaky / "world.json").write_text(json.dumps({"order": {"paid": True}}))
    (flaky / "capabilities" / "world.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: world}\n"
        "spec: {python: 'fakesvc.flaky:once'}\n"
    )
    edit(
        flaky / "intents" / "ship-order.yaml",
        "  policies: [residency]",
        "  policies: [residency]\n  observers: [world]",
    )
    rt, journal = runtime(flaky)
    report = rt.run(rt.catalog.intents["ship-order"])
    assert report.outcome == "achieved", report.reason
    started = [d["capability"] for d in kinds(journal, "action_started")]
    assert started == ["ship"]  # never paid again
    failed = kinds(journal, "observer_failed")
    assert failed and all(f["kept_last_report"] for f in failed)
    told = render(run_view(journal.run("r-test"), journal.events("r-test")), "text")
    assert "observer world failed: ConnectionError: payments API" in told
    assert "its last report stands" in told


def test_an_observer_s_unchanged_report_is_journaled_once(flaky: Path) -> None:
    """Each observation journaled every observer's whole output again (up to a megabyte
    each), though it had not changed: a report is journaled as it changes, and one read
    again as it was only by its observer's name."""
    (flaky / "world.json").write_text(json.dumps({"shop": {"open": True}}))
    (flaky / "capabilities" / "world.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: world}\n"
        "spec: {python: 'fakesvc.flaky:world'}\n"
    )
    edit(
        flaky / "intents" / "ship-order.yaml",
        "  policies: [residency]",
        "  policies: [residency]\n  observers: [world]",
    )
    rt, journal = runtime(flaky)
    assert rt.run(rt.catalog.intents["ship-order"]).outcome == "achieved"
    observed = kinds(journal, "observed")
    assert len(observed) > 2
    journaled = [o["reports"] for o in observed if "reports" in o]
    assert journaled == [{"world": {"shop": {"open": True}}}]
    assert all(o["unchanged"] == ["world"] for o in observed[1:])


def test_a_failed_observer_s_last_report_stands_above_what_was_done_before_it(
    flaky: Path,
) -> None:
    """open-shop set shop.open; the sensor then reported it closed, and went offline: its
    last report was put below every step's effect, so the shop read open again."""
    closed = {"shop": {"open": False}}
    (flaky / "reports.json").write_text(json.dumps([closed, closed]))
    (flaky / "capabilities" / "sensor.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: sensor}\n"
        "spec: {python: 'fakesvc.flaky:scripted'}\n"
    )
    add_capability(
        flaky,
        "open-shop",
        "  provider: keys\n  effects: {shop.open: true}\n  run: {python: 'fakesvc.flaky:call'}\n",
    )
    (flaky / "intents" / "open.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: open}\nspec:\n"
        "  goal: ['state.shop.open']\n  observers: [sensor]\n  limits: {max_replans: 1}\n"
    )
    rt, journal = runtime(flaky)
    rt.run(rt.catalog.intents["open"])
    events = journal.events("r-test")
    failed = next(i for i, e in enumerate(events) if e.kind == "observer_failed")
    after = next(e for e in events[failed:] if e.kind == "observed")
    assert after.data["state"]["shop"]["open"] is False


def test_a_fact_that_moves_with_every_condition_on_it_as_it_was_is_no_replan(
    flaky: Path,
) -> None:
    """Stock 100, 99, 98 under `stock > 0`: each step was followed by "observation changed:
    inv.level is now 99 (planned with 100)", and the run failed "gave up after 0 replans"
    though nothing had gone wrong."""
    (flaky / "capabilities" / "counter.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: counter}\n"
        "spec: {python: 'fakesvc.flaky:counter'}\n"
    )
    for i, before in enumerate(["true", "state.s.a", "state.s.b"]):
        name = "abc"[i]
        add_capability(
            flaky,
            f"step-{name}",
            f"  provider: p{name}\n  requires: ['state.inv.level > 0', '{before}']\n"
            f"  effects: {{s.{name}: true}}\n  run: {{python: 'fakesvc.flaky:call'}}\n",
        )
    (flaky / "intents" / "stock.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: stock}\nspec:\n"
        "  goal: ['state.s.c']\n  observers: [counter]\n  limits: {max_replans: 0}\n"
    )
    rt, journal = runtime(flaky)
    report = rt.run(rt.catalog.intents["stock"])
    assert report.outcome == "achieved", report.reason
    assert len(kinds(journal, "decided")) == 1


def test_a_fact_that_moves_under_a_later_step_s_condition_replans_at_once(flaky: Path) -> None:
    """check → reserve → ship, ship needing `reserved && count > 0`: stock ran out after
    check, but `reserved` was not yet true, so the condition read false both ways, and the
    reservation was paid for before the replan."""
    (flaky / "stock.json").write_text(json.dumps({"stock": {"count": 5}}))
    (flaky / "capabilities" / "stock.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: stock}\n"
        "spec: {python: 'fakesvc.flaky:stock'}\n"
    )
    steps = [
        ("check", "true", "fraud.checked", "sell_out"),
        ("reserve", "state.fraud.checked", "stock.reserved", "call"),
        ("send", "state.stock.reserved && state.stock.count > 0", "order.sent", "call"),
    ]
    for name, needs, sets, call in steps:
        add_capability(
            flaky,
            name,
            f"  provider: {name}\n  requires: ['{needs}']\n  effects: {{{sets}: true}}\n"
            f"  run: {{python: 'fakesvc.flaky:{call}'}}\n",
        )
    (flaky / "intents" / "send.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: send}\nspec:\n"
        "  goal: ['state.order.sent']\n  observers: [stock]\n"
    )
    rt, journal = runtime(flaky)
    report = rt.run(rt.catalog.intents["send"])
    assert report.outcome == "failed"
    assert [d["capability"] for d in kinds(journal, "action_started")] == ["check"]
    trigger = kinds(journal, "decided")[1]["trigger"]
    assert trigger == "observation changed: stock.count is now 0 (planned with 5)"


def test_an_observation_that_moves_a_fact_the_plan_relied_on_replans(flaky: Path) -> None:
    """close-shop (step 1) closes the shop that sell (step 2) was planned on: replan."""
    (flaky / "world.json").write_text(json.dumps({"shop": {"open": True}}))
    (flaky / "capabilities" / "world.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: world}\n"
        "spec: {python: 'fakesvc.flaky:world'}\n"
    )
    add_capability(
        flaky,
        "close-shop",
        "  provider: admin\n  requires: ['!state.audit.done']\n  effects: {audit.done: true}\n"
        "  run: {python: 'fakesvc.flaky:call'}\n",
    )
    add_capability(
        flaky,
        "sell",
        "  provider: till\n  requires: ['state.audit.done && state.shop.open']\n"
        "  effects: {order.sold: true}\n  run: {python: 'fakesvc.flaky:call'}\n",
    )
    (flaky / "intents" / "sell.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: sell}\nspec:\n"
        "  goal: ['state.order.sold']\n  observers: [world]\n"
    )
    rt, journal = runtime(flaky)
    report = rt.run(rt.catalog.intents["sell"])
    assert report.outcome == "failed"
    decisions = kinds(journal, "decided")
    assert (
        decisions[1]["trigger"] == "observation changed: shop.open is now False (planned with True)"
    )
    assert [d["capability"] for d in kinds(journal, "action_started")] == ["close-shop"]


def test_time_that_runs_over_replans_with_what_is_left_of_the_deadline(project: Path) -> None:
    """Each clock reading advances 5 s: after paying, the 30 s deadline no longer fits."""
    rt, journal = runtime(project, clock=StepClock(step=5.0))
    report = rt.run(rt.catalog.intents["ship-order"])
    assert report.outcome == "failed"
    decisions = kinds(journal, "decided")
    assert "past the 30s deadline" in str(decisions[1]["trigger"])
    assert "no plan within deadline" in str(report.reason)
    # The way out names the intent's deadline: what has elapsed plus the fastest plan's 1 s.
    assert "raise deadline to 51s (50s of the 30s deadline have elapsed)" in str(report.reason)


def test_spend_so_far_counts_against_the_budget(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """max_cost 1.20: cheappay fails (0.30 spent), and 0.90 left is too little for the rest."""
    edit(project / "intents" / "ship-order.yaml", "max_cost: 5.0", "max_cost: 1.2")
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    rt, _ = runtime(project)
    report = rt.run(rt.catalog.intents["ship-order"])
    assert report.outcome == "failed"
    assert report.cost == pytest.approx(0.30)
    assert str(report.reason).startswith("no plan within max_cost 0.90")
    assert str(report.reason).endswith("(the run has spent 0.30 of max_cost 1.20)")
    # The way out names the intent's max_cost: what was spent plus the cheapest plan's 1.30,
    # the cheapest that keeps min_success_probability (cheappay's failure made the cheaper
    # plan through it less likely to succeed than the intent asks).
    assert "the cheapest plan with success probability ≥ 0.900 costs 1.30" in str(report.reason)
    assert "raise max_cost to 1.60;" in str(report.reason)


# --- compensation ------------------------------------------------------------------------


def test_a_failed_run_compensates_its_completed_steps_newest_first(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paid, then shipping fails for good: with on_failure: compensate, the payment is refunded."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(
        intent.read_text() + "  on_failure: compensate\n  limits: {max_attempts: 1}\n"
    )
    monkeypatch.setenv("FAKESVC_FAIL", "carrier")
    rt, journal = runtime(project)
    report = rt.run(rt.catalog.intents["ship-order"])
    assert report.outcome == "failed"
    (started,) = kinds(journal, "compensation_started")
    assert (started["undoes"], started["capability"]) == ("pay-cheap-eu", "refund-eu")
    (finished,) = kinds(journal, "compensation_finished")
    assert finished["ok"] is True
    calls = (project / "calls.log").read_text().split()[0::2]
    assert calls == ["pay-cheap-eu", "ship", "refund-eu"]


def test_undoing_past_the_budget_is_said_in_the_run_s_reason(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compensations run whatever the budget (a refund must not wait on it), but a failed
    run that ended over its max_cost did not say so."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(
        intent.read_text().replace("max_cost: 5.0", "max_cost: 0.8")
        + "  on_failure: compensate\n  limits: {max_attempts: 1}\n"
    )
    edit(
        project / "capabilities" / "catalog.yaml",
        "  effects: {order.refunded: true}\n",
        "  effects: {order.refunded: true}\n  cost: 0.4\n",
    )
    monkeypatch.setenv("FAKESVC_FAIL", "carrier")
    rt, _ = runtime(project)
    report = rt.run(rt.catalog.intents["ship-order"])
    assert report.outcome == "failed" and report.cost == pytest.approx(1.2)
    assert str(report.reason).endswith(
        "; undoing its steps cost 0.40 more, 1.20 in all, over max_cost 0.80"
    )


def test_without_compensate_a_failed_run_leaves_completed_steps(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  limits: {max_attempts: 1}\n")
    monkeypatch.setenv("FAKESVC_FAIL", "carrier")
    rt, journal = runtime(project)
    assert rt.run(rt.catalog.intents["ship-order"]).outcome == "failed"
    assert not kinds(journal, "compensation_started")


@pytest.mark.parametrize(
    ("effect", "said"), [("deny", "denied by residency/no-refunds: Refunds go through finance.")]
)
def test_a_compensation_a_policy_rule_stops_is_not_performed(
    project: Path, monkeypatch: pytest.MonkeyPatch, effect: str, said: str
) -> None:
    """A rule that denies refund-eu held in every decision, and compensation called
    refund-eu all the same: governance failed open while undoing. (One that asks a person
    first waits for them: tests/test_approvals.py.)"""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(
        intent.read_text() + "  on_failure: compensate\n  limits: {max_attempts: 1}\n"
    )
    (project / "policies" / "residency.yaml").write_text(
        (project / "policies" / "residency.yaml").read_text()
        + f"    - id: no-refunds\n      effect: {effect}\n"
        + "      when: \"capability.name == 'refund-eu'\"\n"
        + "      message: Refunds go through finance.\n"
    )
    monkeypatch.setenv("FAKESVC_FAIL", "carrier")
    rt, journal = runtime(project)
    assert rt.run(rt.catalog.intents["ship-order"]).outcome == "failed"
    assert not kinds(journal, "compensation_started")
    (skipped,) = kinds(journal, "compensation_skipped")
    assert (skipped["rule"], skipped["effect"]) == ("residency/no-refunds", effect)
    assert (project / "calls.log").read_text().split()[0::2] == ["pay-cheap-eu", "ship"]
    text = render(run_view(journal.run("r-test"), journal.events("r-test")), "text")
    assert f"compensation: refund-eu could not undo pay-cheap-eu (step 1): {said}" in text
    report = audit([(journal.run("r-test"), journal.events("r-test"))])
    (stopped,) = report["compensations_stopped"]
    assert (stopped["capability"], stopped["undoes"], stopped["rule"]) == (
        "refund-eu",
        "pay-cheap-eu",
        "residency/no-refunds",
    )
    assert "refund-eu (undoing pay-cheap-eu): " in render_audit(report, "text")


# --- the journal itself ------------------------------------------------------------------


def execute(path: Path, *statements: str) -> None:
    """Run SQL statements on the SQLite file at `path` and commit them."""
    db = sqlite3.connect(path)
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()


def test_a_journal_from_a_newer_ido_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "ido.db"
    with SqliteJournal(path):
        pass
    execute(path, "UPDATE meta SET value='99' WHERE key='schema_version'")
    before = path.read_bytes()
    with pytest.raises(JournalError, match="schema version 99, newer than this ido understands"):
        SqliteJournal(path)
    assert path.read_bytes() == before


def test_a_file_that_is_not_a_journal_is_a_clear_error_and_is_not_overwritten(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ido.db"
    path.write_bytes(b"these are my notes, not a database" * 100)
    before = path.read_bytes()
    with pytest.raises(
        JournalError,
        match=r"is damaged, or no journal .file is not a database.*give --journal an ido journal",
    ):
        SqliteJournal(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "tables",
    [
        ["CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)"],
        ["CREATE TABLE meta (name TEXT)"],  # a meta table, but not ido's
        ["CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)", "CREATE TABLE notes (t)"],
    ],
)
def test_a_database_that_is_not_a_journal_is_refused_untouched(
    tmp_path: Path, tables: list[str]
) -> None:
    path = tmp_path / "app.db"
    execute(path, *tables)
    before = path.read_bytes()
    with pytest.raises(JournalError, match="is a SQLite database but not an ido journal"):
        SqliteJournal(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]  # not switched to WAL


def test_a_run_is_found_by_its_id_as_written_not_by_a_pattern(tmp_path: Path) -> None:
    """`_` was a LIKE wildcard (`r1_2` found `r1-2…`), and an ambiguous prefix listed three
    runs, as if they were all."""
    with SqliteJournal(tmp_path / "ido.db") as journal:
        for n in range(7):
            journal.start_run(f"r1-2-{n}", "i", f"2026-01-0{n + 1}T00:00:00+00:00", {})
        assert journal.resolve("r1-2-3") == "r1-2-3"
        with pytest.raises(NotFoundError, match="run 'r1_2' not found"):
            journal.resolve("r1_2")
        with pytest.raises(NotFoundError, match="not found"):
            journal.resolve("r1%")
        with pytest.raises(NotFoundError) as info:
            journal.resolve("r1-2")
        assert "r1-2-0, r1-2-1, r1-2-2, r1-2-3, r1-2-4, …; give more of the id" in str(info.value)


def test_no_run_named_is_an_error_and_last_is_the_run_recorded_last(tmp_path: Path) -> None:
    """An empty reference matched every id as a prefix (`ido replay "$RUN"` with RUN unset
    replayed the only run); `last` was the latest start, and a kept scenario run is
    stamped with its virtual clock's start, in 2027, so it stayed `last` for good."""
    with SqliteJournal(tmp_path / "ido.db") as journal:
        journal.start_run("s-scenario", "i", "2027-01-15T08:00:00+00:00", {})
        for reference in ("", "  "):
            with pytest.raises(NotFoundError, match="no run given"):
                journal.resolve(reference)
        journal.start_run("r-real", "i", "2026-12-06T05:00:00+00:00", {})
        assert journal.resolve("last") == "r-real"


def test_a_folder_given_as_the_journal_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match=r"is a folder; name a file, like .*ido\.db"):
        SqliteJournal(tmp_path)
    assert list(tmp_path.iterdir()) == []


def as_schema_1(path: Path) -> None:
    """Take the journal at `path` back to what ido's first journals held: runs and events
    alone (no health, no answer cache, no `recorded_at`)."""
    execute(
        path,
        "DROP TABLE health",
        "DROP TABLE llm_cache",
        "DROP TRIGGER events_chained",
        "DROP INDEX runs_recorded",
        "ALTER TABLE runs DROP COLUMN recorded_at",
        "UPDATE meta SET value='1' WHERE key='schema_version'",
    )


def test_a_reading_command_reads_an_older_journal_as_it_is(tmp_path: Path) -> None:
    """`ido runs`, `explain`, `audit` and `plan` upgraded an older journal in place, and
    the older ido still writing it then refused it as "newer than this ido understands";
    the docs say only a command that may write upgrades it. Read as it is, it lacks the
    tables added since: nothing learnt, no answers kept."""
    path = tmp_path / "ido.db"
    with SqliteJournal(path) as journal:
        journal.start_run("r1", "i", "2026-12-06T00:00:00.000+00:00", {})
    as_schema_1(path)
    before = path.read_bytes()
    with SqliteJournal(path, reading=True) as journal:
        assert [row.id for row in journal.runs()] == ["r1"]
        assert journal.health() == {} and journal.get("request") is None
    assert path.read_bytes() == before
    with SqliteJournal(path) as journal:  # a command that writes upgrades it
        assert journal.health() == {}
    row = (
        sqlite3.connect(path)
        .execute("SELECT value FROM meta WHERE key = 'schema_version'")
        .fetchone()
    )
    assert row == (str(SCHEMA_VERSION),)


def test_a_journal_whose_setup_was_cut_short_is_set_up(tmp_path: Path) -> None:
    """Only ido's own tables and no schema version yet: another process was making it."""
    path = tmp_path / "ido.db"
    execute(path, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    with SqliteJournal(path) as journal:
        assert journal.runs() == []
    row = (
        sqlite3.connect(path)
        .execute("SELECT value FROM meta WHERE key = 'schema_version'")
        .fetchone()
    )
    assert row == (str(SCHEMA_VERSION),)


def test_explain_tells_the_compensation(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ido.explain import render, run_view

    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(
        intent.read_text() + "  on_failure: compensate\n  limits: {max_attempts: 1}\n"
    )
    monkeypatch.setenv("FAKESVC_FAIL", "carrier")
    rt, journal = runtime(project)
    rt.run(rt.catalog.intents["ship-order"])
    text = render(run_view(journal.run("r-test"), journal.events("r-test")), "text")
    assert "compensation: refund-eu undid pay-cheap-eu (step 1): done" in text


def test_a_failed_observer_s_last_report_stands_after_the_run_resumes(flaky: Path) -> None:
    """It reported the order paid, then the run blocked for approval of ship; on resume it
    failed, and its report was gone with the process that had it: the order read unpaid,
    and the resumed run charged it again."""
    (flaky / "world.json").write_text(json.dumps({"order": {"paid": True}}))
    (flaky / "capabilities" / "world.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: world}\n"
        "spec: {python: 'fakesvc.flaky:once'}\n"
    )
    edit(
        flaky / "intents" / "ship-order.yaml",
        "  policies: [residency]",
        "  policies: [residency]\n  observers: [world]\n  rules:\n"
        "    - {id: ship-ok, effect: require_approval, when: \"capability.name == 'ship'\","
        " message: Shipping needs a person.}",
    )
    rt, journal = runtime(flaky)
    assert rt.run(rt.catalog.intents["ship-order"]).outcome == "blocked"
    (asked,) = requests(journal.events("r-test"))
    journal.append(
        "r-test",
        "approval_given",
        "2026-11-23T10:00:00+00:00",
        verdict_data(asked, "ops", None, 0.0),
    )
    again, _ = runtime(flaky, journal)
    report = again.resume("r-test")
    assert report.outcome == "achieved", report.reason
    started = [d["capability"] for d in kinds(journal, "action_started")]
    assert started == ["ship"]  # never paid again
    failed = kinds(journal, "observer_failed")
    assert failed and all(f["kept_last_report"] for f in failed)


def test_a_retry_that_backs_off_beside_another_step_is_held_to_the_rules_after_its_wait(
    flaky: Path,
) -> None:
    """mint failed once; the replan retries it beside stamp after a 5 s backoff, and a rule
    bars it from the third second on. Submitted beside stamp, it was called once its wait
    was over on the word of the decision made before it; now it is checked then, and not
    called."""
    from ido.scenario.runner import load_scenarios, run_scenario

    for name, needs, sets, latency in (
        ("mint", "[]", "token.minted", "100ms"),
        ("print", "[]", "token.printed", "1s"),
        ("stamp", "['state.token.printed']", "token.stamped", "1s"),
    ):
        add_capability(
            flaky,
            name,
            f"  provider: {name}\n  requires: {needs}\n  effects: {{{sets}: true}}\n"
            f"  latency: {latency}\n  run: {{python: 'fakesvc.flaky:call'}}\n",
        )
    (flaky / "revoked.yaml").write_text(
        "apiVersion: ido/v1\nkind: Scenario\nmetadata: {name: revoked}\nspec:\n"
        "  intent:\n    goal: ['state.token.minted', 'state.token.stamped']\n"
        "    limits: {backoff: 5s}\n"
        "    rules:\n"
        "      - {id: no-mint-when-revoked, effect: deny, when: \"capability.name == 'mint'"
        ' && has(state.token.revoked) && state.token.revoked", message: Revoked.}\n'
        "  faults:\n"
        "    - {capability: mint, fail_next: 1}\n"
        "    - {at: 3s, observe: {token.revoked: true}}\n"
    )
    catalog_paths = [flaky / "capabilities", flaky / "policies"]
    ((scenario, catalog),) = load_scenarios(flaky / "revoked.yaml", catalog_paths)
    result = run_scenario(scenario, catalog, base=flaky)
    events = result.journal.events(result.report.run_id)
    started = [
        (e.data["capability"], e.data["attempt"]) for e in events if e.kind == "action_started"
    ]
    assert ("stamp", 1) in started and ("mint", 2) not in started
    triggers = [e.data["trigger"] for e in events if e.kind == "decided"]
    assert triggers[-1] == "mint now denied by intent:revoked/no-mint-when-revoked: Revoked."


def test_a_step_no_approval_rule_holds_is_judged_by_the_rules_once_before_it_starts(
    flaky: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stamp starts after print, checked against the rules as they stand then. They were
    run twice for it, the second time on the plan's expected state, to compare what an
    approval rule read, though none fired."""
    from ido.runtime import gating
    from ido.scenario.runner import load_scenarios, run_scenario

    for name, needs, sets in (
        ("print", "[]", "token.printed"),
        ("stamp", "['state.token.printed']", "token.stamped"),
    ):
        add_capability(
            flaky,
            name,
            f"  provider: {name}\n  requires: {needs}\n  effects: {{{sets}: true}}\n"
            f"  run: {{python: 'fakesvc.flaky:call'}}\n",
        )
    (flaky / "stamped.yaml").write_text(
        "apiVersion: ido/v1\nkind: Scenario\nmetadata: {name: stamped}\nspec:\n"
        "  intent:\n    goal: ['state.token.stamped']\n"
    )
    judged: list[str] = []
    guards_now = gating.guards_now

    def counted(*args: Any) -> Any:
        judged.append(args[2])
        return guards_now(*args)

    monkeypatch.setattr(gating, "guards_now", counted)
    catalog_paths = [flaky / "capabilities", flaky / "policies"]
    ((scenario, catalog),) = load_scenarios(flaky / "stamped.yaml", catalog_paths)
    result = run_scenario(scenario, catalog, base=flaky)
    assert result.report.outcome == "achieved", result.report.reason
    assert judged == ["stamp"]


def test_what_each_capability_performs_is_digested_once_per_runtime_not_per_decision(
    flaky: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mint fails twice: three decisions. What each capability performs was hashed again
    (every binding's JSON) per decision, and per rule asked; the catalog is the runtime's
    for its life, so it is worked out once, when the runtime is made. (None of the three
    asks for approval, so none records it: `capability_digests` serve an approval.)"""
    from ido import catalog_record

    mint_project(flaky, "{backoff: 1s}")
    monkeypatch.setenv("FLAKY_FAILS", "2")
    digested: list[str] = []
    spec_digests = catalog_record.spec_digests

    def counted(capability: Any, *declared: Any) -> dict[str, str]:
        digested.append(capability.name)
        return spec_digests(capability, *declared)

    monkeypatch.setattr(catalog_record, "spec_digests", counted)
    rt, journal = runtime(flaky, sleep=lambda _: None)
    made = list(digested)
    report = rt.run(rt.catalog.intents["mint-token"])
    assert report.outcome == "achieved", report.reason
    assert len(kinds(journal, "decided")) == 3
    assert sorted(made) == sorted(rt.catalog.capabilities) and digested == made
    assert not any("capability_digests" in d for d in kinds(journal, "decided"))


def test_a_runtime_dumps_each_capability_once_for_its_approval_and_replay_digests(
    flaky: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its approvals' digests (`spec_digests`: the binding dumped) and its runs' record of
    the catalog (`catalog_digests`: the spec dumped) each dumped every capability, leaving
    out different fields: one dump now serves both, with the same digests."""
    from ido.approval_asking import spec_digests
    from ido.catalog_record import catalog_digests
    from ido.model import CapabilitySpec, RunBinding

    mint_project(flaky, "{backoff: 1s}")
    dumped: list[str] = []
    for model in (CapabilitySpec, RunBinding):
        dump = model.model_dump

        def counted(self: Any, *args: Any, _dump: Any = dump, **kwargs: Any) -> Any:
            dumped.append(type(self).__name__)
            return _dump(self, *args, **kwargs)

        monkeypatch.setattr(model, "model_dump", counted)
    rt, _ = runtime(flaky, sleep=lambda _: None)
    capabilities = rt.catalog.capabilities
    assert dumped == ["CapabilitySpec"] * len(capabilities)
    assert any(c.spec.run is not None for c in capabilities.values())
    assert rt._spec_digests == {n: spec_digests(c) for n, c in capabilities.items()}
    assert rt._declared == catalog_digests(capabilities)
