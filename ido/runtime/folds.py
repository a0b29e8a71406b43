"""A run's state folded from its journal events, as resume and replay rebuild it: what is
done and undone, what failed, what it learnt of providers and models."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ido.decision import History
from ido.health import Evidence, Lesson
from ido.journal.records import Event, epoch
from ido.loading.catalog import Catalog
from ido.model import Intent
from ido.planner.llm_spending import last_spent
from ido.state import State, apply_effects, set_path

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
    in_flight: dict[int, str] = field(default_factory=dict)
    """The steps this process has started (or is making again) and not yet seen end, each
    with its capability: what Ctrl-C cuts short (`stopping.cut_short`). Not from the
    journal: a resume's are those it makes again."""
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
