"""An explanation's words for one decision: its plan's steps, beliefs, constraints and
their slack, optimality, rejections, conflicts and approvals (`decision_parts`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ido.explain_calls import _action_line, _model_lines, shown
from ido.journal.records import model_calls
from ido.planner.limit_words import probability_against, shown_probability, written_probability
from ido.run_words import format_duration
from ido.text import money, printable

REASON_WORDS = {
    "denied": "denied by",
    "unreachable": "unreachable",
    "irrelevant": "not needed",
    "dominated": "dominated",
    "over_budget": "over budget",
    "over_deadline": "over deadline",
    "too_unreliable": "too unreliable",
}


EVALUATION_ERRORS = "evaluation errors (a condition: not satisfied; a deny or approval rule: fires)"
"""The heading of what could not be evaluated: a goal or `requires` does not hold, a `deny`
or `require_approval` rule fires, a `prefer` or `avoid` rule does not."""


def waits_of(plan: Mapping[str, Any]) -> list[list[int]]:
    """Per step, the earlier steps it waits for (a plain chain when the record has none)."""
    after = plan.get("after")
    if after:
        return [list(w) for w in after]
    return [[j - 1] if j else [] for j in range(len(plan["steps"]))]


def _money(value: float) -> str:
    """An amount to the cent, its thousands set apart (`12,345.50`), as `money` writes it."""
    return f"{value:,.2f}"


def _step_line(step: dict[str, Any]) -> str:
    return (
        f"{step['capability']} ({printable(step['provider'])}): cost {_money(step['cost'])}, "
        f"latency {format_duration(step['latency'])}, "
        f"reliability {shown_probability(step['reliability'])}"
    )


def _belief_line(name: str, belief: Any) -> str:
    if isinstance(belief, dict):
        return f"{name}: {belief['why']} (planned with {shown_probability(belief['reliability'])})"
    believed = shown_probability(belief)
    return f"{name}: reliability believed {believed} after failures in this run"  # older runs


def _waits(after: list[int]) -> str:
    if not after:
        return " · starts at once"
    return " · after " + ", ".join(str(i + 1) for i in after)


def rejection_line(rejection: Mapping[str, Any]) -> str:
    """`pay-us: denied by residency/pii-stays-in-eu: PII …`, as a decision lists it."""
    words = REASON_WORDS.get(rejection["reason"], rejection["reason"])
    if rejection.get("rule"):
        return f"{rejection['capability']}: {words} {rejection['rule']}: {rejection['detail']}"
    return f"{rejection['capability']}: {words}: {rejection['detail']}"


def _constraint_line(
    c: dict[str, Any], used: tuple[float, float], model: tuple[float, float] = (0.0, 0.0)
) -> str:
    """A constraint against the intent's own limit: the plan had what the run had not
    used (`used`: spent, elapsed), less what the decision's own model calls cost and took
    (`model`), each said apart."""
    if c["name"] == "deadline":
        elapsed = used[1] + model[1]
        value = f"{format_duration(c['value'])} of {format_duration(c['limit'] + elapsed)}"
        if elapsed >= 0.0005:
            value += f" ({_already(format_duration, elapsed, model[1], 'elapsed')})"
    elif c["name"] == "max_cost":
        spent = used[0] + model[0]
        value = f"{_money(c['value'])} of {_money(c['limit'] + spent)}"
        if spent > 0:
            # (`money`: a model call's 0.0030 read "0.00 already spent" two lines under
            # "cost 0.0030")
            value += f" ({_already(money, spent, model[0], 'spent')})"
    else:
        value = (
            f"{probability_against(c['value'], c['limit'])} ≥ {written_probability(c['limit'], 4)}"
        )
    mark = "  ← binding" if c["binding"] else ""
    return f"{c['name']}: {value}{mark}"


def _already(show: Callable[[float], str], total: float, model: float, verb: str) -> str:
    """`total` of a limit used before the plan, with the part the model calls used named:
    "1.42 already spent, 0.42 of it on this decision's model calls"."""
    said = f"{show(total)} already {verb}"
    if show(model) == show(0.0):
        return said
    if show(model) == show(total):
        return f"{said} on this decision's model calls"
    return f"{said}, {show(model)} of it on this decision's model calls"


def _optimality(result: Mapping[str, Any], approved: Mapping[str, Any] | None = None) -> str:
    """Why the chosen plan may not be the best, from what the planner recorded: an approved
    plan gone on with (`approved`: the check of it), a model proposed it, or chose another
    than the solver's best among the solver's options (the options past the chosen one are
    its alternatives), or the solver stopped short of a proof. Empty when the plan was
    proven optimal. Why an approved plan is asked again is the approved plan's line to say:
    said here too, it was said twice."""
    if result["proven_optimal"]:
        return ""
    solver = result.get("solver", {})
    # (journals of 2026-12-06 recorded why it was asked again in the solver's record too)
    if "approved" in solver and ("asked_again" in solver or (approved or {}).get("asked")):
        return f" (the plan of decision {solver['approved']}, not planned again)"
    if "approved" in solver:
        return f" (as approved in decision {result['solver']['approved']}, not planned again)"
    llm = result.get("solver", {}).get("llm") or {}
    verdict = "" if llm.get("fallback") else str(llm.get("verdict", ""))
    if verdict == "accepted":
        return " (proposed by the model, not proven optimal)"
    chose = re.fullmatch(r"chose option (\d+)", verdict)
    if chose is None or chose[1] == "1":
        return " (best found, not proven optimal)"
    # The alternatives are what is left of the solver's options once plan rules denied
    # some: how many there were, and which was first, is not theirs to say.
    said = f"chosen by the model: the solver's option {chose[1]}"
    best = min((a["score_delta"] for a in result.get("alternatives", [])), default=0.0)
    if best < 0:
        said += f"; the best of the solver's options listed scores {-best:.3f} better"
    return f" ({said})"


def _conflict_line(result: Mapping[str, Any]) -> str:
    """`minimal conflict: …`, or, when some member could not be tested, not called minimal."""
    members = ", ".join(result["conflict"])
    untested = result.get("conflict_untested") or []
    if not untested:
        return f"minimal conflict: {members}"
    return (
        f"conflict, not proven minimal: {members} (ido stopped looking before it knew "
        f"whether a plan gets through without {' or without '.join(untested)})"
    )


NOTHING_OBSERVED = "none of the facts the goal and the preconditions read is known"
"""What `observed` says when no fact it reads holds a value (a heading with nothing under
it read as output cut short)."""


def approved_line(check: Mapping[str, Any]) -> str:
    """What the check of an approved plan on resuming found (`ido.approved_plan`)."""
    plan = f"the approved plan (decision {check['decision']})"
    if check.get("holds") and check.get("asked"):
        return f"{plan} still holds: {check['why']}; but {check['asked']}: asked again"
    if check.get("holds"):
        return f"{plan} still holds: {check['why']}"
    return f"{plan} no longer holds: {check['why']}; planned again"


def decision_parts(d: dict[str, Any], told: dict[str, int] | None = None) -> dict[str, list[str]]:
    """A decision's sections, each a title and its lines. `told`: the evaluation errors
    shown at the run's earlier decisions, each with the first that showed it (added to):
    an error shown once is not repeated at every decision after it."""
    result = d["result"]
    parts: dict[str, list[str]] = {}
    # with the facts the rules that fired read (the amount a payout needed approval for)
    facts = sorted({**d["observed"], **d.get("rules_read", {})}.items())
    parts["observed"] = [f"{k} = {shown(v)}" for k, v in facts] or [NOTHING_OBSERVED]
    if d.get("beliefs"):
        parts["beliefs"] = [_belief_line(name, b) for name, b in d["beliefs"].items()]
    if d.get("approved"):
        parts["approved plan"] = [approved_line(d["approved"])]
    plan = result.get("plan")
    if result["status"] == "infeasible":
        parts["no plan"] = [result["reason"] or "no plan"]
        if result.get("conflict"):
            parts["no plan"].append(_conflict_line(result))
    elif result["status"] == "satisfied":
        parts["chosen"] = ["nothing to do: the goal already holds"]
    elif plan:
        optimal = _optimality(result, d.get("approved"))
        after = waits_of(plan)
        chain = all(list(w) == ([j - 1] if j else []) for j, w in enumerate(after))
        latency = format_duration(plan["latency"])
        if not chain:
            latency += f" on the critical path ({format_duration(plan['work'])} of work)"
        head = (
            f"cost {_money(plan['cost'])}, latency {latency}, "
            f"success {shown_probability(plan['success_probability'])}, "
            f"score {plan['score']:.3f}{optimal}"
        )
        parts["chosen"] = [head] + [
            f"{i}. {_step_line(s)}{'' if chain else _waits(w)}"
            for i, (s, w) in enumerate(zip(plan["steps"], after), start=1)
        ]
    llm = result.get("solver", {}).get("llm")
    if llm:  # what a model or its provider said is shown as text, never acted on
        parts["model"] = [printable(line) for line in _model_lines(llm)]
    if result.get("constraints"):
        used = (d.get("spent", 0.0), d.get("elapsed", 0.0))
        model = model_calls(llm)
        parts["constraints"] = [_constraint_line(c, used, model) for c in result["constraints"]]
    unsettled = result.get("solver", {}).get("alternatives_unsettled", [])
    if result.get("alternatives") or unsettled:
        parts["alternatives"] = [
            f"{a['score_delta']:+.3f} score: {a['why']}" for a in result.get("alternatives", [])
        ] + [f"not settled, left out: {why}" for why in unsettled]
    useful = [r for r in result.get("rejections", []) if r["reason"] != "irrelevant"]
    if useful:
        parts["rejected"] = [rejection_line(r) for r in useful]
    if d.get("policy"):
        parts["policy decisions"] = [
            f"{h['id']} {h['verdict']} {h['subject']}: {h['rule']}: {h['message']}"
            for h in d["policy"]
        ]
    errors = list(result.get("condition_errors", [])) + list(d.get("policy_errors", []))
    if errors:
        parts[EVALUATION_ERRORS] = errors if told is None else _once(errors, d["number"], told)
    if d["actions"]:
        parts["what happened"] = [_action_line(a) for a in d["actions"]]
    return parts


def _once(errors: list[str], number: int, told: dict[str, int]) -> list[str]:
    """`errors` less those an earlier decision showed, counted in a line of their own
    (`the same as at decision 1`, `and 2 more as at decision 1`): a goal that cannot be
    evaluated fails so at every decision of the run, and was told at each."""
    new = [e for e in errors if e not in told]
    before = sorted({told[e] for e in errors if e in told})
    told.update(dict.fromkeys(new, number))
    if not before:
        return new
    at = "decisions " + ", ".join(map(str, before)) if len(before) > 1 else f"decision {before[0]}"
    again = len(errors) - len(new)
    if not new:
        return [f"the same as at {at}"]
    return [*new, f"and {again} more as at {at}"]
