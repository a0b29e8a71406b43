"""Durable approvals: blocked runs wait in the journal; people approve or reject; resume goes on."""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.journal import SqliteJournal

runner = CliRunner()
RULE = (
    "    - id: big-spend\n      effect: require_approval\n"
    "      when: \"capability.name == 'ship'\"\n      message: Shipping needs a human.\n"
)


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def gated(project: Path) -> Path:
    policy = project / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + RULE)
    return project


def set_intent(project: Path, extra: str) -> None:
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + extra)


def test_a_blocked_run_waits_in_the_journal_and_is_listed(gated: Path) -> None:
    code, out = ido("run", "ship-order")
    assert code == 3, out
    assert "blocked: run" in out and "ship needs approval (residency/big-spend" in out
    code, out = ido("approvals")
    assert code == 0
    assert (
        "plan step 2 ship (decision 1)  residency/big-spend: Shipping needs a human.  (plan" in out
    )
    code, listed = ido("approvals", "--format", "json")
    (request,) = json.loads(listed)
    assert (request["rule"], request["capability"], request["step"]) == (
        "residency/big-spend",
        "ship",
        2,
    )


def test_a_request_is_listed_with_its_intent_and_its_times_in_utc(
    gated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request named its run, step and rule but no intent (which payout?), and its times
    in the local zone without saying so, hours off beside the audit's UTC stamps."""
    assert ido("run", "ship-order")[0] == 3
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        out = ido("approvals")[1]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    (request,) = json.loads(ido("approvals", "--format", "json")[1])
    assert request["intent"] == "ship-order"
    since = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(request["since"]))
    assert f"{request['run']} (ship-order)  plan step 2 ship (decision 1)  " in out, out
    assert f", since {since})" in out, out


def test_approved_then_resumed_the_run_goes_on_and_records_who(gated: Path) -> None:
    ido("run", "ship-order")
    code, out = ido("approve", "last", "--by", "alice", "--comment", "fine")
    assert code == 0, out
    assert "approved: run" in out and "ship (residency/big-spend) by alice" in out
    code, out = ido("resume", "last")
    assert code == 0, out
    assert "achieved" in out
    with SqliteJournal(gated / ".ido" / "ido.db") as store:
        events = store.events(store.resolve("last"))
    (given,) = [e.data for e in events if e.kind == "approval_given"]
    assert (given["by"], given["comment"]) == ("alice", "fine")
    assert ido("approvals")[1].strip() == "nothing waits for approval"
    told = ido("explain", "last")[1]  # it said "resumed after an interruption"
    assert "resumed after waiting for approval" in told and "interruption" not in told


def test_resuming_a_run_nobody_answered_is_refused_and_writes_nothing(gated: Path) -> None:
    """`ido resume` of a blocked run with nothing answered recorded "resumed after waiting
    for approval" and the same request again, each time, though nothing had happened. Now
    it is refused (exit 2) with what the run waits for, and the journal is left as it was."""
    ido("run", "ship-order")
    with SqliteJournal(gated / ".ido" / "ido.db") as store:
        before = len(store.events(store.resolve("last")))
    code, out = ido("resume", "last")
    assert code == 2, out
    assert "still waits for approval of ship (residency/big-spend)" in out
    with SqliteJournal(gated / ".ido" / "ido.db") as store:
        assert len(store.events(store.resolve("last"))) == before
    assert ido("approve", "last", "--by", "alice")[0] == 0
    assert ido("resume", "last")[0] == 0


def test_the_runtime_refuses_to_resume_a_run_nobody_answered_reading_its_events_once(
    gated: Path,
) -> None:
    """The refusal lived in `ido resume`, which read the run's events and the runtime then
    read them again; a program resuming through the runtime recorded a resumption and the
    same request again. The runtime refuses it now, from the one read of its events."""
    from ido.errors import IdoError
    from ido.loading import load_catalog
    from ido.runtime.local import LocalRuntime

    catalog = load_catalog(["capabilities", "policies", "intents"])
    with SqliteJournal(gated / ".ido" / "ido.db") as store:
        assert LocalRuntime(catalog, store, base=gated).run(catalog.intents["ship-order"])
        run_id = store.resolve("last")
        before = store.events(run_id)
        reads: list[str] = []
        read = store.events
        store.events = lambda r: reads.append(r) or read(r)  # type: ignore[method-assign]
        with pytest.raises(IdoError, match=r"still waits for approval of ship \(residency/"):
            LocalRuntime(catalog, store, base=gated).resume(run_id)
        assert reads == [run_id]
        assert read(run_id) == before and store.run(run_id).outcome == "blocked"


def test_resuming_after_a_verdict_is_no_replan_that_max_replans_counts(
    gated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `max_replans: 0` every approved run failed, "gave up after 0 replans", though
    none had happened: the decision made on resuming counted as one. A real replan still
    counts after a resume."""
    set_intent(gated, "  limits: {max_replans: 0}\n")
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    code, out = ido("resume", "last")
    assert code == 0 and "achieved" in out, out
    monkeypatch.setenv("FAKESVC_FAIL", "carrier")
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    code, out = ido("resume", "last")
    assert code == 1 and "gave up after 0 replans; last: step 2 ship failed" in out, out


def test_a_run_that_learnt_then_waited_for_approval_replays_identically(
    gated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure, then a wait for approval, then the resume: replay learnt the failure
    twice (once more on top of the beliefs the resume recorded, which held it already),
    and said the run diverged at the decision after the resume."""
    policy = gated / "policies" / "residency.yaml"
    policy.write_text(policy.read_text().replace("== 'ship'", "== 'pay-pricey-eu'"))
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    code, out = ido("run", "ship-order")
    assert code == 3 and "pay-cheap-eu failed" in out, out
    ido("approve", "last", "--by", "alice")
    code, out = ido("resume", "last")
    assert code == 0, out
    code, out = ido("replay", "last")
    assert code == 0 and "identical: 3 decision(s)" in out, out


def test_time_spent_waiting_for_approval_does_not_count_against_the_deadline(
    gated: Path,
) -> None:
    """The plan's critical path is 1.8 s and the deadline 2 s: a wait of half a second for
    the approval used to leave 1.5 s, and the resumed run failed on its deadline."""
    intent = gated / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("deadline: 30s", "deadline: 2s"))
    ido("run", "ship-order")
    time.sleep(0.6)
    ido("approve", "last", "--by", "alice")
    code, out = ido("resume", "last")
    assert code == 0 and "achieved" in out, out
    told = ido("explain", "last")[1]
    assert "for approval (the deadline does not count it)" in told
    waited = re.search(r"resumed after waiting ([\d.]+)(ms|s) for approval", told)
    assert waited is not None, told
    assert float(waited[1]) / (1000 if waited[2] == "ms" else 1) >= 0.6, told


def test_a_rejection_fails_the_run_with_who_and_why(gated: Path) -> None:
    ido("run", "ship-order")
    code, out = ido("reject", "last", "--by", "bob", "--comment", "too pricey")
    assert code == 0, out
    code, out = ido("resume", "last")
    assert code == 1, out
    assert "ship was rejected by bob (residency/big-spend): too pricey" in out
    assert "resuming" not in out and "not going on: ship was rejected by bob" in out, out
    told = ido("explain", "last")[1]  # it said "resumed after waiting 4.161s for approval"
    assert "resumed after" not in told, told
    assert re.search(r"failed after waiting [\d.]+m?s for approval: ship was rejected by bob", told)


def test_a_rejection_stands_when_the_rule_no_longer_fires_on_resume(gated: Path) -> None:
    """Relaxed for other runs before this one resumed, the rule fired no more on deciding
    again: the rejected plan had no request to find its "no" by, and went ahead."""
    ido("run", "ship-order")
    assert ido("reject", "last", "--by", "bob", "--comment", "not this customer")[0] == 0
    policy = gated / "policies" / "residency.yaml"
    policy.write_text(policy.read_text().replace("capability.name == 'ship'", "false"))
    code, out = ido("resume", "last")
    assert code == 1, out
    assert "ship was rejected by bob (residency/big-spend): not this customer" in out
    with SqliteJournal(gated / ".ido" / "ido.db") as store:
        kinds = [e.kind for e in store.events(store.resolve("last"))]
    assert "action_started" not in kinds[kinds.index("approval_rejected") :]


def test_an_approval_does_not_carry_over_to_another_plan(
    gated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Approved for pay-cheap → ship; on resume cheappay fails, the replan pays with
    priceypay: a different plan, so shipping needs approval again."""
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    code, out = ido("resume", "last")
    assert code == 3, out
    assert "ship needs approval" in out
    code, out = ido("approvals")
    assert out.count("residency/big-spend") == 1  # the new plan's request only
    assert "asked again: the plan changed since it was approved (plan cost 0.80 then" in out, out


def test_verdicts_on_runs_that_do_not_wait_are_refused(gated: Path) -> None:
    ido("run", "ship-order")
    assert ido("approve", "last", "--by", "alice")[0] == 0
    code, out = ido("approve", "last", "--by", "carol")
    assert code == 2 and "is not waiting for an approval" in out
    code, out = ido("approve", "r-unknown", "--by", "carol")
    assert code == 2 and "not found" in out
    code, out = ido("reject", "last", "--by", "carol", "--comment", " ")
    assert code == 2 and "--comment must say why" in out


def test_a_second_verdict_names_who_answered_first(gated: Path) -> None:
    """Two people paged: the second was told only that the run "is not waiting for an
    approval", as if it had gone on, not that Alice had answered it and it waits to be
    resumed."""
    ido("run", "ship-order")
    assert ido("approve", "last", "--by", "alice")[0] == 0
    for verdict in (["approve"], ["reject", "--comment", "too late"]):
        code, out = ido(*verdict, "last", "--by", "carol")
        assert code == 2, out
        run_id = re.findall(r"ido resume (r\S+)", out)[0]
        assert re.fullmatch(
            f"error: run {run_id} is not waiting for an approval: already answered, ship "
            r"\(residency/big-spend\) approved by alice at 20\S+; continue it with "
            f"ido resume {run_id}\n",
            out,
        ), out


def test_a_verdict_on_a_blocked_run_with_no_answer_to_name_says_what_moves_it_on() -> None:
    """Blocked with no request of its latest plan answered nor waiting: the refusal said only
    "is not waiting for an approval", as if the run had gone on; it says to resume it."""
    from ido.approval_verdicts import not_waiting

    said = not_waiting("r1", [], "ido resume r1 --journal j.db")
    assert said == (
        "run r1 is not waiting for an approval: no request of it waits for a verdict; "
        "continue it with ido resume r1 --journal j.db"
    )


def test_of_two_verdicts_at_once_only_the_first_is_recorded(
    gated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bob's rejection lands between Alice's look at the journal and her write: hers is not
    written, and she is told the run no longer waits (both used to be recorded, and the
    resumed run went on past the rejection)."""
    from ido.journal import SqliteJournal

    ido("run", "ship-order")
    real = SqliteJournal.append_after
    raced = []

    def bob_first(self: SqliteJournal, run_id: str, after: int, events: Any) -> bool:
        if not raced:
            raced.append(True)
            _, at, data = events[0]
            self.append(run_id, "approval_rejected", at, {**data, "by": "bob", "comment": "no"})
        return real(self, run_id, after, events)

    monkeypatch.setattr(SqliteJournal, "append_after", bob_first)
    code, out = ido("approve", "last", "--by", "alice")
    assert code == 2 and "is not waiting for an approval" in out, out
    monkeypatch.setattr(SqliteJournal, "append_after", real)
    with SqliteJournal(gated / ".ido" / "ido.db") as journal:
        run_id = journal.resolve("last")
        answers = ("approval_given", "approval_rejected")
        verdicts = [e.data["by"] for e in journal.events(run_id) if e.kind in answers]
    assert "alice" not in verdicts and "bob" in verdicts


@pytest.mark.parametrize(
    ("by", "comment"),
    [
        ("", "fine"),
        (" ", "fine"),
        ("alice\nbob approved", "fine"),
        ("alice\x1b[2J", "fine"),
        ("alice", "fine\n- r1 ship (residency/big-spend) approved by ceo"),
        ("alice", "   "),  # a blank comment was recorded as one
        ("alice", ""),
    ],
)
def test_a_verdict_by_no_one_or_on_more_than_one_line_is_refused(
    gated: Path, by: str, comment: str
) -> None:
    ido("run", "ship-order")
    journal = gated / ".ido" / "ido.db"
    before = journal.read_bytes()
    code, out = ido("approve", "last", "--by", by, "--comment", comment)
    assert code == 2 and ("--by must" in out or "--comment must" in out), out
    assert ido("approvals")[1].count("residency/big-spend") == 1  # still waits
    assert journal.read_bytes() == before


TWO = (
    "    - id: pay-too\n      effect: require_approval\n"
    "      when: \"capability.name == 'pay-cheap-eu'\"\n      message: Paying needs one too.\n"
)


def test_approving_one_step_of_two_says_what_still_waits(gated: Path) -> None:
    """It said "continue it with: ido resume", which only blocked again; and a resumed
    run showed the blocked run's duration as its own, though it had not ended. What still
    waits is said as `ido approvals` says it (it said "step 1", in no one's count)."""
    policy = gated / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + TWO)
    assert ido("run", "ship-order")[0] == 3
    code, out = ido("approve", "last", "--by", "alice", "--step", "2")
    assert code == 0 and "approved: run" in out, out
    assert "still waiting: plan step 1 pay-cheap-eu (decision 1) (residency/pay-too)" in out
    assert "continue it with" not in out
    code, out = ido("approve", "last", "--by", "alice")
    assert code == 0 and "continue it with: ido resume" in out, out
    with SqliteJournal(gated / ".ido" / "ido.db") as store:
        run_id = store.resolve("last")
        store.take_over(run_id, store.events(run_id)[-1].seq, "2026-12-06T06:00:00+00:00", {})
        assert store.run(run_id).duration is None  # running again: no duration yet


def test_a_request_that_expires_at_once_is_refused_as_written(gated: Path) -> None:
    policy = gated / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + "      expires: 0s\n")
    code, out = ido("validate")
    assert code == 2 and "expires must be more than 0s" in out, out


def test_an_expired_request_cannot_be_approved_and_fails_the_run(gated: Path) -> None:
    policy = gated / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text().replace(
            "message: Shipping needs a human.",
            "message: Shipping needs a human.\n      expires: 1ms",
        )
    )
    ido("run", "ship-order")
    time.sleep(0.01)
    code, out = ido("approve", "last", "--by", "alice")
    assert code == 2 and "expired at" in out
    code, out = ido("resume", "last")
    assert code == 1 and "the approval of ship (residency/big-spend) expired unanswered" in out
    told = ido("explain", "last")[1]
    assert "resumed after" not in told, told
    assert "for approval: the approval of ship (residency/big-spend) expired unanswered" in told


def test_shadow_mode_plans_and_records_without_acting(project: Path) -> None:
    set_intent(project, "  mode: shadow\n")
    code, out = ido("run", "ship-order")
    assert code == 0, out
    assert "shadow: run" in out
    assert not (project / "calls.log").exists()


def test_propose_mode_waits_for_the_plan_as_a_whole(project: Path) -> None:
    set_intent(project, "  mode: propose\n")
    code, out = ido("run", "ship-order")
    assert code == 3, out
    # Once, not "mode/propose: mode propose: the plan as a whole needs approval".
    assert "the plan needs approval (mode/propose: a person approves every plan" in out
    assert "plan  mode/propose: a person approves every plan before it runs" in ido("approvals")[1]
    assert ido("approve", "last", "--by", "alice", "--step", "0")[0] == 0
    code, out = ido("resume", "last")
    assert code == 0, out


def test_the_plan_s_request_is_answered_by_step_plan_as_approvals_shows_it(project: Path) -> None:
    """`ido approvals` shows the plan's request as `plan`; `--step plan` was refused as not
    an integer, and the help did not say that the plan is step 0."""
    set_intent(project, "  mode: propose\n")
    assert ido("run", "ship-order")[0] == 3
    code, out = ido("approve", "last", "--by", "alice", "--step", "one")
    assert code == 2 and "'one' is not a step: give its number, or 'plan'" in out, out
    code, out = ido("approve", "last", "--by", "alice", "--step", "plan")
    assert code == 0 and "approved: run" in out, out
    assert ido("resume", "last")[0] == 0
    assert "or 0 (or 'plan') for the plan as a whole" in " ".join(ido("reject", "-h")[1].split())


def test_explain_tells_who_approved_what(gated: Path) -> None:
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice", "--comment", "fine")
    ido("resume", "last")
    code, out = ido("explain", "last")
    assert code == 0
    assert "approval needed for ship (residency/big-spend: Shipping needs a human.)" in out
    # and when: the report is where an auditor asks it (it said who and why only)
    (given,) = re.findall(r"approved by alice at (\S+): ship \(residency/big-spend\): fine", out)
    with SqliteJournal(gated / ".ido" / "ido.db") as store:
        events = store.events(store.resolve("last"))
    assert given == next(e.at for e in events if e.kind == "approval_given")


def test_markdown_reports_show_a_comment_as_written(gated: Path) -> None:
    """A comment went into `explain --format md` and `audit --format md` raw: it made a
    link, an image (fetched when the report is viewed) and HTML of the report."""
    comment = "ok [see](javascript:alert(1)) ![x](http://t.example/p.png) <b>now</b> *_*"
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice", "--comment", comment)
    ido("resume", "last")
    shown = "ok \\[see\\](javascript:alert(1)) \\!\\[x\\](http://t.example/p.png) "
    shown += "\\<b\\>now\\</b\\> \\*\\_\\*"
    for command in (("explain", "last"), ("audit",)):
        code, md = ido(*command, "--format", "md")
        assert code == 0 and shown in md, md
        assert "[see](" not in md and "<b>" not in md
    assert comment in ido("explain", "last")[1]  # the terminal shows it unchanged


def test_a_blocked_run_resumes_while_the_process_that_blocked_it_still_lives(
    gated: Path,
) -> None:
    """Blocked is an end: unlike an interrupted run, its owner being alive is no obstacle."""
    from ido.journal import SqliteJournal as Journal
    from ido.loading import load_catalog
    from ido.runtime.local import LocalRuntime

    catalog = load_catalog(["capabilities", "policies", "intents"])
    with Journal(gated / ".ido" / "ido.db") as store:
        runtime = LocalRuntime(catalog, store, base=gated)
        assert runtime.run(catalog.intents["ship-order"]).outcome == "blocked"
    assert ido("approve", "last", "--by", "alice")[0] == 0
    with Journal(gated / ".ido" / "ido.db") as store:
        again = LocalRuntime(catalog, store, base=gated).resume(store.resolve("last"))
    assert again.outcome == "achieved"


def test_an_approval_is_for_the_plan_at_the_cost_it_was_asked_at(gated: Path) -> None:
    """Approved at 0.80, then a price went up: the same steps at a higher cost went ahead
    on the old approval."""
    ido("run", "ship-order")
    assert ido("approve", "last", "--by", "alice")[0] == 0
    catalog = gated / "capabilities" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("cost: 0.30", "cost: 0.45"))
    code, out = ido("resume", "last")
    assert code == 3 and "ship needs approval" in out, out
    assert "(plan cost 0.95" in ido("approvals")[1]


def test_runs_of_scenarios_are_no_approval_requests(gated: Path) -> None:
    """A scenario run kept with `--journal` that blocked was listed by `ido approvals`,
    `ido approve` recorded a verdict on it, and `ido runner` reported at every look that it
    could not continue it: no verdict can continue a simulated world."""
    (gated / "scenarios").mkdir()
    (gated / "scenarios" / "gate.yaml").write_text(
        "apiVersion: ido/v1\nkind: Scenario\nmetadata: {name: gate}\n"
        "spec:\n  intent: ship-order\n  expect: {outcome: blocked}\n"
    )
    journal = str(gated / ".ido" / "ido.db")
    code, out = ido("scenario", "run", "scenarios/gate.yaml", "-q", "--journal", journal)
    assert code == 0, out
    assert ido("approvals") == (0, "nothing waits for approval\n")
    code, out = ido("approve", "last", "--by", "al")
    assert code == 2 and "blocked in the simulated world of scenario 'gate'" in out, out
    with SqliteJournal(gated / ".ido" / "ido.db") as store:
        assert store.blocked() == {}
        kinds = [e.kind for e in store.events(store.resolve("last"))]
    assert "approval_given" not in kinds


def test_resuming_a_blocked_scenario_run_does_not_send_to_ido_approve(gated: Path) -> None:
    """`ido resume` of a kept scenario run that blocked said to answer it with `ido
    approve` first, which refuses any verdict on it: now it says what approve says."""
    (gated / "scenarios").mkdir()
    (gated / "scenarios" / "gate.yaml").write_text(
        "apiVersion: ido/v1\nkind: Scenario\nmetadata: {name: gate}\n"
        "spec:\n  intent: ship-order\n  expect: {outcome: blocked}\n"
    )
    journal = str(gated / ".ido" / "ido.db")
    assert ido("scenario", "run", "scenarios/gate.yaml", "-q", "--journal", journal)[0] == 0
    code, out = ido("resume", "last")
    assert code == 2, out
    assert "ran in the simulated world of scenario 'gate'; run the scenario again" in out
    assert "ido approve" not in out


def called(project: Path) -> list[str]:
    log = project / "calls.log"
    return [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []


AMOUNT_RULE = (
    "    - id: large\n      effect: require_approval\n"
    "      when: \"capability.name == 'ship' && state.order.amount > 1000.0\"\n"
    "      message: Large orders need a human.\n"
)


def test_an_approval_holds_only_while_what_its_rule_read_stands(project: Path) -> None:
    """Found in a probe: approved for an order of 1,500 (the rule read the amount), the run
    was resumed after the amount became 9,999,999 and shipped without asking again."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + AMOUNT_RULE)
    (project / "capabilities" / "amount.json").write_text('{"amount": 1500.0}')
    (project / "capabilities" / "amount.yaml").write_text(
        "apiVersion: ido/v1\nkind: Observer\nmetadata: {name: amount}\n"
        "spec: {file: amount.json, at: order}\n"
    )
    set_intent(project, "  observers: [amount]\n")
    code, out = ido("run", "ship-order")
    assert code == 3 and "residency/large" in out, out
    ido("approve", "last", "--by", "alice", "--comment", "ok for 1500")
    (project / "capabilities" / "amount.json").write_text('{"amount": 9999999.0}')
    code, out = ido("resume", "last")
    assert code == 3, out  # asked again
    assert "what the rule reads moved since it was approved" in out
    assert "ship" not in called(project)
    ido("approve", "last", "--by", "bob", "--comment", "ok for 9,999,999 too")
    code, out = ido("resume", "last")
    assert code == 0 and "achieved" in out, out


def test_an_approval_holds_while_only_beliefs_and_what_the_rule_does_not_read_moved() -> None:
    """What a verdict holds to leaves out what beliefs move with time: a plan rule's
    approval must not be asked again because a belief about latency decayed meanwhile."""
    from ido.model import Rule
    from ido.policy import evaluate

    rule = Rule(id="r", effect="require_approval", when="plan.cost > 0.5", message="m")
    plan = {"steps": 1, "capabilities": ["a"], "cost": 1.0, "spent": 0.0}

    def held(plan_now: dict[str, Any], health: dict[str, Any]) -> tuple[str, str]:
        variables = {"plan": plan_now, "state": {}, "intent": {}, "health": health}
        (hit,), _ = evaluate([("p", rule)], variables, "(plan)")
        return hit.held, hit.inputs

    first = held({**plan, "latency": 1.0, "success_probability": 0.9}, {"a": {"latency": 1}})
    later = held({**plan, "latency": 2.0, "success_probability": 0.8}, {"a": {"latency": 2}})
    spent = held({**plan, "cost": 2.0, "spent": 1.0, "latency": 1.0}, {"a": {"latency": 1}})
    assert first[0] == later[0] and first[1] != later[1]  # the decision id still tells
    assert spent[0] != first[0]  # a retry spent more than the person approved


def test_a_request_left_past_its_wait_fails_the_run_though_its_rule_was_relaxed(
    gated: Path,
) -> None:
    """Found in a probe: `ido approvals` said the run fails when resumed, yet with the rule
    relaxed meanwhile the resumed run went ahead as if nobody had been asked."""
    policy = gated / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + "      expires: 1ms\n")
    code, out = ido("run", "ship-order")
    assert code == 3, out
    time.sleep(0.05)
    assert "the run fails when resumed" in ido("approvals")[1]
    policy.write_text(policy.read_text().replace("== 'ship'", "== 'nothing'"))
    code, out = ido("resume", "last")
    assert code == 1, out
    assert "the approval of ship (residency/big-spend) expired unanswered" in out
    assert "ship" not in called(gated)


def test_a_run_approved_before_verdicts_held_to_what_rules_read_replays_identically(
    gated: Path,
) -> None:
    """Requests and verdicts recorded before they held to what the rule read have no
    `read`: replay gives such a verdict to the request of its rule, step and plan."""
    import sqlite3

    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    assert ido("resume", "last")[0] == 0
    db = sqlite3.connect(gated / ".ido" / "ido.db")
    with db:
        changed = db.execute(
            "UPDATE events SET data = json_remove(data, '$.read') WHERE kind IN "
            "('approval_required', 'approval_given')"
        ).rowcount
    db.close()
    assert changed == 2  # the request and its verdict
    code, out = ido("replay", "last", "--policies", "policies")  # a what-if, verdicts again
    assert code == 0 and "outcome: achieved → achieved" in out, out


def test_an_approval_of_a_rule_reading_state_whole_is_not_asked_again_for_any_fact() -> None:
    """Found in review: a rule reading `state` whole (`state['order']`) was held to every
    observed fact, and a heartbeat an observer reports asked again at every resume."""
    from ido.model import Rule
    from ido.policy import evaluate

    whole = Rule(id="r", effect="require_approval", when="state['order'].amount > 1.0", message="m")
    named = Rule(id="n", effect="require_approval", when="state.order.amount > 1.0", message="m")

    def held(rule: Rule, state: dict[str, Any]) -> str:
        (hit,), _ = evaluate([("p", rule)], {"state": state, "capability": {}}, "ship")
        return hit.held

    first, beat = {"order": {"amount": 5.0}, "beat": 1}, {"order": {"amount": 5.0}, "beat": 2}
    assert held(whole, first) == held(whole, beat)
    assert held(named, first) == held(named, beat)
    assert held(named, first) != held(named, {"order": {"amount": 6.0}, "beat": 1})


def test_a_request_recorded_before_approvals_held_to_what_rules_read_is_answered_as_then(
    gated: Path,
) -> None:
    """Found in review: a request recorded before (no `read`), approved after, was asked
    again on resume, saying "what the rule reads moved" though nothing had."""
    import sqlite3

    assert ido("run", "ship-order")[0] == 3
    db = sqlite3.connect(gated / ".ido" / "ido.db")
    with db:
        db.execute(
            "UPDATE events SET data = json_remove(data, '$.read') WHERE kind = 'approval_required'"
        )
    db.close()
    ido("approve", "last", "--by", "alice")
    code, out = ido("resume", "last")
    assert code == 0 and "achieved" in out, out


def test_a_plan_rule_s_request_holds_to_what_the_rule_read(project: Path) -> None:
    """Found in the read-through: a plan rule's hit is about "plan a → b" and its request
    names the plan `(plan)`, so the digest of what it read was never found and its request
    held to nothing: a retry that spent more went on under the first approval."""
    set_intent(
        project,
        "  rules:\n    - id: dear\n      effect: require_approval\n"
        '      when: "plan.cost > 0.5"\n      message: Dear plans need a human.\n',
    )
    assert ido("run", "ship-order")[0] == 3
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        events = store.events(store.resolve("last"))
    (request,) = [e.data for e in events if e.kind == "approval_required"]
    assert request["capability"] == "(plan)" and request["read"], request


RETRIED = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: a}
spec:
  provider: pa
  requires: ["!state.x"]
  effects: {x: true}
  run: {python: "retriedsvc:ok"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: b1}
spec:
  provider: pb1
  requires: ["!state.y"]
  effects: {y: true}
  cost: 0.1
  run: {python: "retriedsvc:broken"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: b2}
spec:
  provider: pb2
  requires: ["!state.y"]
  effects: {y: true}
  cost: 1.0
  run: {python: "retriedsvc:ok"}
---
apiVersion: ido/v1
kind: Policy
metadata: {name: ask}
spec:
  rules:
    - {id: b2-asks, effect: require_approval, when: "capability.name == 'b2'", message: costs more}
---
apiVersion: ido/v1
kind: Intent
metadata: {name: xy}
spec:
  given: {x: false, y: false}
  goal: ["state.x", "state.y"]
  policies: [ask]
  planner: search
"""


def test_approvals_says_a_plan_s_step_is_the_plan_s_not_the_run_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Steps 1 to 4 ran (b1 failing three times), and the last replan's b2 waited for
    approval: `ido approvals` said "step 1 b2" where the run, its triggers and explain
    count four steps done and b2 to come fifth. It says now whose numbering it is: "plan
    step 1 b2 (decision 4)"; a step of the run (one whose outcome is unknown) stays
    "step N"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "retriedsvc.py").write_text(
        "def ok(ctx):\n    return {}\n\n\ndef broken(ctx):\n    raise RuntimeError('jammed')\n"
    )
    (tmp_path / "all.yaml").write_text(RETRIED)
    journal = str(tmp_path / "j.db")
    code, out = ido("run", "xy", "--catalog", "all.yaml", "--journal", journal)
    assert code == 3 and "decision 4 (step 4 b1 failed: RuntimeError: jammed)" in out, out
    code, out = ido("approvals", "--journal", journal)
    assert "  plan step 1 b2 (decision 4)  ask/b2-asks: costs more" in out, out
    (request,) = json.loads(ido("approvals", "--journal", journal, "--format", "json")[1])
    assert (request["step"], request["step_of"], request["decision"]) == (1, "plan", 4)


REFUNDS = (
    "    - id: refunds\n      effect: require_approval\n"
    "      when: \"capability.name == 'refund-eu'\"\n      message: Refunds go through finance.\n"
)


@pytest.fixture
def undoing(project: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """ship-order paid, then its shipping failed: undoing the payment needs finance's
    approval, so the failed run blocks there; its id."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + REFUNDS)
    set_intent(project, "  on_failure: compensate\n  limits: {max_attempts: 1}\n")
    monkeypatch.setenv("FAKESVC_FAIL", "carrier")
    code, out = ido("run", "ship-order")
    assert code == 3, out
    assert "undoing waits: refund-eu needs approval (residency/refunds: undo pay-cheap-eu" in out
    monkeypatch.delenv("FAKESVC_FAIL")
    code, listed = ido("approvals", "--format", "json")
    (request,) = json.loads(listed)
    assert (request["rule"], request["capability"], request["step"], request["step_of"]) == (
        "residency/refunds",
        "refund-eu",
        1,
        "run",
    )
    # the run's step 1 it undoes, not "plan step 1 refund-eu" of a plan there is none of
    code, listed = ido("approvals")
    assert "  undo step 1 with refund-eu  residency/refunds: undo pay-cheap-eu" in listed
    assert "(step cost 0.00, since" in listed
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        return store.resolve("last")


def test_a_compensation_that_needs_approval_waits_for_it_and_then_undoes(
    project: Path, undoing: str
) -> None:
    """It was skipped ("which undoing does not wait for: not done"): the charge stayed
    and a person had to refund it by hand. Now the run blocks as a step of a plan does."""
    assert "refund-eu" not in (project / "calls.log").read_text()
    assert ido("approve", undoing, "--by", "finance")[0] == 0
    code, out = ido("resume", undoing)
    assert code == 1, out  # it failed, and is undone
    assert "refund-eu" in (project / "calls.log").read_text()
    code, text = ido("explain", undoing)
    assert "compensation: refund-eu undid pay-cheap-eu (step 1): done" in text
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        row = store.run(undoing)
    assert row.outcome == "failed" and "undoing waits" not in str(row.reason)


def test_a_compensation_rejected_is_not_done_and_the_run_fails(project: Path, undoing: str) -> None:
    assert ido("reject", undoing, "--by", "finance", "--comment", "refund by hand")[0] == 0
    code, out = ido("resume", undoing)
    assert code == 1, out
    assert "refund-eu" not in (project / "calls.log").read_text()
    code, text = ido("explain", undoing)
    assert (
        "compensation: refund-eu could not undo pay-cheap-eu (step 1): refund-eu was rejected "
        "by finance (residency/refunds): refund by hand: not done" in text
    ), text


TWO_UNDOS = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: a}
spec:
  provider: pa
  requires: ["!state.a"]
  effects: {a: true}
  compensate: undo-a
  run: {python: "twosvc:ok"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: b}
spec:
  provider: pb
  requires: ["state.a", "!state.b"]
  effects: {b: true}
  compensate: undo-b
  run: {python: "twosvc:ok"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: c}
spec:
  provider: pc
  requires: ["state.b", "!state.c"]
  effects: {c: true}
  run: {python: "twosvc:broken"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: undo-a}
spec:
  provider: pa
  effects: {a: false}
  run: {python: "twosvc:ok"}
---
apiVersion: ido/v1
kind: Capability
metadata: {name: undo-b}
spec:
  provider: pb
  effects: {b: false}
  run: {python: "twosvc:ok"}
---
apiVersion: ido/v1
kind: Policy
metadata: {name: ask}
spec:
  rules:
    - {id: undo-a-asks, effect: require_approval, when: "capability.name == 'undo-a'", message: a}
    - id: undo-b-asks
      effect: require_approval
      when: "capability.name == 'undo-b'"
      message: b
      expires: 1ms
---
apiVersion: ido/v1
kind: Intent
metadata: {name: abc}
spec:
  given: {a: false, b: false, c: false}
  goal: ["state.c"]
  policies: [ask]
  planner: search
  on_failure: compensate
  limits: {max_attempts: 1}
"""


def write_twosvc(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This test's own `twosvc` module: the one an earlier test imported from its folder is
    forgotten first (ido refuses to call another project's module of the same name)."""
    (folder / "twosvc.py").write_text(
        "def ok(ctx):\n    return {}\n\n\ndef broken(ctx):\n    raise RuntimeError('jammed')\n"
    )
    monkeypatch.delitem(sys.modules, "twosvc", raising=False)


@pytest.mark.parametrize("answer", ["expired", "rejected"])
def test_a_second_compensation_waits_for_its_own_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    """Undoing step 2 (undo-b) was rejected or left past its wait, and undoing step 1
    (undo-a) then asked: every compensation's request names the plan "undo", so the
    verdict or stale request on step 2 counted for step 1. `ido resume` went on though
    nobody had answered (blocking again each time), `ido approvals` listed step 2's
    request as expired, and `ido approve RUN` refused it. Now only step 1's request is
    waited for."""
    monkeypatch.chdir(tmp_path)
    write_twosvc(tmp_path, monkeypatch)
    ttl = "      expires: 1ms\n" if answer == "expired" else ""
    (tmp_path / "all.yaml").write_text(TWO_UNDOS.replace("      expires: 1ms\n", ttl))
    where = ("--catalog", "all.yaml", "--journal", str(tmp_path / "j.db"))
    code, out = ido("run", "abc", *where)
    assert code == 3 and "undoing waits: undo-b needs approval" in out, out
    time.sleep(0.01)
    if answer == "rejected":
        assert ido("reject", "last", "--by", "ops", "--comment", "no", *where[2:])[0] == 0
    code, out = ido("resume", "last", *where)
    assert code == 3 and "undoing waits: undo-a needs approval" in out, out
    code, out = ido("resume", "last", *where)
    assert code == 2 and "still waits for approval of undo-a (ask/undo-a-asks)" in out, out
    code, listed = ido("approvals", *where[2:])
    assert "undo step 1 with undo-a" in listed and "undo-b" not in listed, listed
    assert ido("approve", "last", "--by", "ops", *where[2:])[0] == 0
    code, out = ido("resume", "last", *where)
    assert code == 1, out
    assert "compensation: undo-a undid a (step 1): done" in ido("explain", "last", *where[2:])[1]


def test_an_expired_compensation_is_said_to_be_left_undone_not_to_fail_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ido approvals` and `ido approve` said "the run fails when resumed" of a
    compensation's request left past its wait; the run had failed already, and resuming
    only leaves that step undone and goes on undoing the older ones."""
    monkeypatch.chdir(tmp_path)
    write_twosvc(tmp_path, monkeypatch)
    (tmp_path / "all.yaml").write_text(TWO_UNDOS)
    where = ("--catalog", "all.yaml", "--journal", str(tmp_path / "j.db"))
    assert ido("run", "abc", *where)[0] == 3
    time.sleep(0.01)
    left = "undo-b is not done when resumed, and undoing goes on"
    listed = ido("approvals", *where[2:])[1]
    assert f": {left})" in listed and "the run fails" not in listed, listed
    code, out = ido("approve", "last", "--by", "ops", *where[2:])
    assert code == 2 and "expired at" in out and left in out, out


def test_a_request_asked_again_for_another_plan_says_why(gated: Path) -> None:
    """alice approved ship; ship's price changed in the catalog before the resume, and the
    run asked her again with the very words of the first request, as if her verdict were
    lost. Now the request says the plan changed, and what it cost then and now (the
    approved plan itself, checked on resuming: its cost moved)."""
    ido("run", "ship-order")
    assert ido("approve", "last", "--by", "alice")[0] == 0
    catalog = gated / "capabilities" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("cost: 0.50", "cost: 0.70"))
    code, out = ido("resume", "last")
    assert code == 3, out
    assert "Shipping needs a human.; asked again: its cost moved 0.80 → 1.00" in out, out
    assert "asked again: its cost moved" in ido("approvals")[1]


def test_a_step_nothing_waits_for_is_refused_naming_each_step_once(gated: Path) -> None:
    """Two rules asked about ship: `--step plan` was refused with "waits for approval of
    step(s) 2, 2, not step 0", each step once per rule, and the plan as a number."""
    policy = gated / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + RULE.replace("big-spend", "second-look"))
    assert ido("run", "ship-order")[0] == 3
    code, out = ido("approve", "last", "--by", "alice", "--step", "plan")
    assert code == 2, out
    assert "waits for approval of step 2, not the plan (--step takes a number" in out, out


def test_the_audit_says_a_compensation_was_rejected_not_that_it_needs_approval(
    project: Path, undoing: str
) -> None:
    """`ido audit` listed a compensation finance had rejected as "refund-eu (undoing
    pay-cheap-eu): needs approval under residency/refunds, not done", as if nobody had
    answered."""
    assert ido("reject", undoing, "--by", "finance", "--comment", "refund by hand")[0] == 0
    assert ido("resume", undoing)[0] == 1
    out = ido("audit")[1]
    assert (
        "refund-eu (undoing pay-cheap-eu): refund-eu was rejected by finance "
        "(residency/refunds): refund by hand, not done"
    ) in out, out
    assert "needs approval under" not in out


def test_what_approvals_and_audit_give_as_json_reads_without_float_noise(gated: Path) -> None:
    """`ido approvals --format json` gave a plan of 0.30 and 0.60 as cost
    0.8999999999999999, and `ido audit` a wait as 9.408963918685913 seconds."""
    catalog = gated / "capabilities" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("cost: 0.50", "cost: 0.60"))
    ido("run", "ship-order")
    (request,) = json.loads(ido("approvals", "--format", "json")[1])
    assert request["cost"] == 0.9
    ido("approve", "last", "--by", "alice")
    (approval,) = json.loads(ido("audit", "--format", "json")[1])["approvals"]
    assert approval["cost"] == 0.9
    assert approval["waited_seconds"] == round(approval["waited_seconds"], 3)


def test_a_shadow_run_says_which_approvals_a_real_run_would_stop_for(gated: Path) -> None:
    """A shadow run of a plan that needs a person said only "planned and recorded, nothing
    performed": read as a rehearsal, the payment would have gone ahead unasked."""
    set_intent(gated, "  mode: shadow\n")
    code, out = ido("run", "ship-order")
    assert code == 0, out
    assert (
        "nothing performed; a run would stop for approval of ship (residency/big-spend)" in out
    ), out
    assert ido("approvals")[1].strip() == "nothing waits for approval"


def test_what_a_run_would_stop_for_is_what_a_run_of_the_plan_records(gated: Path) -> None:
    """`ido plan` and a shadow run say what a run of a plan would stop for with one
    `would_ask` (two copies wrapped `approvals_asked` before): the requests a run of the
    same plan records, the plan's own first in `mode: propose`."""
    from ido.approval_asking import would_ask
    from ido.approvals import PLAN, PROPOSE
    from ido.decide import decide
    from ido.decision import History
    from ido.loading import load_catalog
    from ido.observe import boolean_facts, snapshot
    from ido.planner import get_planner
    from ido.runtime.local import LocalRuntime

    set_intent(gated, "  mode: propose\n")
    catalog = load_catalog(["capabilities", "policies", "intents"])
    intent = catalog.intents["ship-order"]
    state = snapshot(intent, [], {}, boolean_facts(catalog))
    planner = get_planner(intent.spec.planner)
    decision = decide(intent, catalog, state, History(), planner, number=1, trigger="t")
    with SqliteJournal(gated / ".ido" / "ido.db") as store:
        report = LocalRuntime(catalog, store, base=gated).run(intent)
        assert report.outcome == "blocked", report.reason
        asked = [e.data for e in store.events(report.run_id) if e.kind == "approval_required"]
    said = would_ask(decision, "propose")
    assert [(a["rule"], a["capability"], a["step"]) for a in said] == [
        (a["rule"], a["capability"], a["step"]) for a in asked
    ]
    assert (said[0]["rule"], said[0]["capability"]) == (PROPOSE, PLAN) and len(said) == 2


@pytest.mark.parametrize("expires", [None, "2h"])
def test_the_json_listing_gives_its_times_in_iso_8601_utc_too(
    project: Path, expires: str | None
) -> None:
    """`ido approvals --format json` gave `since`, `expires` and `until` as epoch seconds
    only (1796611773.3033879), which a reader or a spreadsheet cannot read; each has an
    ISO 8601 UTC twin, as the journal stamps times, and null where the number is."""
    lasting = f"      expires: {expires}\n" if expires else ""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + RULE + lasting)
    assert ido("run", "ship-order")[0] == 3
    (request,) = json.loads(ido("approvals", "--format", "json")[1])
    for field in ("since", "expires", "until"):
        number, said = request[field], request[f"{field}_at"]
        if number is None:
            assert said is None and expires is None
            continue
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", said), said
        moment = datetime.fromisoformat(said)
        assert moment.tzinfo is not None and abs(moment.timestamp() - number) < 0.001
    if expires:
        assert request["expires"] - request["since"] == pytest.approx(7200)


def test_approvals_are_chosen_by_intent_and_limited_the_longest_waiting_first(
    gated: Path,
) -> None:
    """A night of blocked runs listed thousands of lines, with no way to ask for one
    intent's or the first few: `--intent` chooses, `--limit` keeps the oldest and says how
    many more wait, and an intent no run is of is warned of (not "nothing waits")."""
    other = gated / "intents" / "ship-order-2.yaml"
    other.write_text(
        (gated / "intents" / "ship-order.yaml").read_text().replace("ship-order", "ship-order-2")
    )
    for name in ("ship-order", "ship-order-2", "ship-order"):
        assert ido("run", name)[0] == 3
    everything = json.loads(ido("approvals", "--format", "json")[1])
    assert [r["intent"] for r in everything] == ["ship-order", "ship-order-2", "ship-order"]
    code, out = ido("approvals", "--limit", "2")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3, out
    assert lines[0].startswith(f"{everything[0]['run']} (ship-order)  "), out
    assert lines[1].startswith(f"{everything[1]['run']} (ship-order-2)  "), out
    assert lines[2] == "… and 1 more request (of 3): raise --limit, or choose with --intent"
    mine = json.loads(ido("approvals", "--intent", "ship-order-2", "--format", "json")[1])
    assert [r["run"] for r in mine] == [everything[1]["run"]]
    one = json.loads(ido("approvals", "--intent", "ship-order", "--limit", "1", "-f", "json")[1])
    assert [r["run"] for r in one] == [everything[0]["run"]]
    result = runner.invoke(app, ["approvals", "--intent", "ship-ordr"])
    assert result.stdout == "nothing waits for approval of ship-ordr\n"
    assert "no run in the journal is of intent 'ship-ordr'; did you mean" in result.stderr


def test_several_runs_are_answered_in_one_command_each_error_said_and_the_rest_answered(
    gated: Path,
) -> None:
    """A night's blocked runs were approved one `ido approve` at a time, a start of ido
    each: several RUNs are answered alike, one not waiting is said on stderr and the
    others still answered, and the command exits 2 naming those left unanswered."""
    for _ in range(3):
        assert ido("run", "ship-order")[0] == 3
    first, second, third = (r["run"] for r in json.loads(ido("approvals", "-f", "json")[1]))
    result = runner.invoke(app, ["approve", first, "nope", second, "--by", "alice"])
    assert result.exit_code == 2, result.output
    assert f"approved: run {first} ship (residency/big-spend) by alice" in result.stdout
    assert f"approved: run {second} ship (residency/big-spend) by alice" in result.stdout
    assert "error: run 'nope' not found in" in result.stderr
    assert result.stderr.endswith("error: 1 run of 3 not answered: nope\n"), result.stderr
    assert [r["run"] for r in json.loads(ido("approvals", "-f", "json")[1])] == [third]
    result = runner.invoke(app, ["reject", third, first, "--by", "bob", "--comment", "no"])
    assert result.exit_code == 2 and f"rejected: run {third} ship" in result.stdout
    assert result.stderr.endswith(f"error: 1 run of 2 not answered: {first}\n"), result.stderr
    result = runner.invoke(app, ["approve", first, second, "--by", " "])
    assert (result.exit_code, result.stderr.count("error:")) == (2, 1), result.stderr
    assert ido("resume", first)[0] == 0


def test_a_run_named_twice_among_several_is_answered_once_and_not_said_unanswered(
    gated: Path,
) -> None:
    """The same run named twice (its id and its end as `ido run A B` shows it, or pasted
    with a space) was answered, then refused as already answered, and the command exited
    2 saying that run was not answered: it is answered once and the command succeeds."""
    for _ in range(2):
        assert ido("run", "ship-order")[0] == 3
    first, second = (r["run"] for r in json.loads(ido("approvals", "-f", "json")[1]))
    result = runner.invoke(
        app, ["approve", first, f"…{first[-6:]}", f"{second} ", second, "--by", "alice"]
    )
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    assert result.stdout.count(f"approved: run {first} ship") == 1, result.stdout
    assert result.stdout.count(f"approved: run {second} ship") == 1, result.stdout
    assert json.loads(ido("approvals", "-f", "json")[1]) == []


def test_a_run_named_twice_beside_one_not_found_is_said_once(gated: Path) -> None:
    """Of several RUNs one not found is still said and the exit is 2; the run named
    twice counts once among those asked for."""
    assert ido("run", "ship-order")[0] == 3
    (first,) = (r["run"] for r in json.loads(ido("approvals", "-f", "json")[1]))
    result = runner.invoke(
        app, ["reject", first, first[:-2], "nope", "--by", "bob", "--comment", "no"]
    )
    assert result.exit_code == 2 and f"rejected: run {first} ship" in result.stdout
    assert result.stderr.count("error:") == 2, result.stderr
    assert result.stderr.endswith("error: 1 run of 2 not answered: nope\n"), result.stderr


def test_limit_keeps_the_requests_waiting_longest_whenever_their_runs_started(
    project: Path,
) -> None:
    """`--limit` said it kept the requests waiting longest, but listed them by when their
    runs started: a run started first that came to ask later (killed, resumed, replanned)
    was kept, and the request waiting longest was among those left out."""
    import os
    import subprocess

    policy = project / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text()
        + "    - id: pricey\n      effect: require_approval\n"
        + "      when: \"capability.name == 'pay-pricey-eu'\"\n      message: Costly.\n"
    )

    def sub(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environ = {**os.environ, "FAKESVC_FAIL": "cheappay", **env}
        command = [sys.executable, "-m", "ido", *args]
        return subprocess.run(command, capture_output=True, text=True, env=environ, check=False)

    killed = sub("run", "ship-order", IDO_CRASH_AFTER_EVENTS="2")  # its plan made, not run
    assert killed.returncode == -9, killed.stdout + killed.stderr
    started_first = killed.stdout.split()[1]
    assert sub("run", "ship-order").returncode == 3  # pays cheaply, fails, asks: waits
    resumed = sub("resume", started_first)  # asks after the other
    assert resumed.returncode == 3, resumed.stdout + resumed.stderr
    listed = json.loads(ido("approvals", "-f", "json")[1])
    assert [r["run"] for r in listed][1] == started_first, listed
    assert listed[0]["since"] < listed[1]["since"]
    code, out = ido("approvals", "--limit", "1")
    assert code == 0 and out.startswith(listed[0]["run"]), out


def test_a_verdict_on_an_interrupted_run_says_it_is_interrupted_and_to_resume_it(
    project: Path,
) -> None:
    """A run whose process was killed mid-step (SIGTERM) is not blocked: a verdict on it
    said only "is not waiting for an approval", with no word of the run's state nor of
    `ido resume`."""
    journal = project / ".ido" / "ido.db"
    with SqliteJournal(journal) as store:  # started, never ended, by a process now gone
        store.start_run("r01", "ship-order", "2026-12-07T12:00:01.000+00:00", {})
    for verdict in (["approve"], ["reject", "--comment", "too late"]):
        code, out = ido(*verdict, "r01", "--by", "bob")
        assert code == 2, out
        assert out == (
            "error: run r01 is not waiting for an approval: it is interrupted (its process "
            "stopped before it ended, not blocked); continue it with ido resume r01\n"
        )


def test_a_verdict_on_an_ended_run_says_how_it_ended(gated: Path) -> None:
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice")
    assert ido("resume", "last")[0] == 0
    code, out = ido("approve", "last", "--by", "bob")
    assert code == 2 and "is not waiting for an approval: it has ended, achieved" in out, out


@pytest.mark.parametrize(
    ("started", "said"),
    [
        (
            {"scenario": {"metadata": {"name": "eu-outage"}}},
            "it ran in the simulated world of scenario 'eu-outage' and did not end; run the "
            "scenario again instead",
        ),
        (
            {"temporal": {"address": "tmp.example:7233", "flags": ["--tls"]}},
            "it is pursued on the Temporal server at tmp.example:7233, and was not blocked "
            "when last imported; ido temporal pull r01 --temporal tmp.example:7233 --tls "
            "imports where it stands now",
        ),
        (
            {"process": {"pid": 4242, "host": "other-host.example", "since": 1.0}},
            "it has not ended, and its process ran on host other-host.example, where it may "
            "still be running; if it stopped there, continue it with ido resume r01",
        ),
    ],
)
def test_a_verdict_on_a_run_not_blocked_and_not_resumable_here_says_what_moves_it_on(
    project: Path, started: dict[str, Any], said: str
) -> None:
    """A scenario's run and a Temporal run not ended were said interrupted, to continue with
    `ido resume RUN`, which refuses both; a run whose process ran on another machine was
    said stopped, though nothing here can tell."""
    journal = project / ".ido" / "ido.db"
    with SqliteJournal(journal) as store:
        store.start_run("r01", "ship-order", "2026-12-07T12:00:01.000+00:00", started)
    code, out = ido("approve", "r01", "--by", "bob")
    assert code == 2, out
    assert out == f"error: run r01 is not waiting for an approval: {said}\n"


def test_a_temporal_run_not_blocked_in_another_journal_is_pulled_into_that_journal(
    project: Path,
) -> None:
    """The pull it named lacked `--journal`: typed as said, it imported the run into the
    default journal, not the one the verdict was given in."""
    journal = project / "other.db"
    temporal = {"temporal": {"address": "tmp.example:7233", "flags": ["--tls"]}}
    with SqliteJournal(journal) as store:
        store.start_run("r01", "ship-order", "2026-12-07T12:00:01.000+00:00", temporal)
    code, out = ido("approve", "r01", "--by", "bob", "--journal", str(journal))
    assert code == 2, out
    assert (
        "; ido temporal pull r01 --temporal tmp.example:7233 --tls --journal "
        f"{journal} imports where it stands now\n"
    ) in out, out
