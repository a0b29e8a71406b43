"""`ido validate` checks the model and server an intent takes from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ido.cli import app

cli = CliRunner()


def llm_intent(project: Path, llm: str = "{max_rounds: 2}") -> int:
    """Make ship-order plan with a model its YAML does not name; returns the llm line."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text() + f"  planner: llm\n  llm: {llm}\n")
    return len(intent.read_text().splitlines())


@pytest.mark.parametrize(
    ("environ", "field", "said"),
    [
        (
            {"IDO_LLM_MODEL": "opneai/gpt-4o-mini"},
            "spec.llm.model",
            "IDO_LLM_MODEL (the intent names no model): 'opneai' is not a litellm provider",
        ),
        (
            {"IDO_LLM_MODEL": "openai/m", "IDO_LLM_API_BASE": "http://"},
            "spec.llm.api_base",
            "IDO_LLM_API_BASE (the intent names no server): names no host",
        ),
        (
            {"IDO_LLM_MODEL": "openai/m", "IDO_LLM_API_BASE": "127.0.0.1:8080/v1"},
            "spec.llm.api_base",
            "IDO_LLM_API_BASE (the intent names no server): not an http:// or https:// URL",
        ),
    ],
)
def test_a_model_or_server_from_the_environment_out_of_reach_is_told(
    project: Path, monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], field: str, said: str
) -> None:
    """`IDO_LLM_MODEL=opneai/…` or `IDO_LLM_API_BASE=http://` passed `ido validate`, and
    every decision of a run fell back to the solver ("Connection error.")."""
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    line = llm_intent(project)
    result = cli.invoke(app, ["validate"])
    assert result.exit_code == 2, result.output
    assert f"intents/ship-order.yaml:{line}: {field}: {said}" in result.output


def test_what_the_intent_names_itself_is_what_is_checked(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The intent's own model and server win over the environment's, which is not read."""
    monkeypatch.setenv("IDO_LLM_MODEL", "opneai/gpt-4o-mini")
    monkeypatch.setenv("IDO_LLM_API_BASE", "http://")
    llm_intent(project, "{model: openai/m, api_base: 'http://127.0.0.1:8080/v1'}")
    result = cli.invoke(app, ["validate"])
    assert result.exit_code == 0, result.output


def test_an_intent_of_the_solver_is_not_told_of_the_environment_s_model(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDO_LLM_MODEL", "opneai/gpt-4o-mini")
    result = cli.invoke(app, ["validate"])
    assert result.exit_code == 0, result.output
