"""The model planners on the shipped scenarios: `llm`, `hybrid` and `cpsat`, side by side.

Run from the repository root (about a minute):

    .venv/bin/python benchmarks/llm_planners.py

Every scenario in `scenarios/` runs three times, once per planner, in its simulated world
(virtual clock, no real service). The model is a *stand-in*: `ido.testing.ScriptedModel`
on loopback, driven through litellm for real, answering with a small deterministic policy
written here, not a language model:

- for `llm`, it proposes, per goal fact, the cheapest tool whose description says it sets
  that fact, in goal order; told "step N: X requires 'state.F'", it puts the cheapest tool
  that sets F before step N and proposes again. So it starts out wrong whenever a goal
  needs a step the goal does not name (reserving stock before charging), and learns from
  ido's feedback, as a model is meant to;
- for `hybrid`, it picks the cheapest of the solver's options by cost alone.

So the numbers measure ido's side: how often proposals are invalid, how many rounds and
fallbacks that costs, what it spends in tokens (estimated at four characters a token, at
declared prices of 0.15 / 0.60 per million tokens), and whether the scenarios'
expectations still hold; not a model's skill. With a real local model (see the slow test
tier) the same script can point at it (`--api-base URL --model NAME`). Prints a Markdown
table; `--json FILE` writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ido.loading import Catalog
from ido.planner.llm_prompt import PROPOSED
from ido.scenario.runner import ScenarioResult, load_scenarios, run_scenario, scenario_files
from ido.testing import Answer, ScriptedModel

PLANNERS = ("cpsat", "llm", "hybrid")
_EFFECT = re.compile(r"([A-Za-z_][\w.]*) = (true|false|\"[^\"]*\"|[-\d.]+)")
_NEEDS = re.compile(r"step (\d+): (\S+) requires 'state\.([\w.]+)'")


def _tools(request: Mapping[str, Any]) -> dict[str, tuple[dict[str, str], float]]:
    """Per tool: the effects its description lists, and its cost."""
    found = {}
    for tool in request.get("tools", []):
        function = tool["function"]
        text = function["description"]
        effects_text = text.split("Effects: ", 1)[-1].split(". Cost", 1)[0]
        effects = dict(_EFFECT.findall(effects_text))
        cost = float(re.search(r"Cost ([\d.e-]+)", text).group(1))  # type: ignore[union-attr]
        found[function["name"]] = (effects, cost)
    return found


def _setter(tools: Mapping[str, tuple[dict[str, str], float]], fact: str) -> str | None:
    setting = [
        (cost, name) for name, (effects, cost) in tools.items() if effects.get(fact) == "true"
    ]
    return min(setting)[1] if setting else None


def stand_in(request: dict[str, Any]) -> Answer:
    """The deterministic stand-in model (see the module's docstring)."""
    messages = request["messages"]
    if request["tools"][0]["function"]["name"] == "choose":
        options = json.loads(messages[1]["content"])["options"]
        cheapest = min(options, key=lambda o: (o["cost"], o["option"]))
        return _sized(
            request, [("choose", {"option": cheapest["option"], "rationale": "cheapest"})]
        )
    tools = _tools(request)
    situation = json.loads(messages[1]["content"])
    goal = situation["goal (CEL conditions over state)"]
    state = situation["state"]
    last = next(
        (m for m in reversed(messages) if str(m.get("content", "")).startswith(PROPOSED)), None
    )
    if last is None:
        plan = []
        for condition in goal:
            fact = condition.removeprefix("state.")
            if not condition.startswith("state.") or state.get(fact) is True:
                continue  # not a plain fact, or it holds already
            name = _setter(tools, fact)
            if name is not None and name not in plan:
                plan.append(name)
    else:
        plan = last["content"].removeprefix(PROPOSED).rstrip(".").split(", ")
        for step, capability, fact in _NEEDS.findall(messages[-1]["content"]):
            name = _setter(tools, fact)
            if name is None:
                continue
            # where that step stands now (an earlier insertion moved it)
            position = plan.index(capability) if capability in plan else int(step) - 1
            if name not in plan[:position]:
                plan.insert(position, name)
    return _sized(request, [(name, {"rationale": "sets what the goal needs"}) for name in plan])


def _sized(request: Mapping[str, Any], calls: list[tuple[str, Any]]) -> Answer:
    """The answer, with token counts estimated at four characters a token (a stand-in has
    no tokenizer; real servers count their own)."""
    asked = len(json.dumps(request["messages"])) + len(json.dumps(request.get("tools", [])))
    return Answer(calls, prompt_tokens=asked // 4, completion_tokens=len(json.dumps(calls)) // 4)


def with_planner(catalog: Catalog, planner: str, llm: dict[str, Any]) -> Catalog:
    intents = {
        name: intent.model_copy(
            update={"spec": intent.spec.model_copy(update={"planner": planner, "llm": llm})}
        )
        for name, intent in catalog.intents.items()
    }
    return Catalog(**{**catalog.__dict__, "intents": intents})


def measure(planner: str, scenarios: list[tuple[Any, Catalog]], llm: Any) -> dict[str, Any]:
    totals = {"scenarios": 0, "met": 0, "decisions": 0, "model_decisions": 0, "calls": 0}
    totals.update({"invalid": 0, "fallbacks": 0, "tokens": 0, "cost": 0.0, "seconds": 0.0})
    missed: list[str] = []  # each scenario whose expectations the planner did not meet, and why
    for scenario, catalog in scenarios:
        spec = scenario.spec
        if not isinstance(spec.intent, str):
            inline = spec.intent.model_copy(update={"planner": planner, "llm": llm})
            scenario = scenario.model_copy(
                update={"spec": spec.model_copy(update={"intent": inline})}
            )
        started = time.perf_counter()
        result: ScenarioResult = run_scenario(
            scenario, with_planner(catalog, planner, llm), base=Path.cwd()
        )
        totals["seconds"] += time.perf_counter() - started
        totals["scenarios"] += 1
        totals["met"] += int(result.passed)
        if not result.passed:
            missed.append(f"{scenario.name}: {'; '.join(result.unmet)}")
        for event in result.journal.events(result.report.run_id):
            if event.kind != "decided":
                continue
            totals["decisions"] += 1
            record = event.data["result"]["solver"].get("llm")
            if not record:
                continue
            totals["model_decisions"] += 1
            totals["calls"] += len(record["calls"])
            totals["invalid"] += sum(1 for c in record["calls"] if c.get("problems"))
            totals["fallbacks"] += int(record["fallback"] is not None)
            totals["tokens"] += record["input_tokens"] + record["output_tokens"]
            totals["cost"] += record["cost"]
    return {**totals, "missed": missed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=Path, default=Path("scenarios"))
    parser.add_argument(
        "--api-base", help="A real OpenAI-compatible server instead of the stand-in."
    )
    parser.add_argument("--model", default="openai/stand-in")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    catalog_paths = [Path(p) for p in ("capabilities", "policies", "intents") if Path(p).is_dir()]
    scenarios: list[tuple[Any, Catalog]] = []
    for file in scenario_files([args.scenarios]):
        scenarios += load_scenarios(file, catalog_paths)
    model = ScriptedModel(stand_in)
    rows: dict[str, dict[str, Any]] = {}
    with model.serving() as url:
        llm = {
            "model": args.model,
            "api_base": args.api_base or url,
            "max_rounds": 3,
            "timeout": "30s",
        }
        llm.update(input_cost=0.15, output_cost=0.6)
        from ido.model import LlmSettings

        settings = LlmSettings(**llm)
        for planner in PLANNERS:
            print(f"  {planner} …", file=sys.stderr)
            rows[planner] = measure(planner, scenarios, settings)
    print(
        "| planner | expectations met | decisions | asked the model | invalid proposals "
        "per model decision | fallbacks | tokens | model cost | wall time |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for planner, r in rows.items():
        asked = r["model_decisions"]
        invalid = f"{r['invalid'] / asked:.2f}" if asked else "-"
        print(
            f"| {planner} | {r['met']}/{r['scenarios']} | {r['decisions']} | {asked} | {invalid} | "
            f"{r['fallbacks']} | {r['tokens']:,} | {r['cost']:.6f} | {r['seconds']:.1f} s |"
        )
    for planner, r in rows.items():
        for said in r["missed"]:
            print(f"- {planner} missed {said}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
