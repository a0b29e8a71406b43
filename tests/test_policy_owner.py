"""A policy's `owner`: who answers for its rules, named where ido asks or explains, so a
platform shared by several teams routes each request to the team that owns its rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido import pending_approvals
from ido.cli import app
from ido.journal.sqlite import SqliteJournal

runner = CliRunner()
BOARD = (
    "apiVersion: ido/v1\nkind: Policy\nmetadata: {name: change-board}\nspec:\n"
    "  owner: platform-team\n  enforced: true\n  rules:\n    - id: ship-change\n"
    "      effect: require_approval\n      when: \"capability.name == 'ship'\"\n"
    "      message: The change board signs shipping.\n"
)


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def owned(project: Path) -> Path:
    """The residency policy owned by compliance, and an enforced approval rule owned by the
    platform team."""
    residency = project / "policies" / "residency.yaml"
    residency.write_text(residency.read_text().replace("spec:\n", "spec:\n  owner: compliance\n"))
    (project / "policies" / "change-board.yaml").write_text(BOARD)
    return project


def test_ido_approvals_names_the_owner_of_each_request_s_rule(owned: Path) -> None:
    assert ido("run", "ship-order")[0] == 3
    out = ido("approvals")[1]
    assert (
        "change-board/ship-change: The change board signs shipping.  (owner platform-team, " in out
    )
    listed = json.loads(ido("approvals", "--format", "json")[1])
    assert [r["owner"] for r in listed] == ["platform-team"]
    with SqliteJournal(owned / ".ido" / "ido.db", reading=True) as journal:
        assert [p.owner for p in pending_approvals(journal)] == ["platform-team"]


def test_ido_approvals_owner_lists_only_that_owner_s_requests(owned: Path) -> None:
    assert ido("run", "ship-order")[0] == 3
    assert "change-board/ship-change" in ido("approvals", "--owner", "Platform-Team")[1]
    code, out = ido("approvals", "--owner", "compliance")
    assert code == 0 and out == "nothing waits for approval of owner compliance\n", out


def test_ido_explain_names_the_owner_of_each_rule_that_fired(owned: Path) -> None:
    assert ido("run", "ship-order")[0] == 3
    told = ido("explain", "last")[1]
    assert "deny pay-us: residency/pii-stays-in-eu (owner compliance): PII" in told, told
    assert "ship: change-board/ship-change (owner platform-team): The change board" in told
    assert "approval needed for ship (change-board/ship-change (owner platform-team): " in told


def test_an_owner_is_one_line_of_text(owned: Path) -> None:
    board = owned / "policies" / "change-board.yaml"
    board.write_text(BOARD.replace("owner: platform-team", "owner: ''"))
    code, out = ido("validate")
    assert code == 2, out
    assert (
        "change-board.yaml:5: spec.owner: an owner names a team or a person; this one is blank"
        in out
    )


def test_a_policy_without_an_owner_is_explained_as_before(project: Path) -> None:
    assert ido("run", "ship-order")[0] in (0, 1)
    told = ido("explain", "last")[1]
    assert "owner" not in told and "residency/pii-stays-in-eu: PII" in told, told


def test_ido_audit_names_the_owner_of_each_rule_that_denied(owned: Path) -> None:
    assert ido("run", "ship-order")[0] == 3
    out = ido("audit")[1]
    assert "residency/pii-stays-in-eu (owner compliance): 1 decision(s), denied pay-us" in out, out
    report = json.loads(ido("audit", "--format", "json")[1])
    assert report["denials"]["residency/pii-stays-in-eu"]["owner"] == "compliance"


def test_ido_approvals_owner_with_a_typo_is_warned_of(owned: Path) -> None:
    """`--owner platform-tem` listed "nothing waits", as if the team had nothing to answer
    (an `--intent` typo is warned of alike)."""
    assert ido("run", "ship-order")[0] == 3
    code, out = ido("approvals", "--owner", "platform-tem")
    assert code == 0, out
    assert (
        "warning: no request waiting is of owner 'platform-tem'; did you mean "
        "'platform-team'?\n" in out
    ), out


def test_ido_approvals_intent_and_owner_both_narrow_what_is_listed(owned: Path) -> None:
    """Both given, a request is listed when of one of the intents and of one of the
    owners: "nothing waits for approval of ship-order or owner compliance" read as
    either."""
    assert ido("run", "ship-order")[0] == 3
    code, out = ido("approvals", "--intent", "ship-order", "--owner", "compliance")
    assert code == 0, out
    assert out == "nothing waits for approval of ship-order and of owner compliance\n", out


def test_ido_explain_names_the_owner_of_the_rule_that_rejected_a_capability(owned: Path) -> None:
    """An on-call reader of "rejected:" wants to know whom to ask of the rule that ruled a
    capability out, in text and in JSON."""
    assert ido("run", "ship-order")[0] == 3
    told = ido("explain", "last")[1]
    assert "pay-us: denied by residency/pii-stays-in-eu (owner compliance): PII" in told, told
    view = json.loads(ido("explain", "last", "--format", "json")[1])
    rejections = view["decisions"][0]["result"]["rejections"]
    denied = [r for r in rejections if r["capability"] == "pay-us"]
    assert [r.get("owner") for r in denied] == ["compliance"]
    assert all("owner" not in r for r in rejections if r["capability"] != "pay-us")


def test_why_not_names_the_owner_of_the_rule_of_each_policy_decision(owned: Path) -> None:
    """`--why-not ship` told of the change board's approval rule without whom to ask,
    which `ido explain` says on the same decision's policy line."""
    assert ido("run", "ship-order")[0] == 3
    code, out = ido("explain", "last", "--why-not", "ship")
    assert code == 0, out
    assert ": require_approval by change-board/ship-change (owner platform-team): " in out, out
    told = ido("explain", "last")[1]
    assert "change-board/ship-change (owner platform-team): The change board" in told, told


def test_ido_plan_names_the_owner_of_the_rule_that_rejected_a_capability(owned: Path) -> None:
    """`ido plan`'s "rejected:" and policy lines named no owner where `ido explain`'s of the
    same decision did: whom to ask is known before a run, in text and in JSON."""
    told = ido("plan", "ship-order")[1]
    assert "pay-us: denied by residency/pii-stays-in-eu (owner compliance): PII" in told, told
    assert "deny pay-us: residency/pii-stays-in-eu (owner compliance): PII" in told, told
    shown = json.loads(ido("plan", "ship-order", "--format", "json")[1])
    assert shown["policy_owners"] == {"change-board": "platform-team", "residency": "compliance"}
    denied = [r for r in shown["result"]["rejections"] if r["capability"] == "pay-us"]
    assert [r.get("owner") for r in denied] == ["compliance"]
