"""An explanation's words for what a run called: a value as shown, an action's outcome and
line, a model's calls and the plans it proposed."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ido.journal.records import UNRECORDED, made_calls
from ido.run_words import format_duration
from ido.text import printable, shortened, visible


def shown(value: Any) -> str:
    """A value as JSON writes it, its text as written ("Café", not "Caf\\u00e9"), with
    what a terminal would act on escaped (`printable`)."""
    return printable(json.dumps(value, ensure_ascii=False))


def outcome_kind(action: Mapping[str, Any]) -> str:
    """What became of one action, in one word every report colours by: `ok`, `failed`,
    `interrupted` or `running` (in flight in a run that is running now). A step that
    reported success but whose effects did not show failed; a step in flight when the run
    stopped and settled on resume as interrupted or rejected was interrupted, whatever
    `ok` the resume recorded."""
    if action.get("resumed") in ("interrupted", "rejected"):
        return "interrupted"
    if action.get("ok") is None:
        return "running" if action.get("running") else "interrupted"
    if not action["ok"] or "silent" in action:
        return "failed"
    return "ok"


def _action_line(action: dict[str, Any]) -> str:
    took = format_duration(action.get("duration") or 0.0)
    attempt = f" attempt {action['attempt']}" if action.get("attempt", 1) > 1 else ""
    if action.get("ok") is None and action.get("running"):
        return f"{action['capability']}{attempt}: started, still running"
    if action.get("ok") is None and action.get("unknown"):
        return (
            f"{action['capability']}{attempt}: {action['unknown']}; its outcome is unknown, "
            "and a person decides whether to perform it again"
        )
    if action.get("ok") is None:
        return f"{action['capability']}{attempt}: started, no outcome recorded (interrupted)"
    if action.get("resumed") == "effects observed":
        return f"{action['capability']}{attempt}: interrupted; its effects were observed on resume"
    if action.get("settled"):  # a timed-out call, settled by the observation after it
        done = ": done" if action["ok"] else ""
        return f"{action['capability']}{attempt}: {action.get('error')}; {action['settled']}{done}"
    if action.get("resumed") in ("interrupted", "rejected") and action.get("timed_out"):
        return f"{action['capability']}{attempt}: {action.get('error')}"  # the call timed out
    if action.get("resumed") in ("interrupted", "rejected"):
        error, cut = str(action.get("error")), f"{UNRECORDED}; "
        if error.startswith(cut):  # said once ("interrupted; on resume interrupted before …")
            return f"{action['capability']}{attempt}: {cut}on resume {error.removeprefix(cut)}"
        return f"{action['capability']}{attempt}: interrupted; on resume {error}"
    again = {
        "repeated": " (performed again on resume: idempotent)",
        "approved": " (performed again on resume, as approved: its outcome was unknown)",
    }.get(str(action.get("resumed")), "")
    if action["ok"] and "silent" in action:
        what = str(action["silent"]).partition("did not show: ")[2] or action["silent"]
        return (
            f"{action['capability']}{attempt}: reported success in {took}{again}, but its "
            f"effects did not show: {what}"
        )
    if action["ok"]:
        note = f"; {action['note']}" if action.get("note") else ""
        return f"{action['capability']}{attempt}: succeeded in {took}{again}{note}"
    if action.get("timed_out"):  # its error says so, and after how long it was cut off
        return f"{action['capability']}{attempt}: {action.get('error')}"
    return f"{action['capability']}{attempt}: failed after {took}: {action.get('error')}"


def _model_lines(llm: dict[str, Any]) -> list[str]:
    """What the model planner asked, was told and made of it."""
    fallback = f"; fell back to {llm['fallback']}" if llm.get("fallback") else ""
    calls = made_calls(llm)  # (one not made, for want of a key, the verdict tells)
    cached = sum(1 for c in calls if c.get("cached"))
    lines = [f"{llm['planner']} with {llm.get('model') or 'no model'}: {llm['verdict']}{fallback}"]
    if calls:  # the verdict says why none was made ("not asked", "no model configured")
        lines.append(
            f"{len(calls)} call(s){f' ({cached} from the cache)' if cached else ''}, "
            f"{llm.get('input_tokens', 0)} input + {llm.get('output_tokens', 0)} output tokens, "
            f"cost {llm.get('cost', 0.0):.4f} (counted against the budget)"
        )
    for n, call in enumerate(calls, start=1):
        reply = call["reply"]
        usage = f"; {reply['usage_error']}" if reply.get("usage_error") else ""
        if reply.get("error"):
            lines.append(f"call {n}: error: {reply['error']}{usage}")
            continue
        if not reply.get("tool_calls"):  # what it said instead is what a reader wants
            lines.append(f"call {n}: {_answered_in_text(reply.get('content'))}{usage}")
            continue
        verdict = "; ".join(call.get("problems", [])) or "accepted"
        lines.append(f"call {n}: {_proposed(reply['tool_calls'])}: {verdict}{usage}")
    lines += [f"rationale: {r}" for r in llm.get("rationale", [])]
    return lines


def _answered_in_text(content: Any) -> str:
    """An answer with no tool call, quoting what the model wrote instead, on one line and
    cut short: `answered "I would extract, then publish." instead of a tool call`."""
    said = " ".join(str(content or "").split())
    if not said:
        return "answered nothing, no tool call"
    quoted = json.dumps(shortened(said, MOST_QUOTED), ensure_ascii=False)
    return f"answered {quoted} instead of a tool call"


MOST_QUOTED = 200
"""Most characters of a model's text answer that explain quotes (the journal keeps more)."""


def _proposed(tool_calls: Sequence[Sequence[str]]) -> str:
    """What one answer with tool calls proposed: the capabilities it called, in order; or,
    of `hybrid`'s one call of `choose`, the option it chose, which is what a wrong choice
    is judged on ("chose option 9: option must be a number from 1 to 3")."""
    if len(tool_calls) == 1 and tool_calls[0][0] == "choose":
        from ido.planner.llm_answers import tool_arguments  # (only for hybrid's answers)

        arguments = tool_arguments(tool_calls[0][1])
        if arguments is not None and "option" in arguments:
            return f"chose option {visible(shortened(json.dumps(arguments['option']), 40))}"
    return f"proposed {', '.join(visible(name) for name, _ in tool_calls)}"


def failed_spend(view: Mapping[str, Any]) -> str | None:
    """What the calls that failed cost, of the run's cost, by capability: `calls that
    failed cost 3.00 of the 16.60: train-gpu-cheap 3.00`; None when none cost anything.
    The run's cost counts failed calls too, and its steps say only that they failed: a
    reader who must account for the spend had to add it up from `--format json`."""
    from ido.text import money

    cost = view["run"].get("cost")
    spent: dict[str, list[float]] = {}
    for decision in view["decisions"]:
        for action in decision["actions"]:
            if outcome_kind(action) == "failed" and action.get("cost"):
                spent.setdefault(str(action["capability"]), []).append(float(action["cost"]))
    if cost is None or not spent:
        return None
    total = sum(sum(costs) for costs in spent.values())
    each = ", ".join(
        f"{name} {money(sum(costs))}" + (f" ({len(costs)} calls)" if len(costs) > 1 else "")
        for name, costs in sorted(spent.items(), key=lambda item: -sum(item[1]))
    )
    return f"calls that failed cost {money(total)} of the {money(cost)}: {each}"


def model_use(decisions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What a run's model calls (its decisions', `llm` and `hybrid`) took: the calls made
    (asked of a model: neither answered from the cache nor left unmade, as for want of a
    key), their cost, input and output tokens, and the models asked. `ido runs` counts the
    same (`llm_cost`, `llm_tokens`)."""
    calls, cost, inputs, outputs = 0, 0.0, 0, 0
    models: list[str] = []
    for decision in decisions:
        llm = (decision.get("result") or {}).get("solver", {}).get("llm")
        if not isinstance(llm, Mapping):
            continue
        made = [c for c in made_calls(llm) if not c.get("cached")]
        if not made:
            continue
        calls += len(made)
        cost += float(llm.get("cost") or 0.0)
        inputs += int(llm.get("input_tokens") or 0)
        outputs += int(llm.get("output_tokens") or 0)
        if llm.get("model") and llm["model"] not in models:
            models.append(str(llm["model"]))
    return {"calls": calls, "cost": cost, "input": inputs, "output": outputs, "models": models}


def model_spend(view: Mapping[str, Any]) -> str | None:
    """What the run's model calls cost, of the run's cost: `model calls cost 0.3600 of the
    1.16: 2 calls of openai/gpt-4o-mini, 240 input + 60 output tokens`; None when no model
    was asked. Each decision told its own calls; the sum was in `ido runs` alone."""
    from ido.text import money

    used = model_use(view["decisions"])
    cost = view["run"].get("cost")
    if cost is None or not used["calls"]:
        return None
    of = f" of {', '.join(used['models'])}" if used["models"] else ""
    calls = f"{used['calls']} call{'s' if used['calls'] > 1 else ''}"
    return (
        f"model calls cost {used['cost']:.4f} of the {money(cost)}: {calls}{of},"
        f" {used['input']:,} input + {used['output']:,} output tokens"
    )
