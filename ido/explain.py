"""Explain a run from its journal: every decision, why it was made, what came of it."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ido.approvals import UNKNOWN_RULE, subject
from ido.approvers import people_needed
from ido.journal.records import UNRECORDED, Event, RunRow, made_calls, model_calls
from ido.model import format_duration, format_wait
from ido.planner.limit_words import probability_against, shown_probability, written_probability
from ido.text import money, printable, shortened, visible

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


_EVENTS = (
    "approval_required",
    "observer_failed",
    "run_resumed",
    "effects_missing",
    "compensation_skipped",
    "compensation_finished",
    "compensation_retried",
    "approval_given",
    "approval_rejected",
    "run_released",
    "process_stopped",
    "action_repeated",
)


def observer_failed(name: str, reason: str) -> str:
    """`observer NAME failed: REASON`, as a run, `ido plan` and `ido explain` tell it."""
    return f"observer {name} failed: {reason}"


def _reason_of(name: str, error: str) -> str:
    """Why an observer failed, from its error as a journal recorded it before it kept the
    reason apart (`reason`): without the name the error starts with (said once: `observer
    stock failed: observer stock: HTTP 500 …` said it twice)."""
    for named in (f"observer {name}: ", f"observer {name} "):
        if error.startswith(named):
            return error.removeprefix(named)
    return error  # recorded without its name (a secret it lacked, before 2026-12-06)


def event_line(e: dict[str, Any]) -> str:
    """One line for a run event that is not a decision or an action."""
    kind = e["kind"]
    if kind == "observer_failed":
        kept = "; its last report stands" if e.get("kept_last_report") else ""
        reason = e["reason"] if "reason" in e else _reason_of(e["observer"], e["error"])
        return f"{observer_failed(e['observer'], reason)}{kept}"
    if kind == "compensation_finished":
        undone = f"{e['undoes']} (step {e['undoes_step']})"
        attempt = int(e.get("attempt") or 1)  # (recorded since compensations are retried)
        if e["ok"]:
            on = f" on attempt {attempt}" if attempt > 1 else ""
            return f"compensation: {e['capability']} undid {undone}: done{on}"
        after = f" after {attempt} attempts" if attempt > 1 else ""
        return (
            f"compensation: {e['capability']} could not undo {undone}: failed{after}: {e['error']}"
        )
    if kind == "compensation_retried":
        undone = f"{e['undoes']} (step {e['undoes_step']})"
        wait = float(e.get("backoff") or 0.0)
        after = f" after {format_duration(wait)}" if wait else ""
        return (
            f"compensation: {e['capability']} could not undo {undone} on attempt "
            f"{e['attempt']}: failed: {e['error']}; trying again{after}"
        )
    if kind == "compensation_skipped":
        undone = f"{e['capability']} could not undo {e['undoes']} (step {e['undoes_step']})"
        if "rule" in e and e["effect"] == "deny":  # a policy kept it from running
            return f"compensation: {undone}: denied by {e['rule']}: {e['message']}"
        if "refused" in e:  # a person said no, or let the request's last wait pass
            return f"compensation: {undone}: {e['refused']}: not done"
        if "rule" in e:  # recorded before undoing waited for a person's approval
            return (
                f"compensation: {undone}: needs approval ({e['rule']}: {e['message']}), "
                "which undoing does not wait for: not done"
            )
        return f"compensation: {undone}: requires {e['requires']!r}"
    if kind == "approval_required":
        what = subject(int(e.get("step", 0)), e["capability"])
        by = people_needed(int(e.get("approvers", 1)))
        return f"approval needed for {what}{by} ({e['rule']}: {e['message']})"
    if kind in ("approval_given", "approval_rejected"):
        verb = "approved" if kind == "approval_given" else "rejected"
        why = f": {e['comment']}" if e.get("comment") else ""
        what = subject(int(e.get("step", 0)), e["capability"])
        escalated = f" (escalated to {e['escalated_to']})" if e.get("escalated_to") else ""
        of = f", approval {e['approval']} of {e['approvers']}" if e.get("approval") else ""
        # when, as the journal stamps it (a run's report is where an auditor asks "who
        # approved this, and when"); a progress line, told as it happens, has none
        at = f" at {e['at']}" if e.get("at") else ""
        return f"{verb} by {e['by']}{at}{escalated}: {what} ({e['rule']}{of}){why}"
    if kind == "run_released":
        return f"stopped by an error, left for ido resume: {e.get('error')}"
    if kind == "effects_missing":
        return f"silent failure: {e['reason']}"
    if kind == "process_stopped":
        pids = ", ".join(map(str, e["pids"]))
        return (
            f"step {e['step']} ({e['capability']}) was still running from before the "
            f"interruption (process {pids}): killed before the step was settled"
        )
    if kind == "action_repeated":
        return f"step {e['step']} ({e['capability']}) performed again, as approved"
    if kind == "run_resumed":
        if e.get("after") == "compensate":
            return f"ido compensate: undoing again {undoing_again(e['compensate'])}"
        if e.get("after") == "approval":
            waited = f" {format_wait(float(e['waited']))}" if "waited" in e else ""
            if e.get("fails"):  # a "no", or a request left past its last wait: not resumed
                return f"failed after waiting{waited} for approval: {e['fails']}"
            if not waited:  # recorded before waits were measured
                return "resumed after waiting for approval"
            return f"resumed after waiting{waited} for approval (the deadline does not count it)"
        steps = ", ".join(map(str, e["interrupted_steps"])) or "none"
        return f"resumed after an interruption (steps in flight: {steps})"
    shown = (f"{k}={v}" for k, v in e.items() if k not in ("kind", "at", "seq"))
    return f"{kind}: " + ", ".join(shown)


def undoing_again(steps: Sequence[Sequence[Any]]) -> str:
    """The steps `ido compensate` undoes again, as a run's reason names them:
    `charge (step 1), pack (step 2)`."""
    return ", ".join(f"{name} (step {step})" for step, name in steps)


def in_order(view: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """A run view's decisions and other events as ("decision" or "event", it), in the order
    the journal holds them (`seq`): an approval asked for, given and resumed after stands
    between the decisions it came between, not after them all. A view without `seq` (made
    before it was kept) keeps its decisions first."""
    told = [e for e in view["events"] if not repeated(e["kind"], e)]
    items = [("decision", d) for d in view["decisions"]] + [("event", e) for e in told]
    return sorted(items, key=lambda item: item[1].get("seq", math.inf))


def repeated(kind: str, data: Mapping[str, Any]) -> bool:
    """Whether an event of `kind` is an observer's failure recorded again, as it was last,
    with no report between: told once (a failing observer was told before every step and
    decision, the same line), by `ido explain` and by a run's progress lines alike."""
    return kind == "observer_failed" and bool(data.get("again"))


def waits_of(plan: Mapping[str, Any]) -> list[list[int]]:
    """Per step, the earlier steps it waits for (a plain chain when the record has none)."""
    after = plan.get("after")
    if after:
        return [list(w) for w in after]
    return [[j - 1] if j else [] for j in range(len(plan["steps"]))]


def stages(after: Sequence[Sequence[int]]) -> list[int]:
    """Per step, its stage: one more than the latest stage of the steps it waits for, so
    steps in one stage wait for nothing in it and may run side by side."""
    stage: list[int] = []
    for waits in after:
        stage.append(1 + max((stage[i] for i in waits), default=-1))
    return stage


def run_view(run: RunRow, events: Sequence[Event], running: bool = False) -> dict[str, Any]:
    """The run as one JSON document: decisions, each with the actions taken under it.
    `running`: a run that has not ended is being carried on now (not interrupted)."""
    decisions: list[dict[str, Any]] = []
    started: dict[int, dict[str, Any]] = {}
    finished: dict[int, dict[str, Any]] = {}
    other: list[dict[str, Any]] = []
    for event in events:
        if event.kind == "decided":
            decisions.append({**event.data, "at": event.at, "seq": event.seq, "actions": []})
        elif event.kind == "action_started":
            started[event.data["step"]] = {**event.data, "started_at": event.at}
        elif event.kind == "action_finished":
            action = {**started.pop(event.data["step"], {}), **event.data, "at": event.at}
            _decision(decisions, action["decision"])["actions"].append(action)
            finished[action["step"]] = action
        elif event.kind in _EVENTS:
            if event.kind == "effects_missing" and event.data.get("step") in finished:
                # It reported success, but what it declared did not show: not a success.
                finished[event.data["step"]]["silent"] = event.data.get("reason", "")
            unknown = event.data.get("rule") == UNKNOWN_RULE  # (others' steps: plan places)
            if event.kind == "approval_required" and unknown and event.data.get("step") in started:
                # A timed-out call whose outcome a person decides: in flight until then.
                started[event.data["step"]]["unknown"] = event.data.get("cause")
            data = {k: v for k, v in event.data.items() if k != "process"}
            other.append({"kind": event.kind, "at": event.at, "seq": event.seq, **data})
    live = running and run.outcome is None
    for action in started.values():  # started, never finished: in flight or interrupted
        unfinished = {**action, "ok": None, **({"running": True} if live else {})}
        _decision(decisions, action["decision"])["actions"].append(unfinished)
    shown = {**run.to_json(), "running": live}
    return {"run": shown, "decisions": decisions, "events": other}


def outcome_of(run: Mapping[str, Any]) -> str:
    """A run view's outcome in words (`outcome_word`)."""
    return outcome_word(run["outcome"], bool(run.get("running")))


def outcome_word(outcome: str | None, running: bool) -> str:
    """A run's outcome in words: one that has not ended is running (a process carries it
    on) or interrupted (left for `ido resume`)."""
    return outcome or ("running" if running else "interrupted")


def shown(value: Any) -> str:
    """A value as JSON writes it, its text as written ("Café", not "Caf\\u00e9"), with
    what a terminal would act on escaped (`printable`)."""
    return printable(json.dumps(value, ensure_ascii=False))


def _decision(decisions: list[dict[str, Any]], number: int) -> dict[str, Any]:
    return next(d for d in decisions if d["number"] == number)


def render(view: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(view, indent=2, sort_keys=True, default=str)
    lines = _markdown(view) if fmt == "md" else _text(view)
    # Each line as a terminal shows it, not acts on it: the journal's text (an intent's
    # name, a comment, an observed value) may hold an escape sequence or a line break.
    return "\n".join(map(printable, lines)) + "\n"


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


def summary(view: dict[str, Any]) -> str:
    """`run r… · intent x · achieved · cost 3.95 · 4.871s`; of a decision made without a run
    (`ido plan`, cost None), what was decided alone: it read `cost 0.00 · -` above a plan
    of cost 3.95."""
    run = view["run"]
    outcome = outcome_of(run)
    if run["cost"] is None:
        return f"plan · intent {run['intent']} · {outcome}"
    duration = format_wait(run["duration"]) if run["duration"] is not None else "-"
    return (
        f"run {run['id']} · intent {run['intent']} · {outcome} · "
        f"cost {money(run['cost'])} · {duration}"
    )


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


def decision_parts(d: dict[str, Any]) -> dict[str, list[str]]:
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
        parts[EVALUATION_ERRORS] = errors
    if d["actions"]:
        parts["what happened"] = [_action_line(a) for a in d["actions"]]
    return parts


def _text(view: dict[str, Any]) -> list[str]:
    lines = [summary(view)]
    if view["run"]["reason"]:
        lines.append(f"reason: {view['run']['reason']}")
    for what, d in in_order(view):
        if what == "event":
            lines.append(event_line(d))
            continue
        lines += ["", f"decision {d['number']} · trigger: {d['trigger']} · planner {d['planner']}"]
        for title, items in decision_parts(d).items():
            lines.append(f"  {title}:")
            lines += [f"    {item}" for item in items]
    return lines


_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_[]<>~&|#!"} | {"\n": " ", "\r": " "})


def markdown_text(text: str) -> str:
    """`text` as Markdown that shows it as written: an observed value, a service's error or
    an approver's comment must not make a link, an image, HTML or emphasis of the report.
    (A renderer that links bare URLs, as GitHub's does, still links one: the text shown is
    then the address it goes to.)"""
    return text.translate(_MARKDOWN)


def _markdown(view: dict[str, Any]) -> list[str]:
    md = markdown_text
    lines = [f"# {md(summary(view))}"]
    if view["run"]["reason"]:
        lines += ["", f"**Reason:** {md(view['run']['reason'])}"]
    for what, d in in_order(view):
        if what == "event":
            lines += ["", f"- {md(event_line(d))}"]
            continue
        lines += [
            "",
            f"## Decision {d['number']}: {md(d['trigger'])}",
            "",
            f"Planner: {md(d['planner'])}",
        ]
        for title, items in decision_parts(d).items():
            lines += ["", f"**{title.capitalize()}**", ""]
            lines += [f"- {md(item)}" for item in items]
    return lines
