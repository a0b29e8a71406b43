"""An approval weighs in planning (`objective.approval`): a plan that stops for a person
loses to one that does not, unless the intent says an approval costs it nothing."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app

runner = CliRunner()
GATE = (
    "    - id: large\n      effect: require_approval\n"
    "      when: \"capability.name == 'pay-audited'\"\n      message: Finance signs it.\n"
)
AUDITED = """\
---
apiVersion: ido/v1
kind: Capability
metadata: {name: pay-audited}
spec:
  provider: cheappay
  region: eu
  tags: [payments, pii]
  requires: ["!state.order.paid"]
  effects: {order.paid: true}
  cost: 0.30
  latency: 800ms
  reliability: 0.99
  run: {python: "fakesvc.impl:call"}
"""


def ido(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def twin(project: Path) -> Path:
    """pay-audited: pay-cheap-eu in every number (and first by name), but gated."""
    (project / "capabilities" / "pay-audited.yaml").write_text(AUDITED)
    policy = project / "policies" / "residency.yaml"
    policy.write_text(policy.read_text() + GATE)
    return project


def set_objective(project: Path, objective: str) -> None:
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(re.sub(r"objective: \{.*\}", f"objective: {objective}", intent.read_text()))


def test_a_plan_needing_approval_loses_a_tie_and_the_explanation_says_why(twin: Path) -> None:
    """Both payments cost the same: the plan went to the gated one, and the run blocked."""
    code, out = ido("plan", "ship-order")
    assert code == 0, out
    assert "1. pay-cheap-eu (cheappay)" in out, out
    assert "+0.01 approval: pay-audited needs residency/large: pay-audited instead of" in out
    assert "approval needed" not in out
    code, out = ido("run", "ship-order")
    assert code == 0 and "achieved" in out, out


def test_an_approval_weighed_at_nothing_leaves_the_tie_as_it_was(twin: Path) -> None:
    set_objective(twin, "{cost: 1.0, latency: 0.5, risk: 2.0, approval: 0}")
    code, out = ido("plan", "ship-order")
    assert code == 0 and "1. pay-audited (cheappay)" in out, out
    assert "approval needed for pay-audited (residency/large" in out


def test_an_approval_priced_by_the_intent_outweighs_a_dearer_plan(twin: Path) -> None:
    """pay-audited made 0.30 cheaper than pay-cheap-eu: at the default weight it wins, at
    an approval worth 0.50 to the intent it loses, and the explanation says by how much."""
    catalog = twin / "capabilities" / "pay-audited.yaml"
    catalog.write_text(catalog.read_text().replace("cost: 0.30", "cost: 0.00"))
    set_objective(twin, "{cost: 1.0}")
    assert "1. pay-audited (cheappay)" in ido("plan", "ship-order")[1]
    set_objective(twin, "{cost: 1.0, approval: 0.5}")
    code, out = ido("plan", "ship-order")
    assert code == 0 and "1. pay-cheap-eu (cheappay)" in out, out
    assert "+0.50 approval: pay-audited needs residency/large" in out, out


@pytest.mark.parametrize("written", ["-0.1", "'cheap'", ".inf"])
def test_an_approval_weight_that_is_no_weight_is_refused_at_its_line(
    twin: Path, written: str
) -> None:
    set_objective(twin, f"{{cost: 1.0, approval: {written}}}")
    code, out = ido("validate")
    assert code == 2 and "intents/ship-order.yaml:8: spec.objective.approval" in out, out


def test_a_run_recorded_before_approvals_weighed_resumes_and_replays_as_it_decided(
    twin: Path,
) -> None:
    """A run begun before `objective.approval` was recorded went to the gated payment (the
    tie went by name); weighed now at the default, its replay chose the other and diverged."""
    set_objective(twin, "{cost: 1.0, latency: 0.5, risk: 2.0, approval: 0}")
    assert ido("run", "ship-order")[0] == 3  # pay-audited, gated: blocked
    journal = twin / ".ido" / "ido.db"
    with sqlite3.connect(journal) as db:  # as an ido before the weight recorded it
        ((seq, data),) = db.execute(
            "SELECT seq, data FROM events WHERE kind = 'run_started'"
        ).fetchall()
        started = json.loads(data)
        del started["intent"]["spec"]["objective"]["approval"]
        db.execute("UPDATE events SET data = ? WHERE seq = ?", (json.dumps(started), seq))
    set_objective(twin, "{cost: 1.0, latency: 0.5, risk: 2.0}")
    assert ido("approve", "last", "--by", "alice")[0] == 0
    code, out = ido("resume", "last")
    assert code == 0 and "achieved" in out, out
    code, out = ido("replay", "last")
    assert code == 0 and "identical: 2 decision(s)" in out, out
