"""What a replay under a model planner says of a model it does not ask."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ido.cli import app
from ido.testing import Answer, ScriptedModel

cli = CliRunner()
PAY_AND_SHIP = Answer([("pay-cheap-eu", {"rationale": "cheap"}), ("ship", {"rationale": "go"})])


def test_a_solver_run_replayed_under_llm_says_no_answer_was_recorded(project: Path) -> None:
    """A run the solver planned, replayed with `--planner llm`, read "the model's recorded
    answer does not fit the changed request": the run had asked no model, and recorded no
    answer to fit or not. It says the run recorded none to this request, and asks none."""
    model = ScriptedModel([PAY_AND_SHIP])
    with model.serving() as url:
        intent = project / "intents" / "ship-order.yaml"
        intent.write_text(
            intent.read_text() + f"  llm: {{model: openai/scripted, api_base: '{url}'}}\n"
        )
        assert cli.invoke(app, ["run", "ship-order", "--planner", "cpsat"]).exit_code == 0
        result = cli.invoke(app, ["replay", "last", "--planner", "llm"])
    assert result.exit_code == 0, result.output
    said = (
        "decision 1: same choice · decided by the solver (cpsat), not the model "
        "openai/scripted: the run recorded no answer to this request (a replay asks no model)"
    )
    assert said in result.output.splitlines(), result.output
    assert model.requests == []
