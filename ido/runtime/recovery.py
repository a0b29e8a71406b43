"""A run's working state, and how to rebuild it from the journal to resume after a crash.

The journal is the run: every effect, attempt, failure and decision is an event committed
before the next side effect. Folding the events back gives the state the runtime held when
it stopped, plus the steps it had started without recording how they ended.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ido.approvals import UNKNOWN_RULE, Key
from ido.decide import History
from ido.errors import IdoError, JournalError
from ido.health import Evidence, Lesson
from ido.journal.records import Event, RunRow, epoch, paid_in, scenario_of
from ido.loading.catalog import Catalog
from ido.model import Intent, recorded_intent
from ido.planner.llm_spending import last_spent
from ido.runtime.owners import live_owner
from ido.state import State, apply_effects, digest, set_path

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

UNKNOWN_SETTLED = {
    True: "its effects were observed",
    False: "its effects are observed not to hold",
    None: "nothing observes its effects: its outcome is unknown",
}
"""What the observation after a timed-out call whose outcome was unknown showed, as its
recorded end says (`settled`): done, failed, or (a call the deadline stopped, which
nothing can repeat) failed with its outcome unknown."""


@dataclass
class RunState:
    """What the runtime knows of a run in progress."""

    run_id: str
    intent: Intent
    started: float
    effects: State = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    spent: float = 0.0
    decisions: int = 0
    replans: int = 0
    """Decisions made because reality diverged from the plan (not starting or resuming)."""
    judged_under: tuple[str, ...] = ()
    """The policies its latest decision was made under (a scenario's world may switch one
    on before that plan's first steps start, while a model is asked)."""
    steps_taken: int = 0
    evidence: dict[str, Evidence] = field(default_factory=dict)
    seen: State = field(default_factory=dict)
    """The observers' latest outputs alone, to check declared effects against."""
    unobserved: tuple[str, ...] = ()
    """The observers that failed in the latest observation: why it may not tell a step's
    effects, as a request for a person's word on them says."""
    failing: dict[str, str] = field(default_factory=dict)
    """Each observer failing since its last report, with its latest reason: the same
    failure again is recorded `again`, which the run's output and explain do not repeat."""
    reports: dict[str, tuple[int, State]] = field(default_factory=dict)
    """Each observer's last report in the run, after how many of `effect_log` were done:
    what stands while it fails, between what was done before and after. Resume reads it
    back from the journal's `observed` events."""
    report_digests: dict[str, str] = field(default_factory=dict)
    """The digest of each observer's last report journaled: one read again unchanged is
    not journaled again (an output may be up to a megabyte), only named (`unchanged`)."""
    effect_log: list[tuple[str, Any]] = field(default_factory=list)
    """The facts steps set in the run, in order (effects, then the output)."""
    completed: list[tuple[int, str]] = field(default_factory=list)
    """(step, capability) of each step that succeeded, in order: what compensation undoes."""
    lessons: list[Lesson] = field(default_factory=list)
    """What the run learnt and has not stored in the journal's health yet."""
    succeeded_at: dict[int, float] = field(default_factory=dict)
    """When each step's success was learnt: a silent failure found later overturns it."""
    model_call_cost: float = 0.0
    """What the run's last paid model call cost."""
    model_call_seconds: float = 0.0
    """How long the run's last model call took."""
    undoing: dict[int, int] = field(default_factory=dict)
    """Compensation steps, each with the completed step it undoes."""
    undo_cost: float = 0.0
    """What the run's compensations cost: undoing is not held to the budget, and its end
    says what it added."""
    unknown: list[str] = field(default_factory=list)
    """Each call the run's deadline stopped whose outcome nothing observed, said as its end
    says it: the provider may have gone on and done it (a charge), and nothing will undo
    or repeat it, so the run's reason names it."""
    left_undone: list[str] = field(default_factory=list)
    """Each completed step a compensation failed or was not performed for, with why: the
    run's end says so, as a saga that leaves a booking standing must."""
    overdue: bool = False
    """Whether a step was refused for starting past the deadline itself: the run has failed."""
    waited: float = 0.0
    """Seconds the run spent blocked, waiting for a person's approval: its deadline does
    not count them (a rule's `expires` bounds that wait)."""
    approved: dict[str, Any] | None = None
    """On resuming after an approval, the plan the person approved (`approved_plan`), until
    the decision made on resuming checks it."""

    def elapsed(self, now: float) -> float:
        """The seconds of the run its deadline counts at clock reading `now`."""
        return now - self.started - self.waited


def history_of(
    run: RunState,
    now: float,
    *,
    spent: float,
    elapsed: float,
    unbound: frozenset[str],
    unresolved: Mapping[str, tuple[str, str]],
) -> History:
    """What the run has seen so far, as a decision reads it at clock reading `now`: the
    runtime builds it from the run it holds, replay from the run it folds back from the
    journal, with the spend and time the decision recorded. One builder, or a decision
    and its replay could be given different histories."""
    return History(
        failures=dict(run.failures),
        evidence=dict(run.evidence),
        now=now,
        spent=spent,
        elapsed=elapsed,
        done=tuple(name for _, name in run.completed),
        model_call_cost=run.model_call_cost,
        model_call_seconds=run.model_call_seconds,
        unbound=unbound,
        unresolved=dict(unresolved),
    )


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
    if row.outcome not in (None, "blocked") and not again:
        raise IdoError(
            f"run {row.id} already ended ({row.outcome}); only an interrupted or blocked run "
            "can resume"
        )
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


def learnt(finished: dict[str, Any]) -> float | None:
    """The call duration an action_finished event teaches (none for a step settled on resume)."""
    return None if finished.get("resumed") else finished.get("duration")


def missing_lesson(effects_missing: dict[str, Any], at: float) -> Lesson:
    """What an `effects_missing` event teaches: the step's success was a failure (recorded
    before 2026-12-06 without when that success was learnt: a failure besides it)."""
    data = effects_missing
    return Lesson(data["capability"], False, None, data.get("learnt_at", at), data.get("overturns"))


def lesson_of(event: Event) -> Lesson | None:
    """What an event teaches of its capability's provider, if anything: a call's end that
    tells of it (`tells_of_provider`), or effects that did not show after a success (the
    success was a failure). Learnt when the run learnt it (`learnt_at`), or, in a journal
    from before that was recorded, when the event was. The one rule for resume, exact
    replay and what a counterfactual replay's planner believes."""
    data = event.data
    if event.kind == "action_finished" and tells_of_provider(data):
        when = float(data.get("learnt_at", epoch(event.at)))
        return Lesson(data["capability"], bool(data["ok"]), learnt(data), when)
    if event.kind == "effects_missing":
        return missing_lesson(data, epoch(event.at))
    return None


def fold_lessons(
    lessons: list[Lesson], event: Event, shared: bool
) -> tuple[list[Lesson], Lesson | None]:
    """What a run has learnt and not stored in the journal's health yet, after `event`, and
    what `event` itself taught (`lesson_of`, worked out once for a caller that applies it
    too). A run that `shared` beliefs stored what it had learnt as it stopped
    (`run_finished`, blocked): only what it learns after is not stored (counted twice, a
    call was two). The one rule for resume and exact replay."""
    if event.kind == "run_finished" and shared:
        return [], None  # (a run's end teaches nothing)
    lesson = lesson_of(event)
    return (lessons if lesson is None else [*lessons, lesson]), lesson


def fold_model_calls(run: RunState, record: Mapping[str, Any]) -> None:
    """Keep what the last model call of a decision's `record` (its `llm` record) cost and
    how long it took, where one did: what the next decision's model planner weighs
    against the budget and deadline left before it asks."""
    calls = record.get("calls", [])
    run.model_call_cost = last_spent(calls, "cost", run.model_call_cost)
    run.model_call_seconds = last_spent(calls, "seconds", run.model_call_seconds)


def fold_done(
    completed: list[tuple[int, str]], undoing: dict[int, int], kind: str, data: Mapping[str, Any]
) -> list[tuple[int, str]]:
    """The steps a run has completed, (step, capability) in order, after an event of `kind`
    with `data`: what compensation would undo. A step that succeeded is added, one whose
    effects did not show is taken out, and so is one a compensation undid (or skipped, or
    failed to for good: `settles`); a compensation itself is never added. `undoing`
    (compensation step → the step it undoes) is kept up as compensations start. The one
    rule: the runtime folds each event it records with it, resume and replay the journal."""
    if kind == "action_started" and "undoes_step" in data:
        undoing[data["step"]] = data["undoes_step"]
    elif kind == "run_resumed" and data.get("compensate"):  # `ido compensate`: to undo again
        again = {(int(step), str(name)) for step, name in data["compensate"]}
        return sorted(set(completed) | again)
    elif kind == "action_finished":
        undone = undoing.get(data["step"])
        if undone is not None and settles(data):
            return [c for c in completed if c[0] != undone]
        if undone is None and data["ok"]:
            return [*completed, (data["step"], data["capability"])]
    elif kind == "compensation_skipped":
        return [c for c in completed if c[0] != data["undoes_step"]]
    elif kind == "effects_missing":
        return [c for c in completed if c[0] != data["step"]]
    return completed


def fold_undone(left: list[str], kind: str, data: Mapping[str, Any]) -> list[str]:
    """The steps a failed run left undone after an event of `kind` with `data`, each said as
    its reason says it (`book-hotel (step 2) is not undone: cancel-hotel failed`): a
    compensation that failed or was skipped. The one rule for the runtime as it records
    the event, and for resume as it reads it back."""
    if kind == "run_resumed" and data.get("compensate"):  # tried again: said afresh
        again = tuple(f"{name} (step {step}) " for step, name in data["compensate"])
        return [said for said in left if not said.startswith(again)]
    if kind == "compensation_finished" and not data["ok"]:
        if unknown_undoing(data):  # cut short, not made again
            said = f"may not be undone: {data['capability']}'s outcome is unknown"
        else:
            tries = int(data.get("attempt") or 1)
            times = f" {tries} times" if tries > 1 else ""
            said = f"is not undone: {data['capability']} failed{times}"
    elif kind == "compensation_skipped":
        said = f"is not undone: {data['capability']} was not performed"
    else:  # (most events: on the path of every one the runtime records)
        return left
    return [*left, f"{undone_step(data)} {said}"]


def undone_step(undoing: Mapping[str, Any]) -> str:
    """The step a compensation undoes, as a run's reason and a request name it:
    `book-hotel (step 2)`."""
    return f"{undoing.get('undoes')} (step {undoing.get('undoes_step')})"


def unknown_undoing(finished: Mapping[str, Any]) -> bool:
    """Whether a failed compensation's outcome is unknown: cut short and not made again (a
    person rejected the repeat), or made again and its outcome unknown again. Read from what
    its end records (`settled`, `resumed`), not from its error's words: a command's stderr
    may say the same. A journal from before those were recorded is read as it was then."""
    if "settled" not in finished:
        return "its outcome is unknown" in str(finished.get("error"))
    return finished["settled"] == UNKNOWN_SETTLED[None] or finished.get("resumed") == "rejected"


def settles(finished: Mapping[str, Any]) -> bool:
    """Whether a finished compensation is done with, for good: it ran (or failed, and is not
    tried again: one that is says `retrying`), a person refused to have it done again, or a
    repeat they approved was cut short too and nothing tells whether it ran (tried again, a
    refund could be made twice). One an interruption cut short otherwise is tried again."""
    if finished.get("retrying"):
        return False
    return (
        not finished.get("interrupted")
        or finished.get("resumed") == "rejected"
        or finished.get("settled") == UNKNOWN_SETTLED[None]
    )


def tells_of_provider(finished: Mapping[str, Any]) -> bool:
    """Whether an `action_finished` event tells of its provider (a success or a failure to
    learn from and to count): not a step cut short by an interruption, nor one the run's
    deadline stopped."""
    return not finished.get("interrupted") and not finished.get("deadline")


def fold_finish(run: RunState, data: dict[str, Any], catalog: Catalog) -> None:
    """What a step's recorded end does to the run: its effects and its output set, or, a
    failure that tells of the provider, one more failure counted; a compensation's cost
    is counted as undoing's. The one rule for the
    runtime as it records the end, and for resume as it reads it back."""
    name = data["capability"]
    if data["step"] in run.undoing:
        run.undo_cost += float(data.get("cost") or 0.0)
    if not data["ok"] and data.get("deadline") and data.get("settled") == UNKNOWN_SETTLED[None]:
        provider = data.get("provider") or "its provider"
        run.unknown.append(
            f"step {data['step']} {name} {data['error']}; {data['settled']} (check with "
            f"{provider} whether it took effect)"
        )
    if not data["ok"]:
        if tells_of_provider(data):
            run.failures[name] = run.failures.get(name, 0) + 1
        return
    effects = data.get("effects", {})
    run.effects = apply_effects(run.effects, effects)
    run.effect_log += effects.items()
    output_path = data.get("output_path")
    if output_path is None and name in catalog.capabilities:
        output_path = catalog.capabilities[name].spec.output
    if output_path is not None and data.get("output") is not None:
        set_path(run.effects, output_path, data["output"])
        run.effect_log.append((output_path, data["output"]))


def fold_missing(run: RunState, effects_missing: Mapping[str, Any]) -> None:
    """What a step's effects not showing after its success does to the run: one more
    failure of its capability counted. The one rule for the runtime as it records the
    `effects_missing` event, and for resume and replay as they read it back."""
    name = effects_missing["capability"]
    run.failures[name] = run.failures.get(name, 0) + 1


def _refuse_if_alive(run_id: str, events: list[Event]) -> None:
    """A run whose last owner process still lives on this machine is not interrupted."""
    pid = live_owner(events)
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
