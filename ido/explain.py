"""Explain a run from its journal: every decision, why it was made, what came of it."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ido.approvals import UNKNOWN_RULE, subject
from ido.approvers import people_needed
from ido.decision_record import refuse_unreadable
from ido.explain_calls import failed_spend, model_spend, model_use
from ido.explain_decisions import decision_parts
from ido.explain_policies import mark_policy_changes
from ido.explain_rejected import owned_rejections
from ido.journal.records import Event, RunRow
from ido.run_ends import no_plan_of
from ido.run_words import format_duration, format_wait, outcome_word
from ido.text import money, printable

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
    "run_interrupted",
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
        owner = f" (owner {e['owner']})" if e.get("owner") else ""
        return f"approval needed for {what}{by} ({e['rule']}{owner}: {e['message']})"
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
        if "process" not in e:  # its Temporal workflow's record: no process of ido gave it up
            return f"its worker was given up, and another worker resumes the run: {e.get('error')}"
        return f"stopped by an error, left for ido resume: {e.get('error')}"
    if kind == "run_interrupted":
        steps = e.get("steps") or []
        cut = f", cutting short step {', '.join(map(str, steps))}" if steps else ""
        return f"interrupted by {e.get('signal')}{cut}, left for ido resume"
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
            refuse_unreadable(run.id, event)
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
    mark_policy_changes(decisions)
    for d in decisions:  # whom to ask of a rule that ruled a capability out
        if d.get("policy_owners") and isinstance(d.get("result"), dict):
            d["result"] = owned_rejections(d["result"], d["policy_owners"])
    used = model_use(decisions)
    shown = {
        **run.to_json(),
        "running": live,
        "no_plan": no_plan_of(run.outcome, events),
        # as `ido runs --format json` lists them
        "llm_cost": used["cost"] if used["calls"] else 0.0,
        "llm_tokens": used["input"] + used["output"] if used["calls"] else 0,
    }
    return {"run": shown, "decisions": decisions, "events": other}


def outcome_of(run: Mapping[str, Any]) -> str:
    """A run view's outcome in words (`outcome_word`)."""
    return outcome_word(run["outcome"], bool(run.get("running")))


def _decision(decisions: list[dict[str, Any]], number: int) -> dict[str, Any]:
    return next(d for d in decisions if d["number"] == number)


def render(view: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(view, indent=2, sort_keys=True, default=str)
    lines = _markdown(view) if fmt == "md" else _text(view)
    # Each line as a terminal shows it, not acts on it: the journal's text (an intent's
    # name, a comment, an observed value) may hold an escape sequence or a line break.
    return "\n".join(map(printable, lines)) + "\n"


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


def nothing_decided(view: Mapping[str, Any]) -> str | None:
    """What a run not ended with no decision yet says under its summary (a report of one
    line read as cut off), or None."""
    if view["decisions"]:
        return None
    outcome = outcome_of(view["run"])
    if outcome == "interrupted":
        return (
            "no decision recorded: the run stopped before its first; "
            f"ido resume {view['run']['id']}{view.get('asked_with', '')} continues it"
        )
    return "no decision recorded yet: the run is making its first" if outcome == "running" else None


def asked_of(view: Mapping[str, Any]) -> str | None:
    """The run whose capabilities `ido explain RUN --why-not NAME` tells of; None for a
    decision made without a run (`ido plan`)."""
    if view["run"]["cost"] is None:
        return None
    # (`asked_with`: ` --journal PATH` when explain read a journal a plain one would not)
    return str(view["run"]["id"]) + str(view.get("asked_with", ""))


def _text(view: dict[str, Any]) -> list[str]:
    lines = [summary(view)]
    if view["run"]["reason"]:
        lines.append(f"reason: {view['run']['reason']}")
    lines += [said for said in (failed_spend(view), model_spend(view)) if said]
    lines += [said] if (said := nothing_decided(view)) else []
    told: dict[str, int] = {}
    for what, d in in_order(view):
        if what == "event":
            lines.append(event_line(d))
            continue
        lines += ["", f"decision {d['number']} · trigger: {d['trigger']} · planner {d['planner']}"]
        for title, items in decision_parts(d, asked_of(view), told=told).items():
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
    for spend in (failed_spend(view), model_spend(view)):
        lines += [] if spend is None else ["", f"**Spend:** {md(spend)}"]
    lines += ["", md(said)] if (said := nothing_decided(view)) else []
    told: dict[str, int] = {}
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
        for title, items in decision_parts(d, asked_of(view), told=told).items():
            lines += ["", f"**{title.capitalize()}**", ""]
            lines += [f"- {md(item)}" for item in items]
    return lines
