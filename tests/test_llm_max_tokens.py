"""`llm.max_tokens` caps what one model call may answer, and so what it may cost."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ido.cli import app
from ido.testing import Answer, ScriptedModel

cli = CliRunner()
PAY_AND_SHIP = Answer([("pay-cheap-eu", {"rationale": "cheap"}), ("ship", {"rationale": "go"})])


def run_with(project: Path, extra: str) -> ScriptedModel:
    model = ScriptedModel([PAY_AND_SHIP])
    with model.serving() as url:
        intent = project / "intents" / "ship-order.yaml"
        intent.write_text(
            intent.read_text()
            + f"  planner: llm\n  llm: {{model: openai/scripted, api_base: '{url}'{extra}}}\n"
        )
        result = cli.invoke(app, ["run", "ship-order"])
        assert result.exit_code == 0, result.output
    return model


def test_max_tokens_is_sent_with_every_call(project: Path) -> None:
    """A model that rambles was paid for every token it wrote: nothing capped an answer,
    however far past the budget one call could go. `max_tokens` is sent as the request's
    own cap, which OpenAI-compatible servers honour."""
    model = run_with(project, ", max_tokens: 512")
    assert [r.get("max_tokens") for r in model.requests] == [512]


def test_without_max_tokens_the_request_carries_none(project: Path) -> None:
    """Unset, the request is as before (answers recorded for it still answer it)."""
    model = run_with(project, "")
    assert "max_tokens" not in model.requests[0]


def test_max_tokens_below_one_is_a_load_error(project: Path) -> None:
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(
        intent.read_text() + "  planner: llm\n  llm: {model: openai/m, max_tokens: 0}\n"
    )
    result = cli.invoke(app, ["validate"])
    assert result.exit_code == 2
    assert "spec.llm.max_tokens: Input should be greater than or equal to 1 (got 0)" in (
        result.output
    )


def test_max_tokens_past_any_answer_is_a_load_error(project: Path) -> None:
    """Found in review: nothing bounded `max_tokens` above, and a number past CEL's 64-bit
    integers (99999999999999999999999) loaded clean; then every rule reading `intent`
    (`intent.name == 'y'`) failed to evaluate and failed closed, denying every plan, with
    an error that quoted the whole `intent.llm`, its `api_base` and a credential in it.
    It is a load error naming the field."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(
        intent.read_text()
        + "  planner: llm\n  llm: {model: openai/m, max_tokens: 99999999999999999999999}\n"
    )
    result = cli.invoke(app, ["validate"])
    assert result.exit_code == 2, result.output
    assert (
        "intents/ship-order.yaml:11: spec.llm.max_tokens: Input should be less than or equal "
        "to 2147483647 (got 99999999999999999999999)" in result.output
    ), result.output
