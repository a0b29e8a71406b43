"""What a run says as it goes and as it ends: progress lines, outcome lines, exit codes."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer

from ido.cli.common import INFEASIBLE, _tell, _with_journal, exit_of


def _no_plan(reason: str) -> str:
    """An infeasible decision's reason as its line says it: `no plan: …`, said once when
    the reason says it already (`no plan: no plan reaches 'state.app.up': …`)."""
    return reason if reason.startswith("no plan") else f"no plan: {reason}"


def _report(report: Any, journal: Path) -> None:
    for line in _outcome_lines(report, journal):
        _tell(line)
    raise typer.Exit(run_exit(report, journal))


def run_exit(report: Any, journal: Path) -> int:
    """The exit code of a run that ended (`exit_of`): for a failed run, whether it found
    no plan before it did anything as its report says (`RunReport.found_no_plan`, told
    from its events as it ended). Its events are read again from `journal` only for a
    report that does not say (a Temporal worker of an ido before it was sent): read
    twice, a failed run of a wide catalog parsed every decision twice on its way out."""
    if report.outcome != "failed":
        return exit_of(report.outcome, ())
    said = getattr(report, "found_no_plan", None)
    if isinstance(said, bool):
        return INFEASIBLE if said else exit_of(report.outcome, ())
    from ido.journal.sqlite import SqliteJournal

    with SqliteJournal(journal, reading=True) as store:
        return exit_of(report.outcome, store.events(report.run_id))


def _ended(report: Any) -> str:
    """A run's outcome and cost: `achieved: run r…, cost 0.80` (`blocked: run r…, cost
    0.0014` of a run that paid only for model calls: `ido.text.money`)."""
    from ido.text import money

    return f"{report.outcome}: run {report.run_id}, cost {money(report.cost)}"


def _outcome_lines(report: Any, journal: Path) -> list[str]:
    """How a run ended, as `ido run`, `resume` and `runner` say it: the outcome and cost,
    the reason, and the command that explains it."""
    reason = [f"reason: {report.reason}"] if report.reason else []
    return [
        _ended(report),
        *reason,
        f"why: {_with_journal(f'ido explain {report.run_id}', journal)}",
    ]


def _stages(plan: Mapping[str, Any]) -> str:
    """`a + b → c`: steps in the same stage wait for nothing in the stages after."""
    from ido.explain import stages
    from ido.explain_decisions import waits_of

    names = [s["capability"] for s in plan["steps"]]
    grouped: dict[int, list[str]] = {}
    for name, level in zip(names, stages(waits_of(plan))):
        grouped.setdefault(level, []).append(name)
    return " → ".join(" + ".join(group) for _, group in sorted(grouped.items()))


def _progress(kind: str, data: Mapping[str, Any], prefix: str = "") -> None:
    for line in _progress_lines(kind, data):
        _tell(prefix + line)


FALLBACK_WORDS = 200
"""How much of the model planner's verdict a progress line shows; explain shows it all."""


def _fallen_back(result: Mapping[str, Any]) -> str:
    """What a decision's progress line adds when a model planner's solver decided instead
    of the model (the call failed, no proposal held, a plan rule overruled it): without it
    the run's output read as the model's plan, and only explain said otherwise."""
    from ido.text import printable, shortened

    llm = result.get("solver", {}).get("llm") or {}
    if not llm.get("fallback"):
        return ""
    verdict = shortened(printable(str(llm.get("verdict") or "")), FALLBACK_WORDS)
    model = f" {llm['model']}" if llm.get("model") else ""
    return f" · decided by {llm['fallback']}, not the model{model}: {verdict}"


def _clock(seconds: float) -> str:
    """How long a step has run, to the second: `45s`, `12m05s`, `2h03m10s`."""
    whole = int(seconds)
    hours, minutes, rest = whole // 3600, whole // 60 % 60, whole % 60
    if hours:
        return f"{hours}h{minutes:02d}m{rest:02d}s"
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


def _decided_lines(data: Mapping[str, Any]) -> list[str]:
    """A decision as a run goes: its plan in a line; made on resuming after an approval, the
    plan said `as approved` while it held, else what no longer held (`ido.approved_plan`)."""
    from ido.explain_decisions import approved_line
    from ido.text import money, printable

    result, check = data["result"], data.get("approved")
    head = f"decision {data['number']} ({data['trigger']})"
    if check and check.get("holds") and check.get("asked"):
        head += f", the plan of decision {check['decision']}, asked again ({check['asked']})"
    elif check and check.get("holds"):
        head += f", the plan approved in decision {check['decision']} still holds"
    if result["status"] == "planned":
        steps = _stages(result["plan"])
        line = (
            f"{head}: {steps} (cost {money(result['plan']['cost'])}, "
            f"score {result['plan']['score']:.3f}){_fallen_back(result)}"
        )
    elif result["status"] == "infeasible":
        line = f"{head}: {_no_plan(result['reason'])}{_fallen_back(result)}"
    else:
        line = f"{head}: goal already holds"
    if check is None or check.get("holds"):
        return [line]
    return [f"  {printable(approved_line(check))}", line]


def _progress_lines(kind: str, data: Mapping[str, Any]) -> list[str]:
    from ido.explain import event_line, repeated, undoing_again

    if kind == "run_started":
        return [f"run {data['run_id']} · intent {data['intent']}"]
    if kind == "decided":
        return _decided_lines(data)
    if kind == "planning":
        from ido.planning_words import describe

        return [f"  … decision {data['decision']}: {describe(data)}"]
    if kind == "action_started":
        wait = f", after {data['backoff']:g}s backoff" if data.get("backoff") else ""
        undoing = f", undoing step {data['undoes_step']}" if "undoes_step" in data else ""
        return [f"  ▶ {data['capability']} (attempt {data['attempt']}{wait}{undoing})"]
    if kind == "step_running":  # a long step, now and then (`ido.runtime.step_words`)
        from ido.model import format_duration

        expected = data.get("expected")
        of = f" (expected {format_duration(expected)})" if expected else ""
        return [f"  … {data['capability']} still running, {_clock(data['seconds'])}{of}"]
    if kind == "action_repeated":  # it may take a while: say what runs
        return [f"  ▶ {data['capability']} (step {data['step']} again, as approved)"]
    if kind == "action_again":  # an idempotent step cut short, made again on resume
        return [f"  ▶ {data['capability']} (step {data['step']} again, on resume: idempotent)"]
    if kind == "action_finished":
        from ido.model import format_duration

        took = format_duration(data["duration"])
        if data.get("settled"):  # a timed-out call the observation after it settled
            mark = "✓" if data["ok"] else "✗"
            return [f"  {mark} {data['capability']} {data['error']}; {data['settled']}"]
        if data.get("resumed") == "effects observed":  # settled on resume: never timed
            return [f"  ✓ {data['capability']}: interrupted; its effects were observed on resume"]
        if data["ok"]:  # and what it gave back that later steps will not find, if so
            note = f"; {data['note']}" if data.get("note") else ""
            return [f"  ✓ {data['capability']} in {took}{note}"]
        if data.get("timed_out"):  # its error says so, and after how long it was cut off
            return [f"  ✗ {data['capability']} {data['error']}"]
        if data.get("interrupted"):  # settled on resume: how long it ran is not known
            return [f"  ✗ {data['capability']}: {data['error']}"]
        return [f"  ✗ {data['capability']} after {took}: {data['error']}"]
    if kind == "approval_required" and data.get("cause"):
        # A call that timed out with its outcome unknown ends here for now: said as it ends,
        # not only in the blocked run's reason (side by side, other steps go on meanwhile).
        return [
            f"  ? {data['capability']} {data['cause']}; its outcome is unknown, "
            "and a person decides whether to perform it again"
        ]
    if kind == "run_resumed":
        if data.get("compensate"):  # `ido compensate`
            return [f"undoing again {undoing_again(data['compensate'])}"]
        if data.get("fails"):  # a "no" or an expired request: it ends here (undoing its steps)
            return [f"not going on: {data['fails']}"]
        steps = data["interrupted_steps"]
        open_steps = f"; settling step(s) {', '.join(map(str, steps))}" if steps else ""
        return [f"resuming{open_steps}"]
    if repeated(kind, data):
        return []  # the same failure as its last: told once (explain --format json has all)
    if kind in (
        "observer_failed",
        "effects_missing",
        "compensation_finished",
        "compensation_retried",
        "compensation_skipped",
        "process_stopped",
    ):
        return [f"  ! {event_line({'kind': kind, **data})}"]
    return []
