"""`ido explain` tells what a run's model calls cost in all, as `ido runs` does."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ido.cli import app
from ido.testing import Answer, ScriptedModel

cli = CliRunner()
PAY_AND_SHIP = Answer(
    [("pay-cheap-eu", {"rationale": "cheapest EU processor"}), ("ship", {"rationale": "ship it"})]
)
SHIP_FIRST = Answer([("ship", {"rationale": "ship first"})])


def ido(*args: str) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def use_llm(project: Path, url: str) -> None:
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(
        intent.read_text() + "  planner: llm\n  llm: {model: openai/scripted, "
        f"api_base: '{url}', timeout: 5s, input_cost: 1000, output_cost: 2000}}\n"
    )


def test_explain_sums_up_the_run_s_model_calls(project: Path) -> None:
    """A run whose model was asked twice (a proposal refused, then one accepted) read
    `cost 0.98` in explain with no word of the 0.36 the calls took of it: each decision's
    calls were told, never their sum, which `ido runs` showed and explain's JSON lacked."""
    with ScriptedModel([SHIP_FIRST, PAY_AND_SHIP]).serving() as url:
        use_llm(project, url)
        ido("run", "ship-order")
    said = "model calls cost 0.3600 of the 1.16: 2 calls of openai/scripted, 240 input + 60 output tokens"
    assert said in ido("explain", "last").splitlines()
    assert f"**Spend:** {said}" in ido("explain", "last", "--format", "md")
    run = json.loads(ido("explain", "last", "--format", "json"))["run"]
    listed = json.loads(ido("runs", "--format", "json"))[0]
    assert (run["llm_cost"], run["llm_tokens"]) == (listed["llm_cost"], listed["llm_tokens"])
    assert run["llm_tokens"] == 300


def test_a_run_that_asked_no_model_says_nothing_of_one(project: Path) -> None:
    ido("run", "ship-order")
    assert "model calls" not in ido("explain", "last")
    run = json.loads(ido("explain", "last", "--format", "json"))["run"]
    assert (run["llm_cost"], run["llm_tokens"]) == (0.0, 0)


def test_the_plan_rule_that_overruled_the_model_is_named(project: Path) -> None:
    """The model's plan was denied by a plan rule and `ido run` and `ido explain` said
    "accepted; a plan rule denied that plan, so the solver chose": which rule, and why,
    was left to find under policy decisions. The verdict names it and its message."""
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(
        intent.read_text() + "  rules:\n    - id: no-cheappay\n      effect: deny\n"
        "      when: \"'cheappay' in plan.providers\"\n      message: Not cheappay.\n"
    )
    with ScriptedModel([PAY_AND_SHIP]).serving() as url:
        use_llm(project, url)
        out = ido("run", "ship-order")
    said = (
        "accepted; a plan rule denied that plan (intent:ship-order/no-cheappay: Not cheappay.),"
        " so the solver chose"
    )
    assert said in out
    assert said in ido("explain", "last")
