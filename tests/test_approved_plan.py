"""Resuming after an approval runs the plan the person approved, while it still holds: the
run checks it in a fresh observation instead of deciding anew (`ido.approved_plan`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ido.approval_asking import plan_digest
from ido.approved_plan import approved_plan
from ido.cli import app
from ido.journal import Event, SqliteJournal
from ido.loading import load_catalog
from ido.runtime.local import LocalRuntime
from ido.testing import Answer, ScriptedModel

runner = CliRunner()
SHIP_RULE = (
    "    - id: big-spend\n      effect: require_approval\n"
    "      when: \"capability.name == 'ship'\"\n      message: Shipping needs a human.\n"
)
# A preference that reads an observed fact: while cheappay is busy, its payment is avoided.
BUSY_RULE = (
    "    - id: busy-cheappay\n      effect: avoid\n      weight: 100\n"
    "      when: \"capability.provider == 'cheappay' && state.load.cheappay_busy\"\n"
    "      message: cheappay is busy.\n"
)
OBSERVER = (
    "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: load}\n"
    "spec: {file: load.json, at: load}\n"
)
ORDER_OBSERVER = (
    "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: order}\n"
    "spec: {file: order.json, at: order}\n"
)


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def called(project: Path) -> list[str]:
    log = project / "calls.log"
    return [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []


def decisions(project: Path) -> list[dict[str, Any]]:
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        return [e.data for e in store.events(store.resolve("last")) if e.kind == "decided"]


def busy(project: Path, value: bool) -> None:
    (project / "capabilities" / "load.json").write_text(json.dumps({"cheappay_busy": value}))


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start a scripted model; yields a function that takes the script and returns it."""
    stack: list[Any] = []

    def start(script: Any) -> tuple[ScriptedModel, str]:
        model = ScriptedModel(script)
        serving = model.serving()
        url = serving.__enter__()
        stack.append(serving)
        return model, url

    yield start
    for serving in reversed(stack):
        serving.__exit__(None, None, None)


@pytest.fixture
def gated(project: Path) -> Path:
    """Shipping needs approval; a busy cheappay is avoided, as an observer reports it."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + SHIP_RULE + BUSY_RULE)
    (project / "capabilities" / "load.yaml").write_text(OBSERVER)
    busy(project, False)
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  observers: [load]\n")
    return project


def observe_order(project: Path) -> None:
    """The order is observed too (`state.order`, from order.json), so a test can change it."""
    (project / "capabilities" / "order.json").write_text("{}")
    (project / "capabilities" / "order.yaml").write_text(ORDER_OBSERVER)
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("observers: [load]", "observers: [load, order]"))


def test_the_approved_plan_runs_though_deciding_again_would_pick_another(gated: Path) -> None:
    """Approved: pay with cheappay, then ship. While the run waited, cheappay got busy; the
    resume decided again, paid with priceypay instead, and asked for shipping again (a plan
    nobody approved). The approved plan still works, so it runs as approved."""
    code, out = ido("run", "ship-order")
    assert code == 3 and "ship needs approval" in out, out
    assert ido("approve", "last", "--by", "alice")[0] == 0
    busy(gated, True)
    code, out = ido("resume", "last")
    assert code == 0 and "achieved" in out, out
    assert "the plan approved in decision 1 still holds: pay-cheap-eu → ship" in out
    assert called(gated) == ["pay-cheap-eu", "ship"]
    last = decisions(gated)[-1]
    assert last["approved"]["holds"] is True and last["approved"]["decision"] == 1
    assert last["approved"]["why"].startswith("every step's requirements hold")
    assert (
        "; cost 0.80 within the 5.00 left of max_cost; latency 1.8s within"
        in last["approved"]["why"]
    )
    told = ido("explain", "last")[1]
    assert "the approved plan (decision 1) still holds: every step's requirements" in told
    assert "as approved in decision 1, not planned again" in told
    audit = ido("audit")[1]
    assert "Approved plans checked on resume:" in audit
    assert "the approved plan (decision 1) still holds" in audit


def test_an_approved_plan_that_no_longer_holds_is_planned_again_and_says_why(
    gated: Path,
) -> None:
    """A rule now denies a step of the approved plan: it is planned again, the decision
    names the rule (that alone: not also each consequence of the step missing, the next
    step's requirement and the goal), and the new plan's shipping is asked for again."""
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    policy = gated / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text()
        + "    - id: no-cheappay\n      effect: deny\n"
        + "      when: \"capability.provider == 'cheappay'\"\n      message: cheappay is off.\n"
    )
    code, out = ido("resume", "last")
    assert code == 3 and "ship needs approval" in out, out
    assert "approved plan (decision 1) no longer holds: pay-cheap-eu is now denied" in out
    assert called(gated) == []
    last = decisions(gated)[-1]
    assert last["approved"]["holds"] is False
    assert last["approved"]["why"] == (
        "pay-cheap-eu is now denied by residency/no-cheappay: cheappay is off"
    )
    assert last["result"]["plan"]["steps"][0]["capability"] == "pay-pricey-eu"
    told = ido("explain", "last")[1]
    assert "no-cheappay: cheappay is off; planned again" in told
    assert "no longer holds: pay-cheap-eu is now denied" in ido("audit")[1]


def test_an_approved_plan_over_the_budget_left_is_planned_again(gated: Path) -> None:
    """cheappay's price rose to 4.80 while the run waited: the approved plan would cost
    5.30, over max_cost 5.00. The check names the limit, and the new plan asks again."""
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    catalog = gated / "capabilities" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("cost: 0.30", "cost: 4.80", 1))
    code, out = ido("resume", "last")
    assert code == 3 and "ship needs approval" in out, out
    last = decisions(gated)[-1]
    assert last["approved"]["holds"] is False
    assert last["approved"]["why"] == "cost 5.30 over max_cost 5.00"


def test_the_approved_plan_is_not_asked_of_the_model_again(gated: Path, serve: Any) -> None:
    """With the llm planner the resume asked the model again (a second paid call, and
    another answer); the approved plan holding, nothing is asked."""
    pay_and_ship = Answer([("pay-cheap-eu", {"rationale": "cheap"}), ("ship", {"rationale": "s"})])
    pricey = Answer([("pay-pricey-eu", {"rationale": "fast"}), ("ship", {"rationale": "s"})])
    model, url = serve([pay_and_ship, pricey])
    intent = gated / "intents" / "ship-order.yaml"
    intent.write_text(
        intent.read_text()
        + "  planner: llm\n"
        + f"  llm: {{model: openai/scripted, api_base: '{url}', max_rounds: 2, timeout: 5s}}\n"
    )
    code, out = ido("run", "ship-order")
    assert code == 3, out
    assert len(model.requests) == 1
    ido("approve", "last", "--by", "alice")
    busy(gated, True)  # what the model is told moved: a new request, not the cached one
    code, out = ido("resume", "last")
    assert code == 0 and "achieved" in out, out
    assert len(model.requests) == 1
    assert called(gated) == ["pay-cheap-eu", "ship"]


def test_a_run_resumed_on_its_approved_plan_replays_identically(gated: Path) -> None:
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    busy(gated, True)
    assert ido("resume", "last")[0] == 0
    code, out = ido("replay", "last")
    assert code == 0 and "identical: 2 decision(s)" in out, out


def test_a_rejected_plan_still_fails_the_run_without_a_check(gated: Path) -> None:
    ido("run", "ship-order")
    ido("reject", "last", "--by", "bob", "--comment", "no")
    code, out = ido("resume", "last")
    assert code == 1 and "ship was rejected by bob" in out, out
    assert len(decisions(gated)) == 1 and called(gated) == []


def test_a_proposed_plan_approved_runs_as_proposed(project: Path) -> None:
    """Under `mode: propose` the resume decided again, and the plan it chose then (cheappay
    having got busy) was another: the person was asked again for a plan they never saw
    proposed. The proposed plan, approved and still holding, runs."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + BUSY_RULE)
    (project / "capabilities" / "load.yaml").write_text(OBSERVER)
    busy(project, False)
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  observers: [load]\n  mode: propose\n")
    code, out = ido("run", "ship-order")
    assert code == 3 and "mode/propose" in out, out
    ido("approve", "last", "--by", "alice")
    busy(project, True)
    code, out = ido("resume", "last")
    assert code == 0 and "achieved" in out, out
    assert called(project) == ["pay-cheap-eu", "ship"]


def test_a_step_whose_requirement_no_longer_holds_is_named(gated: Path) -> None:
    """The order was paid elsewhere while the run waited: paying again is not possible
    (`requires '!state.order.paid'`), so the approved plan no longer holds, and the check
    names the step and its requirement."""
    observe_order(gated)
    assert ido("run", "ship-order")[0] == 3
    ido("approve", "last", "--by", "alice")
    (gated / "capabilities" / "order.json").write_text('{"paid": true}')
    ido("resume", "last")
    last = decisions(gated)[-1]
    assert last["approved"]["holds"] is False
    assert last["approved"]["why"] == "step 1: pay-cheap-eu requires '!state.order.paid'"
    assert "pay-cheap-eu" not in called(gated)


def test_an_approved_step_that_would_change_nothing_is_not_performed(gated: Path) -> None:
    """Paying has no guard here, and the order was paid elsewhere while the run waited. The
    approved plan's requirements all held, so it ran and paid the order a second time,
    though only shipping was approved and deciding anew plans shipping alone. A step that
    would change nothing no longer holds: the run plans again and asks for that plan."""
    catalog = gated / "capabilities" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace('  requires: ["!state.order.paid"]\n', "", 1))
    observe_order(gated)
    assert ido("run", "ship-order")[0] == 3
    ido("approve", "last", "--by", "alice")
    (gated / "capabilities" / "order.json").write_text('{"paid": true}')
    code, out = ido("resume", "last")
    assert code == 3 and "ship needs approval" in out, out
    assert called(gated) == []
    last = decisions(gated)[-1]
    assert last["approved"]["holds"] is False
    assert last["approved"]["why"] == (
        "step 1: pay-cheap-eu changes nothing: its effects already hold"
    )
    assert [s["capability"] for s in last["result"]["plan"]["steps"]] == ["ship"]
    ido("approve", "last", "--by", "alice")
    assert ido("resume", "last")[0] == 0
    assert called(gated) == ["ship"]


class Stop(Exception):
    """The process dies here (a test's listener raises it)."""


def test_an_approved_plan_survives_a_crash_before_its_first_step(gated: Path) -> None:
    """Resumed after the approval, the run found the approved plan held and then died before
    paying. Resumed after that interruption, it decided anew: cheappay being busy, it chose
    priceypay and asked the person again for a plan they never saw. It checks the approved
    plan again instead, and it runs as approved."""
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    busy(gated, True)
    catalog = load_catalog(["intents", "capabilities", "policies"])

    def die_once_held(kind: str, data: Any) -> None:
        if kind == "decided" and data.get("approved"):
            raise Stop()

    with SqliteJournal(gated / ".ido" / "ido.db") as journal:
        run = journal.resolve("last")
        with pytest.raises(Stop):
            LocalRuntime(catalog, journal, base=gated, listener=die_once_held).resume(run)
        report = LocalRuntime(catalog, journal, base=gated).resume(run)
    assert report.outcome == "achieved", report
    assert called(gated) == ["pay-cheap-eu", "ship"]
    last = decisions(gated)[-1]
    assert last["trigger"] == "resumed after an interruption"
    assert last["approved"]["holds"] is True and last["approved"]["decision"] == 1


def test_a_held_approved_plan_on_record_is_still_the_approved_one() -> None:
    """A check that found the approved plan held, recorded before the crash, hands that
    plan on to the next resume (naming the decision approved), until a step starts."""
    plan = {"steps": [{"capability": "pay-cheap-eu"}, {"capability": "ship"}]}
    held = {"decision": 1, "holds": True, "why": "…"}
    decided = {"number": 2, "result": {"plan": plan}, "approved": held}
    events = [Event("r", 1, "", "decided", decided), Event("r", 2, "", "run_released", {})]
    assert approved_plan(events) == {"decision": 1, "plan": plan, "asked": [], "specs": None}
    started = Event("r", 3, "", "action_started", {"capability": "pay-cheap-eu"})
    assert approved_plan([*events, started]) is None
    no_longer = {**decided, "approved": {**held, "holds": False}}
    assert approved_plan([Event("r", 1, "", "decided", no_longer)]) is None


def test_an_approved_plan_whose_cost_moved_is_asked_again_and_says_so(gated: Path) -> None:
    """Shipping's price rose from 0.50 to 0.60 while the run waited. The resume said the
    approved plan still held and ran as approved, then blocked on a fresh request with no
    reason given (an approval is of the plan at its cost). It says the cost moved."""
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    catalog = gated / "capabilities" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("cost: 0.50", "cost: 0.60", 1))
    code, out = ido("resume", "last")
    assert code == 3 and called(gated) == [], out
    assert "still holds" not in out
    assert "the plan of decision 1, asked again (its cost moved 0.80 → 0.90)" in out
    assert "Shipping needs a human.; asked again: its cost moved 0.80 → 0.90)" in out
    check = decisions(gated)[-1]["approved"]
    assert check["holds"] is True and check["asked"] == "its cost moved 0.80 → 0.90"
    told = ido("explain", "last")[1]
    assert "as approved in decision 1" not in told
    assert "(the plan of decision 1, not planned again)" in told
    assert "not planned again; asked" not in told  # the approved plan's line says why:
    assert told.count("but its cost moved 0.80 → 0.90: asked again") == 1, told
    assert "asked_again" not in decisions(gated)[-1]["result"]["solver"]
    ido("approve", "last", "--by", "alice")
    code, out = ido("resume", "last")
    assert code == 0 and "the plan approved in decision 2 still holds" in out, out
    assert called(gated) == ["pay-cheap-eu", "ship"]


def test_why_an_approved_plan_is_asked_again_is_explained_once(gated: Path) -> None:
    """`ido explain` said it on the approved-plan line ("…still holds: …; but its cost moved
    0.80 → 0.90: asked again") and again on the chosen line ("(the plan of decision 1, not
    planned again; asked again: its cost moved 0.80 → 0.90)"), of journals that recorded it
    twice too (in the check and in the solver's record): it says it once."""
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    catalog = gated / "capabilities" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("cost: 0.50", "cost: 0.60", 1))
    assert ido("resume", "last")[0] == 3
    with sqlite3.connect(gated / ".ido" / "ido.db") as db:  # as journals of 2026-12-06 are
        db.execute(
            "UPDATE events SET data = json_set(data, '$.result.solver.asked_again', "
            "json_extract(data, '$.approved.asked')) WHERE kind = 'decided' "
            "AND json_extract(data, '$.approved.asked') IS NOT NULL"
        )
    db.close()
    assert decisions(gated)[-1]["result"]["solver"]["asked_again"]
    told = ido("explain", "last")[1]
    chosen = [line for line in told.splitlines() if "not planned again" in line]
    assert chosen[0].endswith("(the plan of decision 1, not planned again)"), told
    assert told.count("but its cost moved 0.80 → 0.90: asked again") == 1, told


def test_a_rule_that_asks_since_the_approval_is_named(gated: Path) -> None:
    """A rule added while the run waited asks about paying: nobody approved that, so the
    run asks, and the check says which rule asks rather than that the plan is approved."""
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    policy = gated / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text()
        + "    - id: pay-needs-ok\n      effect: require_approval\n"
        + "      when: \"'payments' in capability.tags\"\n      message: pay ok?\n"
    )
    code, out = ido("resume", "last")
    assert code == 3 and called(gated) == [], out
    assert "pay-cheap-eu needs approval (residency/pay-needs-ok: pay ok?" in out
    check = decisions(gated)[-1]["approved"]
    assert check["asked"] == "residency/pay-needs-ok now asks about pay-cheap-eu"
    ido("approve", "last", "--by", "alice")
    assert ido("resume", "last")[0] == 0
    assert called(gated) == ["pay-cheap-eu", "ship"]


def test_an_approved_step_whose_binding_changed_is_asked_again(gated: Path) -> None:
    """Shipping's binding was swapped for another command while the run waited: the resume
    said the approved plan still held and ran the new command, which nobody approved. The
    plan no longer holds, says what moved, and its replan (the same steps) asks again."""
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    catalog = gated / "capabilities" / "catalog.yaml"
    catalog.write_text(
        catalog.read_text().replace(
            '  output: shipment\n  run: {python: "fakesvc.impl:call"}',
            '  output: shipment\n  run: {shell: [sh, -c, "echo other >> other.log; echo {}"]}',
        )
    )
    code, out = ido("resume", "last")
    assert code == 3 and "ship needs approval" in out, out
    assert "no longer holds: ship's binding changed since the approval; planned again" in out
    assert called(gated) == [] and not (gated / "other.log").exists()
    ido("approve", "last", "--by", "alice")
    code, out = ido("resume", "last")
    assert code == 0 and "achieved" in out, out
    assert (gated / "other.log").read_text() == "other\n"


def test_a_run_recorded_before_spec_digests_keeps_its_verdicts(gated: Path) -> None:
    """A run an older ido blocked (its decision without `capability_digests`, its request's
    plan digest without them) and a person approved goes on after the upgrade, without
    being asked again: its approvals keep the digests they were given on."""
    ido("run", "ship-order")
    with sqlite3.connect(gated / ".ido" / "ido.db") as db:
        old = ""  # the plan's digest as the older ido wrote it
        for seq, kind, text in db.execute("SELECT seq, kind, data FROM events").fetchall():
            data = json.loads(text)
            if kind == "decided":
                del data["capability_digests"]
                old = plan_digest(data["result"]["plan"])
            elif kind == "approval_required":
                data["plan"] = old
            db.execute("UPDATE events SET data = ? WHERE seq = ?", (json.dumps(data), seq))
    ido("approve", "last", "--by", "alice")
    code, out = ido("resume", "last")
    assert code == 0 and "the plan approved in decision 1 still holds" in out, out
    assert called(gated) == ["pay-cheap-eu", "ship"]


def test_a_what_if_replay_meets_what_moved_while_the_run_waited(gated: Path) -> None:
    """cheappay got busy while the run waited for approval. Replayed under policies that
    deny cheappay while busy, the replay resumed in a world where it was not (a change seen
    before any call was dropped, and not listed as unreplayed): `same choice`, where the
    real check would have denied it. The world moves on resuming as the recording saw."""
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    busy(gated, True)
    assert ido("resume", "last")[0] == 0
    alt = gated / "alt"
    alt.mkdir()
    policy = (gated / "policies" / "residency.yaml").read_text()
    (alt / "residency.yaml").write_text(
        policy
        + "    - id: no-cheappay\n      effect: deny\n"
        + "      when: \"capability.provider == 'cheappay' && state.load.cheappay_busy\"\n"
        + "      message: cheappay is off.\n"
    )
    code, out = ido("replay", "last", "--policies", "alt")
    assert code == 0, out
    assert "now: resumed after waiting for approval → pay-pricey-eu → ship" in out
    assert "outcome: achieved → blocked" in out
    code, out = ido("replay", "last", "--policies", "policies")
    assert "outcome: achieved → achieved" in out and "not replayed" not in out, out
    ungated = gated / "ungated"  # no approval, no wait: what moved during it is listed
    ungated.mkdir()
    (ungated / "residency.yaml").write_text(policy.replace(SHIP_RULE, ""))
    code, out = ido("replay", "last", "--policies", "ungated")
    assert (
        "not replayed: the recording's observers saw load.cheappay_busy, while it waited for "
        "approval 1, a wait this replay did not make"
    ) in out, out


def test_with_no_plan_approved_the_decision_is_made_as_any(project: Path) -> None:
    """Resuming, deciding afresh and replaying call one `decide_approved`: with no plan
    approved it decides as `decide` does, and says nothing of an approval."""
    from ido.approved_plan import decide_approved
    from ido.decide import decide
    from ido.decision import History
    from ido.observe import boolean_facts, snapshot
    from ido.planner import get_planner

    catalog = load_catalog([project / "capabilities", project / "policies", project / "intents"])
    intent = catalog.intents["ship-order"]
    state = snapshot(intent, [], {}, boolean_facts(catalog))
    history = History(now=1_800_000_000.0)
    planner = get_planner(intent.spec.planner)
    asked = decide_approved(intent, catalog, state, history, planner, None, number=1, trigger="t")
    plain = decide(intent, catalog, state, history, planner, number=1, trigger="t")
    assert asked.to_json() == plain.to_json() and asked.approved is None


PRICEY_RULE = (
    "    - id: pricey-pay\n      effect: require_approval\n"
    "      when: \"capability.provider == 'priceypay'\"\n      message: priceypay needs a human.\n"
)


def test_only_a_decision_that_asks_for_approval_records_what_its_steps_perform(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every decision recorded every planned capability's `capability_digests`, though
    only an approval is given for them (and a resume compares them): cheappay fails, so
    the first plan (asking nobody) is replaced by one through priceypay, which asks."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + PRICEY_RULE)
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    code, out = ido("run", "ship-order")
    assert code == 3 and "pay-pricey-eu needs approval" in out, out
    made = decisions(project)
    plans = [[s["capability"] for s in d["result"]["plan"]["steps"]] for d in made]
    assert plans[0] == ["pay-cheap-eu", "ship"] and plans[-1] == ["pay-pricey-eu", "ship"]
    assert [sorted(d.get("capability_digests", ())) for d in made] == [
        *([[]] * (len(made) - 1)),
        ["pay-pricey-eu", "ship"],
    ]


def test_an_approval_asked_after_a_decision_that_did_not_ask_covers_the_bindings(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's first decision asked nobody, so it recorded no `capability_digests`; the
    approval asked later must still be of what the steps perform: priceypay's binding
    swapped after the approval is asked of the person again, never run unasked."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + PRICEY_RULE)
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    assert ido("run", "ship-order")[0] == 3
    assert "capability_digests" not in decisions(project)[0]
    assert ido("approve", "last", "--by", "alice")[0] == 0
    catalog = project / "capabilities" / "catalog.yaml"
    pricey = '  reliability: 0.995\n  run: {python: "fakesvc.impl:call"}'
    swapped = '  reliability: 0.995\n  run: {shell: [sh, -c, "echo other >> other.log; echo {}"]}'
    catalog.write_text(catalog.read_text().replace(pricey, swapped))
    code, out = ido("resume", "last")
    assert code == 3 and "pay-pricey-eu needs approval" in out, out
    assert "pay-pricey-eu's binding changed since the approval; planned again" in out
    assert not (project / "other.log").exists()


def test_a_run_recorded_with_spec_digests_on_every_decision_goes_on_as_approved(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ido before recorded `capability_digests` on every decision with a plan, asking
    or not: a run it blocked, once approved, goes on with the approved plan unasked."""
    from ido.approval_asking import spec_digests

    policy = project / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + PRICEY_RULE)
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    assert ido("run", "ship-order")[0] == 3
    catalog = load_catalog(["intents", "capabilities", "policies"])
    with sqlite3.connect(project / ".ido" / "ido.db") as db:
        rows = db.execute("SELECT seq, data FROM events WHERE kind = 'decided'").fetchall()
        for seq, text in rows:
            data = json.loads(text)
            steps = [s["capability"] for s in data["result"]["plan"]["steps"]]
            data["capability_digests"] = {
                n: spec_digests(catalog.capabilities[n]) for n in dict.fromkeys(steps)
            }
            db.execute("UPDATE events SET data = ? WHERE seq = ?", (json.dumps(data), seq))
    assert ido("approve", "last", "--by", "alice")[0] == 0
    monkeypatch.delenv("FAKESVC_FAIL")
    code, out = ido("resume", "last")
    assert code == 0 and "achieved" in out, out
    assert f"the plan approved in decision {len(rows)} still holds" in out, out
    assert called(project)[-2:] == ["pay-pricey-eu", "ship"]
