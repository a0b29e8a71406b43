"""Approvals by their owners: each rule's owner answers their own request (`--rule`), and a
rule may need several different people (`approvers: N`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.journal import SqliteJournal

runner = CliRunner()
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
    assert "approved by fiona: ship (finance/large)" in told
    assert "approved by sam: ship (security/new-vendor)" in told


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
