"""An explanation's words for one decision: its plan's steps, beliefs, constraints and
their slack, optimality, rejections, conflicts and approvals (`decision_parts`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from ido.explain_calls import _action_line, _model_lines, shown
from ido.explain_policies import CHANGED, changed_lines
from ido.explain_rejected import policy_lines, rejected_lines
from ido.journal.records import model_calls
from ido.planner.limit_words import probability_against, shown_probability, written_probability
from ido.planner.types import MOST_CONFLICTS
from ido.run_words import format_duration
from ido.text import money, printable

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


def _constraint_line(
    c: dict[str, Any], used: tuple[float, float], model: tuple[float, float] = (0.0, 0.0)
) -> str:
    """A constraint against the intent's own limit: the plan had what the run had not
    used (`used`: spent, elapsed), less what the decision's own model calls cost and took
    (`model`), each said apart, and added up: `max_cost: plan 2.96 + 0.35 spent = 3.31 of
    5.00`; `max_cost: plan 2.86 of 5.00` when the run had used none. (It read `2.96 of
    5.00 (0.35 already spent)`: the plan's cost, the total or what was left, no one could
    tell.)"""
    if c["name"] == "deadline":
        elapsed = used[1] + model[1]
        limit = c["limit"] + elapsed
        if elapsed >= 0.0005:
            unit = _one_unit(c["value"], elapsed, model[1], limit)
            value = _added(
                (unit, unit, unit), _seconds, c["value"], elapsed, model[1], limit, "elapsed"
            )
        else:
            value = f"plan {format_duration(c['value'])} of {format_duration(limit)}"
    elif c["name"] == "max_cost":
        spent = used[0] + model[0]
        limit = c["limit"] + spent
        if spent > 0:
            # `money`: a model call's 0.0030 read "0.00 spent" under "cost 0.0030"; and
            # the sum as finely: "0.80 + 0.0030 = 0.80" read as a slip.
            fine = 0 < spent < 0.005 or 0 < model[0] < 0.005
            total = (lambda v: f"{v:,.4f}") if fine else money
            value = _added(
                (money, total, _money), _amount, c["value"], spent, model[0], limit, "spent"
            )
        else:
            value = f"plan {_money(c['value'])} of {_money(limit)}"
    else:
        value = (
            f"{probability_against(c['value'], c['limit'])} ≥ {written_probability(c['limit'], 4)}"
        )
    mark = "  ← binding" if c["binding"] else ""
    return f"{c['name']}: {value}{mark}"


Show = Callable[[float], str]


def _added(
    shows: tuple[Show, Show, Show],
    finely: Callable[[float, int], str],
    plan: float,
    total: float,
    model: float,
    limit: float,
    verb: str,
) -> str:
    """The plan's share of a limit and what the run used of it before (`total`), added up
    against the limit, with the part the decision's model calls used named: `plan 2.86 +
    1.42 spent = 4.28 of 5.00 (0.42 of the 1.42 on this decision's model calls)`. `shows`
    writes the parts, their sum and the limit; where the parts so rounded do not add up to
    the sum (`0.01 + 0.01 = 0.01` of 0.005 and 0.005; `1s + 1s = 2.001s`), all are written
    `finely`, to as many decimal places as make them add up."""
    show, summed, of = shows
    for places in (0, 4, 6, 8, 10, 12):
        if places:
            show = summed = _at(finely, places)
        part, used, whole = _read(show(plan)), _read(show(total)), _read(summed(plan + total))
        if part is not None and used is not None and part + used == whole:
            break
    said = f"{show(total)} {verb}"
    note = ""
    if show(model) == show(total):
        said += " on this decision's model calls"
    elif show(model) != show(0.0):
        note = f" ({show(model)} of the {show(total)} on this decision's model calls)"
    most, ceiling = _read(summed(plan + total)), of(limit)
    for places in (0, 4, 6, 8, 10, 12):  # within the limit, never read over it
        if most is None or (_read(ceiling) or 0) >= most or limit < plan + total:
            break
        ceiling = finely(limit, places) if places else summed(limit)
    return f"plan {show(plan)} + {said} = {summed(plan + total)} of {ceiling}{note}"


def _one_unit(plan: float, used: float, model: float, limit: float) -> Show:
    """How durations added up are all written, in one unit: the largest that writes each
    whole (`1h + 1h = 2h of 3h`), else milliseconds when all are under a second and so
    rounded add up, else seconds (`3600s + 0.5s = 3600.5s of 7200s`; it read `1h + 500ms =
    3600.5s of 2h`, a sum no one could check at a glance). (Milliseconds that did not add
    up were written finely in seconds, but the limit in milliseconds: `0.5s + 0.0015s =
    0.5015s of 800ms`.)"""
    millis = [round(s * 1000) for s in (plan, used, model, plan + used, limit)]
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)):
        if all(m % size == 0 for m in millis) and any(millis):
            return lambda value: f"{round(value * 1000) / size:.0f}{unit}"
    if all(abs(m) < 1000 for m in millis) and millis[0] + millis[1] == millis[3]:
        return lambda value: f"{round(value * 1000):.0f}ms"
    return lambda value: _seconds(round(value, 3), 3)


def _at(finely: Callable[[float, int], str], places: int) -> Show:
    return lambda value: finely(value, places)


def _amount(value: float, places: int) -> str:
    return f"{value:,.{places}f}"


def _seconds(value: float, places: int) -> str:
    return f"{value:.{places}f}".rstrip("0").rstrip(".") + "s"


_UNITS = {
    "ms": Decimal("0.001"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
    "d": Decimal(86400),
}


def _read(text: str) -> Decimal | None:
    """The amount or seconds `text` reads as (None: `<1ms`, or no number, no amount to
    add)."""
    if text.startswith("<"):
        return None
    for unit in ("ms", "s", "m", "h", "d"):  # (`ms` before `s`)
        if text.endswith(unit):
            text, size = text[: -len(unit)], _UNITS[unit]
            break
    else:
        size = Decimal(1)
    read = Decimal(text.replace(",", "")) * size
    return read if read.is_finite() else None


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
    """`minimal conflict: …`, or, when some member could not be tested, not called minimal;
    with others found, each (`minimal conflicts: a, b; c, d`): a way out relaxes a member
    of each, and named one alone, the reason's way out read as relaxing another pair."""
    members = ", ".join(result["conflict"])
    untested = result.get("conflict_untested") or []
    others = result.get("other_conflicts") or []
    if others and not untested:
        every = "; ".join(", ".join(c) for c in [result["conflict"], *others])
        more = f"; ido names {MOST_CONFLICTS} at most" if len(others) + 1 >= MOST_CONFLICTS else ""
        return f"minimal conflicts: {every} (a way out relaxes a member of each{more})"
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


def decision_parts(
    d: dict[str, Any],
    run: str | None = None,
    every_name: bool = False,
    told: dict[str, int] | None = None,
) -> dict[str, list[str]]:
    """A decision's parts, titled, a list of lines each. On a big catalog the rejections
    are grouped by reason (`ido.explain_rejected`): `run` is the run to name in asking for
    one, `every_name` names every capability rejected (an HTML page, searched by name).
    `told`: the evaluation errors shown at the run's earlier decisions, each with the first
    that showed it (added to): an error shown once is not repeated at every decision after it."""
    result = d["result"]
    parts: dict[str, list[str]] = {}
    # with the facts the rules that fired read (the amount a payout needed approval for)
    facts = sorted({**d["observed"], **d.get("rules_read", {})}.items())
    parts["observed"] = [f"{k} = {shown(v)}" for k, v in facts] or [NOTHING_OBSERVED]
    if d.get("beliefs"):
        parts["beliefs"] = [_belief_line(name, b) for name, b in d["beliefs"].items()]
    if d.get(CHANGED):
        parts["policies changed"] = changed_lines(d[CHANGED])
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
    rejected = rejected_lines(result.get("rejections", []), run, every_name)
    if rejected:
        parts["rejected"] = rejected
    if d.get("policy"):
        parts["policy decisions"] = policy_lines(d["policy"], every_name, d.get("policy_owners"))
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
