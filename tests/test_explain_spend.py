"""What an explanation says of the spend on calls that failed, for whoever accounts for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app
from ido.explain_calls import failed_spend

runner = CliRunner()


def ido(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code in (0, 1), result.output
    return result.output


def test_the_cost_of_calls_that_failed_is_said_beside_the_run_s_cost(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that cost 1.60 where its plan said 0.80 showed only that pay-cheap-eu failed;
    what that failure cost was in `--format json` alone. Each format says it under the
    run's cost, by capability; a run whose calls all succeeded says nothing of it."""
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay")
    ido("run", "ship-order")
    said = "calls that failed cost 0.30 of the 1.60: pay-cheap-eu 0.30"
    text = ido("explain", "last", "--color", "never").splitlines()
    assert text[0].endswith("achieved · cost 1.60 · " + text[0].rsplit(" · ", 1)[1])
    assert text[1] == said
    assert f"**Spend:** {said}" in ido("explain", "last", "--format", "md")
    assert f"<strong>Spend:</strong> {said}" in ido("explain", "last", "--format", "html")
    monkeypatch.delenv("FAKESVC_FAIL")
    ido("run", "ship-order")
    assert "calls that failed" not in ido("explain", "last", "--color", "never")


def test_a_failed_run_s_calls_are_said_costliest_first(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that failed spent all it cost on calls that failed: each capability's part,
    the costliest first."""
    monkeypatch.setenv("FAKESVC_FAIL", "cheappay,priceypay")
    ido("run", "ship-order")
    lines = ido("explain", "last", "--color", "never").splitlines()
    said = "calls that failed cost 1.10 of the 1.10: pay-pricey-eu 0.80, pay-cheap-eu 0.30"
    assert lines[2] == said, lines[:3]


def test_several_failed_calls_of_one_capability_are_counted() -> None:
    """A capability that failed more than once says how often; calls that succeeded, or
    were cut short (interrupted, not failed), are not counted."""
    calls = [
        {"capability": "train", "ok": False, "cost": 3.0},
        {"capability": "train", "ok": False, "cost": 3.0},
        {"capability": "train", "ok": True, "cost": 3.0},
        {"capability": "fetch", "ok": None, "cost": 0.4},
        {"capability": "eval", "ok": False, "cost": 0.0},
    ]
    view = {"run": {"cost": 9.4}, "decisions": [{"actions": calls}]}
    said = failed_spend(view)
    assert said == "calls that failed cost 6.00 of the 9.40: train 6.00 (2 calls)"
    assert failed_spend({"run": {"cost": None}, "decisions": [{"actions": calls}]}) is None
