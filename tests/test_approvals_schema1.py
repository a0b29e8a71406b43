"""A request an ido of journal schema 1 recorded (its rule, capability and message only: no
step, plan, cost or time) is read as what it was: a capability's, asked when recorded."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.journal import SqliteJournal

runner = CliRunner()
RULE = (
    "    - id: big-spend\n      effect: require_approval\n"
    "      when: \"capability.name == 'ship'\"\n      message: Shipping needs a human.\n"
)
AS_SCHEMA_1 = (
    '{"capability": "ship", "message": "Shipping needs a human.", "rule": "residency/big-spend"}'
)
"""An `approval_required` event's data as the first ido recorded it."""


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def old_request(project: Path) -> tuple[str, str]:
    """A run blocked on shipping, its request recorded as an ido of schema 1 did; the run
    and when the request was recorded."""
    policy = project / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + RULE)
    assert ido("run", "ship-order")[0] == 3
    journal = project / ".ido" / "ido.db"
    with SqliteJournal(journal) as store:
        (row,) = store.runs()
        (asked,) = [e for e in store.events(row.id) if e.kind == "approval_required"]
    db = sqlite3.connect(journal)
    with db:
        db.execute(
            "UPDATE events SET data = ? WHERE run_id = ? AND seq = ?",
            (AS_SCHEMA_1, row.id, asked.seq),
        )
    db.close()
    return row.id, asked.at


def test_the_request_is_listed_as_the_capability_s_since_it_was_recorded(
    old_request: tuple[str, str],
) -> None:
    """`ido approvals` called it the plan's, of a plan cost 0.00, waiting since 1970."""
    run_id, at = old_request
    code, out = ido("approvals")
    assert code == 0, out
    assert f"{run_id} (ship-order)  ship  residency/big-spend: Shipping needs a human." in out
    assert f"(plan cost not recorded, since {at[:19]}+00:00)" in out
    (request,) = json.loads(ido("approvals", "--format", "json")[1])
    assert request["since_at"] == at


def test_explain_and_approve_name_the_capability_not_the_plan(
    old_request: tuple[str, str],
) -> None:
    run_id, _ = old_request
    out = ido("explain", run_id)[1]
    assert "approval needed for ship (residency/big-spend: Shipping needs a human.)" in out
    code, out = ido("approve", run_id, "--by", "alice")
    assert code == 0, out
    assert f"approved: run {run_id} ship (residency/big-spend) by alice" in out


def test_the_audit_gives_no_plan_cost_it_was_not_told(old_request: tuple[str, str]) -> None:
    run_id, _ = old_request
    assert ido("approve", run_id, "--by", "alice", "--comment", "ok")[0] == 0
    (approval,) = json.loads(ido("audit", "--format", "json")[1])["approvals"]
    assert approval["cost"] is None
    out = ido("audit")[1]
    assert "(residency/big-spend) approved by alice at " in out
    assert "plan cost" not in out


def test_resume_asks_again_saying_the_old_request_named_no_plan(
    old_request: tuple[str, str],
) -> None:
    """It said the plan had changed since it was approved, from a plan cost of 0.00."""
    run_id, _ = old_request
    assert ido("approve", run_id, "--by", "alice")[0] == 0
    code, out = ido("resume", run_id)
    assert code == 3, out
    assert "the approval given was of a request an ido of journal schema 1 recorded" in out
    assert "the plan changed" not in out


def test_every_reading_gives_the_cost_it_was_not_told_as_none(
    old_request: tuple[str, str], project: Path
) -> None:
    """`ido audit --format json` said null, but `ido approvals --format json` said 0.0 and
    `ido.pending_approvals` a cost of 0.0 for the same request: a script reading either
    took a plan of 0.00 for one whose cost was never recorded."""
    from ido import pending_approvals

    (listed,) = json.loads(ido("approvals", "--format", "json")[1])
    assert listed["cost"] is None
    with SqliteJournal(project / ".ido" / "ido.db", reading=True) as store:
        (pending,) = pending_approvals(store)
    assert pending.cost is None
