"""Approvals by their owners: each rule's owner answers their own request (`--rule`), and a
rule may need several different people (`approvers: N`)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ido.approvals import tally
from ido.cli import app
from ido.journal import Event, SqliteJournal
from ido.loading import load_catalog
from ido.runner import Runner
from ido.runtime.local import LocalRuntime

runner = CliRunner()
AT = r" at \d{4}-\d\d-\d\dT[\d:.]+\+00:00"
"""When a verdict was given, as `ido explain` says it after the name."""
FINANCE = (
    "    - id: large\n      effect: require_approval\n"
    "      when: \"capability.name == 'ship'\"\n      message: Finance signs large payments.\n"
)
SECURITY = (
    "    - id: new-vendor\n      effect: require_approval\n"
    "      when: \"capability.name == 'ship'\"\n      message: Security vets new vendors.\n"
)


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def two_owners(project: Path) -> Path:
    """Two rules, of two policies, both on the step `ship`."""
    for name, rule in (("finance", FINANCE), ("security", SECURITY)):
        head = f"apiVersion: ido/v1\nkind: Policy\nmetadata: {{name: {name}}}\nspec:\n  rules:\n"
        (project / "policies" / f"{name}.yaml").write_text(head + rule)
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("[residency]", "[residency, finance, security]"))
    return project


def kinds(project: Path) -> list[str]:
    with SqliteJournal(project / ".ido" / "ido.db") as store:
        return [e.kind for e in store.events(store.resolve("last"))]


def test_approvals_shows_the_rule_of_each_request_on_one_step(two_owners: Path) -> None:
    assert ido("run", "ship-order")[0] == 3
    out = ido("approvals")[1]
    assert "plan step 2 ship (decision 1)  finance/large: Finance signs large payments." in out
    assert "plan step 2 ship (decision 1)  security/new-vendor: Security vets new vend" in out


def test_each_owner_answers_their_own_rule_and_the_run_waits_for_both(two_owners: Path) -> None:
    """One verdict answered both rules: finance's approval let security's request through."""
    assert ido("run", "ship-order")[0] == 3
    code, out = ido("approve", "last", "--by", "fiona", "--rule", "finance/large")
    assert code == 0, out
    assert "approved: run" in out and "ship (finance/large) by fiona" in out
    assert "security/new-vendor" not in out.split("still waiting")[0]
    assert "still waiting: plan step 2 ship (decision 1) (security/new-vendor)" in out
    assert ido("resume", "last")[0] == 2  # still waits for security
    code, out = ido(
        "approve", "last", "--by", "sam", "--rule", "security/new-vendor", "--step", "2"
    )
    assert code == 0 and "continue it with: ido resume" in out, out
    code, out = ido("resume", "last")
    assert code == 0 and "achieved" in out, out
    told = ido("explain", "last")[1]
    assert re.search(rf"approved by fiona{AT}: ship \(finance/large\)", told), told
    assert re.search(rf"approved by sam{AT}: ship \(security/new-vendor\)", told), told


def test_one_owner_s_rejection_fails_the_run_whatever_the_other_said(two_owners: Path) -> None:
    assert ido("run", "ship-order")[0] == 3
    assert ido("approve", "last", "--by", "fiona", "--rule", "finance/large")[0] == 0
    code, out = ido(
        "reject", "last", "--by", "sam", "--rule", "security/new-vendor", "--comment", "unvetted"
    )
    assert code == 0, out
    code, out = ido("resume", "last")
    assert code == 1, out
    assert "ship was rejected by sam (security/new-vendor): unvetted" in out


def test_a_rule_nothing_waits_under_is_refused_naming_those_that_wait(two_owners: Path) -> None:
    assert ido("run", "ship-order")[0] == 3
    journal = two_owners / ".ido" / "ido.db"
    before = journal.read_bytes()
    for rule in ("finance/small", "large"):
        code, out = ido("approve", "last", "--by", "fiona", "--rule", rule)
        assert code == 2, out
        assert f"waits for approval under finance/large, security/new-vendor, not {rule}" in out
    code, out = ido("approve", "last", "--by", "fiona", "--rule", "finance/large", "--step", "1")
    assert code == 2 and "waits for approval under finance/large of step 2, not step 1" in out
    assert journal.read_bytes() == before
    assert ido("approvals")[1].count("plan step 2 ship") == 2


def test_a_rule_given_twice_or_two_rules_at_once_answer_each_request_once(
    two_owners: Path,
) -> None:
    assert ido("run", "ship-order")[0] == 3
    rules = ["--rule", "finance/large", "--rule", "security/new-vendor", "--rule", "finance/large"]
    code, out = ido("approve", "last", "--by", "fiona", *rules)
    assert code == 0 and out.count("approved: run") == 2, out
    assert kinds(two_owners).count("approval_given") == 2
    assert json.loads(ido("approvals", "--format", "json")[1]) == []


FOUR_EYES = "      approvers: 2\n"


@pytest.fixture
def four_eyes(two_owners: Path) -> Path:
    """finance/large needs two different people; security/new-vendor is switched off."""
    finance = two_owners / "policies" / "finance.yaml"
    finance.write_text(finance.read_text() + FOUR_EYES)
    security = two_owners / "policies" / "security.yaml"
    security.write_text(security.read_text().replace("capability.name == 'ship'", "false"))
    return two_owners


def test_a_request_needing_two_people_waits_for_the_second(four_eyes: Path) -> None:
    """One person approved a request that should need two, and the run went on."""
    code, out = ido("run", "ship-order")
    assert code == 3 and "ship needs approval by 2 different people (finance/large: Fi" in out
    listed = ido("approvals")[1]
    assert "finance/large: Finance signs large payments.  (0 of 2 approvals, plan" in listed
    code, out = ido("approve", "last", "--by", "alice")
    assert code == 0, out
    assert "approved: run" in out and "ship (finance/large) by alice (1 of 2 approvals)" in out
    assert (
        "still waiting: plan step 2 ship (decision 1) (finance/large, 1 of 2 approvals (ali" in out
    )
    assert "continue it with" not in out
    assert "(1 of 2 approvals (alice), plan cost" in ido("approvals")[1]
    (request,) = json.loads(ido("approvals", "--format", "json")[1])
    assert (request["approvers"], request["approved_by"]) == (2, ["alice"])
    code, out = ido("resume", "last")
    assert code == 2 and "still waits for approval of ship (finance/large)" in out, out
    assert ido("runner", "--once")[0] == 0
    assert kinds(four_eyes)[-1] == "approval_given"  # the runner left it waiting
    code, out = ido("approve", "last", "--by", "bob", "--comment", "checked the invoice")
    assert code == 0 and "by bob (2 of 2 approvals)" in out, out
    assert "the ido runner" not in out and "continue it with: ido resume" in out
    code, out = ido("runner", "--once")
    assert code == 0 and "achieved" in out, out
    told = ido("explain", "last")[1]
    assert "approval needed for ship by 2 different people (finance/large: Finance" in told
    assert re.search(rf"approved by alice{AT}: ship \(finance/large, approval 1 of 2\)", told)
    assert re.search(
        rf"approved by bob{AT}: ship \(finance/large, approval 2 of 2\): checked the invoice", told
    )
    audit = ido("audit")[1]
    assert "ship (finance/large) approved by alice at" in audit and "approval 1 of 2" in audit
    assert "ship (finance/large) approved by bob at" in audit and "approval 2 of 2" in audit
    approvals = json.loads(ido("audit", "--format", "json")[1])["approvals"]
    assert [(a["by"], a["approval"], a["approvers"]) for a in approvals] == [
        ("alice", 1, 2),
        ("bob", 2, 2),
    ]
    code, out = ido("replay", "last")
    assert code == 0 and "identical: 2 decision(s)" in out, out


def test_one_person_approving_twice_is_told_so_and_nothing_is_recorded(four_eyes: Path) -> None:
    assert ido("run", "ship-order")[0] == 3
    assert ido("approve", "last", "--by", "alice")[0] == 0
    journal = four_eyes / ".ido" / "ido.db"
    before = journal.read_bytes()
    code, out = ido("approve", "last", "--by", "alice", "--rule", "finance/large")
    assert code == 2, out
    assert (
        "alice already approved ship (finance/large), which needs 2 different people: 1 of 2 "
        "approvals (alice) so far; nothing recorded: another person approves it"
    ) in out
    assert journal.read_bytes() == before
    assert ido("resume", "last")[0] == 2  # still one approval short


def test_one_rejection_rejects_a_request_that_needs_two(four_eyes: Path) -> None:
    """Approved by one, rejected by another (or by the same person, who changed their mind):
    the run fails on the "no"."""
    assert ido("run", "ship-order")[0] == 3
    assert ido("approve", "last", "--by", "alice")[0] == 0
    assert ido("reject", "last", "--by", "alice", "--comment", "wrong invoice")[0] == 0
    code, out = ido("resume", "last")
    assert code == 1 and "ship was rejected by alice (finance/large): wrong invoice" in out, out


def test_a_second_verdict_after_two_approvals_names_both(four_eyes: Path) -> None:
    assert ido("run", "ship-order")[0] == 3
    assert ido("approve", "last", "--by", "alice")[0] == 0
    assert ido("approve", "last", "--by", "bob")[0] == 0
    code, out = ido("approve", "last", "--by", "carol")
    assert code == 2 and "already answered, ship (finance/large) approved by alice and bob" in out


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("0", "approvers: Input should be greater than or equal to 1"),
        ("1.5", "approvers: Input should be a valid integer"),
        ("'2'", "approvers: Input should be a valid integer"),
    ],
)
def test_approvers_that_are_no_count_of_people_are_refused_at_their_line(
    four_eyes: Path, written: str, said: str
) -> None:
    finance = four_eyes / "policies" / "finance.yaml"
    finance.write_text(finance.read_text().replace("approvers: 2", f"approvers: {written}"))
    code, out = ido("validate")
    assert code == 2, out
    assert f"policies/finance.yaml:10: spec.rules[0].{said}" in out, out


def test_approvers_on_a_rule_nobody_approves_is_refused_at_its_line(project: Path) -> None:
    policy = project / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + "      approvers: 2\n")
    code, out = ido("validate")
    assert code == 2, out
    assert (
        "policies/residency.yaml:10: spec.rules[0].approvers: approvers is for "
        "require_approval rules, not deny"
    ) in out, out


def tally_of(approvers: int | None, *given: tuple[str, str]) -> tuple[Any, Any]:
    """The tally of a run that asked once (`approvers`: None, as recorded before it was
    kept) and got the verdicts `given`, each (kind, by)."""
    asked = {"rule": "finance/large", "capability": "ship", "step": 2, "plan": "p1"}
    asked |= {"message": "m", "since": 0.0} | ({"approvers": approvers} if approvers else {})
    events = [Event("r", 1, "t0", "approval_required", asked)]
    events += [
        Event("r", n, f"t{n}", kind, {**asked, "by": by}) for n, (kind, by) in enumerate(given, 2)
    ]
    return tally(events)


def test_a_request_recorded_before_approvers_were_kept_needs_one() -> None:
    found, partial = tally_of(None, ("approval_given", "alice"))
    (verdict,) = found.values()
    assert verdict["approved"] and verdict["by"] == "alice" and not partial


def test_one_name_approving_twice_in_the_journal_counts_once() -> None:
    """`ido approve` refuses it; a journal written otherwise is not read as two people."""
    found, partial = tally_of(2, ("approval_given", "alice"), ("approval_given", "alice"))
    assert not found and [v["by"] for v in next(iter(partial.values()))] == ["alice"]
    found, partial = tally_of(3, *[("approval_given", by) for by in ("alice", "bob", "carol")])
    assert next(iter(found.values()))["by"] == "alice, bob and carol" and not partial
    found, _ = tally_of(2, ("approval_given", "alice"), ("approval_rejected", "bob"))
    (verdict,) = found.values()
    assert not verdict["approved"] and [p["by"] for p in verdict["parts"]] == ["alice", "bob"]


def test_a_watching_runner_goes_on_at_the_second_approval_only(four_eyes: Path) -> None:
    """The runner reads only the approval events appended since it last looked: the first
    of two approvals is one of them, and must not carry the run on."""
    catalog = load_catalog(["capabilities", "policies", "intents"])
    with SqliteJournal(four_eyes / ".ido" / "ido.db") as store:
        run_id = (
            LocalRuntime(catalog, store, base=four_eyes).run(catalog.intents["ship-order"]).run_id
        )
        outcomes: dict[str, str] = {}

        def resume(run: str) -> None:
            outcomes[run] = LocalRuntime(catalog, store, base=four_eyes).resume(run).outcome

        watcher = Runner(store, resume, time.time)
        assert watcher.poll() == []
        assert ido("approve", run_id, "--by", "alice")[0] == 0
        assert watcher.poll() == [] and outcomes == {}
        assert ido("approve", run_id, "--by", "bob")[0] == 0
        assert watcher.poll() == [run_id]
        assert outcomes == {run_id: "achieved"}


@pytest.mark.parametrize("again", ["alice ", "Alice", " ALICE", "ALICE "])
def test_one_person_under_another_spelling_is_not_a_second_approver(
    four_eyes: Path, again: str
) -> None:
    """`--by "alice "` or `--by Alice` after `--by alice` was counted as a second person:
    one person satisfied a rule that needs two."""
    assert ido("run", "ship-order")[0] == 3
    assert ido("approve", "last", "--by", "alice")[0] == 0
    code, out = ido("approve", "last", "--by", again)
    assert code == 2 and "already approved ship (finance/large)" in out, out
    assert ido("resume", "last")[0] == 2  # still one approval short
    found, partial = tally_of(2, ("approval_given", "alice"), ("approval_given", again))
    assert not found and len(next(iter(partial.values()))) == 1
