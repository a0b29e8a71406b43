"""How to rebuild a run from the journal to resume after a crash (its state, folded from the
events: `ido.runtime.folds`).

The journal is the run: every effect, attempt, failure and decision is an event committed
before the next side effect. Folding the events back gives the state the runtime held when
it stopped, plus the steps it had started without recording how they ended.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ido.approvals import UNKNOWN_RULE, Key
from ido.errors import IdoError, JournalError
from ido.health import Lesson
from ido.journal.records import Event, RunRow, epoch, paid_in, scenario_of
from ido.loading.catalog import Catalog
from ido.model import recorded_intent
from ido.runtime.folds import (
    RunState,
    fold_done,
    fold_finish,
    fold_lessons,
    fold_missing,
    fold_model_calls,
    fold_undone,
    tells_of_provider,
)
from ido.runtime.owners import live_owner
from ido.state import State, digest

if TYPE_CHECKING:
    from ido.runtime.environment import Environment

STARTED = "run started"
"""The trigger of a run's first decision."""


AFTER_INTERRUPTION = "resumed after an interruption"
"""The trigger of the decision a run makes on resuming after it was interrupted."""


AFTER_APPROVAL = "resumed after waiting for approval"
"""The trigger of the decision a run makes on resuming after a person's verdict."""


NOT_REPLANS = frozenset({STARTED, AFTER_INTERRUPTION, AFTER_APPROVAL})
"""Triggers of decisions that are no replan: `limits.max_replans` does not count them."""


@dataclass(frozen=True)
class Interrupted:
    """A step whose start is in the journal and whose end is not."""

    step: int
    capability: str
    attempt: int
    idempotency_key: str
    decision: int
    undoing: Mapping[str, Any] | None = None
    """For a compensation: what it undoes and why (`undoes`, `undoes_step`, `capability`,
    `reason`), to record it as one once it is settled."""
    cause: str | None = None
    """What left its outcome unknown when no interruption did: its call timed out
    (`timed out after 10s`, `stopped at the deadline after 3s`), as the request for a
    person's decision on it says (`ido.runtime.settling.Settling._ask`)."""
    repeated: bool = False
    """Whether it was being made again, as a person approved, when it was cut short: its
    outcome is unknown again, and the approval was for one repeat."""

    @property
    def how(self) -> str:
        """What left its outcome unknown, as a request and a run's reason say it."""
        return "was interrupted" if self.cause is None else self.cause


@dataclass(frozen=True)
class Recovered:
    run: RunState
    planner: str
    interrupted: tuple[Interrupted, ...]
    lessons: tuple[Lesson, ...]
    """What the run learnt since it last stopped and stored it (blocked), or since its start."""
    observed: State
    """The last state observed before the interruption (what interrupted steps were planned on)."""
    blocked_at: float | None = None
    """When the run stopped to wait for approval, if that is how it stopped."""
    compensating: str | None = None
    """Why the run failed, when it had begun undoing its steps: it goes on undoing them."""


def refuse_ended(row: RunRow) -> None:
    """Refuse a run that ended (achieved, failed, shadow): only an interrupted or blocked
    run resumes. `ido resume` asks before it loads the run's catalog, which an ended run
    does not need (its `--catalog` gone since was refused instead, asking for it)."""
    if row.outcome not in (None, "blocked"):
        raise IdoError(
            f"run {row.id} already ended ({row.outcome}); only an interrupted or blocked run "
            "can resume"
        )


def recover(
    row: RunRow,
    events: list[Event],
    catalog: Catalog,
    world: Environment | None = None,
    again: bool = False,
    handed: bool = False,
) -> Recovered:
    """Rebuild a run from its events; refuses a finished run or one still running here.
    `again`: a failed run whose compensations `ido compensate` tries again (`to_undo_again`
    checked it). `handed`: a run its carrier handed over (`LocalRuntime.carry_on`), whose
    last process may live on.

    `world`: where the resume acts (the runtime's `Environment`; None: the real world). A
    scenario's run goes on in its simulated world only, as its scripted verdicts continue
    it. One that shares beliefs stored what the run learnt in the journal as it blocked; a
    simulated one did not, so all it learnt is recovered."""
    simulates = None if world is None else world.simulates
    shared = True if world is None else world.shares_beliefs
    if not again:
        refuse_ended(row)
    if not events or events[0].kind != "run_started":
        raise JournalError(f"run {row.id} has no run_started event; the journal is inconsistent")
    if row.outcome is None and not handed:  # a blocked or failed run has ended; its process
        _refuse_if_alive(row.id, events)  # may live on
    started = events[0].data
    scenario = scenario_of(events)
    if scenario is not None and scenario["metadata"]["name"] != simulates:
        raise IdoError(
            f"run {row.id} ran in the simulated world of scenario "
            f"'{scenario['metadata']['name']}'; run the scenario again instead"
        )
    try:
        intent = recorded_intent(started["intent"])
    except Exception as exc:  # a journal written by another version: say so, do not guess
        raise JournalError(f"run {row.id}: the recorded intent cannot be read: {exc}") from None
    run = RunState(row.id, intent, epoch(row.started_at))
    open_steps: dict[int, Interrupted] = {}
    lessons: list[Lesson] = []
    observed: State = {}
    blocked_at: float | None = None
    compensating: str | None = None
    for event in events:
        data = event.data
        run.spent += paid_in(event)
        run.completed = fold_done(run.completed, run.undoing, event.kind, data)
        run.left_undone = fold_undone(run.left_undone, event.kind, data)
        lessons, _ = fold_lessons(lessons, event, shared)
        if event.kind == "run_finished":
            if data.get("outcome") == "blocked":
                blocked_at = epoch(event.at)
        elif event.kind == "run_resumed" and blocked_at is not None:
            run.waited += max(0.0, epoch(event.at) - blocked_at)
            blocked_at = None
        elif event.kind == "observed":
            observed = data["state"]
            for name, report in data.get("reports", {}).items():  # what stands if it fails
                run.reports[name] = (len(run.effect_log), report)
                run.failing.pop(name, None)  # it reported: failing again is news
            for name in data.get("unchanged", ()):  # read again as it was: read here
                run.failing.pop(name, None)
                if name in run.reports:
                    run.reports[name] = (len(run.effect_log), run.reports[name][1])
        elif event.kind == "observer_failed" and "reason" in data:
            run.failing[data["observer"]] = data["reason"]  # the same again is `again`
        elif event.kind == "decided":
            run.decisions = max(run.decisions, int(data["number"]))
            run.replans += data.get("trigger") not in NOT_REPLANS
            record = data.get("result", {}).get("solver", {}).get("llm") or {}
            fold_model_calls(run, record)
        elif event.kind == "action_started":
            if "undoes_step" in data:
                compensating = data.get("reason") or "the run failed"
            run.steps_taken = max(run.steps_taken, int(data["step"]))
            name = data["capability"]
            run.attempts[name] = max(run.attempts.get(name, 0), int(data["attempt"]))
            open_steps[data["step"]] = Interrupted(
                data["step"],
                name,
                data["attempt"],
                data["idempotency_key"],
                data["decision"],
                compensation_of(run.completed, data),
            )
        elif event.kind == "action_finished":
            open_steps.pop(data["step"], None)
            fold_finish(run, data, catalog)
        elif event.kind == "action_repeated" and data["step"] in open_steps:
            open_steps[data["step"]] = replace(open_steps[data["step"]], repeated=True)
        elif event.kind == "approval_required" and data["rule"] == UNKNOWN_RULE:
            step = open_steps.get(int(data.get("step", 0)))
            if step is not None and data.get("cause"):
                open_steps[step.step] = replace(step, cause=data["cause"])
        elif event.kind == "compensation_skipped" or (
            event.kind == "approval_required" and "undoes_step" in data
        ):  # (a compensation waiting for a person: the run failed, and blocked undoing)
            compensating = data.get("reason") or "the run failed"
        elif event.kind == "effects_missing":
            fold_missing(run, data)
    # (digested once, the last of each: a report may be a megabyte, journaled many times)
    run.report_digests = {name: digest(report) for name, (_, report) in run.reports.items()}
    return Recovered(
        run,
        str(started.get("planner", "cpsat")),
        tuple(open_steps.values()),
        tuple(lessons),
        observed,
        blocked_at if row.outcome == "blocked" else None,
        compensating,
    )


def compensation_of(
    completed: list[tuple[int, str]], started: Mapping[str, Any]
) -> dict[str, Any] | None:
    """What a compensation's `action_started` event undoes and why, as `_compensate`
    records it (None for a step that is no compensation). The step it undoes is still
    among `completed` until the compensation ends."""
    if "undoes_step" not in started:
        return None
    undone = started["undoes_step"]
    names = [name for step, name in completed if step == undone]
    return {
        "undoes": names[0] if names else "?",
        "undoes_step": undone,
        "capability": started["capability"],
        "reason": started.get("reason"),
    }


def _refuse_if_alive(run_id: str, events: list[Event]) -> None:
    """A run whose last owner process still lives on this machine is not interrupted."""
    pid = live_owner(events)
    if pid == os.getpid():  # (this process: `carried`)
        raise IdoError(
            f"run {run_id} is still running in this process (another thread carries it on, "
            "or a Python call of it is still in flight); not resuming"
        )
    if pid is not None:
        raise IdoError(
            f"run {run_id} is still running (process {pid} on this machine); not resuming"
        )


def plan_gone_on(
    events: Sequence[Event], steps: Sequence[str], trigger: str, number: int, total: float
) -> dict[str, Any] | None:
    """The plan decision `number`, made on resuming (`trigger`), goes on with: the plan of
    the decision before it, when `steps` are what is left of it, at the same `total` (what
    the run had spent plus what its plan costs), nothing having failed since; followed back
    through decisions that went on so too. A verdict on that plan holds for its rest (after
    a crash, the rest of an approved plan asked again). None when the decision makes a
    plan of its own (a price changed since: the same steps at another cost).

    What is left of a plan naming a capability twice is its last calls (`as_asked_of`
    numbers a request of the rest so)."""
    if trigger not in (AFTER_APPROVAL, AFTER_INTERRUPTION):
        return None
    decided = [
        i for i, e in enumerate(events) if e.kind == "decided" and int(e.data["number"]) < number
    ]
    found: dict[str, Any] | None = None
    end = len(events)
    while trigger in (AFTER_APPROVAL, AFTER_INTERRUPTION) and decided:
        at = decided.pop()
        plan = events[at].data.get("result", {}).get("plan")
        since = events[at + 1 : end]
        if not plan or any(_failed(e) for e in since):
            break
        before = float(events[at].data.get("spent", 0.0)) + float(plan.get("cost", 0.0))
        if abs(before - total) > 1e-6:
            break
        left = [s["capability"] for s in plan.get("steps", [])]
        for event in since:
            if event.kind == "action_finished" and event.data["capability"] in left:
                left.remove(event.data["capability"])
        if left != list(steps):
            break
        found, steps, end, total = plan, [s["capability"] for s in plan["steps"]], at, before
        trigger = str(events[at].data.get("trigger"))
    return found


def as_asked_of(whole: Mapping[str, Any], digested: str, rest: Sequence[str], key: Key) -> Key:
    """`key`, a request of the plan `rest` (what is left of the plan `whole`, as
    `plan_gone_on` finds it), as `whole` itself asked it: its digest (`digested`, its
    `plan_digest` with what each capability performs now), and the step's number in it (a
    plan rule's, 0, stays). What is left of a capability named twice is its last calls."""
    rule, name, step, _, read = key
    if step > 0:
        later = list(rest[step:]).count(name)
        places = [i for i, s in enumerate(whole["steps"]) if s["capability"] == name]
        step = places[len(places) - 1 - later] + 1
    return (rule, name, step, digested, read)


def _failed(event: Event) -> bool:
    """Whether `event` tells of a step that failed (or whose effects did not show)."""
    data = event.data
    return event.kind == "effects_missing" or (
        event.kind == "action_finished" and not data["ok"] and tells_of_provider(data)
    )
