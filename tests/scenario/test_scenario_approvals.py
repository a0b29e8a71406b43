"""A scenario's scripted verdicts: approvals given or refused on the virtual clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.errors import LoadError
from ido.health import Evidence
from ido.journal import SqliteJournal
from ido.scenario.runner import load_scenarios, run_scenario
from ido.scenario.world import START

ROOT = Path(__file__).resolve().parents[2]
CATALOG = [ROOT / d for d in ("intents", "capabilities", "policies")]

# An order of 5,000: every payment needs a person's approval (spend-approval/large-payment).
INTENT = """\
  intent:
    given: {order: {id: '9', amount: 5000.0, region: eu}}
    goal: ['state.order.paid']
    policies: [eu-data-residency, spend-approval]
"""


def scenario(tmp_path: Path, body: str) -> tuple[Path, str]:
    path = tmp_path / "large.yaml"
    head = "apiVersion: ido/v1\nkind: Scenario\nmetadata: {name: large}\nspec:\n"
    path.write_text(head + INTENT + body)
    return path, body


def run(path: Path) -> object:
    ((loaded, catalog),) = load_scenarios(path, CATALOG)
    return run_scenario(loaded, catalog, base=ROOT)


def test_without_a_verdict_the_run_stays_blocked(tmp_path: Path) -> None:
    path, _ = scenario(tmp_path, "  expect: {outcome: blocked, never_used: [charge-stripe-eu]}\n")
    result = run(path)
    assert result.passed, result.unmet  # type: ignore[attr-defined]


def test_an_approval_comes_after_its_wait_and_the_run_goes_on(tmp_path: Path) -> None:
    """Before, a scenario under a require_approval rule could only end blocked."""
    path, _ = scenario(
        tmp_path,
        "  approvals:\n"
        "    - {rule: spend-approval/large-payment, by: cfo, after: 2h, comment: known customer}\n"
        "  expect: {outcome: achieved, used: [charge-stripe-eu], max_time: 3h}\n",
    )
    result = run(path)
    assert result.passed, result.unmet  # type: ignore[attr-defined]
    assert result.elapsed >= 2 * 3600  # type: ignore[attr-defined]
    events = result.journal.events(result.report.run_id)  # type: ignore[attr-defined]
    (given,) = [e for e in events if e.kind == "approval_given"]
    assert (given.data["by"], given.data["comment"]) == ("cfo", "known customer")
    assert given.data["capability"] == "charge-stripe-eu"
    kinds = [e.kind for e in events]
    assert kinds.index("approval_required") < kinds.index("approval_given")
    assert kinds.index("approval_given") < kinds.index("run_resumed")


def test_a_rejection_fails_the_run_with_who_and_why(tmp_path: Path) -> None:
    path, _ = scenario(
        tmp_path,
        "  approvals:\n"
        "    - {rule: spend-approval/large-payment, verdict: reject, by: cfo, comment: fraud}\n"
        "  expect: {outcome: failed, reason: 'rejected by cfo', never_used: [charge-stripe-eu]}\n",
    )
    result = run(path)
    assert result.passed, result.unmet  # type: ignore[attr-defined]
    assert "fraud" in (result.report.reason or "")  # type: ignore[attr-defined]


def test_a_verdict_for_another_capability_answers_nothing(tmp_path: Path) -> None:
    path, _ = scenario(
        tmp_path,
        "  approvals:\n"
        "    - {rule: spend-approval/large-payment, capability: charge-adyen-eu}\n"
        "  expect: {outcome: blocked}\n",
    )
    result = run(path)
    assert result.passed, result.unmet  # type: ignore[attr-defined]


def test_a_verdict_after_the_last_wait_comes_too_late(tmp_path: Path) -> None:
    """A rule that expires in an hour, answered after two: the run fails as unanswered, as
    `ido approve` would refuse the late verdict and `ido resume` fail the run."""
    path = tmp_path / "late.yaml"
    path.write_text(
        "apiVersion: ido/v1\nkind: Scenario\nmetadata: {name: late}\nspec:\n"
        "  intent:\n"
        "    given: {order: {id: '9', region: eu}}\n"
        "    goal: ['state.order.paid']\n"
        "    policies: [eu-data-residency]\n"
        "    rules:\n"
        "      - {id: ask, effect: require_approval, when: \"'payments' in capability.tags\",\n"
        "         message: ask first, expires: 1h}\n"
        "  approvals:\n"
        "    - {rule: intent:late/ask, after: 2h}\n"
        "  expect: {outcome: failed, reason: expired unanswered}\n"
    )
    result = run(path)
    assert result.passed, result.unmet  # type: ignore[attr-defined]
    events = result.journal.events(result.report.run_id)  # type: ignore[attr-defined]
    assert not [e for e in events if e.kind == "approval_given"]


def test_a_verdict_in_time_holds_however_late_another_comes(tmp_path: Path) -> None:
    """The payment's rule expires in an hour and is answered after 30 minutes; the plan as
    a whole (mode: propose, no expiry) after two hours. Both answers were checked at two
    hours, the payment's was dropped as late, and the run failed "expired unanswered",
    where `ido approve` at 30 minutes, then at two hours, lets it go on."""
    path = tmp_path / "both.yaml"
    path.write_text(
        "apiVersion: ido/v1\nkind: Scenario\nmetadata: {name: both}\nspec:\n"
        "  intent:\n"
        "    given: {order: {id: '9', region: eu}}\n"
        "    goal: ['state.order.paid']\n"
        "    policies: [eu-data-residency]\n"
        "    mode: propose\n"
        "    rules:\n"
        "      - {id: ask, effect: require_approval, when: \"'payments' in capability.tags\",\n"
        "         message: ask first, expires: 1h}\n"
        "  approvals:\n"
        "    - {rule: intent:both/ask, by: finance, after: 30m}\n"
        "    - {rule: mode/propose, by: lead, after: 2h}\n"
        "  expect: {outcome: achieved, max_time: 3h}\n"
    )
    result = run(path)
    assert result.passed, result.unmet  # type: ignore[attr-defined]
    events = result.journal.events(result.report.run_id)  # type: ignore[attr-defined]
    given = [e for e in events if e.kind == "approval_given"]
    assert [e.data["by"] for e in given] == ["finance", "lead"]  # each when it came
    assert given[0].at < given[1].at


def test_scripted_verdicts_through_the_cli_and_a_shared_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept in a real journal, the run shows who approved it, and ido resume still refuses
    to continue a scenario's run in the real world."""
    monkeypatch.chdir(ROOT)
    path, _ = scenario(
        tmp_path,
        "  approvals:\n"
        "    - {rule: spend-approval/large-payment, by: cfo, after: 10m}\n"
        "  expect: {outcome: achieved}\n",
    )
    journal = tmp_path / "j.db"
    result = CliRunner().invoke(app, ["scenario", "run", str(path), "--journal", str(journal)])
    assert result.exit_code == 0, result.output
    assert "approved by cfo: charge-stripe-eu (spend-approval/large-payment)" in result.output
    assert "expectations: all met" in result.output
    with SqliteJournal(journal) as store:
        (row,) = store.runs()
    assert row.outcome == "achieved"


def test_bad_verdicts_are_load_errors(tmp_path: Path) -> None:
    path, _ = scenario(
        tmp_path,
        "  approvals:\n"
        "    - {rule: spend-approval/large-payment, verdict: maybe}\n"
        "    - {rule: ' ', by: cfo}\n"
        '    - {rule: a/b, by: "x\\ny"}\n',
    )
    with pytest.raises(LoadError) as caught:
        load_scenarios(path, CATALOG)
    said = str(caught.value)
    assert "spec.approvals[0].verdict" in said
    assert "spec.approvals[1].rule" in said
    assert "by must be one line of printable text" in said


def test_a_scripted_rejection_without_its_reason_is_a_load_error(tmp_path: Path) -> None:
    """`ido reject` requires `--comment`, but a scenario's `verdict: reject` loaded without
    one and the run failed saying no reason: it is refused now, naming the field."""
    path, _ = scenario(
        tmp_path,
        "  approvals:\n    - {rule: spend-approval/large-payment, verdict: reject, by: cfo}\n",
    )
    with pytest.raises(LoadError) as caught:
        load_scenarios(path, CATALOG)
    (problem,) = caught.value.problems
    assert problem.field == "spec.approvals[0]"
    assert problem.message.endswith("comment must say why: a rejection needs its reason")


@pytest.mark.parametrize(
    ("rule", "said"),
    [
        (
            "spend-approval/large-paymnet",
            "rule 'spend-approval/large-paymnet' not found; spend-approval asks with "
            "spend-approval/large-payment",
        ),
        ("eu-data-residency/pii-stays-in-eu", "is a deny rule, so it asks no approval"),
        ("spend-aproval/large-payment", "'spend-aproval/large-payment' names no policy rule"),
        ("intent:other/x", "is not a rule of this scenario's intent: write intent:large/RULE"),
        ("intent:large/nope", "rule 'intent:large/nope' not found; intent:large asks with none"),
    ],
)
def test_a_verdict_for_a_rule_that_asks_nothing_is_a_load_error(
    tmp_path: Path, rule: str, said: str
) -> None:
    """A misspelt rule answered nothing: the run stayed blocked, told only as an unmet
    outcome, and `ido validate` said ok."""
    path, _ = scenario(tmp_path, f"  approvals:\n    - {{rule: '{rule}', by: cfo}}\n")
    with pytest.raises(LoadError) as caught:
        load_scenarios(path, CATALOG)
    assert "spec.approvals[0].rule: " in str(caught.value) and said in str(caught.value)


def test_a_verdict_for_ido_s_own_requests_or_the_intent_s_rule_loads(tmp_path: Path) -> None:
    path, _ = scenario(
        tmp_path,
        "    rules: [{id: big, effect: require_approval, when: 'true', message: m}]\n"
        "  approvals:\n    - {rule: intent:large/big}\n    - {rule: mode/propose}\n",
    )
    assert load_scenarios(path, CATALOG)


def test_a_verdict_on_a_rule_that_never_asks_is_a_load_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A verdict naming a bare rule id, a deny rule, a rule of another intent or a
    capability not in the catalog matched no request: `ido validate` said ok and the
    scenario ended `blocked`, with no word on why."""
    file = tmp_path / "typos.yaml"
    file.write_text(
        "apiVersion: ido/v1\nkind: Scenario\nmetadata: {name: typos}\nspec:\n"
        "  intent: fulfil-large-order\n"
        "  approvals:\n"
        "    - {rule: large-payment}\n"
        "    - {rule: eu-data-residency/pii-stays-in-eu}\n"
        "    - {rule: 'intent:other/x'}\n"
        "    - {rule: spend-approval/large-payment, capability: charge-stirpe-eu}\n"
        "    - {rule: spend-approval/large-payment}\n"
    )
    monkeypatch.chdir(ROOT)
    args = ["validate", str(file), "-c", "intents", "-c", "capabilities", "-c", "policies"]
    result = CliRunner().invoke(app, args)
    code, out = result.exit_code, result.output
    assert code == 2, out
    assert (
        "typos.yaml:7: spec.approvals[0].rule: 'large-payment' is not a rule id: write "
        "policy/rule (or intent:NAME/rule), like spend-approval/large-payment"
    ) in out
    assert (
        "typos.yaml:8: spec.approvals[1].rule: rule 'eu-data-residency/pii-stays-in-eu' is a "
        "deny rule, so it asks no approval"
    ) in out
    assert "typos.yaml:9: spec.approvals[2].rule: 'intent:other/x' is not a rule of this" in out
    assert "typos.yaml:10: spec.approvals[3].capability: Capability 'charge-stirpe-eu'" in out
    assert "approvals[4]" not in out


def test_resuming_after_a_verdict_is_no_replan(tmp_path: Path) -> None:
    """`replans` counted every decision after the first: a run that never left its plan
    failed `replans: {max: 0}` with "replans: 1" for resuming after its approval, which
    `limits.max_replans` does not count either."""
    path, _ = scenario(
        tmp_path,
        "  approvals: [{rule: spend-approval/large-payment}]\n"
        "  expect: {outcome: achieved, replans: {max: 0}}\n",
    )
    result = run(path)
    assert result.passed, result.unmet  # type: ignore[attr-defined]


def test_an_answer_past_the_last_wait_fails_the_run_when_the_wait_ends(tmp_path: Path) -> None:
    """An approval 45 minutes after a request that expires after 30 failed the run at 45
    minutes; `ido runner` fails it as the wait ends, and so does the scenario now."""
    path = tmp_path / "late.yaml"
    path.write_text(
        "apiVersion: ido/v1\nkind: Scenario\nmetadata: {name: late}\nspec:\n"
        "  intent:\n"
        "    given: {order: {id: '9', region: eu}}\n"
        "    goal: ['state.order.paid']\n"
        "    policies: [eu-data-residency]\n"
        "    rules:\n"
        "      - {id: ask, effect: require_approval, when: 'true', message: ask, expires: 30m}\n"
        "  approvals: [{rule: 'intent:late/ask', after: 45m}]\n"
        "  expect: {outcome: failed, reason: expired unanswered, max_time: 30m}\n"
    )
    result = run(path)
    assert result.passed, result.unmet  # type: ignore[attr-defined]
    assert result.elapsed > 30 * 60  # type: ignore[attr-defined]


def test_the_live_output_says_who_was_asked_and_what_they_answered(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The run went from its first decision to `resuming` without a word of the request
    or of the scripted verdict; only the explanation after it told them."""
    path, _ = scenario(
        tmp_path,
        "  approvals: [{rule: spend-approval/large-payment, by: cfo, after: 5m}]\n"
        "  expect: {outcome: achieved}\n",
    )
    monkeypatch.chdir(ROOT)
    out = CliRunner().invoke(app, ["scenario", "run", str(path)]).output
    live = out[: out.index("resuming")]
    assert "  ? approval needed for charge-stripe-eu (spend-approval/large-payment:" in live
    assert "  ? approved by cfo: charge-stripe-eu (spend-approval/large-payment)" in live


def test_a_verdict_on_a_policy_that_did_not_load_is_told_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A policy that failed to load is told where it stands, not again as "not found"."""
    (tmp_path / "broken.yaml").write_text(
        "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: broken}\nspec: {rulez: []}\n"
    )
    file = tmp_path / "answers.yaml"
    file.write_text(
        "apiVersion: ido/v1\nkind: Scenario\nmetadata: {name: answers}\nspec:\n"
        "  intent: fulfil-large-order\n"
        "  approvals: [{rule: broken/ask}]\n"
    )
    monkeypatch.chdir(ROOT)
    args = ["validate", str(file), str(tmp_path / "broken.yaml")]
    args += ["-c", "intents", "-c", "capabilities", "-c", "policies"]
    out = CliRunner().invoke(app, args).output
    assert "unknown key 'rulez'" in out
    assert "approvals" not in out


def test_propose_asks_again_when_a_replan_retries_the_same_plan(tmp_path: Path) -> None:
    """`mode: propose` approves every plan before it runs, and again after a replan; a
    failed step retried by the same plan ran on the first approval, so a run approved to
    spend 5.00 spent 10.00 without anyone asked."""
    (tmp_path / "pay.yaml").write_text(
        "apiVersion: ido/v1\nkind: Capability\nmetadata: {name: pay}\n"
        "spec: {provider: bank, effects: {bill.paid: true}, cost: 5.0}\n"
    )
    path = tmp_path / "retry.yaml"
    path.write_text(
        "apiVersion: ido/v1\nkind: Scenario\nmetadata: {name: retry}\nspec:\n"
        "  intent: {goal: ['state.bill.paid'], mode: propose}\n"
        "  catalog: [pay.yaml]\n"
        "  faults: [{capability: pay, fail_next: 1}]\n"
        "  approvals: [{rule: mode/propose, by: lead}]\n"
        "  expect: {outcome: achieved, replans: {min: 1, max: 1}}\n"
    )
    result = run(path)
    assert result.passed, result.unmet  # type: ignore[attr-defined]
    events = result.journal.events(result.report.run_id)  # type: ignore[attr-defined]
    asked = [e.data["message"] for e in events if e.kind == "approval_required"]
    assert len(asked) == 2
    assert asked[1].endswith("; asked again: the run replanned since it was approved")
    assert sum(e.kind == "approval_given" for e in events) == 2


def test_explain_tells_the_approval_between_the_decisions_it_came_between(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request, the verdict and the resume were listed after every decision, as if
    they came last; they stand where the journal has them now: after the decision that
    asked, before the one made on resuming. The JSON says the order (`seq`)."""
    monkeypatch.chdir(ROOT)
    journal = str(tmp_path / "j.db")
    ran = CliRunner().invoke(
        app, ["scenario", "run", "-q", "scenarios/large-order-approved.yaml", "--journal", journal]
    )
    assert ran.exit_code == 0, ran.output
    said = ["approval needed for charge-stripe-eu", "approved by finance", "resumed after waiting"]
    for fmt in ("text", "md"):
        told = CliRunner().invoke(app, ["explain", "last", "--journal", journal, "--format", fmt])
        assert told.exit_code == 0, told.output
        text = told.output.lower()
        at = [text.index(words) for words in said]
        first, second = text.index("decision 1"), text.index("decision 2")
        assert first < at[0] < at[1] < at[2] < second, told.output
    told = CliRunner().invoke(app, ["explain", "last", "--journal", journal, "--format", "json"])
    view = json.loads(told.output)
    decided = [d["seq"] for d in view["decisions"]]
    asked = [e["seq"] for e in view["events"] if e["kind"] == "approval_required"]
    assert decided[0] < asked[0] < decided[1]


LEARNT = (
    "apiVersion: ido/v1\nkind: Scenario\nmetadata: {name: learnt}\nspec:\n"
    "  intent:\n"
    "    given: {order: {id: '9', amount: 5000.0, region: eu}}\n"
    "    goal: ['state.order.paid']\n"
    "    constraints: {min_success_probability: 0.9}\n"
    "    policies: [eu-data-residency, spend-approval]\n"
    "  faults:\n"
    "    - {capability: charge-stripe-eu, fail_next: 1, at: 0s}\n"
    "  approvals:\n"
    "    - {rule: spend-approval/large-payment, by: cfo}\n"
    "  expect: {outcome: achieved, used: [charge-adyen-eu]}\n"
)
"""Stripe fails once; the replan onto Adyen asks for approval, and gets it."""


def test_a_run_resumed_after_approval_keeps_what_it_learnt_before(tmp_path: Path) -> None:
    """Resumed after the approval of Adyen, the run forgot Stripe's failure (a scenario
    stores no beliefs as it blocks, and the resume cleared what it had learnt as if it
    had), planned Stripe again and asked a third time; it goes on with Adyen."""
    path = tmp_path / "learnt.yaml"
    path.write_text(LEARNT)
    result = run(path)
    assert result.passed, result.unmet  # type: ignore[attr-defined]
    events = result.journal.events(result.report.run_id)  # type: ignore[attr-defined]
    asked = [e.data["capability"] for e in events if e.kind == "approval_required"]
    assert asked == ["charge-stripe-eu", "charge-adyen-eu"]


def test_a_kept_run_resumed_after_approval_replays_as_it_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept in a journal that holds real beliefs (Adyen believed down), the scenario's
    resume neither takes those up nor drops its own, and both replays agree with it."""
    monkeypatch.chdir(ROOT)
    path = tmp_path / "learnt.yaml"
    path.write_text(LEARNT)
    journal = tmp_path / "j.db"
    with SqliteJournal(journal) as store:
        store.save_health({"charge-adyen-eu": Evidence(failures=50.0, updated=START)})
    args = ["scenario", "run", str(path), "--journal", str(journal)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    with SqliteJournal(journal) as store:
        (row,) = store.runs()
    exact = CliRunner().invoke(app, ["replay", row.id, "--journal", str(journal)])
    assert exact.exit_code == 0, exact.output
    assert "identical: 4 decision(s)" in exact.output
    args = ["replay", row.id, "--journal", str(journal), "--policies", "policies"]
    again = CliRunner().invoke(app, args).output
    assert "changes" not in again, again
    assert "outcome: achieved → achieved" in again


def test_a_counterfactual_numbers_decisions_as_explain_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recording resumed twice after approval (decisions 2 and 4 go on with the plan
    before them). With Adyen denied, the replan after Stripe's failure changes: that is
    the recording's decision 3, which the replay called "decision 2", its place among the
    decisions it compares, so `ido explain` showed another decision under that number."""
    monkeypatch.chdir(ROOT)
    path = tmp_path / "learnt.yaml"
    path.write_text(LEARNT)
    journal = tmp_path / "j.db"
    args = ["scenario", "run", str(path), "--journal", str(journal)]
    assert CliRunner().invoke(app, args).exit_code == 0
    strict = tmp_path / "strict"
    strict.mkdir()
    for policy in (ROOT / "policies").glob("*.yaml"):
        (strict / policy.name).write_text(policy.read_text())
    (strict / "spend-approval.yaml").write_text(
        (strict / "spend-approval.yaml").read_text()
        + "    - {id: no-adyen, effect: deny, when: \"capability.provider == 'adyen'\", "
        "message: Contract ended.}\n"
    )
    with SqliteJournal(journal) as store:
        (row,) = store.runs()
    args = ["replay", row.id, "--journal", str(journal), "--policies", str(strict)]
    out = CliRunner().invoke(app, args).output
    assert "decision 1: same choice" in out, out
    assert "decision 3 changes:\n  recorded: step 2 charge-stripe-eu failed" in out, out
    assert "decision 2" not in out, out
    # Nobody asked (no large payments any more), the replay's own numbers run behind.
    lenient = (strict / "spend-approval.yaml").read_text().replace("> 1000.0", "> 9000.0")
    (strict / "spend-approval.yaml").write_text(lenient)
    out = CliRunner().invoke(app, args).output
    assert "decision 3 (the replay's decision 2) changes:" in out, out


def test_a_kept_run_s_length_reads_as_the_scenario_said_it(tmp_path: Path) -> None:
    """`ido scenario run` said `20m4s` of a run that `ido runs` and explain's summary then
    showed as `1203.6s`: all three say a run's length the same way now."""
    journal = tmp_path / "j.db"
    path = ROOT / "scenarios" / "large-order-approved.yaml"
    said = CliRunner().invoke(app, ["scenario", "run", str(path), "--journal", str(journal)])
    assert said.exit_code == 0 and "achieved after 20m4s of virtual time" in said.output
    listed = CliRunner().invoke(app, ["runs", "--journal", str(journal)])
    assert listed.output.splitlines()[1].split()[5] == "20m4s", listed.output
    told = CliRunner().invoke(app, ["explain", "last", "--journal", str(journal)])
    assert told.output.splitlines()[0].endswith(" · achieved · cost 2.86 · 20m4s"), told.output


def four_eyes(tmp_path: Path, approvals: str, expect: str) -> object:
    """A scenario whose payments need two different people (`approvers: 2`)."""
    path = tmp_path / "eyes.yaml"
    path.write_text(
        "apiVersion: ido/v1\nkind: Scenario\nmetadata: {name: eyes}\nspec:\n"
        "  intent:\n"
        "    given: {order: {id: '9', region: eu}}\n"
        "    goal: ['state.order.paid']\n"
        "    policies: [eu-data-residency]\n"
        "    rules:\n"
        "      - {id: ask, effect: require_approval, when: \"'payments' in capability.tags\",\n"
        "         message: ask two, approvers: 2}\n"
        f"  approvals:\n{approvals}"
        f"  expect: {expect}\n"
    )
    return run(path)


def test_a_request_needing_two_people_goes_on_at_the_second_approval(tmp_path: Path) -> None:
    result = four_eyes(
        tmp_path,
        "    - {rule: intent:eyes/ask, by: bob, after: 2h}\n"
        "    - {rule: intent:eyes/ask, by: bob, after: 1h}\n"  # one person counts once
        "    - {rule: intent:eyes/ask, by: alice, after: 30m}\n",
        "{outcome: achieved, max_time: 3h}",
    )
    assert result.passed, result.unmet  # type: ignore[attr-defined]
    assert result.elapsed >= 2 * 3600  # type: ignore[attr-defined]
    events = result.journal.events(result.report.run_id)  # type: ignore[attr-defined]
    given = [e.data for e in events if e.kind == "approval_given"]
    assert [(d["by"], d["approval"], d["approvers"]) for d in given] == [
        ("alice", 1, 2),  # in the order they came
        ("bob", 2, 2),
    ]


def test_one_approval_of_two_leaves_the_run_blocked(tmp_path: Path) -> None:
    result = four_eyes(
        tmp_path,
        "    - {rule: intent:eyes/ask, by: alice}\n    - {rule: intent:eyes/ask, by: alice}\n",
        "{outcome: blocked}",
    )
    assert result.passed, result.unmet  # type: ignore[attr-defined]


def test_a_rejection_by_either_person_fails_a_request_needing_two(tmp_path: Path) -> None:
    result = four_eyes(
        tmp_path,
        "    - {rule: intent:eyes/ask, by: alice}\n"
        "    - {rule: intent:eyes/ask, by: bob, verdict: reject, comment: unvetted}\n",
        "{outcome: failed, reason: 'rejected by bob'}",
    )
    assert result.passed, result.unmet  # type: ignore[attr-defined]


def test_one_person_spelt_two_ways_is_one_approval_of_two(tmp_path: Path) -> None:
    """`by: alice` and `by: 'Alice '` were counted as two people."""
    result = four_eyes(
        tmp_path,
        "    - {rule: intent:eyes/ask, by: alice}\n    - {rule: intent:eyes/ask, by: 'Alice '}\n",
        "{outcome: blocked}",
    )
    assert result.passed, result.unmet  # type: ignore[attr-defined]


def validated(tmp_path: Path, approvals: str) -> tuple[int, str]:
    """`ido validate` of the four-eyes scenario with these approvals."""
    path = tmp_path / "eyes.yaml"
    path.write_text(
        "apiVersion: ido/v1\nkind: Scenario\nmetadata: {name: eyes}\nspec:\n"
        "  intent:\n"
        "    given: {order: {id: '9', region: eu}}\n"
        "    goal: ['state.order.paid']\n"
        "    policies: [spend-approval]\n"
        "    rules:\n"
        "      - {id: ask, effect: require_approval, when: \"'payments' in capability.tags\",\n"
        "         message: ask two, approvers: 2}\n"
        f"  approvals:\n{approvals}"
    )
    args = ["validate", str(path), "-c", "intents", "-c", "capabilities", "-c", "policies"]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def test_validate_warns_of_fewer_approvers_than_a_rule_needs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two answers by one person (spelt two ways) for a rule of `approvers: 2`: the run
    would stay blocked, and validate said ok without a word."""
    monkeypatch.chdir(ROOT)
    code, out = validated(
        tmp_path,
        "    - {rule: intent:eyes/ask, by: alice}\n"
        "    - {rule: intent:eyes/ask, by: 'Alice '}\n"
        "    - {rule: intent:eyes/ask, capability: charge-stripe-eu, by: bob}\n",
    )
    assert code == 0, out
    warned = [line for line in out.splitlines() if "needs approvers" in line]
    assert warned == [
        f"warning: {tmp_path / 'eyes.yaml'}:13: spec.approvals[0].rule: rule 'intent:eyes/ask' "
        "needs approvers: 2, and the approvals here give its requests only 1 (alice): the run "
        "would stay blocked "
        "(answers by the same person, regardless of case and spaces, count once)"
    ], out  # requests about charge-stripe-eu get alice and bob: two


@pytest.mark.parametrize(
    "approvals",
    [
        "    - {rule: intent:eyes/ask, by: alice}\n    - {rule: intent:eyes/ask, by: bob}\n",
        "    - {rule: intent:eyes/ask, by: alice}\n"
        "    - {rule: intent:eyes/ask, by: bob, verdict: reject, comment: unvetted}\n",
        "    - {rule: spend-approval/large-payment, by: alice}\n",  # a rule of one person
    ],
)
def test_validate_is_quiet_when_the_approvals_answer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, approvals: str
) -> None:
    monkeypatch.chdir(ROOT)
    code, out = validated(tmp_path, approvals)
    assert code == 0 and "needs approvers" not in out, out
