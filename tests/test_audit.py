"""The audit report: runs by outcome, decisions, denials by rule, approvals, spend."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ido.cli import app

runner = CliRunner()


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def history(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three runs: one achieved after a failure, one blocked then approved, one failed."""
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    ido("run", "ship-order")
    monkeypatch.delenv("FAKESVC_FAIL")
    policy = project / "policies" / "residency.yaml"
    original = policy.read_text()
    policy.write_text(
        original
        + "    - id: big-spend\n      effect: require_approval\n"
        + "      when: \"capability.name == 'ship'\"\n      message: Shipping needs a human.\n"
    )
    ido("run", "ship-order")
    ido("approve", "last", "--by", "alice", "--comment", "ok")
    ido("resume", "last")
    policy.write_text(original)
    cheap = (project / "intents" / "ship-order.yaml").read_text()
    (project / "intents" / "too-cheap.yaml").write_text(
        cheap.replace("name: ship-order", "name: too-cheap").replace(
            "max_cost: 5.0", "max_cost: 0.1"
        )
    )
    ido("run", "too-cheap")
    return project


def test_the_report_counts_runs_denials_approvals_and_spend(history: Path) -> None:
    code, out = ido("audit", "--format", "json")
    assert code == 0, out
    report = json.loads(out)
    assert report["runs"] == 3
    assert report["outcomes"] == {"achieved": 2, "failed": 1}
    assert report["decisions"] == 5  # 2 (a replan) + 2 (blocked, then resumed) + 1
    denial = report["denials"]["residency/pii-stays-in-eu"]
    assert denial["decisions"] == 5 and denial["capabilities"] == ["pay-us"]
    (approval,) = report["approvals"]
    assert (approval["by"], approval["verdict"], approval["capability"]) == (
        "alice",
        "approved",
        "ship",
    )
    assert approval["waited_seconds"] >= 0
    # Run 1: cheappay fails (0.30), then priceypay and ship (1.30). Run 2 has learnt that
    # cheappay fails: priceypay and ship again (1.30).
    assert report["spend_per_intent"] == {
        "ship-order": pytest.approx(0.3 + 1.3 + 1.3),
        "too-cheap": 0.0,
    }
    assert report["spend_per_provider"]["cheappay"] == pytest.approx(0.3)
    assert report["spend_per_provider"]["priceypay"] == pytest.approx(1.6)


def test_the_report_filters_by_intent_and_date(history: Path) -> None:
    report = json.loads(ido("audit", "--intent", "too-cheap", "--format", "json")[1])
    assert report["runs"] == 1 and report["outcomes"] == {"failed": 1}
    report = json.loads(ido("audit", "--since", "2999-01-01", "--format", "json")[1])
    assert report["runs"] == 0


def test_the_report_of_one_rule_lists_each_decision_where_it_fired(history: Path) -> None:
    """ "Show every decision the rule stopped, and who approved what": the audit counted a
    rule's denials but named no run, and could not be narrowed to the runs it fired in."""
    code, out = ido("audit", "--rule", "residency/big-spend", "--format", "json")
    assert code == 0, out
    report = json.loads(out)
    assert report["runs"] == 1 and report["rule"] == "residency/big-spend"
    ruled = report["ruled"]
    assert [(r["intent"], r["decision"], r["did"]) for r in ruled] == [
        ("ship-order", 1, {"require_approval": ["ship"]}),
        ("ship-order", 2, {"require_approval": ["ship"]}),
    ]
    assert [a["by"] for a in report["approvals"]] == ["alice"]
    text = ido("audit", "--rule", "residency/big-spend")[1]
    assert text.startswith(
        "Audit: 1 run(s), 2 decision(s)\n(in which rule residency/big-spend fired)\n"
    )
    run_id = ruled[0]["run"]
    assert (
        f"Decisions where residency/big-spend fired:\n  {run_id} (ship-order) decision 1 at "
        in text
    )
    # each approval names the run's intent beside its id, as `ido approvals` does
    assert f"\nApprovals:\n  {run_id} (ship-order) ship (residency/big-spend) approved by " in text
    assert ": asked approval for ship\n" in text
    denied = json.loads(ido("audit", "--rule", "residency/pii-stays-in-eu", "-f", "json")[1])
    assert denied["runs"] == 3 and {r["intent"] for r in denied["ruled"]} == {
        "ship-order",
        "too-cheap",
    }
    assert all(r["did"] == {"deny": ["pay-us"]} for r in denied["ruled"])


def test_a_rule_that_never_fired_is_warned_of_and_a_malformed_one_refused(history: Path) -> None:
    code, out = ido("audit", "--rule", "residency/pii-stays-in-us")
    assert code == 0 and "Audit: 0 run(s)" in out, out
    assert (
        "warning: rule residency/pii-stays-in-us fired in no decision of the runs asked for; "
        "did you mean 'residency/pii-stays-in-eu'?"
    ) in out
    code, out = ido("audit", "--rule", "residency")
    assert code == 2 and "'residency' is not a rule; write it as ido explain cites it" in out


def test_the_spend_is_totalled(history: Path) -> None:
    report = json.loads(ido("audit", "--format", "json")[1])
    assert report["spend_total"] == pytest.approx(0.3 + 1.3 + 1.3)
    assert "Spend per intent (2.90 in all):\n" in ido("audit")[1]


def test_an_intent_no_run_is_of_is_warned_of(history: Path) -> None:
    """`--intent too-chaep` gave an audit of no runs and no denials without a word, as if
    that intent had never been denied anything."""
    code, out = ido("audit", "--intent", "too-chaep")
    assert code == 0, out
    assert (
        "warning: no run in the journal is of intent 'too-chaep'; did you mean 'too-cheap'?" in out
    )
    out = ido("audit", "--intent", "zzz")[1]
    assert "no run in the journal is of intent 'zzz' (its runs are of ship-order, too-cheap)" in out
    assert "warning" not in ido("audit", "--intent", "too-cheap", "--since", "2999-01-01")[1]


def test_an_approval_of_the_plan_as_a_whole_reads_the_plan(project: Path) -> None:
    """It read "r… (plan) (mode/propose) approved by alice", two brackets in a row."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  mode: propose\n")
    assert ido("run", "ship-order")[0] == 3
    assert ido("approve", "last", "--by", "alice")[0] == 0
    out = ido("audit")[1]
    assert " the plan (mode/propose) approved by alice at " in out, out
    assert "(plan)" not in out


@pytest.mark.parametrize("written", ["20261206", "2026-W49-7"])
def test_a_date_in_another_iso_form_filters_as_the_same_day(history: Path, written: str) -> None:
    """Accepted as dates, `20261206` and `2026-W49-7` were compared as text with the
    journal's `2026-12-06…`: every run fell before them, an empty report."""
    plain = json.loads(ido("audit", "--since", "2026-12-06", "--format", "json")[1])
    other = json.loads(ido("audit", "--since", written, "--format", "json")[1])
    assert other == plain


def test_runs_of_scenarios_kept_in_the_journal_are_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ido scenario run --journal`: simulated spend was summed with real spend."""
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)  # the demo catalog
    journal = str(tmp_path / "j.db")
    assert ido("run", "fulfil-order", "--quiet", "--journal", journal)[0] == 0
    ido("scenario", "run", "scenarios/stripe-outage.yaml", "--quiet", "--journal", journal)
    code, out = ido("audit", "--journal", journal, "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["runs"] == 1 and report["simulated_runs_left_out"] == 1
    assert report["spend_per_intent"] == {"fulfil-order": pytest.approx(2.86)}
    assert "(1 simulated run(s) of scenarios left out)" in ido("audit", "--journal", journal)[1]


def test_since_takes_a_kept_scenario_run_by_when_it_was_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--since` went by a kept scenario run's virtual start (2027-01-15), so one kept
    today was counted among the runs of any later day, unlike `ido runs` and `ido prune`."""
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)  # the demo catalog
    journal = str(tmp_path / "j.db")
    ido("scenario", "run", "scenarios/stripe-outage.yaml", "--quiet", "--journal", journal)
    today = datetime.now(UTC).date()
    for day, kept in ((today, 1), (today + timedelta(days=1), 0)):
        code, out = ido("audit", "--journal", journal, "--since", str(day), "--format", "json")
        assert code == 0 and json.loads(out)["simulated_runs_left_out"] == kept, (day, out)


def test_the_text_and_markdown_reports_name_what_happened(history: Path) -> None:
    code, text = ido("audit")
    assert code == 0
    assert "Audit: 3 run(s), 5 decision(s)" in text
    assert "residency/pii-stays-in-eu: 5 decision(s), denied pay-us" in text
    approved = re.search(r"ship \(residency/big-spend\) approved by alice at (\S+) after", text)
    assert approved is not None, text
    assert datetime.fromisoformat(approved[1]).tzinfo is not None  # when, with its zone
    code, md = ido("audit", "--format", "md")
    assert md.startswith("# Audit: 3 run(s)") and "## Denials by rule" in md
    assert f"approved by alice at {approved[1]} after" in md


def test_a_deny_that_failed_closed_is_marked_as_such(project: Path) -> None:
    """A deny rule that could not be evaluated was listed as an ordinary denial:
    "residency/unknown-fact: 1 decision(s), denied pay-pricey-eu", nothing more."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text()
        + "    - id: unknown-fact\n      effect: deny\n      message: No such fact.\n"
        + "      when: \"capability.name == 'pay-pricey-eu' && state.order.missing > 3.0\"\n"
    )
    assert ido("run", "ship-order")[0] == 0
    code, text = ido("audit")
    assert code == 0, text
    assert (
        "residency/unknown-fact: 1 decision(s), denied pay-pricey-eu (all failing closed: "
        "the rule could not be evaluated)" in text
    ), text
    assert "residency/pii-stays-in-eu: 1 decision(s), denied pay-us\n" in text
    report = json.loads(ido("audit", "--format", "json")[1])
    assert report["denials"]["residency/unknown-fact"]["unevaluated"] == 1
    assert report["denials"]["residency/pii-stays-in-eu"]["unevaluated"] == 0


def test_a_decision_counts_as_failing_closed_only_if_every_denial_of_it_did(
    project: Path,
) -> None:
    """A rule that denied refund-eu because its condition held and pay-cheap-eu because it
    could not be evaluated was reported "(all failing closed: …)", as if no denial of it
    had been a verdict on the facts."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text()
        + "    - id: half-known\n      effect: deny\n      message: Half known.\n"
        + "      when: \"capability.name == 'refund-eu' || (capability.name == 'pay-cheap-eu'"
        + ' && state.order.missing > 3.0)"\n'
    )
    assert ido("run", "ship-order")[0] == 0
    code, text = ido("audit")
    assert code == 0, text
    assert (
        "residency/half-known: 1 decision(s), denied pay-cheap-eu, refund-eu (1 failing closed "
        "for some capabilities: the rule could not be evaluated)" in text
    ), text
    denial = json.loads(ido("audit", "--format", "json")[1])["denials"]["residency/half-known"]
    assert (denial["unevaluated"], denial["partly_unevaluated"]) == (0, 1)


def test_a_capability_two_rules_deny_is_counted_under_both(project: Path) -> None:
    """A capability two rules denied was listed under the first alone: pay-us, denied by
    pii-stays-in-eu and by no-us-vendors, was missing from no-us-vendors' denials, and a
    rule whose every denial another rule shared was not in the audit at all."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text()
        + "    - id: no-us-vendors\n      effect: deny\n      message: No US vendors.\n"
        + "      when: \"capability.region == 'us'\"\n"
    )
    assert ido("run", "ship-order")[0] == 0
    code, text = ido("audit")
    assert code == 0, text
    assert "residency/pii-stays-in-eu: 1 decision(s), denied pay-us\n" in text, text
    assert "residency/no-us-vendors: 1 decision(s), denied pay-us\n" in text, text
    denial = json.loads(ido("audit", "--format", "json")[1])["denials"]["residency/no-us-vendors"]
    assert (denial["decisions"], denial["capabilities"]) == (1, ["pay-us"])


def test_a_bad_date_is_a_clear_error(project: Path) -> None:
    code, out = ido("audit", "--since", "last tuesday")
    assert code == 2
    assert "is not a date; write an ISO 8601 date (2026-12-06)" in out


def test_a_provider_from_an_older_journal_cannot_act_on_the_terminal() -> None:
    """Before providers were checked on load, "Spend per provider" printed a provider's
    escape sequences and line breaks as they were: the screen cleared, lines forged."""
    from ido.audit import audit, render

    report = audit([])
    report["spend_per_provider"] = {"evil\x1b[2J\nFORGED: 9.99": 1.0}
    for fmt in ("text", "md"):
        shown = render(report, fmt)
        assert "\x1b" not in shown and "\nFORGED" not in shown, shown
    assert "  evil\\x1b[2J\\nFORGED: 9.99: 1.00\n" in render(report, "text")


def test_the_report_takes_the_runs_one_at_a_time(history: Path) -> None:
    """The CLI held every event of every run before summing up: 20,000 runs took 1.6 GB.
    The report goes through its runs once, so they can come one at a time."""
    from ido.audit import audit
    from ido.journal import SqliteJournal

    with SqliteJournal(history / ".ido" / "ido.db") as store:
        rows = store.runs(-1)
        held = [(row, store.events(row.id)) for row in rows]
        handed: list[str] = []

        def one_at_a_time() -> Iterator[tuple[Any, Any]]:
            for row in rows:
                handed.append(row.id)
                yield row, store.events(row.id)

        assert audit(one_at_a_time()) == audit(held)
    assert handed == [row.id for row in rows] and len(rows) == 3


def test_a_request_left_past_its_last_wait_is_in_the_audit(project: Path) -> None:
    """A run that failed because nobody answered its request in time read "Approvals:
    none" in the audit: the request that expired, and to whom it had gone, were lost."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(
        policy.read_text()
        + "    - id: big-spend\n      effect: require_approval\n"
        + "      when: \"capability.name == 'ship'\"\n      message: Shipping needs a human.\n"
        + "      expires: 1ms\n      escalate: [{to: cfo, expires: 1ms}]\n"
    )
    assert ido("run", "ship-order")[0] == 3
    time.sleep(0.05)
    assert ido("resume", "last")[0] == 1
    report = json.loads(ido("audit", "--format", "json")[1])
    (expired,) = report["approvals"]
    assert (expired["verdict"], expired["by"], expired["escalated_to"]) == (
        "expired",
        None,
        "cfo",
    )
    assert expired["capability"] == "ship" and expired["rule"] == "residency/big-spend"
    assert expired["waited_seconds"] == pytest.approx(0.002, abs=1e-6)
    text = ido("audit")[1]
    assert "ship (residency/big-spend) expired unanswered at " in text
    assert ", while escalated to cfo" in text


def test_a_filtered_report_says_which_runs_it_covers(history: Path) -> None:
    """`--since 2999-01-01` printed "Audit: 0 run(s), 0 decision(s)" and nothing else: a
    report handed to an auditor read as the whole journal's, with nothing ever denied."""
    code, out = ido("audit", "--since", "29990101", "--intent", "too-cheap")
    assert code == 0, out
    assert "(runs started on or after 2999-01-01 (UTC), of intent too-cheap)" in out
    md = ido("audit", "--intent", "too-cheap", "--format", "md")[1]
    assert md.startswith("# Audit: 1 run(s), 1 decision(s)\n(of intent too-cheap)\n")
    report = json.loads(ido("audit", "--since", "2026-W49-7", "--format", "json")[1])
    assert (report["since"], report["intent"]) == ("2026-12-06", None)
    assert "(runs started" not in ido("audit")[1]


def test_each_verdict_names_the_step_the_decision_and_the_plan_cost_it_was_given_for(
    history: Path,
) -> None:
    """An auditor read "ship (residency/big-spend) approved by alice" and could not tell
    for which step of which plan, nor for how much: two approvals of one capability (before
    and after a replan) read alike."""
    (approval,) = json.loads(ido("audit", "--format", "json")[1])["approvals"]
    assert (approval["step"], approval["step_of"], approval["decision"]) == (2, "plan", 1)
    assert approval["cost"] == pytest.approx(1.3)
    out = ido("audit")[1]
    assert re.search(
        r"approved by alice at \S+ after \S+, plan step 2 of decision 1, plan cost 1\.30: ok", out
    ), out


def test_the_rule_s_section_title_is_shown_as_written_in_markdown(history: Path) -> None:
    """An intent's own rule (`intent:NAME/rule_id`) holds `_`: as a Markdown title it made
    emphasis of part of the name."""
    out = ido("audit", "--rule", "intent:ship_order/no_us", "--format", "md")[1]
    assert "## Decisions where intent:ship\\_order/no\\_us fired\n" in out, out


def test_limits_reached_and_bindings_missing_are_not_counted_as_rules(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Denials by rule" listed `limits.max_attempts` (pay-cheap-eu failed its one attempt)
    and `spec.run` (a capability with no binding) beside the policies' rules, as if a
    policy had denied them: they have sections of their own, and the rules' tally is the
    policies' alone."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + "  limits: {max_attempts: 1}\n")
    catalog = project / "capabilities" / "catalog.yaml"
    catalog.write_text(
        catalog.read_text()
        + "---\napiVersion: ido/v1\nkind: Capability\nmetadata: {name: pay-paper}\nspec:\n"
        + '  provider: paper\n  region: eu\n  requires: ["!state.order.paid"]\n'
        + "  effects: {order.paid: true}\n  cost: 0.05\n"
    )
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    assert ido("run", "ship-order")[0] == 0
    code, text = ido("audit")
    assert code == 0, text
    rules = text.split("Denials by rule:\n")[1].split("\n\n")[0]
    assert rules == "  residency/pii-stays-in-eu: 2 decision(s), denied pay-us", text
    assert "Limits reached:\n  limits.max_attempts: 1 decision(s), left out pay-cheap-eu\n" in text
    assert "environment variable unset):\n  spec.run: 2 decision(s), left out pay-paper\n" in text
    report = json.loads(ido("audit", "--format", "json")[1])
    assert list(report["denials"]) == ["residency/pii-stays-in-eu"]
    assert report["limits_reached"] == {
        "limits.max_attempts": {"decisions": 1, "capabilities": ["pay-cheap-eu"]}
    }
    assert report["not_callable"] == {"spec.run": {"decisions": 2, "capabilities": ["pay-paper"]}}
    md = ido("audit", "--format", "md")[1]
    assert "## Limits reached\n- limits.max\\_attempts: 1 decision(s), left out pay-cheap-eu" in md


def test_amounts_in_the_reports_set_thousands_apart(project: Path) -> None:
    """A payout of 12345.50 read `ship-order: 12345.80` in the audit and `plan cost
    12345.80` in `ido approvals`; they read `12,345.80`, and JSON keeps the number."""
    catalog = project / "capabilities" / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("cost: 0.50", "cost: 12345.50"))
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("max_cost: 5.0", "max_cost: 20000"))
    add = '    - id: big\n      effect: require_approval\n      when: "capability.cost > 1000.0"\n'
    policy = project / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + add + "      message: Big spend.\n")
    assert ido("run", "ship-order")[0] == 3  # blocked
    code, waiting = ido("approvals")
    assert code == 0 and "(plan cost 12,345.80, since " in waiting, waiting
    assert ido("approve", "last", "--by", "alice", "--comment", "ok")[0] == 0
    assert ido("resume", "last")[0] == 0
    code, text = ido("audit")
    assert code == 0, text
    assert "Spend per intent (12,345.80 in all):\n  ship-order: 12,345.80\n" in text, text
    assert "  carrier: 12,345.50\n" in text and "plan cost 12,345.80: ok" in text, text
    report = json.loads(ido("audit", "--format", "json")[1])
    assert report["spend_total"] == pytest.approx(12345.8)
    assert report["approvals"][0]["cost"] == pytest.approx(12345.8)
    code, runs = ido("runs")
    assert code == 0 and " achieved    12,345.80 " in runs, runs


def test_an_event_edited_by_hand_is_said_without_a_traceback(history: Path) -> None:
    """An `action_finished` whose `step` and `provider` were removed with sqlite3 (the
    audit looks for the step's provider): the audit names the run
    and what is missing, and points at `ido verify`, instead of a KeyError's traceback."""
    import sqlite3

    db = sqlite3.connect(history / ".ido" / "ido.db")
    run, seq, data = db.execute(
        "SELECT run_id, seq, data FROM events WHERE kind = 'action_finished' LIMIT 1"
    ).fetchone()
    edited = json.loads(data)
    del edited["step"], edited["provider"]
    db.execute(
        "UPDATE events SET data = ? WHERE run_id = ? AND seq = ?", (json.dumps(edited), run, seq)
    )
    db.commit()
    db.close()
    code, out = ido("audit")
    assert code != 0
    assert "Traceback" not in out
    assert f"run {run}: its events are not as ido records them (no 'step')" in out
    assert "ido verify" in out


def test_counts_are_written_with_their_thousands_set_apart(tmp_path: Path) -> None:
    """`Audit: 19797 run(s)` and `failed: 12178` beside amounts written `12,345.50`: the
    counts of a long journal are read at a glance too."""
    from ido.journal import SqliteJournal

    journal = tmp_path / "ido.db"
    with SqliteJournal(journal) as store:
        for n in range(1001):
            at = f"2026-12-06T{n // 60 % 24:02d}:{n % 60:02d}:00.000+00:00"
            store.start_run(f"r{n:04d}", "load-eu", at, {})
            store.finish_run(f"r{n:04d}", "failed", None, 0.0, 1.0, at)
    code, out = ido("audit", "--journal", str(journal))
    assert code == 0 and out.startswith("Audit: 1,001 run(s), 0 decision(s)\n"), out
    assert "  failed: 1,001\n" in out, out


def test_the_help_names_since_and_until_alike_as_a_date() -> None:
    """`ido audit -h` showed `--since <str>` beside `--until DATE`, the pair taking the
    same days, moments and times ago (as `ido runs -h` shows them)."""
    from typer.testing import CliRunner

    from ido.cli import app

    result = CliRunner().invoke(app, ["audit", "-h"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--since DATE" in result.stdout and "--until DATE" in result.stdout, result.stdout
