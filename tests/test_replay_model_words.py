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


def test_a_run_recorded_with_an_api_base_now_refused_still_replays(project: Path) -> None:
    """Found in review: a run recorded before api_base was checked at load, with a port
    now refused (`:99999`, which the model call failed on), could no longer be replayed,
    nor resumed: "the recorded intent cannot be read", pydantic's error quoting the URL
    whole. A recorded intent is read as it was written, as a duration past today's bound
    is; the project's own intent is what is checked."""
    import sqlite3

    model = ScriptedModel([PAY_AND_SHIP])
    with model.serving() as url:
        intent = project / "intents" / "ship-order.yaml"
        intent.write_text(
            intent.read_text()
            + f"  planner: llm\n  llm: {{model: openai/scripted, api_base: '{url}'}}\n"
        )
        assert cli.invoke(app, ["run", "ship-order"]).exit_code == 0
    with sqlite3.connect(project / ".ido" / "ido.db") as db:  # as an older ido recorded it
        db.execute(
            "UPDATE events SET data = replace(data, ?, 'http://127.0.0.1:99999/v1') "
            "WHERE kind = 'run_started'",
            (url,),
        )
    result = cli.invoke(app, ["replay", "last"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("identical: 1 decision(s)"), result.output
